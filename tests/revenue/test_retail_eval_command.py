"""`founderops eval cohorts`: one JSON object, clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def _run(*args: str) -> dict[str, object]:
    out = io.StringIO()
    call_command("eval", "cohorts", *args, stdout=out)
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_it_prints_the_cohorts_of_a_purchases_csv(tmp_path: Path) -> None:
    source = tmp_path / "p.csv"
    source.write_text("customer,date,amount\na,2024-01-03,100\na,2024-02-03,100\n")
    assert _run("--csv", str(source))["rows"] == [
        {
            "cohort": "2024-01",
            "customers": 1,
            "retained": [1, 1],
            "retention_pct": [100.0, 100.0],
            "revenue": [100, 100],
        }
    ]


def test_it_turns_a_wrong_csv_into_a_command_error(tmp_path: Path) -> None:
    source = tmp_path / "p.csv"
    source.write_text("who,when\n")
    with pytest.raises(CommandError, match="missing column"):
        _run("--csv", str(source))


def test_it_turns_a_missing_file_into_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        _run("--csv", str(tmp_path / "none.csv"))


def test_it_says_a_directory_is_not_the_parquet_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"is a directory; give the \.parquet file"):
        _run("--retail", str(tmp_path))


def test_it_says_a_file_that_is_not_parquet_cannot_be_read(tmp_path: Path) -> None:
    source = tmp_path / "retail.parquet"
    source.write_text("InvoiceNo,CustomerID\n1,2\n")
    with pytest.raises(CommandError, match="not a readable Parquet file"):
        _run("--retail", str(source))
