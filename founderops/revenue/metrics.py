"""The figures a founder runs the business on, derived from the engine's result.

Money is in cents as exact fractions (round only to show); a rate whose denominator is zero
(no MRR at the start of the month, no churn) is None, never a made-up 0 or infinity.
Monthly rates use ChartMogul's standard (B2B) formulas, as in the reference scenario:

- customer churn rate = customers paying at the month's start who churned in it / customers
  paying at its start (a customer who joined and left within the month is not counted);
- gross MRR churn rate = (churn + contraction) / MRR at the start;
- net MRR churn rate = (churn + contraction - expansion - reactivation) / MRR at the start;
- NRR = (start + expansion + reactivation - contraction - churn of the customers paying at the
  start) / start; GRR = (start - their churn - their contraction) / start; both without FX;
- quick ratio = (new + expansion) / (churn + contraction), and with reactivation on top.

Trailing-12 NRR and GRR follow the customers paying at the end of the month 12 months before:
NRR = their MRR now without the FX moves since / their MRR then; GRR caps each customer at
their MRR then (and at zero below), so expansion cannot hide losses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np

from founderops.revenue.billing import RevenueInputError
from founderops.revenue.book import OPEN, PAID, VOID, Book
from founderops.revenue.engine import Month, Result


def _ratio(numerator: Fraction | int, denominator: Fraction | int) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


@dataclass(frozen=True)
class MonthRates:
    month: date
    mrr: Fraction
    arr: Fraction
    customers: int
    arpa: Fraction | None
    customer_churn: Fraction | None
    gross_mrr_churn: Fraction | None
    net_mrr_churn: Fraction | None
    nrr: Fraction | None
    grr: Fraction | None
    quick_ratio: Fraction | None
    quick_ratio_with_reactivation: Fraction | None


def month_rates(month: Month) -> MonthRates:
    m, c = month.moves, month.cohort_moves
    lost = m["churn"] + m["contraction"]
    gained = m["new"] + m["expansion"]
    cohort_net = c["expansion"] + c["reactivation"] - c["contraction"] - c["churn"]
    return MonthRates(
        month=month.month,
        mrr=month.end,
        arr=12 * month.end,
        customers=month.paying_end,
        arpa=_ratio(month.end, month.paying_end),
        customer_churn=_ratio(month.churned_from_start, month.paying_start),
        gross_mrr_churn=_ratio(lost, month.start),
        net_mrr_churn=_ratio(lost - m["expansion"] - m["reactivation"], month.start),
        nrr=_ratio(month.start + cohort_net, month.start),
        grr=_ratio(month.start - c["churn"] - c["contraction"], month.start),
        quick_ratio=_ratio(gained, lost),
        quick_ratio_with_reactivation=_ratio(gained + m["reactivation"], lost),
    )


def table(result: Result) -> list[MonthRates]:
    return [month_rates(month) for month in result.months]


@dataclass(frozen=True)
class Retention:
    month: date
    # the customers paying at the end of the month `window` months earlier
    cohort_customers: int
    nrr: Fraction | None
    grr: Fraction | None


def trailing_retention(result: Result, month: int, window: int = 12) -> Retention:
    """NRR and GRR of the customers paying `window` months before month index `month`."""
    base = month - window
    if base < 0 or month >= len(result.calendar.months):
        raise RevenueInputError(f"no month {window} months before month {month} in the range")
    then = result.block.month_end[:, base]
    cohort = np.flatnonzero(then > 0)
    start = int(then[cohort].sum())
    fx = result.block.month_fx[cohort, base + 1 : month + 1].sum(axis=1)
    now = result.block.month_end[cohort, month] - fx
    kept = np.clip(now, 0, then[cohort])
    return Retention(
        month=result.calendar.months[month],
        cohort_customers=len(cohort),
        nrr=_ratio(int(now.sum()), start),
        grr=_ratio(int(kept.sum()), start),
    )


@dataclass(frozen=True)
class Ltv:
    month: date
    value: Fraction | None
    arpa: Fraction | None
    gross_margin: Fraction
    customer_churn: Fraction | None
    formula: str


def ltv(result: Result, month: int, gross_margin: Fraction, window: int = 1) -> Ltv:
    """LTV = ARPA x gross margin / customer churn rate, the churn rate pooled over the last
    `window` months (customers lost from the start / customers at the start)."""
    if not 0 <= gross_margin <= 1:
        raise RevenueInputError(f"gross margin {gross_margin} must be between 0 and 1")
    months = result.months[max(0, month - window + 1) : month + 1]
    churn = _ratio(sum(m.churned_from_start for m in months), sum(m.paying_start for m in months))
    arpa = _ratio(result.months[month].end, result.months[month].paying_end)
    value = None if not churn or arpa is None else arpa * gross_margin / churn
    return Ltv(
        result.months[month].month,
        value,
        arpa,
        gross_margin,
        churn,
        _ltv_formula(arpa, gross_margin, churn, value),
    )


def _ltv_formula(
    arpa: Fraction | None, margin: Fraction, churn: Fraction | None, value: Fraction | None
) -> str:
    head = "LTV = ARPA x gross margin / customer churn rate"
    if arpa is None:
        return f"{head}: undefined, no paying customers"
    if not churn:
        return f"{head}: undefined, no customer churned in the window"
    assert value is not None
    return (
        f"{head} = {_dollars(arpa)} x {float(margin):.2f} / {float(churn):.4f} = {_dollars(value)}"
    )


def _dollars(cents: Fraction) -> str:
    return f"${float(cents) / 100:,.2f}"


@dataclass(frozen=True)
class Acquisition:
    month: date
    spend: int
    new_customers: int
    new_mrr: Fraction
    cac: Fraction | None
    payback_months: Fraction | None
    formula: str


def acquisition(
    result: Result, spend: Sequence[tuple[date, int]], gross_margin: Fraction
) -> list[Acquisition]:
    """CAC and payback for each month with recorded spend (cents; several entries in one
    month add up). CAC = spend / new customers; payback = CAC / (new ARPA x gross margin),
    the months of gross profit a new customer takes to repay what winning them cost."""
    by_month: dict[date, int] = {}
    for day, amount in spend:
        if amount < 0:
            raise RevenueInputError(f"acquisition spend for {day:%Y-%m} is negative")
        by_month[day.replace(day=1)] = by_month.get(day.replace(day=1), 0) + amount
    months = {m.month: m for m in result.months}
    unknown = sorted(set(by_month) - set(months))
    if unknown:
        raise RevenueInputError(f"acquisition spend for {unknown[0]:%Y-%m}, outside the range")
    return [_acquisition(months[m], by_month[m], gross_margin) for m in sorted(by_month)]


def _acquisition(month: Month, spend: int, margin: Fraction) -> Acquisition:
    count, new_mrr = month.counts["new"], month.moves["new"]
    cac = _ratio(spend, count)
    payback = _ratio(spend, new_mrr * margin) if count else None
    formula = (
        "CAC = spend / new customers; payback = CAC / (new MRR / new customers x gross margin)"
        f" = {_dollars(Fraction(spend))} / ({_dollars(new_mrr)} x {float(margin):.2f})"
    )
    return Acquisition(month.month, spend, count, new_mrr, cac, payback, formula)


@dataclass(frozen=True)
class Conversion:
    month: date
    started: int
    converted: int
    # trials still running at the end of the range: neither converted nor lost yet
    pending: int
    rate: Fraction | None


def trial_conversion(result: Result) -> list[Conversion]:
    """Trials by the month they started: how many became a paid subscription (a later paid
    invoice above zero on the same subscription). Running trials are left out of the rate."""
    book, calendar = result.book, result.calendar
    lines = book.lines
    trial_rows = np.unique(lines.invoice[lines.trial])
    paid_rows = _paid_invoices(book)
    subscription = book.invoices.subscription
    converted = np.zeros(len(book.subscriptions.customer), dtype=np.bool_)
    converted[subscription[paid_rows]] = True
    trials = trial_rows[book.invoices.start[trial_rows] >= calendar.first]
    trials = trials[book.invoices.start[trials] <= calendar.last_day]
    done = converted[subscription[trials]]
    running = ~done & (book.invoices.end[trials] > calendar.last_day)
    month = calendar.month_of_day[book.invoices.start[trials] - calendar.first]
    return [
        _conversion(result.calendar.months[k], month == k, done, running)
        for k in range(len(calendar.months))
    ]


def _paid_invoices(book: Book) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    lines = book.lines
    count = len(book.invoices.customer)
    charged, trial = np.zeros(count, np.int64), np.zeros(count, np.bool_)
    np.add.at(charged, lines.invoice, lines.gross - lines.discount)
    trial[lines.invoice[lines.trial]] = True
    return np.flatnonzero((book.invoices.status == PAID) & (charged > 0) & ~trial)


def _conversion(month: date, mine: np.ndarray, done: np.ndarray, running: np.ndarray) -> Conversion:
    started, converted, pending = (
        int(mine.sum()),
        int((mine & done).sum()),
        int((mine & running).sum()),
    )
    return Conversion(month, started, converted, pending, _ratio(converted, started - pending))


@dataclass(frozen=True)
class Recovery:
    month: date
    failed: int
    recovered: int
    lost: int
    # still open at the end of the range: dunning not over yet
    pending: int
    rate: Fraction | None


def payment_recovery(result: Result) -> list[Recovery]:
    """Invoices whose payment failed, by the month of their first failure: recovered (paid in
    the end), lost (voided or uncollectible) or pending. Rate = recovered / (recovered + lost)."""
    book, calendar = result.book, result.calendar
    failures = book.failures
    order = np.lexsort((failures.day, failures.invoice))
    invoice, day = failures.invoice[order], failures.day[order]
    first = np.concatenate(([True], invoice[1:] != invoice[:-1])) if len(invoice) else invoice > 0
    invoice, day = invoice[first], day[first]
    inside = (day >= calendar.first) & (day <= calendar.last_day)
    invoice, day = invoice[inside], day[inside]
    status = book.invoices.status[invoice]
    month = calendar.month_of_day[day - calendar.first]
    return [_recovery(calendar.months[k], status[month == k]) for k in range(len(calendar.months))]


def _recovery(month: date, status: np.ndarray) -> Recovery:
    recovered, lost = int((status == PAID).sum()), int((status == VOID).sum())
    pending = int((status == OPEN).sum())
    return Recovery(
        month, len(status), recovered, lost, pending, _ratio(recovered, recovered + lost)
    )
