from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from founderops import settings as s


def test_it_reads_a_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOUNDEROPS_DEBUG", "yes")
    assert s.env_bool("DEBUG", False) is True


def test_it_refuses_a_malformed_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOUNDEROPS_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_DEBUG='maybe' is not a boolean"):
        s.env_bool("DEBUG", False)


def test_it_refuses_an_integer_below_its_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOUNDEROPS_WORKERS", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        s.env_int("WORKERS", 2, minimum=1)


def test_it_refuses_a_precision_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOUNDEROPS_SUPPORT_TARGET_PRECISION", "1.5")
    with pytest.raises(ImproperlyConfigured, match="outside"):
        s.env_float("SUPPORT_TARGET_PRECISION", 0.95, 0.5, 0.999)


def test_it_refuses_an_unknown_database_scheme() -> None:
    with pytest.raises(ImproperlyConfigured, match="must start with sqlite:// or postgresql://"):
        s.database_config("mysql://root@localhost/test", s.DATA_DIR)


def test_it_turns_on_wal_and_immediate_transactions_for_sqlite(tmp_path: object) -> None:
    config = s.sqlite_config(s.DATA_DIR / "x.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_it_parses_a_postgres_url() -> None:
    config = s.database_config("postgresql://postgres@127.0.0.1:5432/test", s.DATA_DIR)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "test"
