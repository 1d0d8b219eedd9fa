"""The support section says what each number is measured over, and what needs the founder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from founderops.ai.models import Approval
from founderops.customers.models import Customer
from founderops.reports import support
from founderops.reports.briefing import Window
from founderops.support.models import Ticket, TrainingExample
from tests.reports.conftest import BRIEFING_AT, PARIS, ticket

pytestmark = pytest.mark.django_db


def line(section: str, starting: str) -> str:
    [found] = [text for text in section.splitlines() if text.startswith(starting)]
    return found


@pytest.fixture
def bea(db: None) -> Customer:
    return Customer.objects.create(email="bea@example.com", created_at=BRIEFING_AT)


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_names_how_many_answered_and_how_long_the_oldest_has_waited(
    cast: list[Ticket], window: Window
) -> None:
    assert line(support.render(window), "- **First response") == (
        "- **First response (5 answered):** p50 1 min · p95 2 h;"
        " 1 still waiting, oldest waiting 18 h 30 min"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_says_none_answered_yet_rather_than_a_time(bea: Customer, window: Window) -> None:
    ticket(bea, "2026-03-10T04:30:00+00:00", "refund", escalated=True, pending=True)
    assert line(support.render(window), "- **First response") == (
        "- **First response:** none answered yet; 1 still waiting, oldest waiting 2 h"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_leaves_a_guessed_intent_out_of_the_top_intents(
    cast: list[Ticket], bea: Customer, window: Window
) -> None:
    # Escalated for low confidence: "refund" is the agent's guess, not a fact.
    ticket(bea, "2026-03-10T05:00:00+00:00", "refund", escalated=True, pending=True)
    assert support.summarize(window).top_intents == [("reset_password", 3), ("refund", 2)]


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_counts_a_guessed_intent_as_unclassified(
    cast: list[Ticket], bea: Customer, window: Window
) -> None:
    ticket(bea, "2026-03-10T05:00:00+00:00", "refund", escalated=True, pending=True)
    assert support.summarize(window).unclassified == 2


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_counts_an_intent_the_founder_corrected(bea: Customer, window: Window) -> None:
    row = ticket(bea, "2026-03-10T05:00:00+00:00", "invoice", escalated=True)
    TrainingExample.objects.create(
        text="where is my invoice",
        intent="invoice",
        source=TrainingExample.Source.CORRECTION,
        ticket=row,
        created_at=BRIEFING_AT,
    )
    assert support.summarize(window).top_intents == [("invoice", 1)]


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_lists_urgent_then_high_priority_tickets_waiting_on_you_at_the_top(
    cast: list[Ticket], bea: Customer, window: Window
) -> None:
    high = ticket(
        bea, "2026-03-09T20:00:00+00:00", "refund", escalated=True, pending=True, priority=2
    )
    urgent = ticket(
        bea, "2026-03-10T06:00:00+00:00", "outage", escalated=True, pending=True, priority=1
    )
    assert support.render(window).splitlines()[:4] == [
        "**Needs you now** (urgent, then high priority; longest waiting first):",
        "",
        f"1. #{urgent.pk} about outage · urgent · waiting 30 min",
        f"2. #{high.pk} about refund · high · waiting 10 h 30 min",
    ]


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_leaves_normal_priority_tickets_out_of_needs_you_now(
    cast: list[Ticket], window: Window
) -> None:
    assert support.summarize(window).needs_you == []


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_leaves_a_decided_urgent_ticket_out_of_needs_you_now(
    bea: Customer, window: Window
) -> None:
    ticket(bea, "2026-03-10T06:00:00+00:00", "outage", escalated=True, pending=True, priority=1)
    Approval.objects.update(status=Approval.Status.APPROVED, decided_at=BRIEFING_AT)
    assert support.summarize(window).needs_you == []


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_reports_what_was_waiting_at_the_end_of_a_past_day(cast: list[Ticket]) -> None:
    # Of the two approvals pending now, one came in after 9 March ended in Paris.
    section = support.render(Window.whole_day(date(2026, 3, 9), PARIS))
    assert line(section, "- **Waiting on you") == (
        "- **Waiting on you at the end of Monday 9 March:** 1"
    )


@time_machine.travel(BRIEFING_AT + timedelta(hours=2), tick=False)
def test_it_reports_what_was_waiting_when_a_late_briefings_window_ended(
    cast: list[Ticket], window: Window
) -> None:
    # A scheduled run two hours late covers the 24 hours until 07:30, not until now.
    assert line(support.render(window), "- **Waiting on you") == (
        "- **Waiting on you at 07:30 on Tuesday 10 March:** 1"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_counts_an_approval_decided_after_a_past_day_as_waiting_at_its_end(
    bea: Customer,
) -> None:
    ticket(bea, "2026-03-09T12:00:00+00:00", "refund", escalated=True, pending=True)
    Approval.objects.update(
        status=Approval.Status.APPROVED, decided_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
    )
    summary = support.summarize(Window.whole_day(date(2026, 3, 9), PARIS))
    assert (summary.waiting, summary.waiting_at) == (1, datetime(2026, 3, 9, 23, 0, tzinfo=UTC))


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_leaves_needs_you_now_out_of_a_past_day(bea: Customer) -> None:
    ticket(bea, "2026-03-09T12:00:00+00:00", "outage", escalated=True, pending=True, priority=1)
    section = support.render(Window.whole_day(date(2026, 3, 9), PARIS))
    assert "Needs you now" not in section


def test_it_shortens_a_long_subject_to_one_line() -> None:
    assert support.subject_line("Help!\n\n" + "x" * 200) == "Help! " + "x" * 73 + "…"


# A past window rebuilt a week later: what happened after its end is not in it.

A_WEEK_LATER = BRIEFING_AT + timedelta(days=7)


def answered_next_day(bea: Customer) -> Ticket:
    """In the window, answered by the agent only the day after it ended."""
    return ticket(bea, "2026-03-10T04:30:00+00:00", "refund", replied_after_s=26 * 3600)


@time_machine.travel(A_WEEK_LATER, tick=False)
def test_it_counts_a_ticket_answered_after_a_past_window_as_waiting_at_its_end(
    bea: Customer, window: Window
) -> None:
    answered_next_day(bea)
    assert line(support.render(window), "- **First response") == (
        "- **First response:** none answered yet; 1 still waiting, oldest waiting 2 h"
    )


@time_machine.travel(A_WEEK_LATER, tick=False)
def test_it_does_not_count_a_reply_after_a_past_window_as_automatic(
    bea: Customer, window: Window
) -> None:
    answered_next_day(bea)
    assert support.summarize(window).resolved_automatically == 0


@time_machine.travel(A_WEEK_LATER, tick=False)
def test_it_does_not_confirm_an_intent_with_a_decision_made_after_a_past_window(
    bea: Customer, window: Window
) -> None:
    row = answered_next_day(bea)
    row.decisions.update(created_at=BRIEFING_AT + timedelta(hours=20))
    assert (support.summarize(window).top_intents, support.summarize(window).unclassified) == (
        [],
        1,
    )


@time_machine.travel(A_WEEK_LATER, tick=False)
def test_it_counts_a_reply_made_before_a_past_windows_end(bea: Customer, window: Window) -> None:
    ticket(bea, "2026-03-10T04:30:00+00:00", "refund", replied_after_s=3600)
    assert support.summarize(window).resolved_automatically == 1
