"""On generated histories the bridge holds exactly every month, and the change-point engine
agrees with a plain day-by-day count (the engine's first, obviously-correct form)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from founderops.revenue import engine
from founderops.revenue.billing import Interval, Ledger
from founderops.revenue.engine import MOVEMENTS, Result, Settings
from tests.revenue.ledgers import Books, add_months, after, at

# Whole twelfths (month ... day) and intervals rounded half-up to the unit (5 months, 3 weeks,
# 2 years): the bridge holds exactly either way.
INTERVALS: list[Interval] = [
    "month",
    "month",
    "month",
    "quarter",
    "year",
    "week",
    "2 weeks",
    "day",
    "2 months",
    "6 months",
    "5 months",
    "3 weeks",
    "2 years",
]
AMOUNTS = [0, 999, 2500, 5000, 10000, 12345]
RATES = ["0.8", "1.05", "1.1", "1.0834", "0.9171", "1.2345", "1.5"]


@st.composite
def histories(draw: st.DrawFn) -> Ledger:
    """Subscribes, changes of amount, cancellations, gaps and comebacks, concurrent
    subscriptions, trials, unpaid and voided invoices, refunds, EUR and GBP at dated rates."""
    first = date(2024, draw(st.integers(1, 12)), 1)
    months = draw(st.integers(1, 7))
    last = add_months(at(first.isoformat()), months - 1).date()
    books = Books(f"{first:%Y-%m}", f"{last:%Y-%m}")
    span = (add_months(at(last.isoformat()), 1).date() - first).days
    for currency in ("EUR", "GBP"):
        _rates(draw, books, currency, first, span)
    for customer in range(draw(st.integers(1, 5))):
        currency = draw(st.sampled_from(["USD", "USD", "EUR", "GBP"]))
        for _ in range(draw(st.integers(1, 3))):
            start = first + timedelta(days=draw(st.integers(-40, span + 5)))
            _episode(draw, books, f"c{customer}", currency, start)
    return books.ledger


def _rates(draw: st.DrawFn, books: Books, currency: str, first: date, span: int) -> None:
    days = {first - timedelta(days=400)} | {
        first + timedelta(days=d) for d in draw(st.lists(st.integers(-60, span), max_size=6))
    }
    for day in sorted(days):
        books.rate(currency, day.isoformat(), draw(st.sampled_from(RATES)))


def _episode(draw: st.DrawFn, books: Books, customer: str, currency: str, start: date) -> None:
    interval = draw(st.sampled_from(INTERVALS))
    sub = f"sub_{customer}_{start}_{len(books.ledger.subscriptions)}"
    moment = at(start.isoformat())
    invoices = draw(st.integers(1, 6))
    for k in range(invoices):
        amount = draw(st.sampled_from(AMOUNTS))
        discount = draw(st.sampled_from([0, 0, amount // 2, amount]))
        (invoice,) = books.bill(
            customer,
            after(moment, interval, k).isoformat(),
            amount,
            interval=interval,
            sub=sub,
            discount=discount,
            duration=draw(st.sampled_from(["forever", "repeating"])) if discount else None,
            tax=draw(st.sampled_from([0, amount // 5])),
            trial=k == 0 and draw(st.booleans()) and invoices > 1,
            status=draw(st.sampled_from(["paid", "paid", "paid", "open"])),
            currency=currency,
        )
        if invoice.status == "open" and draw(st.booleans()):
            books.void(invoice, (invoice.period_start + timedelta(days=9)).isoformat())
        if amount - discount > 0 and draw(st.integers(0, 9)) == 0:
            books.refund(invoice, draw(st.integers(1, amount - discount)), "2024-01-01")
    if draw(st.booleans()):
        end = after(moment, interval, invoices) - timedelta(days=draw(st.integers(0, 20)))
        books.end(sub, end.isoformat())


SETTINGS = st.builds(
    Settings,
    discounts=st.sampled_from(["all_applied", "forever_only", "ignored"]),
    churn_recognition=st.sampled_from(["period_end", "at_cancellation"]),
    past_due=st.sampled_from(["count_until_canceled", "exclude_unpaid"]),
    refunds=st.sampled_from(["ignore", "deduct"]),
    trials=st.sampled_from(["zero", "list_price"]),
    tax=st.sampled_from(["exclude", "include"]),
    fx_date=st.sampled_from(["service_period_start", "subscription_start"]),
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(histories(), SETTINGS)
def test_it_holds_the_bridge_exactly_every_month(ledger: Ledger, chosen: Settings) -> None:
    result = engine.compute(ledger, chosen)
    block = result.block
    moves = {kind: block.moves[i] for i, kind in enumerate(MOVEMENTS)}
    bridge = (
        result.start_units
        + moves["new"]
        + moves["expansion"]
        + moves["reactivation"]
        - moves["contraction"]
        - moves["churn"]
        + block.fx
    )
    assert bridge.tolist() == result.end_units.tolist()


@PROPERTY
@given(histories(), SETTINGS)
def test_it_agrees_with_a_day_by_day_count(ledger: Ledger, chosen: Settings) -> None:
    result = engine.compute(ledger, chosen)
    expected = _day_by_day(result)
    block = result.block
    got = {
        "moves": block.moves.tolist(),
        "counts": block.counts.tolist(),
        "cohort_moves": block.cohort_moves.tolist(),
        "fx": block.fx.tolist(),
        "churned_from_start": block.churned_from_start.tolist(),
        "month_end": block.month_end.tolist(),
    }
    assert got == expected


def _day_by_day(result: Result) -> dict[str, list[list[int]] | list[int]]:
    """Every customer's MRR on every day from the spans, each day compared with the one before:
    slow and plain on purpose."""
    calendar, spans = result.calendar, _spans(result)
    months, customers = len(calendar.months), len(result.customers)
    out = {
        "moves": np.zeros((5, months), np.int64),
        "counts": np.zeros((5, months), np.int64),
        "cohort_moves": np.zeros((5, months), np.int64),
        "fx": np.zeros(months, np.int64),
        "churned_from_start": np.zeros(months, np.int64),
        "month_end": np.zeros((customers, months), np.int64),
    }
    for customer in range(customers):
        _customer_days(result, spans, customer, out)
    return {name: table.tolist() for name, table in out.items()}


def _spans(result: Result) -> engine.Spans:
    return engine.invoice_spans(result.book, result.settings, result.rates, None)


def _customer_days(
    result: Result, spans: engine.Spans, customer: int, out: dict[str, np.ndarray]
) -> None:
    calendar, mine = result.calendar, spans.customer == customer
    before, ever_paid, churned_in = (0, 0), False, set()
    for offset in range(calendar.days):
        day, month = calendar.first + offset, int(calendar.month_of_day[offset])
        active = mine & (spans.start <= day) & (day < spans.end)
        now = (int(spans.native[active].sum()), int(spans.usd[active].sum()))
        in_cohort = month > 0 and out["month_end"][customer, month - 1] > 0
        kind, amount, fx = _classify(before, now, ever_paid)
        out["fx"][month] += fx
        if kind is not None:
            index = MOVEMENTS.index(kind)
            out["moves"][index, month] += amount
            out["counts"][index, month] += 1
            if in_cohort:
                out["cohort_moves"][index, month] += amount
                if kind == "churn" and month not in churned_in:
                    out["churned_from_start"][month] += 1
                    churned_in.add(month)
        ever_paid = ever_paid or now[1] > 0
        before = now
        out["month_end"][customer, month] = now[1]


def _classify(
    before: tuple[int, int], now: tuple[int, int], ever_paid: bool
) -> tuple[str | None, int, int]:
    (native_0, usd_0), (native_1, usd_1) = before, now
    if usd_0 == usd_1 and native_0 == native_1:
        return None, 0, 0
    if usd_0 == 0:
        return ("reactivation" if ever_paid else "new"), usd_1, 0
    if usd_1 == 0:
        return "churn", usd_0, 0
    fx = (2 * native_0 * usd_1 + native_1) // (2 * native_1) - usd_0
    change = usd_1 - usd_0 - fx
    if change == 0:
        return None, 0, fx
    return ("expansion" if change > 0 else "contraction"), abs(change), fx
