"""`founderops eval churn`: wrong input is a clear command error (the run itself takes minutes
and is `make eval`'s job)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_it_names_the_missing_telco_columns(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("customerID,tenure,Churn\nx,1,Yes\n")
    with pytest.raises(CommandError, match="missing column\\(s\\) gender"):
        call_command("eval", "churn", "--telco", str(source))


def test_it_says_a_directory_is_not_the_telco_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is a directory; give the CSV file"):
        call_command("eval", "churn", "--telco", str(tmp_path))


def test_it_names_a_byte_that_is_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "telco.csv"
    source.write_bytes(b"customerID,\xff\n")
    with pytest.raises(CommandError, match="not UTF-8 text \\(byte 0xff\\)"):
        call_command("eval", "churn", "--telco", str(source))
