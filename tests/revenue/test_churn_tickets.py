"""The fitted churn model learns from support tickets: each past snapshot counts the tickets of
its own 90 days (`insights.TicketLog`), the same way the current score counts them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from founderops.revenue.billing import Invoice, InvoiceLine, Ledger, Subscription
from founderops.revenue.churn_risk import FEATURES, ChurnFeatures, Scorer, scorer_for
from founderops.revenue.insights import (
    TicketLog,
    TicketSeen,
    churn_features_from_ledger,
    labelled_history,
)

MONTHS = [date(2025, m, 1) for m in range(1, 13)]
# The past snapshots labelled_history takes over twelve months: the ends of Sep, Jun, Mar.
SNAPSHOTS = (8, 5, 2)
TICKETS = [f.name for f in FEATURES].index("tickets")


def _at(index: int, day: int = 1) -> datetime:
    return datetime(2025, index + 1, day, tzinfo=UTC)


def _paying(ledger: Ledger, customer: str, months: range) -> list[Fraction | int]:
    """Pro monthly for `months` (indexes); the engine's month-end MRR for them."""
    sub = f"sub_{customer}"
    ledger.customers.append(customer)
    ledger.subscriptions[sub] = Subscription(sub, customer, "USD", _at(months[0]))
    for index in months:
        end = _at(index + 1) if index < 11 else datetime(2026, 1, 1, tzinfo=UTC)
        line = InvoiceLine("pro", "month", 2900, 1, 0, None, 0)
        invoice_id = f"in_{len(ledger.invoices) + 1}"
        ledger.invoices.append(Invoice(invoice_id, customer, sub, "USD", _at(index), end, [line]))
    return [2900 if index in months else 0 for index in range(12)]


def _world(seed: int = 7) -> tuple[Ledger, dict[str, list[Fraction | int]], TicketLog]:
    """120 customers alike in every billing respect; half leave within three months of a
    snapshot after writing to support two to five times in the weeks before it, the others
    stay and write now and then (a ticket every few months)."""
    rng = random.Random(seed)
    ledger = Ledger(first_month=MONTHS[0], last_month=MONTHS[-1])
    month_end: dict[str, list[Fraction | int]] = {}
    seen: list[TicketSeen] = []
    for number in range(120):
        customer = f"c{number:03d}"
        if number % 2:
            month_end[customer] = _paying(ledger, customer, range(12))
            for _ in range(rng.randint(0, 3)):
                moment = _at(0) + timedelta(days=rng.uniform(0, 360))
                seen.append(TicketSeen(customer, moment, rng.random() < 0.2))
            continue
        snapshot = SNAPSHOTS[number % 3]
        # Paying through the snapshot's month and the next; gone three months after it.
        month_end[customer] = _paying(ledger, customer, range(snapshot + 2))
        for _ in range(rng.randint(2, 5)):
            moment = _at(snapshot) + timedelta(days=rng.uniform(-50, 29))
            seen.append(TicketSeen(customer, moment, rng.random() < 0.4))
    return ledger, month_end, TicketLog.of(seen)


def _scorer() -> Scorer:
    ledger, month_end, log = _world()
    return scorer_for(labelled_history(ledger, MONTHS, month_end, log))


def _now(tickets: int) -> ChurnFeatures:
    ledger, month_end, _ = _world()
    seen = [TicketSeen("c001", _at(11, 1 + day), False) for day in range(tickets)]
    features = churn_features_from_ledger(
        ledger, month_end, 11, TicketLog.of(seen), MONTHS, through=date(2025, 12, 20)
    )
    return features["c001"]


def test_it_fits_a_model_on_the_generated_history() -> None:
    assert _scorer().source == "model"


def test_it_learns_a_positive_weight_for_support_tickets() -> None:
    assert _scorer().weights[TICKETS] > 0


def test_it_names_the_support_tickets_as_a_reason_of_a_fitted_score() -> None:
    reasons = _scorer().score("c001", _now(4)).reasons
    assert "4 support tickets in 90 days" in [reason.text for reason in reasons]


def test_it_scores_a_customer_who_writes_often_above_one_who_does_not() -> None:
    scorer = _scorer()
    assert scorer.score("a", _now(4)).probability > scorer.score("b", _now(0)).probability


def test_it_counts_the_current_customers_tickets_through_the_day_taken() -> None:
    assert _now(4).support_tickets_90d == 4


def test_it_learns_nothing_from_tickets_written_after_a_snapshot() -> None:
    """The churners' tickets moved to after their snapshot: the model sees none of them."""
    ledger, month_end, log = _world()
    later = TicketLog(
        {key: [t + timedelta(days=90) for t in times] for key, times in log.times.items()}
    )
    history = labelled_history(ledger, MONTHS, month_end, later)
    churned = [h.features.support_tickets_90d for h in history if h.churned]
    assert len(churned) == 60
    assert max(churned) == 0
