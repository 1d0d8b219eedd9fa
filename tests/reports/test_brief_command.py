from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

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
