"""`ledger_from_db`: stored Stripe objects (and CSV imports) as the engine's billing records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
import time_machine

from founderops.revenue import csv_import, engine, stripe_store
from founderops.revenue.ledger import customer_ids, ledger_from_db, problems
from founderops.revenue.models import FxRate
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
JAN, FEB, MAR, APR, MAY = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4, 5))
MID_MARCH = datetime(2026, 3, 16, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def store(*objs: dict[str, Any], livemode: bool = False) -> None:
    for obj in objs:
        stripe_store.store(obj, stripe_store.Context(livemode, fs.ts(NOW)))


def catalog(livemode: bool = False) -> None:
    """Pro at $20 a month, Basic at $10, Pro yearly at $200, and a one-off set-up fee."""
    store(
        fs.product(),
        fs.price("price_pro", 2000),
        fs.price("price_basic", 1000),
        fs.price("price_pro_year", 20000, interval="year"),
        {**fs.price("price_setup", 5000), "type": "one_time", "recurring": None},
        livemode=livemode,
    )


def monthly(
    number: int, start: datetime, end: datetime, amount: int = 2000, **line: Any
) -> dict[str, Any]:
    lines = [fs.line(f"il_{number}", amount, start, end, item="si_1", **line)]
    return fs.invoice(f"in_{number}", "cus_ada", lines, start)


def mrr(result: engine.Result, customer: int = 0) -> list[Fraction]:
    return result.month_end(customer)


def test_it_turns_a_paid_invoice_line_into_an_engine_invoice() -> None:
    catalog()
    store(monthly(1, MAR, APR))
    ledger = ledger_from_db(livemode=False)
    assert ledger.customers == ["cus_ada"]
    invoice = ledger.invoices[0]
    assert (invoice.id, invoice.subscription, invoice.currency, invoice.status) == (
        "in_1",
        "sub_1",
        "USD",
        "paid",
    )
    assert (invoice.period_start, invoice.period_end) == (MAR, APR)
    line = invoice.lines[0]
    assert (line.plan, line.interval, line.unit_amount, line.quantity, line.discount) == (
        "Pro",
        "month",
        2000,
        1,
        0,
    )
    assert ledger.subscriptions["sub_1"].started_at == MAR


def test_it_spans_the_months_from_the_first_invoice_to_this_month() -> None:
    catalog()
    store(monthly(1, JAN, FEB))
    ledger = ledger_from_db(livemode=False)
    assert (ledger.first_month, ledger.last_month) == (date(2026, 1, 1), date(2026, 4, 1))


def test_it_gives_an_empty_ledger_for_the_current_month_without_invoices() -> None:
    ledger = ledger_from_db(livemode=False)
    assert (ledger.invoices, ledger.first_month, ledger.last_month) == (
        [],
        date(2026, 4, 1),
        date(2026, 4, 1),
    )


def test_it_keeps_test_and_live_mode_apart() -> None:
    catalog()
    store(monthly(1, MAR, APR))
    assert ledger_from_db(livemode=True).invoices == []
    assert len(ledger_from_db(livemode=False).invoices) == 1


def test_it_counts_only_lines_with_a_recurring_price() -> None:
    catalog()
    lines = [
        fs.line("il_1", 2000, MAR, APR),
        fs.line("il_2", 5000, MAR, MAR, price_id="price_setup"),
    ]
    store(fs.invoice("in_1", "cus_ada", lines, MAR))
    assert [i.id for i in ledger_from_db(livemode=False).invoices] == ["in_1"]


def test_it_ignores_a_negative_credit_line_that_is_not_a_proration() -> None:
    catalog()
    credit = fs.line("il_2", -500, MAR, APR, price_id=None, subscription_id=None)
    store(fs.invoice("in_1", "cus_ada", [fs.line("il_1", 2000, MAR, APR), credit], MAR))
    result = engine.compute(ledger_from_db(livemode=False))
    assert mrr(result)[0] == 2000


def test_it_skips_draft_invoices() -> None:
    catalog()
    store({**monthly(1, MAR, APR), "status": "draft"})
    assert ledger_from_db(livemode=False).invoices == []


def test_it_treats_an_uncollectible_invoice_as_void_from_when_it_was_marked() -> None:
    catalog()
    marked = datetime(2026, 3, 20, tzinfo=UTC)
    invoice = monthly(1, MAR, APR)
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = fs.ts(marked)
    store(invoice)
    stored = ledger_from_db(livemode=False).invoices[0]
    assert (stored.status, stored.voided_at) == ("void", marked)


def test_it_keeps_the_forever_duration_of_a_discount() -> None:
    catalog()
    store(fs.coupon("LOYAL", 25, "forever"), fs.discount("di_1", "LOYAL"))
    store(monthly(1, MAR, APR, discounts=[("di_1", 500)]))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.discount, line.discount_duration) == (500, "forever")


def test_it_counts_a_once_coupon_as_temporary() -> None:
    catalog()
    store(fs.coupon("WELCOME", 50, "once"), fs.discount("di_1", "WELCOME"))
    store(monthly(1, MAR, APR, discounts=[("di_1", 1000)]))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.discount, line.discount_duration) == (1000, "repeating")


def test_it_counts_a_100_percent_off_line_as_zero_mrr_but_list_price_like_stripe() -> None:
    catalog()
    store(fs.coupon("FREE3", 100, "repeating", months=3), fs.discount("di_1", "FREE3"))
    store(monthly(1, MAR, APR, discounts=[("di_1", 2000)]))
    ledger = ledger_from_db(livemode=False)
    assert mrr(engine.compute(ledger, engine.PROFILES["chartmogul"]))[0] == 0
    assert mrr(engine.compute(ledger, engine.PROFILES["stripe"]))[0] == 2000


def test_it_splits_a_line_with_a_forever_and_a_temporary_discount() -> None:
    catalog()
    store(fs.coupon("LOYAL", 25, "forever"), fs.discount("di_1", "LOYAL"))
    store(fs.coupon("WELCOME", 10, "once"), fs.discount("di_2", "WELCOME"))
    store(monthly(1, MAR, APR, discounts=[("di_1", 500), ("di_2", 200)]))
    ledger = ledger_from_db(livemode=False)
    assert mrr(engine.compute(ledger, engine.PROFILES["chartmogul"]))[0] == 1300
    assert mrr(engine.compute(ledger, engine.PROFILES["stripe"]))[0] == 1500


def test_it_counts_a_discount_whose_coupon_is_unknown_as_temporary_and_says_so() -> None:
    catalog()
    store(monthly(1, MAR, APR, discounts=[("di_gone", 500)]))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert line.discount_duration == "repeating"
    assert problems(livemode=False)[0] == (
        "1 discounts on invoice lines have no known coupon (counted as temporary)"
    )


def test_it_takes_inclusive_tax_out_of_the_amount() -> None:
    catalog()
    store(monthly(1, MAR, APR, amount=2400, tax=400, inclusive=True))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.gross, line.tax) == (2000, 400)


def test_it_keeps_exclusive_tax_beside_the_amount() -> None:
    catalog()
    store(monthly(1, MAR, APR, tax=400))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.gross, line.tax) == (2000, 400)


def test_it_turns_a_zero_line_inside_the_trial_into_a_trial_line() -> None:
    catalog()
    trial = fs.subscription(
        "sub_1",
        "cus_ada",
        [("si_1", fs.price(), 1)],
        MAR,
        status="trialing",
        trial_start=fs.ts(MAR),
        trial_end=fs.ts(MID_MARCH),
    )
    store(trial, monthly(1, MAR, MID_MARCH, amount=0))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.trial, line.unit_amount, line.net) == (True, 2000, 0)


def test_it_keeps_a_zero_line_outside_a_trial_at_zero() -> None:
    catalog()
    store(monthly(1, MAR, APR, amount=0))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.trial, line.gross) == (False, 0)


def test_it_keeps_the_unit_amount_and_quantity_of_a_seat_plan() -> None:
    catalog()
    store(monthly(1, MAR, APR, amount=6000, quantity=3))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.unit_amount, line.quantity) == (2000, 3)


def test_it_shows_a_mid_period_upgrade_as_expansion() -> None:
    catalog()
    store(fs.customer("cus_ada"), monthly(1, MAR, APR, amount=1000, price_id="price_basic"))
    unused = fs.line(
        "il_2", -500, MID_MARCH, APR, price_id="price_basic", proration=True, item="si_1"
    )
    remaining = fs.line("il_3", 1000, MID_MARCH, APR, proration=True, item="si_1")
    store(fs.invoice("in_2", "cus_ada", [unused, remaining], MID_MARCH))
    store(monthly(4, APR, MAY))
    result = engine.compute(ledger_from_db(livemode=False))
    march = result.months[0]
    moves = (march.moves["new"], march.moves["expansion"], march.moves["churn"])
    assert moves == (Fraction(1000), Fraction(1000), Fraction(0))
    assert mrr(result) == [2000, 2000]


def test_it_counts_a_proration_at_the_full_rate_of_its_price() -> None:
    catalog()
    remaining = fs.line("il_3", 1000, MID_MARCH, APR, proration=True)
    store(fs.invoice("in_2", "cus_ada", [remaining], MID_MARCH))
    line = ledger_from_db(livemode=False).invoices[0].lines[0]
    assert (line.gross, line.quantity) == (2000, 1)


def test_it_keeps_lines_of_one_period_in_one_engine_invoice() -> None:
    catalog()
    lines = [
        fs.line("il_1", 2000, MAR, APR),
        fs.line("il_2", 1000, MAR, APR, price_id="price_basic"),
    ]
    store(fs.invoice("in_1", "cus_ada", lines, MAR))
    invoices = ledger_from_db(livemode=False).invoices
    assert [(i.id, len(i.lines)) for i in invoices] == [("in_1", 2)]


def test_it_names_the_periods_of_an_invoice_that_covers_several() -> None:
    catalog()
    lines = [
        fs.line("il_1", 1000, MID_MARCH, APR, proration=True),
        fs.line("il_2", 2000, APR, MAY),
    ]
    store(fs.invoice("in_1", "cus_ada", lines, APR))
    invoices = ledger_from_db(livemode=False).invoices
    assert [i.id for i in invoices] == ["in_1/il_1", "in_1/il_2"]


def test_it_shares_a_refund_among_the_periods_by_what_each_charged() -> None:
    catalog()
    lines = [
        fs.line("il_1", 1000, MID_MARCH, APR, proration=True),
        fs.line("il_2", 2000, APR, MAY),
    ]
    store(fs.invoice("in_1", "cus_ada", lines, APR))
    store(fs.charge("ch_1", 3000, invoice="in_1"), fs.refund("re_1", "ch_1", 1500))
    refunds = ledger_from_db(livemode=False).refunds
    assert [(r.invoice, r.amount, r.tax) for r in refunds] == [
        ("in_1/il_1", 500, 0),
        ("in_1/il_2", 1000, 0),
    ]


def test_it_ends_only_the_changed_item_of_a_multi_item_subscription() -> None:
    catalog()
    renewal = [
        fs.line("il_1", 1000, MAR, APR, price_id="price_basic", item="si_seats"),
        fs.line("il_2", 2000, MAR, APR, item="si_addon"),
    ]
    store(fs.invoice("in_1", "cus_ada", renewal, MAR))
    unused = fs.line(
        "il_3", -500, MID_MARCH, APR, price_id="price_basic", proration=True, item="si_seats"
    )
    store(fs.invoice("in_2", "cus_ada", [unused], MID_MARCH))
    result = engine.compute(ledger_from_db(livemode=False))
    assert mrr(result) == [2000, 0]
    assert result.months[0].moves["contraction"] == Fraction(1000)


def test_it_splits_a_refund_into_its_amount_and_tax() -> None:
    catalog()
    store(monthly(1, MAR, APR, tax=400))
    store(fs.charge("ch_1", 2400, invoice="in_1"), fs.refund("re_1", "ch_1", 1200))
    refund = ledger_from_db(livemode=False).refunds[0]
    assert (refund.invoice, refund.amount, refund.tax) == ("in_1", 1000, 200)


def test_it_reaches_a_refund_through_an_invoice_payment() -> None:
    catalog()
    store(monthly(1, MAR, APR))
    store(fs.invoice_payment("inpay_1", "in_1", "pi_1", 2000))
    store(fs.charge("ch_1", 2000, payment_intent="pi_1"), fs.refund("re_1", "ch_1", 2000))
    assert [r.amount for r in ledger_from_db(livemode=False).refunds] == [2000]


def test_it_leaves_out_refunds_that_failed() -> None:
    catalog()
    store(monthly(1, MAR, APR), fs.charge("ch_1", 2000, invoice="in_1"))
    store(fs.refund("re_1", "ch_1", 2000, status="failed"))
    assert ledger_from_db(livemode=False).refunds == []


def test_it_deducts_refunds_when_the_setting_says_so() -> None:
    catalog()
    store(monthly(1, MAR, APR), fs.charge("ch_1", 2000, invoice="in_1"))
    store(fs.refund("re_1", "ch_1", 500))
    ledger = ledger_from_db(livemode=False)
    deduct = engine.Settings(refunds="deduct")
    assert mrr(engine.compute(ledger, deduct))[0] == 1500


def test_it_counts_failed_charges_as_failed_payments() -> None:
    catalog()
    store({**monthly(1, MAR, APR), "status": "open"})
    store(fs.charge("ch_1", 2000, invoice="in_1", status="failed", created=MAR))
    failed = ledger_from_db(livemode=False).failed_payments
    assert [(f.invoice, f.created_at) for f in failed] == [("in_1", MAR)]


def test_it_marks_a_past_due_subscription() -> None:
    catalog()
    sub = fs.subscription("sub_1", "cus_ada", [("si_1", fs.price(), 1)], MAR, status="past_due")
    store(sub, monthly(1, MAR, APR))
    assert ledger_from_db(livemode=False).subscriptions["sub_1"].past_due is True


def test_it_takes_a_subscriptions_end_from_stripe() -> None:
    catalog()
    ended = datetime(2026, 3, 20, tzinfo=UTC)
    sub = fs.subscription(
        "sub_1",
        "cus_ada",
        [("si_1", fs.price(), 1)],
        MAR,
        status="canceled",
        ended_at=fs.ts(ended),
        canceled_at=fs.ts(ended),
    )
    store(sub, monthly(1, MAR, APR))
    subscription = ledger_from_db(livemode=False).subscriptions["sub_1"]
    assert (subscription.ended_at, subscription.canceled_at) == (ended, ended)


def test_it_builds_a_stub_subscription_from_its_invoices() -> None:
    catalog()
    store(monthly(1, MAR, APR))
    subscription = ledger_from_db(livemode=False).subscriptions["sub_1"]
    assert (subscription.customer, subscription.started_at, subscription.ended_at) == (
        "cus_ada",
        MAR,
        None,
    )


def test_it_reads_fx_rates_exactly() -> None:
    FxRate.objects.create(currency="EUR", day=date(2026, 3, 1), rate="1.0843")
    FxRate.objects.create(currency="GBP", day=date(2026, 3, 1), rate="127/100")
    rates = ledger_from_db(livemode=False).rates
    assert [(r.currency, r.usd) for r in rates] == [
        ("EUR", Fraction(10843, 10000)),
        ("GBP", Fraction(127, 100)),
    ]


def test_it_converts_a_foreign_customer_at_the_dated_rate() -> None:
    catalog()
    FxRate.objects.create(currency="EUR", day=date(2026, 1, 1), rate="1.10")
    store(fs.price("price_eur", 1000, currency="eur"))
    store({**monthly(1, MAR, APR, amount=1000, price_id="price_eur"), "currency": "eur"})
    assert mrr(engine.compute(ledger_from_db(livemode=False)))[0] == 1100


def test_it_reads_a_weekly_price_as_a_week() -> None:
    store(fs.product(), fs.price("price_weekly", 500, interval="week"))
    week = datetime(2026, 3, 8, tzinfo=UTC)
    store(monthly(1, MAR, week, amount=500, price_id="price_weekly"))
    assert ledger_from_db(livemode=False).invoices[0].lines[0].interval == "week"


def test_it_leaves_out_a_customer_whose_price_interval_cannot_be_counted() -> None:
    store(fs.product(), fs.price("price_odd", 500, interval="week", interval_count=200))
    store(monthly(1, MAR, APR, amount=500, price_id="price_odd"))
    ledger = ledger_from_db(livemode=False)
    assert (ledger.customers, ledger.invoices) == ([], [])
    [excluded] = ledger.excluded
    assert (excluded.customer, excluded.record) == ("cus_ada", "invoice in_1 line il_1")
    assert "price price_odd bills every 200 week(s)" in excluded.reason


def test_it_reads_a_quarterly_price_as_a_quarter() -> None:
    store(fs.product(), fs.price("price_q", 6000, interval_count=3))
    store(monthly(1, MAR, datetime(2026, 6, 1, tzinfo=UTC), amount=6000, price_id="price_q"))
    assert ledger_from_db(livemode=False).invoices[0].lines[0].interval == "quarter"


def test_it_waits_for_prices_known_only_by_reference_and_says_so() -> None:
    store(monthly(1, MAR, APR))
    assert ledger_from_db(livemode=False).invoices == []
    assert "1 price objects wait to be fetched from Stripe" in problems(livemode=False)


def test_it_includes_csv_imports_in_live_mode() -> None:
    header = ",".join(csv_import.REQUIRED)
    row = "c1,ada@example.com,inv_1,USD,49.00,0,2026-03-01,2026-04-01,Pro,month,paid"
    csv_import.import_invoices(f"{header}\n{row}\n")
    ledger = ledger_from_db(livemode=True)
    assert ledger.customers == ["csv:c1"]
    assert mrr(engine.compute(ledger))[0] == 4900
    assert customer_ids(livemode=True)["csv:c1"] is not None


def test_it_leaves_out_a_customer_whose_currency_has_no_rate() -> None:
    catalog()
    store(fs.price("price_eur", 1000, currency="eur"))
    store({**monthly(1, MAR, APR, amount=1000, price_id="price_eur"), "currency": "eur"})
    ledger = ledger_from_db(livemode=False)
    assert [str(e) for e in ledger.excluded] == [
        "no EURUSD rate on or before 2026-03-01 (invoice in_1)"
    ]
    assert engine.compute(ledger).customers == []
