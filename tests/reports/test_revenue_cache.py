"""Revenue snapshots kept between requests: computed once while nothing changes, and never
served stale: a webhook event, a refund, a rewritten FX rate, a deleted row, another day or
another setting shows at once. Ada pays $20 a month for Pro since January (test mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
import time_machine

from founderops.reports import revenue, revenue_cache
from founderops.revenue import csv_import, stripe_store, webhooks
from founderops.revenue.models import BillingCustomer, Invoice, StripeEvent
from founderops.support.models import Ticket
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
JAN, FEB, MAR, APR, MAY = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4, 5))
AS_OF = date(2026, 4, 9)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ada(clock: Any) -> None:
    store(fs.product(), fs.price("price_pro", 2000), fs.price("price_eur", 2000, currency="eur"))
    store(fs.customer("cus_ada"))
    for number, (start, end) in enumerate(((JAN, FEB), (FEB, MAR), (MAR, APR), (APR, MAY))):
        store(monthly(number + 1, start, end))
    revenue_cache.clear()


def store(*objs: dict[str, Any]) -> None:
    for obj in objs:
        stripe_store.store(obj, stripe_store.Context(False, fs.ts(NOW)))


def monthly(number: int, start: datetime, end: datetime, **fields: Any) -> dict[str, Any]:
    lines = [fs.line(f"il_{number}", 2000, start, end, item="si_1")]
    return fs.invoice(f"in_{number}", "cus_ada", lines, start, **fields)


def deliver(stripe_id: str, kind: str, obj: dict[str, Any], clock: Any) -> None:
    """A webhook event, a minute later, stored and processed as the job does."""
    clock.shift(timedelta(minutes=1))
    event = fs.event(stripe_id, kind, obj, clock_now())
    row, _ = webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    assert webhooks.process_event(row.pk) == "processed"


def clock_now() -> datetime:
    return datetime.now(tz=UTC)


def mrr(as_of: date = AS_OF, profile: str = revenue.DEFAULT_PROFILE) -> Fraction:
    snap = revenue.snapshot(False, profile, as_of=as_of)
    assert snap is not None
    return snap.headline.mrr


def test_it_computes_once_for_two_requests_with_no_change(ada: None) -> None:
    before = revenue_cache.misses
    first, second = revenue.snapshot(False, as_of=AS_OF), revenue.snapshot(False, as_of=AS_OF)
    assert first is not None
    assert second is not None
    assert (revenue_cache.misses - before, first.result is second.result) == (1, True)


def test_it_keeps_the_headline_between_requests(ada: None) -> None:
    first, second = revenue.snapshot(False, as_of=AS_OF), revenue.snapshot(False, as_of=AS_OF)
    assert first is not None
    assert second is not None
    assert first.headline is second.headline


def test_it_computes_the_other_profile_from_the_same_ledger(ada: None) -> None:
    snap = revenue.snapshot(False, as_of=AS_OF)
    assert snap is not None
    before = revenue_cache.misses
    other = revenue.snapshot(False, "stripe", as_of=AS_OF)
    assert other is not None
    assert (revenue_cache.misses - before, other.ledger is snap.ledger) == (0, True)


def test_it_shows_a_new_webhook_invoice_at_once(ada: None, clock: Any) -> None:
    assert mrr() == 2000
    upgraded = [fs.line("il_9", 4000, APR, MAY, price_id="price_pro", quantity=2, item="si_1")]
    deliver("evt_1", "invoice.paid", fs.invoice("in_4", "cus_ada", upgraded, APR), clock)
    assert mrr() == 4000


def test_it_shows_a_voided_invoice_at_once(ada: None, clock: Any) -> None:
    assert mrr() == 2000
    voided = monthly(4, APR, MAY, status="void")
    voided["status_transitions"]["voided_at"] = fs.ts(APR + timedelta(days=2))
    deliver("evt_1", "invoice.voided", voided, clock)
    assert mrr() == 0


def test_it_shows_a_refund_at_once(ada: None, clock: Any) -> None:
    store(fs.charge("ch_4", 2000, invoice="in_4", created=APR))
    assert revenue.snapshot(False, as_of=AS_OF).ledger.refunds == []  # type: ignore[union-attr]
    refund = fs.refund("re_1", "ch_4", 500, status="succeeded", created=fs.ts(APR))
    deliver("evt_1", "charge.refund.updated", refund, clock)
    snap = revenue.snapshot(False, as_of=AS_OF)
    assert snap is not None
    assert [r.amount for r in snap.ledger.refunds] == [500]


def test_it_shows_a_rate_rewritten_in_place_at_once(clock: Any) -> None:
    store(fs.product(), fs.price("price_eur", 2000, currency="eur"))
    store(fs.customer("cus_ada"))
    lines = [fs.line("il_1", 2000, APR, MAY, price_id="price_eur", item="si_1")]
    store({**fs.invoice("in_1", "cus_ada", lines, APR), "currency": "eur"})
    csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,1.10\n")
    assert mrr() == 2200
    csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,1.20\n")
    assert mrr() == 2400


def test_it_shows_an_invoice_marked_deleted_by_reconciliation_at_once(ada: None) -> None:
    assert mrr() == 2000
    # What reconciliation does when Stripe no longer has the object: a bulk update.
    Invoice.objects.filter(stripe_id="in_4").update(deleted=True)
    assert mrr() == 0


def test_it_shows_rows_removed_at_once(ada: None) -> None:
    assert revenue.snapshot(False, as_of=AS_OF) is not None
    Invoice.objects.all().delete()
    assert revenue.snapshot(False, as_of=AS_OF) is None


def test_it_computes_another_day_apart(ada: None) -> None:
    assert (mrr(date(2026, 3, 31)), mrr(AS_OF)) == (Fraction(2000), Fraction(2000))
    assert revenue.snapshot(False, as_of=date(2025, 12, 31)) is None


def test_it_computes_again_under_another_gross_margin(ada: None, settings: Any) -> None:
    before = revenue_cache.misses
    revenue.snapshot(False, as_of=AS_OF)
    settings.REVENUE_GROSS_MARGIN = 0.5
    revenue.snapshot(False, as_of=AS_OF)
    assert revenue_cache.misses - before == 2


def test_it_keeps_one_entry_per_mode_and_day(ada: None, clock: Any) -> None:
    revenue.snapshot(False, as_of=AS_OF)
    deliver("evt_1", "invoice.paid", monthly(4, APR, MAY), clock)
    revenue.snapshot(False, as_of=AS_OF)
    assert len(revenue_cache._entries) == 1


def test_it_drops_an_entry_whose_billing_changed_while_it_was_read(ada: None) -> None:
    key, family = revenue_cache.family(False, AS_OF, ("margin",))
    family["chartmogul"] = None
    Invoice.objects.filter(stripe_id="in_4").update(deleted=True)
    revenue_cache.confirm(key)
    assert key not in revenue_cache._entries


def test_it_keeps_an_entry_whose_billing_did_not_change_while_it_was_read(ada: None) -> None:
    key, _ = revenue_cache.family(False, AS_OF, ("margin",))
    revenue_cache.confirm(key)
    assert key in revenue_cache._entries


def test_it_names_customers_as_they_are_now(ada: None) -> None:
    revenue.snapshot(False, as_of=AS_OF)
    BillingCustomer.objects.filter(stripe_id="cus_ada").update(name="Ada King")
    snap = revenue.snapshot(False, as_of=AS_OF)
    assert snap is not None
    assert revenue.who(snap, "cus_ada").name == "Ada King"


def test_it_counts_a_new_support_ticket_in_the_risk_at_once(ada: None) -> None:
    snap = revenue.snapshot(False, as_of=AS_OF)
    assert snap is not None
    before = snap.at_risk[0].probability
    customer = BillingCustomer.objects.get(stripe_id="cus_ada").customer
    assert customer is not None
    for number in range(3):
        Ticket.objects.create(
            customer=customer,
            channel=Ticket.Channel.EMAIL,
            subject=f"Broken {number}",
            sentiment=Ticket.Sentiment.NEGATIVE,
            created_at=NOW - timedelta(days=number + 1),
        )
    again = revenue.snapshot(False, as_of=AS_OF)
    assert again is not None
    assert again.at_risk[0].probability > before


def test_it_shows_a_webhook_invoice_on_the_revenue_page_at_once(
    ada: None, clock: Any, founder_client: Any
) -> None:
    first = founder_client.get("/revenue/?mode=test").content.decode()
    upgraded = [fs.line("il_9", 4000, APR, MAY, price_id="price_pro", quantity=2, item="si_1")]
    deliver("evt_1", "invoice.paid", fs.invoice("in_4", "cus_ada", upgraded, APR), clock)
    second = founder_client.get("/revenue/?mode=test").content.decode()
    assert ("$20" in first, "$40" in first, "$40" in second) == (True, False, True)


def test_it_keeps_what_was_known_at_another_moment_apart(ada: None) -> None:
    earlier = revenue.snapshot(False, as_of=AS_OF, known_at=MAR + timedelta(days=15))
    assert earlier is not None
    assert (mrr(), earlier.headline.mrr) == (Fraction(2000), Fraction(0))
