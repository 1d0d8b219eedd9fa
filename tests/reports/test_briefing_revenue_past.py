"""A past briefing's Revenue section says what was known then, not what happened since.

The history is stored as Stripe has it on Saturday 14 March 2026; the briefing of Tuesday
10 March (07:30 Paris) is rebuilt from it. After that briefing: Ada's Pro renewal of 9 March
is refunded (Wed 11), Cy cancels his Team plan at the period's end (Thu 12), Dee's failed
Creator renewal of 9 March is paid by a retry (Thu 12), Eve's unpaid February invoice is
written off and her subscription ends (Thu 12), and Fay starts Pro (Wed 11).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from founderops.cli.demo_revenue import cancel_at_end
from founderops.customers.models import Customer
from founderops.reports import revenue, revenue_detail, revenue_section
from founderops.reports.briefing import Window
from founderops.revenue import known
from founderops.revenue.ledger import ledger_from_db
from founderops.revenue.models import Invoice
from founderops.support.models import Ticket
from tests.reports.conftest import BRIEFING_AT, PARIS
from tests.revenue_world import monthly, person, store

pytestmark = pytest.mark.django_db

LATER = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
ADA, CY = person("cus_ink0001", "Ada Byron"), person("cus_ink0003", "Cy Twombly")
DEE, EVE = person("cus_ink0004", "Dee Dunn"), person("cus_ink0005", "Eve Moss")
FAY = person("cus_ink0006", "Fay Wray")


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def week(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(LATER, tick=False):
        ada = monthly(ADA, at(9, 10, month=1), "pro", LATER)
        ada.periods[-1].refund = (at(11, 12), 2900)
        cy = monthly(CY, at(9, 8, month=1), "team", LATER)
        cancel_at_end(cy, at(12, 12))
        dee = monthly(DEE, at(9, 19, month=1), "creator", LATER)
        dee.periods[-1].failures = 1
        eve = monthly(EVE, at(19, 12, month=1), "creator", LATER)
        eve.periods[-1].lost = True
        fay = monthly(FAY, at(11, 12), "pro", LATER)
        store([ADA, CY, DEE, EVE, FAY], [ada, cy, dee, eve, fay], LATER)
        yield


def past() -> list[str]:
    return revenue_section.render(Window.last_24_hours(BRIEFING_AT, PARIS)).splitlines()


def today() -> list[str]:
    return revenue_section.render(Window.last_24_hours(LATER, PARIS)).splitlines()


def line(lines: list[str], head: str) -> str:
    return next((text for text in lines if text.startswith(f"- **{head}")), "")


def past_snapshot() -> revenue.Snapshot:
    snap = revenue.snapshot(True, as_of=at(9, 0).date(), known_at=BRIEFING_AT)
    assert snap is not None
    return snap


def test_it_gives_the_past_days_mrr_with_what_ran_then(week: None) -> None:
    assert past()[0] == (
        "- **MRR:** $132.00 at the close of Mon 9 Mar (UTC) · ARR $1,584 · 4 paying customers"
    )


def test_it_does_not_list_as_leaving_a_customer_who_canceled_later(week: None) -> None:
    assert line(past(), "Leaving at period end") == ""


def test_it_lists_that_cancellation_in_todays_briefing(week: None) -> None:
    assert line(today(), "Leaving at period end") == (
        "- **Leaving at period end:** Cy Twombly ($79.00/mo, ends Thu 9 Apr)"
    )


def test_it_lists_invoices_unpaid_then_though_paid_or_written_off_since(week: None) -> None:
    assert line(past(), "Failed payments") == (
        "- **Failed payments:** 1 in the window: Dee Dunn $12.00 (invoice "
        + _number(DEE.key, at(9, 19))
        + ") · 2 invoices still unpaid after a failed payment (Eve Moss $12.00, Dee Dunn $12.00)"
    )


def test_it_lists_no_unpaid_invoice_today_once_they_are_settled(week: None) -> None:
    assert line(today(), "Failed payments") == "- **Failed payments:** 0 in the window"


def test_it_leaves_out_a_refund_made_after_the_day(week: None) -> None:
    assert past_snapshot().ledger.refunds == []


def test_it_counts_that_refund_in_todays_snapshot(week: None) -> None:
    snap = revenue.snapshot(True)
    assert snap is not None
    assert [r.created_at for r in snap.ledger.refunds] == [at(11, 12)]


def test_it_does_not_give_the_refund_as_a_reason_for_risk_then(week: None) -> None:
    reasons = {r.who.name: r.reasons for r in past_snapshot().at_risk}
    assert not any("refund" in reason for reason in reasons["Ada Byron"])


def test_it_gives_the_refund_as_a_reason_for_risk_today(week: None) -> None:
    snap = revenue.snapshot(True)
    assert snap is not None
    reasons = {r.who.name: r.reasons for r in snap.at_risk}
    assert "1 refund in 90 days" in reasons["Ada Byron"]


def test_it_keeps_a_subscription_that_ended_later_running(week: None) -> None:
    eve = next(s for s in past_snapshot().ledger.subscriptions.values() if s.customer == EVE.key)
    assert (eve.ended_at, eve.past_due) == (None, True)


def test_it_keeps_a_subscription_canceled_later_uncanceled(week: None) -> None:
    cy = next(s for s in past_snapshot().ledger.subscriptions.values() if s.customer == CY.key)
    assert (cy.canceled_at, cy.cancel_at_period_end) == (None, False)


def test_it_gives_an_invoice_written_off_later_as_open_then(week: None) -> None:
    eve = [i for i in past_snapshot().ledger.invoices if i.customer == EVE.key]
    assert [(i.status, i.voided_at) for i in eve] == [("paid", None), ("open", None)]


def test_it_gives_an_invoice_paid_later_as_open_then(week: None) -> None:
    dee = [i for i in past_snapshot().ledger.invoices if i.customer == DEE.key]
    assert [i.status for i in dee] == ["paid", "paid", "open"]


def test_it_leaves_out_invoices_created_after_the_moment(week: None) -> None:
    ledger = ledger_from_db(True, known_at=BRIEFING_AT)
    assert FAY.key not in ledger.customers


def test_it_leaves_out_failed_payments_after_the_moment(week: None) -> None:
    ledger = ledger_from_db(True, known_at=at(1, 0))
    assert [f.created_at for f in ledger.failed_payments] == [
        at(19, 13, month=2),
        at(22, 14, month=2),
        at(26, 14, month=2),
    ]


def test_it_reads_the_same_ledger_as_stored_when_the_moment_is_now(week: None) -> None:
    assert ledger_from_db(True, known_at=None) == ledger_from_db(True, known_at=LATER)


def test_it_knows_the_close_of_the_day_for_a_past_day_by_default(week: None) -> None:
    snap = revenue.snapshot(True, as_of=at(9, 0).date())
    assert snap is not None
    assert snap.known_at == known.close_of(at(9, 0).date())


def test_it_counts_only_tickets_sent_before_the_moment_for_risk(week: None) -> None:
    ada = Customer.objects.get(billing_accounts__stripe_id=ADA.key)
    for created in (at(5, 9), at(12, 9)):
        Ticket.objects.create(
            customer=ada,
            channel=Ticket.Channel.EMAIL,
            subject="unhappy",
            sentiment=Ticket.Sentiment.NEGATIVE,
            created_at=created,
        )
    then = revenue.ticket_log(past_snapshot())
    assert (then.times[ADA.key], then.negative[ADA.key]) == ([at(5, 9)], [at(5, 9)])


def test_it_lists_the_same_unpaid_invoices_as_stored_when_asked_for_now(week: None) -> None:
    assert revenue_detail.unpaid_after_failure(True) == revenue_detail.unpaid_after_failure(
        True, LATER
    )


def _number(key: str, created: datetime) -> str:
    return Invoice.objects.get(customer__stripe_id=key, created=created).number
