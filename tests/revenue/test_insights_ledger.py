"""From billing records to the insights' inputs (`revenue/insights.py` adapters)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from founderops.revenue.billing import (
    FailedPayment,
    Interval,
    Invoice,
    InvoiceLine,
    Ledger,
    Refund,
    Subscription,
)
from founderops.revenue.churn_risk import ChurnInputError, scorer_for
from founderops.revenue.insights import (
    TicketLog,
    TicketSeen,
    churn_features_from_ledger,
    daily_series_from_ledger,
    labelled_history,
    periods_from_ledger,
    plan_changes_from_ledger,
)

MONTHS = [date(2025, m, 1) for m in range(1, 7)]


def _at(month: int, day: int = 1) -> datetime:
    return datetime(2025, month, day, tzinfo=UTC)


def _invoice(
    ledger: Ledger,
    customer: str,
    month: int,
    plan: str,
    amount: int,
    *,
    discount: int = 0,
    interval: Interval = "month",
) -> Invoice:
    sub = f"sub_{customer}"
    ledger.subscriptions.setdefault(sub, Subscription(sub, customer, "USD", _at(month)))
    if customer not in ledger.customers:
        ledger.customers.append(customer)
    months = {"month": 1, "quarter": 3, "year": 12}[interval]
    end = datetime(2025 + (month + months - 1) // 12, (month + months - 1) % 12 + 1, 1, tzinfo=UTC)
    line = InvoiceLine(plan, interval, amount, 1, discount, "forever" if discount else None, 0)
    invoice = Invoice(
        f"in_{len(ledger.invoices) + 1}", customer, sub, "USD", _at(month), end, [line]
    )
    ledger.invoices.append(invoice)
    return invoice


def _ledger() -> Ledger:
    """Ann upgrades basic -> pro in March; Bob pays monthly with a coupon and leaves after April."""
    ledger = Ledger(first_month=MONTHS[0], last_month=MONTHS[-1])
    for month in (1, 2):
        _invoice(ledger, "ann", month, "basic", 900)
    for month in (3, 4, 5, 6):
        _invoice(ledger, "ann", month, "pro", 2900)
    for month in (2, 3, 4):
        bill = _invoice(ledger, "bob", month, "pro", 2900, discount=725)
    ledger.failed_payments.append(FailedPayment(bill.id, _at(4, 20)))
    ledger.refunds.append(Refund(bill.id, 500, 0, _at(4, 22)))
    return ledger


# Month-end MRR per customer as the engine gives it (Jan..Jun).
MONTH_END: dict[str, list[Fraction | int]] = {
    "ann": [900, 900, 2900, 2900, 2900, 2900],
    "bob": [0, 2175, 2175, 2175, 0, 0],
}


def test_it_finds_a_plan_change_with_its_mrr_before_and_after() -> None:
    changes = plan_changes_from_ledger(_ledger())
    assert [(c.customer, c.from_plan, c.to_plan, c.mrr_before, c.mrr_after) for c in changes] == [
        ("ann", "basic", "pro", 900, 2900)
    ]


def test_it_takes_plan_and_discount_at_the_start_of_the_period() -> None:
    periods = periods_from_ledger(_ledger(), MONTHS, MONTH_END, 3, 4)
    bob = next(p for p in periods if p.customer == "bob")
    assert (bob.plan, bob.discount_start, bob.churned) == ("pro", 725, True)


def test_it_measures_tenure_from_the_first_paid_month() -> None:
    periods = periods_from_ledger(_ledger(), MONTHS, MONTH_END, 3, 4)
    assert {p.customer: p.tenure_months for p in periods} == {"ann": 4, "bob": 3}


def test_it_leaves_out_customers_not_paying_in_the_period() -> None:
    assert [p.customer for p in periods_from_ledger(_ledger(), MONTHS, MONTH_END, 0, 0)] == ["ann"]


def test_it_counts_failed_payments_and_refunds_per_day() -> None:
    series = daily_series_from_ledger(_ledger())
    assert (series["failed_payments"], series["refunds"]) == (
        {date(2025, 1, 1): 0, date(2025, 4, 20): 1},
        {date(2025, 1, 1): 0, date(2025, 4, 22): 1},
    )


def test_it_starts_every_daily_series_with_the_records() -> None:
    """Quiet weeks before the first refund are the baseline a burst stands out against."""
    series = daily_series_from_ledger(_ledger())
    assert {name: min(values) for name, values in series.items()} == dict.fromkeys(
        ("failed_payments", "refunds", "new_mrr"), date(2025, 1, 1)
    )


def test_it_books_new_mrr_on_the_first_paid_invoices_day() -> None:
    assert daily_series_from_ledger(_ledger())["new_mrr"] == {
        date(2025, 1, 1): 900,
        date(2025, 2, 1): 2175,
    }


def _tickets(*seen: tuple[str, datetime, bool]) -> TicketLog:
    return TicketLog.of(TicketSeen(*ticket) for ticket in seen)


# Bob's tickets in April (inside the 90 days before 1 May), one of them unhappy.
BOBS = _tickets(("bob", _at(4, 3), False), ("bob", _at(4, 18), True))


def test_it_builds_churn_features_from_the_billing_records() -> None:
    features = churn_features_from_ledger(_ledger(), MONTH_END, 3, BOBS, months=MONTHS)
    bob = features["bob"]
    assert (bob.tenure_months, bob.interval, bob.mrr, bob.discount_share) == (
        3,
        "month",
        2175,
        0.25,
    )


def test_it_counts_trouble_in_the_last_90_days_of_the_snapshot() -> None:
    bob = churn_features_from_ledger(_ledger(), MONTH_END, 3, months=MONTHS)["bob"]
    assert (bob.failed_payments_90d, bob.refunds_90d) == (1, 1)


def test_it_counts_the_tickets_of_the_90_days_before_the_snapshot() -> None:
    features = churn_features_from_ledger(_ledger(), MONTH_END, 3, BOBS, MONTHS)
    assert (features["bob"].support_tickets_90d, features["bob"].negative_tickets_90d) == (2, 1)


def test_it_counts_no_ticket_of_after_the_snapshot() -> None:
    later = _tickets(("bob", _at(5, 1), True), ("bob", _at(5, 20), False))
    bob = churn_features_from_ledger(_ledger(), MONTH_END, 3, later, MONTHS)["bob"]
    assert (bob.support_tickets_90d, bob.negative_tickets_90d) == (0, 0)


def test_it_counts_no_ticket_older_than_90_days_at_the_snapshot() -> None:
    old = _tickets(("bob", datetime(2025, 1, 30, 23, 59, tzinfo=UTC), True))
    bob = churn_features_from_ledger(_ledger(), MONTH_END, 3, old, MONTHS)["bob"]
    assert bob.support_tickets_90d == 0


def test_it_counts_a_ticket_on_the_first_day_of_the_window() -> None:
    first = _tickets(("bob", datetime(2025, 1, 31, tzinfo=UTC), False))  # 1 May - 90 days
    bob = churn_features_from_ledger(_ledger(), MONTH_END, 3, first, MONTHS)["bob"]
    assert bob.support_tickets_90d == 1


def test_it_ends_the_current_snapshots_windows_with_the_day_it_is_taken() -> None:
    """A month to date: 90 days back from the close of `through`, not from the month's end."""
    features = churn_features_from_ledger(
        _ledger(), MONTH_END, 3, BOBS, MONTHS, through=date(2025, 4, 10)
    )
    assert (features["bob"].support_tickets_90d, features["bob"].failed_payments_90d) == (1, 0)


def test_it_gives_each_past_snapshot_its_own_ticket_counts() -> None:
    """The one past snapshot is March's end: Bob's March ticket counts, his April ones not."""
    log = _tickets(("bob", _at(3, 10), False), ("bob", _at(4, 3), True), ("ann", _at(4, 9), True))
    history = labelled_history(_ledger(), MONTHS, MONTH_END, log)
    assert sorted((h.features.mrr, h.features.support_tickets_90d) for h in history) == [
        (2175, 1),
        (2900, 0),
    ]


def test_it_refuses_a_ticket_time_without_a_zone() -> None:
    with pytest.raises(ChurnInputError, match=r"bob .* no time zone"):
        _tickets(("bob", datetime(2025, 4, 3), False))


def test_it_measures_the_mrr_change_over_three_months() -> None:
    ann = churn_features_from_ledger(_ledger(), MONTH_END, 3, months=MONTHS)["ann"]
    assert ann.mrr_change_90d == 2000


def test_it_labels_past_snapshots_by_what_happened_three_months_later() -> None:
    history = labelled_history(_ledger(), MONTHS, MONTH_END)
    assert sorted((h.features.mrr, h.churned) for h in history) == [(2175, True), (2900, False)]


def test_it_keeps_the_prior_for_a_history_this_small() -> None:
    assert scorer_for(labelled_history(_ledger(), MONTHS, MONTH_END)).source == "prior"
