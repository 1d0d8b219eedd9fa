"""The reference scenario through Stripe's shapes gives the engine's numbers to the cent.

The scenario's billing records (fixture.load) are written out as the Stripe objects a real
account would hold (customers, prices, coupons and discounts, subscriptions with trials,
invoices with lines, charges and refunds, FX rates), stored through the same code as webhooks
and backfills, read back with ledger_from_db, and computed: every customer's month-end MRR and
every month's movements equal those computed from the scenario directly, in both profiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from founderops.revenue import billing, engine, fixture, stripe_store
from founderops.revenue.ledger import ledger_from_db
from founderops.revenue.models import FxRate
from tests.conftest import SHARED_DATA
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

SCENARIO = SHARED_DATA / "revenue" / "reference_scenario" / "events.csv"
NOW = datetime(2026, 1, 15, tzinfo=UTC)
INTERVALS = {"month": ("month", 1), "quarter": ("month", 3), "year": ("year", 1)}


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def scenario() -> billing.Ledger:
    return fixture.load(SCENARIO)


def store(obj: dict[str, Any]) -> None:
    stripe_store.store(obj, stripe_store.Context(livemode=False, version=fs.ts(NOW)))


def price_id(line: billing.InvoiceLine, currency: str) -> str:
    return f"price_{line.plan}_{line.interval}_{currency}_{line.unit_amount}"


def as_stripe(ledger: billing.Ledger) -> None:
    """Store `ledger` as the Stripe objects that would have produced it."""
    for customer in ledger.customers:
        store(fs.customer(customer, email=f"{customer.lower()}@example.com"))
    for invoice in ledger.invoices:
        for line in invoice.lines:
            _price(line, invoice.currency)
    _coupons()
    for sub in ledger.subscriptions.values():
        store(_subscription(ledger, sub))
    for invoice in ledger.invoices:
        store(_invoice(invoice))
        store(fs.charge(f"ch_{invoice.id}", _total(invoice), invoice.customer, invoice=invoice.id))
    for number, refund in enumerate(ledger.refunds):
        store(fs.refund(f"re_{number}", f"ch_{refund.invoice}", refund.amount + refund.tax))
    for rate in ledger.rates:
        FxRate.objects.create(
            currency=rate.currency,
            day=rate.day,
            rate=f"{rate.usd.numerator}/{rate.usd.denominator}",
        )


def _price(line: billing.InvoiceLine, currency: str) -> None:
    interval, count = INTERVALS[line.interval]
    stripe_id = price_id(line, currency)
    store(fs.product(f"prod_{line.plan}", line.plan))
    store(
        {
            **fs.price(
                stripe_id, line.unit_amount, interval, currency.lower(), f"prod_{line.plan}"
            ),
            "nickname": line.plan,
            "recurring": {"interval": interval, "interval_count": count},
        }
    )


def _coupons() -> None:
    for duration in ("forever", "repeating"):
        store(fs.coupon(f"coupon_{duration}", 10, duration))
        store(fs.discount(f"di_{duration}", f"coupon_{duration}"))


def _subscription(ledger: billing.Ledger, sub: billing.Subscription) -> dict[str, Any]:
    trial = next(
        (i for i in ledger.invoices if i.subscription == sub.id and i.lines[0].trial), None
    )
    return fs.subscription(
        sub.id,
        sub.customer,
        [],
        sub.started_at,
        status="past_due" if sub.past_due else ("canceled" if sub.ended_at else "active"),
        currency=sub.currency.lower(),
        ended_at=_ts(sub.ended_at),
        canceled_at=_ts(sub.canceled_at),
        cancel_at_period_end=sub.cancel_at_period_end,
        trial_start=_ts(trial.period_start) if trial else None,
        trial_end=_ts(trial.period_end) if trial else None,
    )


def _invoice(invoice: billing.Invoice) -> dict[str, Any]:
    lines = [
        fs.line(
            f"il_{invoice.id}_{number}",
            0 if line.trial else line.gross,
            invoice.period_start,
            invoice.period_end,
            price_id=price_id(line, invoice.currency),
            subscription_id=invoice.subscription,
            quantity=line.quantity,
            discounts=[]
            if line.trial or not line.discount
            else [(f"di_{line.discount_duration}", line.discount)],
            tax=line.tax,
        )
        for number, line in enumerate(invoice.lines)
    ]
    stored = fs.invoice(
        invoice.id,
        invoice.customer,
        lines,
        invoice.period_start,
        status=invoice.status,
        subscription_id=invoice.subscription,
        currency=invoice.currency.lower(),
    )
    stored["status_transitions"]["voided_at"] = _ts(invoice.voided_at)
    return stored


def _total(invoice: billing.Invoice) -> int:
    return invoice.net + sum(line.tax for line in invoice.lines)


def _ts(moment: datetime | None) -> int | None:
    return None if moment is None else fs.ts(moment)


@pytest.mark.parametrize("profile", ["chartmogul", "stripe"])
def test_it_gives_the_engines_numbers_for_the_reference_scenario(
    scenario: billing.Ledger, profile: str
) -> None:
    as_stripe(scenario)
    stored = ledger_from_db(livemode=False, through=scenario.last_month)
    settings = engine.PROFILES[profile]
    expected, found = engine.compute(scenario, settings), engine.compute(stored, settings)
    assert sorted(stored.customers) == sorted(scenario.customers)
    assert (stored.first_month, stored.last_month) == (scenario.first_month, scenario.last_month)
    for customer in scenario.customers:
        mine = found.month_end(stored.customers.index(customer))
        assert mine == expected.month_end(scenario.customers.index(customer)), customer
    assert [m.moves for m in found.months] == [m.moves for m in expected.months]
    assert [m.fx for m in found.months] == [m.fx for m in expected.months]


def test_it_keeps_every_refund_and_failed_invoice_of_the_scenario(
    scenario: billing.Ledger,
) -> None:
    as_stripe(scenario)
    stored = ledger_from_db(livemode=False, through=scenario.last_month)
    assert sorted((r.invoice, r.amount, r.tax) for r in stored.refunds) == sorted(
        (r.invoice, r.amount, r.tax) for r in scenario.refunds
    )
    assert sorted((i.id, i.status) for i in stored.invoices) == sorted(
        (i.id, i.status) for i in scenario.invoices
    )
