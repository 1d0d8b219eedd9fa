"""`founderops revenue watch --day`: a whole UTC day that is over, written YYYY-MM-DD."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_day_that_is_not_over() -> None:
    with pytest.raises(CommandError, match="2026-03-02 is not over yet"):
        call_command("revenue", "watch", "--day", "2026-03-02")


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_day_far_ahead() -> None:
    with pytest.raises(CommandError, match="9999-12-31 is not over yet"):
        call_command("revenue", "watch", "--day", "9999-12-31")


@pytest.mark.parametrize("raw", ["20260301", "2026-W09-7", "2026-02-30"])
def test_it_refuses_a_day_not_written_as_a_real_yyyy_mm_dd(raw: str) -> None:
    with pytest.raises(CommandError, match="is not a date like 2026-01-31"):
        call_command("revenue", "watch", "--day", raw)
