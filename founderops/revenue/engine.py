"""MRR per customer per day from invoice lines and service periods, and its movements.

Amounts are exact fractions of a cent (integer minor units divided by months in the interval,
times exact FX rates); rounding half-up happens only when a figure is written out, so the
bridge start + new + expansion + reactivation - contraction - churn + FX = end holds exactly.
Where the anchors (ChartMogul, Stripe, ...) disagree, the choice is a named setting.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal

from founderops.revenue.billing import MONTHS_IN, Invoice, InvoiceLine, Ledger, RevenueInputError

REPORTING_CURRENCY = "USD"
MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")


@dataclass(frozen=True)
class Settings:
    # all_applied: every discount on the invoice lowers MRR (ChartMogul);
    # forever_only: only `forever` coupons do (Stripe Billing analytics); ignored: catalog price.
    discounts: Literal["all_applied", "forever_only", "ignored"] = "all_applied"
    # period_end: churn when the last service period ends; at_cancellation: when it is canceled.
    churn_recognition: Literal["period_end", "at_cancellation"] = "period_end"
    # count_until_canceled: a past-due invoice keeps counting until the subscription is canceled.
    past_due: Literal["count_until_canceled", "exclude_unpaid"] = "count_until_canceled"
    # ignore: refunds leave MRR alone (ChartMogul default); deduct: refunded share removed.
    refunds: Literal["ignore", "deduct"] = "ignore"
    # zero: trials contribute nothing; list_price: a trial counts at its list price.
    trials: Literal["zero", "list_price"] = "zero"
    tax: Literal["exclude", "include"] = "exclude"
    # the date whose rate converts a service period: its start, or the subscription's start.
    fx_date: Literal["service_period_start", "subscription_start"] = "service_period_start"


PROFILES: dict[str, Settings] = {
    "chartmogul": Settings(),
    "stripe": Settings(discounts="forever_only"),
}


@dataclass
class Month:
    month: date
    start: Fraction = Fraction(0)
    end: Fraction = Fraction(0)
    fx: Fraction = Fraction(0)
    moves: dict[str, Fraction] = field(
        default_factory=lambda: dict.fromkeys(MOVEMENTS, Fraction(0))
    )
    paying_end: int = 0
    paying_start: int = 0
    churned_from_start: int = 0
    cohort_moves: dict[str, Fraction] = field(
        default_factory=lambda: dict.fromkeys(MOVEMENTS, Fraction(0))
    )


@dataclass
class Result:
    customers: list[str]
    months: list[Month]
    # customer -> USD MRR (cents, exact) at each month's end
    month_end: dict[str, list[Fraction]]


@dataclass(frozen=True)
class _Span:
    customer: str
    start: datetime
    end: datetime
    native: Fraction
    usd: Fraction


def compute(ledger: Ledger, settings: Settings) -> Result:
    days = _days(ledger)
    spans = [s for inv in ledger.invoices for s in _spans(ledger, inv, settings)]
    series = {c: _series(c, spans, days) for c in ledger.customers}
    months = _months(ledger, days, series)
    month_end = {
        c: [series[c][_last_day(days, m.month)][1] for m in months] for c in ledger.customers
    }
    return Result(list(ledger.customers), months, month_end)


def _days(ledger: Ledger) -> list[date]:
    first, day, out = ledger.first_month, ledger.first_month, []
    stop = _next_month(ledger.last_month)
    while day < stop:
        out.append(day)
        day += timedelta(days=1)
    assert first == out[0]
    return out


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _last_day(days: list[date], month: date) -> int:
    return days.index(_next_month(month) - timedelta(days=1))


def _spans(ledger: Ledger, invoice: Invoice, settings: Settings) -> list[_Span]:
    end = _coverage_end(ledger, invoice, settings)
    if end is None or end <= invoice.period_start:
        return []
    rate = _rate(ledger, invoice, settings)
    share = _unrefunded_share(ledger, invoice, settings)
    spans = []
    for line in invoice.lines:
        native = _line_mrr(line, settings) * share
        if native:
            spans.append(_Span(invoice.customer, invoice.period_start, end, native, native * rate))
    return spans


def _coverage_end(ledger: Ledger, invoice: Invoice, settings: Settings) -> datetime | None:
    end = invoice.period_end
    if invoice.status != "paid":
        if settings.past_due == "exclude_unpaid":
            return None
        end = min(end, invoice.voided_at or end)
    ended = ledger.subscriptions[invoice.subscription].ended_at
    if settings.churn_recognition == "at_cancellation" and ended is not None:
        end = min(end, ended)
    return end


def _line_mrr(line: InvoiceLine, settings: Settings) -> Fraction:
    if line.trial:
        return Fraction(
            line.gross if settings.trials == "list_price" else 0, MONTHS_IN[line.interval]
        )
    amount = line.gross
    if settings.discounts == "all_applied" or (
        settings.discounts == "forever_only" and line.discount_duration == "forever"
    ):
        amount -= line.discount
    if settings.tax == "include":
        amount += line.tax
    return Fraction(amount, MONTHS_IN[line.interval])


def _unrefunded_share(ledger: Ledger, invoice: Invoice, settings: Settings) -> Fraction:
    if settings.refunds == "ignore" or invoice.net <= 0:
        return Fraction(1)
    refunded = sum(r.amount for r in ledger.refunds if r.invoice == invoice.id)
    if refunded > invoice.net:
        raise RevenueInputError(
            f"invoice {invoice.id}: refunds {refunded} exceed its {invoice.net} cents"
        )
    return 1 - Fraction(refunded, invoice.net)


def _rate(ledger: Ledger, invoice: Invoice, settings: Settings) -> Fraction:
    if invoice.currency == REPORTING_CURRENCY:
        return Fraction(1)
    moment = invoice.period_start
    if settings.fx_date == "subscription_start":
        moment = ledger.subscriptions[invoice.subscription].started_at
    rates = sorted((r.day, r.usd) for r in ledger.rates if r.currency == invoice.currency)
    index = bisect_right([day for day, _ in rates], moment.date())
    if index == 0:
        raise RevenueInputError(
            f"no {invoice.currency}{REPORTING_CURRENCY} rate on or before {moment:%Y-%m-%d} "
            f"(customer {invoice.customer}, invoice {invoice.id})"
        )
    return rates[index - 1][1]


def _series(customer: str, spans: list[_Span], days: list[date]) -> list[tuple[Fraction, Fraction]]:
    """(native, USD) MRR in effect at the end of each day: half-open [start, end) periods."""
    own = [s for s in spans if s.customer == customer]
    out = []
    for day in days:
        boundary = datetime.combine(day + timedelta(days=1), time(), UTC)
        active = [s for s in own if s.start < boundary <= s.end]
        out.append(
            (
                sum((s.native for s in active), Fraction(0)),
                sum((s.usd for s in active), Fraction(0)),
            )
        )
    return out


def _months(
    ledger: Ledger, days: list[date], series: dict[str, list[tuple[Fraction, Fraction]]]
) -> list[Month]:
    months = {}
    month = ledger.first_month
    while month <= ledger.last_month:
        months[month] = Month(month)
        month = _next_month(month)
    for customer, values in series.items():
        _customer_moves(customer, values, days, months)
    return list(months.values())


def _customer_moves(
    customer: str,
    values: list[tuple[Fraction, Fraction]],
    days: list[date],
    months: dict[date, Month],
) -> None:
    previous, ever_paid, in_cohort, counted_churn = (Fraction(0), Fraction(0)), False, False, False
    for index, day in enumerate(days):
        month = months[day.replace(day=1)]
        if day.day == 1:
            in_cohort, counted_churn = previous[1] > 0, False
            month.start += previous[1]
            month.paying_start += in_cohort
        kind, amount, fx = _classify(previous, values[index], ever_paid)
        if kind is not None:
            month.moves[kind] += amount
            if in_cohort:
                month.cohort_moves[kind] += amount
                if kind == "churn" and not counted_churn:
                    month.churned_from_start, counted_churn = month.churned_from_start + 1, True
        month.fx += fx
        ever_paid = ever_paid or values[index][1] > 0
        previous = values[index]
        if index + 1 == len(days) or days[index + 1].day == 1:
            month.end += previous[1]
            month.paying_end += previous[1] > 0


def _classify(
    before: tuple[Fraction, Fraction], after: tuple[Fraction, Fraction], ever_paid: bool
) -> tuple[str | None, Fraction, Fraction]:
    """The day's movement for one customer: (kind, USD amount ≥ 0, FX impact)."""
    (native_0, usd_0), (native_1, usd_1) = before, after
    if usd_0 == usd_1 and native_0 == native_1:
        return None, Fraction(0), Fraction(0)
    if usd_0 == 0:
        return ("reactivation" if ever_paid else "new"), usd_1, Fraction(0)
    if usd_1 == 0:
        return "churn", usd_0, Fraction(0)
    # FX impact: yesterday's native MRR revalued at today's effective rate; the rest is a move.
    fx = native_0 * (usd_1 / native_1) - usd_0
    change = usd_1 - usd_0 - fx
    if change == 0:
        return None, Fraction(0), fx
    return ("expansion" if change > 0 else "contraction"), abs(change), fx
