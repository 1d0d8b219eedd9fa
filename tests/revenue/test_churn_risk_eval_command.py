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
