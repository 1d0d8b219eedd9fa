from __future__ import annotations

from datetime import date

import pytest
import time_machine

from founderops.core import notify
from founderops.core.models import AuditEvent
from founderops.reports import briefing, support
from founderops.reports.briefing import Window
from founderops.support.models import Ticket
from tests.reports.conftest import BRIEFING_AT, PARIS

pytestmark = pytest.mark.django_db

URL = "tgram://123456:bot-secret-token/987654"


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_counts_the_support_numbers_of_the_last_24_hours(
    cast: list[Ticket], window: Window
) -> None:
    assert support.summarize(window) == support.SupportSummary(
        tickets_in=6,
        resolved_automatically=4,
        escalated=2,
        waiting=2,
        waiting_at=None,
        answered=5,
        p50_first_response_s=60.0,
        p95_first_response_s=7200.0,
        still_waiting=1,
        oldest_waiting_s=18.5 * 3600,
        top_intents=[("reset_password", 3), ("refund", 2)],
        unclassified=1,
        needs_you=[],
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_writes_the_support_section_in_markdown(cast: list[Ticket], window: Window) -> None:
    assert support.render(window) == "\n".join(
        [
            "**Needs you now:** nothing urgent or high-priority is waiting.",
            "",
            "- **Tickets in:** 6",
            "- **Resolved automatically:** 4 (67%)",
            "- **Escalated to you:** 2",
            "- **Waiting on you now:** 2",
            "- **First response (5 answered):** p50 1 min · p95 2 h;"
            " 1 still waiting, oldest waiting 18 h 30 min",
            "- **Top confirmed intents:** reset_password (3), refund (2)",
            "- **Unclassified:** 1 (escalated or not triaged yet; label them in the inbox)",
        ]
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_titles_the_briefing_with_the_local_day(cast: list[Ticket], window: Window) -> None:
    page = briefing.morning(window)
    assert page.markdown.startswith(
        "# Morning briefing · Tuesday 10 March 2026\n\n"
        "Covering the 24 hours until 07:30 Europe/Paris.\n\n## System health\n\n"
    )
    assert "\n\n## Support\n\n**Needs you now:**" in page.markdown


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_reports_an_empty_day_without_numbers_it_does_not_have() -> None:
    section = support.render(Window.whole_day(date(2026, 3, 1), PARIS))
    assert section.splitlines() == [
        "- **Tickets in:** 0",
        "- **Resolved automatically:** —",
        "- **Escalated to you:** 0",
        "- **Waiting on you at the end of Sunday 1 March:** 0",
        "- **First response:** — (no tickets)",
        "- **Top confirmed intents:** —",
        "- **Unclassified:** 0",
    ]


def test_it_covers_23_hours_on_the_day_the_clocks_go_forward() -> None:
    day = Window.whole_day(date(2026, 3, 29), PARIS)
    assert (day.end - day.start).total_seconds() == 23 * 3600


def test_it_takes_the_nearest_rank_percentile() -> None:
    assert [support.percentile([10, 30, 60, 120, 7200], p) for p in (50, 95)] == [60, 7200]


def test_it_lets_a_capability_add_its_own_section(window: Window) -> None:
    revenue = briefing.Section("revenue", "Revenue", lambda w: "- **MRR:** $1,200")
    page = briefing.morning(window, sections=(revenue,))
    assert page.markdown.endswith("## Revenue\n\n- **MRR:** $1,200\n")


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_sends_the_briefing_through_the_notifier(
    cast: list[Ticket], window: Window, backend: notify.MemoryBackend
) -> None:
    page = briefing.morning(window)
    briefing.send(page, urls=[URL])
    assert [(s.url, s.title, s.body) for s in backend.sent] == [
        (URL, "FounderOps Morning briefing · Tuesday 10 March 2026", page.markdown)
    ]


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_records_a_failed_delivery_in_the_audit_trail(
    window: Window, backend: notify.MemoryBackend
) -> None:
    backend.failing.add(URL)
    briefing.send(briefing.morning(window), urls=[URL, "ntfy://founder-topic"])
    event = AuditEvent.objects.get(action=briefing.SENT)
    assert (event.outcome, [d["ok"] for d in event.details["deliveries"]]) == (
        "partial",
        [False, True],
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_keeps_the_url_secrets_out_of_the_audit_trail(
    window: Window, backend: notify.MemoryBackend
) -> None:
    backend.failing.add(URL)
    briefing.send(briefing.morning(window), urls=[URL])
    record = str(AuditEvent.objects.get(action=briefing.SENT).as_record())
    assert ("bot-secret-token" in record, "123456" in record) == (False, False)


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_sends_a_scheduled_briefing_only_once(
    window: Window, backend: notify.MemoryBackend
) -> None:
    page = briefing.morning(window)
    outcomes = [briefing.send(page, urls=[URL], once=True).outcome for _ in range(2)]
    assert (outcomes, len(backend.sent)) == (["delivered", "already_sent"], 1)
