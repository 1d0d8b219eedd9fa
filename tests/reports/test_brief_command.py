from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from founderops.cli.management.commands.brief import Command
from founderops.core import notify
from founderops.support.models import Ticket
from tests.reports.conftest import BRIEFING_AT

pytestmark = pytest.mark.django_db


def brief(*args: str) -> str:
    out = StringIO()
    call_command("brief", "morning", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def paris(settings: Any) -> None:
    settings.BRIEFING_TIME_ZONE = "Europe/Paris"


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_prints_the_last_24_hours_by_default(cast: list[Ticket], paris: None) -> None:
    assert "- **Tickets in:** 6\n" in brief()


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_prints_a_whole_local_day_with_date(cast: list[Ticket], paris: None) -> None:
    # 9 March in Paris holds the cast's tickets from 08:00 to 12:00 UTC and the 06:00 one.
    assert "- **Tickets in:** 6\n" in brief("--date", "2026-03-09")


def test_it_refuses_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="is not a date"):
        brief("--date", "09/03/2026")


def test_it_refuses_a_malformed_date_on_the_command_line_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["founderops", "brief", "morning", "--date", "someday"])
    assert (exit_.value.code, capsys.readouterr().err.splitlines()[-1]) == (
        2,
        "founderops brief: error: argument --date: 'someday' is not a date like 2026-01-31"
        " or yesterday",
    )


# Half past midnight in Paris is still the evening before in UTC.
PARIS_JUST_AFTER_MIDNIGHT = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)


@time_machine.travel(PARIS_JUST_AFTER_MIDNIGHT, tick=False)
def test_it_takes_yesterday_in_the_briefing_zone(paris: None) -> None:
    assert brief("--date", "yesterday").startswith("# Morning briefing · Monday 9 March 2026\n")


@time_machine.travel(PARIS_JUST_AFTER_MIDNIGHT, tick=False)
def test_it_refuses_today_in_the_briefing_zone_as_not_over(paris: None) -> None:
    with pytest.raises(CommandError, match=r"2026-03-10 is not over yet \(today in Europe/Paris\)"):
        brief("--date", "today")


@time_machine.travel(PARIS_JUST_AFTER_MIDNIGHT, tick=False)
def test_it_refuses_todays_date_written_out(paris: None) -> None:
    with pytest.raises(CommandError, match="give yesterday or earlier"):
        brief("--date", "2026-03-10")


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_refuses_a_day_that_has_not_begun(paris: None) -> None:
    with pytest.raises(CommandError, match=r"2030-01-01 is not over yet \(in the future"):
        brief("--date", "2030-01-01")


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_refuses_today_on_the_command_line_without_a_traceback(
    paris: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["founderops", "brief", "morning", "--date", "today"])
    assert exit_.value.code == 2
    assert "argument --date: 2026-03-10 is not over yet" in capsys.readouterr().err


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_sends_with_send(settings: Any, backend: notify.MemoryBackend) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    brief("--send")
    assert [s.url for s in backend.sent] == ["ntfy://founder-topic"]


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_fails_when_a_delivery_fails(settings: Any, backend: notify.MemoryBackend) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    backend.failing.add("ntfy://founder-topic")
    with pytest.raises(CommandError, match=r"not delivered everywhere \(failed\)"):
        brief("--send")


def test_it_fails_to_send_without_urls(settings: Any, backend: notify.MemoryBackend) -> None:
    settings.NOTIFY_URLS = []
    with pytest.raises(CommandError, match="FOUNDEROPS_NOTIFY_URLS is empty"):
        brief("--send")


@pytest.mark.parametrize("raw", ["20260309", "2026-W11-1"])
def test_it_refuses_a_date_not_written_as_yyyy_mm_dd(raw: str) -> None:
    with pytest.raises(CommandError, match="is not a date like 2026-01-31"):
        brief("--date", raw)


def test_it_refuses_a_date_before_anything_was_recorded() -> None:
    with pytest.raises(CommandError, match="'0001-01-01' is before 2000-01-01"):
        brief("--date", "0001-01-01")
