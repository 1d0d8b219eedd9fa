from __future__ import annotations

import os
import re
import runpy
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from founderops import settings as s

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


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


def load_settings(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, **variables: str
) -> dict[str, Any]:
    """Run settings.py afresh with only these FOUNDEROPS_* variables (names without prefix)."""
    for name in [n for n in os.environ if n.startswith("FOUNDEROPS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FOUNDEROPS_DATA_DIR", str(data_dir))
    for name, value in variables.items():
        monkeypatch.setenv(f"FOUNDEROPS_{name}", value)
    return runpy.run_path(s.__file__, run_name="founderops_settings_under_test")


def test_it_refuses_an_unknown_time_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"FOUNDEROPS_TIME_ZONE='Mars/Olympus' is not a time zone"
    ):
        load_settings(monkeypatch, tmp_path, TIME_ZONE="Mars/Olympus")


def test_it_refuses_an_unknown_briefing_time_zone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"FOUNDEROPS_BRIEFING_TIME_ZONE='Mars/Olympus'"):
        load_settings(monkeypatch, tmp_path, BRIEFING_TIME_ZONE="Mars/Olympus")


def test_it_refuses_an_unknown_log_level(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"FOUNDEROPS_LOG_LEVEL='LOUD' is not one of"):
        load_settings(monkeypatch, tmp_path, LOG_LEVEL="LOUD")


def test_it_refuses_a_briefing_time_past_23_59(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"FOUNDEROPS_BRIEFING_TIME='25:99' is not a"):
        load_settings(monkeypatch, tmp_path, BRIEFING_TIME="25:99")


def test_it_reads_the_last_minute_of_the_day_as_a_briefing_time() -> None:
    assert s.parse_wall_time("23:59", "BRIEFING_TIME") == time(23, 59)


def test_it_refuses_a_provider_without_a_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_LLM_MODEL is empty"):
        load_settings(monkeypatch, tmp_path, LLM_PROVIDER="anthropic", LLM_MODEL=" ")


def test_it_refuses_allowed_hosts_set_but_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_ALLOWED_HOSTS=' , ' is empty"):
        load_settings(monkeypatch, tmp_path, ALLOWED_HOSTS=" , ")


def test_it_warns_once_about_a_misspelt_variable_with_the_likely_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_settings(monkeypatch, tmp_path, WORKER="3")
    assert capsys.readouterr().err == (
        "founderops: warning: unknown setting FOUNDEROPS_WORKER"
        " (did you mean FOUNDEROPS_WORKERS?)\n"
    )


def test_it_warns_about_an_unknown_variable_without_a_likely_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_settings(monkeypatch, tmp_path, FROBNICATE="1")
    assert capsys.readouterr().err == "founderops: warning: unknown setting FOUNDEROPS_FROBNICATE\n"


def test_it_stays_quiet_about_every_documented_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # TEST_DATABASE_NAME matters only on PostgreSQL, yet is known on SQLite too.
    loaded = load_settings(monkeypatch, tmp_path, TEST_DATABASE_NAME="fo_test")
    documented = set(re.findall(r"`(FOUNDEROPS_[A-Z_]+)`", README))
    assert (capsys.readouterr().err, sorted(documented - loaded["_read"])) == ("", [])


# Channel settings that would otherwise fail quietly, hours later, at the first mail or visit.


@pytest.mark.parametrize(
    "origin", ["bad", "example.com", "https://example.com/shop", "https://*.example.com", "*"]
)
def test_it_refuses_a_widget_origin_a_browser_never_sends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, origin: str
) -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"FOUNDEROPS_WIDGET_ORIGINS: .* is not an origin"
    ):
        load_settings(monkeypatch, tmp_path, WIDGET_ORIGINS=f"https://ok.example,{origin}")


def test_it_accepts_widget_origins_with_a_port_or_a_final_slash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    origins = "https://example.com/, http://localhost:3000"
    loaded = load_settings(monkeypatch, tmp_path, WIDGET_ORIGINS=origins)
    assert loaded["WIDGET_ORIGINS"] == ["https://example.com/", "http://localhost:3000"]


def test_it_refuses_an_smtp_url_whose_port_is_not_a_number_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match="port that is not a number") as refused:
        load_settings(monkeypatch, tmp_path, SMTP_URL="smtp://me:hunter2@mail.example:99999")
    assert "hunter2" not in str(refused.value)


def test_it_refuses_a_site_url_without_a_scheme(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"FOUNDEROPS_SITE_URL='ops\.example\.com'"):
        load_settings(monkeypatch, tmp_path, SITE_URL="ops.example.com")


def test_it_refuses_an_inbound_secret_that_is_not_user_and_password_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be user:password") as refused:
        load_settings(monkeypatch, tmp_path, POSTMARK_INBOUND_SECRET="hunter2")
    assert "hunter2" not in str(refused.value)


def test_it_refuses_a_from_address_that_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_SUPPORT_FROM_EMAIL='support'"):
        load_settings(monkeypatch, tmp_path, SUPPORT_FROM_EMAIL="support")


def test_it_refuses_a_trusted_proxy_that_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"FOUNDEROPS_TRUSTED_PROXY='proxy\.local'"):
        load_settings(monkeypatch, tmp_path, TRUSTED_PROXY="proxy.local")


@pytest.mark.parametrize("proxy", ["10.0.0.5", "::1", "*"])
def test_it_accepts_a_trusted_proxy_address_or_any(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proxy: str
) -> None:
    assert load_settings(monkeypatch, tmp_path, TRUSTED_PROXY=proxy)["TRUSTED_PROXY"] == proxy


def test_it_refuses_a_webhook_secret_with_a_mode_it_does_not_know_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = "whsec_a1b2c3d4e5f6,staging:whsec_b1b2c3d4e5f6"
    with pytest.raises(ImproperlyConfigured, match="a prefix other than live: or test:") as refused:
        load_settings(monkeypatch, tmp_path, STRIPE_WEBHOOK_SECRET=secrets)
    assert "b1b2c3d4e5f6" not in str(refused.value)


@pytest.mark.parametrize(
    "value", ["sk_test_abc", "live:rk_live_abc", "whsec_a1b2c3d4e5f6,abc", "whsec_abc"]
)
def test_it_refuses_a_webhook_secret_that_is_not_a_signing_secret_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    refusal = "not a Stripe webhook signing secret"
    with pytest.raises(ImproperlyConfigured, match=refusal) as refused:
        load_settings(monkeypatch, tmp_path, STRIPE_WEBHOOK_SECRET=value)
    assert "abc" not in str(refused.value)


def test_it_accepts_webhook_secrets_that_name_their_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = "live:whsec_a1b2c3d4e5f6,whsec_b1b2c3d4e5f6"
    loaded = load_settings(monkeypatch, tmp_path, STRIPE_WEBHOOK_SECRET=secrets)
    assert loaded["STRIPE_WEBHOOK_SECRET"] == secrets.split(",")


@pytest.mark.parametrize(
    "key", ["sk_live_short1", "rk_live_abc def1234567", "pk_live_abcdefghijkl"]
)
def test_it_refuses_an_api_key_stripe_never_issues_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_STRIPE_API_KEY is not a") as refused:
        load_settings(monkeypatch, tmp_path, STRIPE_API_KEY=key)
    assert key not in str(refused.value)


def test_it_accepts_a_restricted_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = "rk_live_" + "a1B2c3D4" * 12
    assert load_settings(monkeypatch, tmp_path, STRIPE_API_KEY=key)["STRIPE_API_KEY"] == key
