"""MRR per customer per day from invoice lines and service periods, and its movements.

A customer's MRR only changes where a service period starts or ends, so the engine works on
those change points (a few dozen per customer), not on every day, and with numpy over all
customers at once; the same code computes the nine-customer fixture and the 100,000-customer
bench. Amounts are exact integers: native MRR in 1/12 of a minor unit (a yearly price divides
by 12 without remainder; a weekly one counts x 52, a daily one x 365: see `line_twelfths`)
and reporting-currency MRR in 1/(12 x Q) of a cent, Q being the least common denominator of
the FX rates in the book (100 for rates with two decimals). Rounding
half-up to cents happens only when a figure is written out, so the bridge
start + new + expansion + reactivation - contraction - churn + FX = end holds exactly.
Where the anchors (ChartMogul, Stripe, ...) disagree, the choice is a named setting.

Three places round to the engine's unit because the exact value has a denominator of its own:
a line billed at an interval that does not divide a year in twelfths (every 5 months, 3 weeks,
2 years), a partially refunded invoice under `refunds="deduct"` (MRR x unrefunded share), and
the FX part of a change for a customer whose concurrent subscriptions were converted at
different rates.
The first moves a line's MRR by at most half of 1/12 of a minor unit, the others by at most
1/(12 x Q) of a cent, and the bridge stays exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

import numpy as np

from founderops.core.money import exponent
from founderops.revenue.billing import FxRate, Ledger, RevenueInputError
from founderops.revenue.book import (
    I64,
    PAID,
    REPORTING_CURRENCY,
    Book,
    Bools,
    day_date,
    day_number,
    from_ledger,
    ints,
)

MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")
NEW, EXPANSION, REACTIVATION, CONTRACTION, CHURN = range(len(MOVEMENTS))
# Twice the sum of |MRR| in reporting units must stay below this, or a sum on the way could
# overflow int64; refused instead (see _check_range, and quarantine, which leaves out the
# largest customers so that the rest fit).
LIMIT = 2**62


@dataclass(frozen=True)
class Settings:
    # all_applied: every discount on the invoice lowers MRR (ChartMogul);
    # forever_only: only `forever` coupons do (Stripe Billing analytics); ignored: catalog price.
    discounts: Literal["all_applied", "forever_only", "ignored"] = "all_applied"
    # period_end: churn when the last service period ends; at_cancellation: when the
    # subscription is canceled (ends), even if paid service would have run longer.
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


@dataclass(frozen=True)
class Rates:
    """Dated FX rates to the reporting currency as integers over one denominator."""

    # Reporting-currency units are 1/(12 x denominator) of a cent.
    denominator: int
    # currency index -> (days the rates start, rate x denominator), sorted by day
    table: dict[int, tuple[I64, I64]]

    @classmethod
    def of(cls, book: Book) -> Rates:
        # A rate is reporting units per native major unit; the engine multiplies native minor
        # units, so each rate is scaled to cents per minor unit: x 100 / 10^exponent (x 100
        # for JPY, x 1 for EUR). Exact: the common denominator takes in the scaled rates too
        # (for exponents 0 and 2 it is that of the rates, as before).
        cents = {(r.currency, r.day, r.usd): cents_per_minor_unit(r) for r in book.rates}
        denominator = rate_denominator(book.rates)
        table = {}
        for index, currency in enumerate(book.currencies[1:], start=1):
            dated = sorted({(r.day, r.usd) for r in book.rates if r.currency == currency})
            _check_rates(currency, dated)
            table[index] = (
                ints([day_number(day) for day, _ in dated]),
                ints([int(cents[currency, day, usd] * denominator) for day, usd in dated]),
            )
        return cls(denominator, table)

    @property
    def scale(self) -> int:
        """Reporting-currency units in one cent."""
        return 12 * self.denominator


def cents_per_minor_unit(rate: FxRate) -> Fraction:
    """`rate` (reporting units per major unit) as cents per minor unit."""
    return rate.usd * Fraction(100, 10 ** exponent(rate.currency))


def rate_denominator(rates: Iterable[FxRate]) -> int:
    """The least common denominator of the rates and of their cents per minor unit."""
    chosen = tuple(rates)
    return math.lcm(
        1,
        *(rate.usd.denominator for rate in chosen),
        *(cents_per_minor_unit(rate).denominator for rate in chosen),
    )


def mrr_bound(denominator: int) -> int:
    """In whole US dollars, the most MRR all invoices together may add up to (each invoice's
    MRR converted once) for the engine to count exactly in 64 bits: a fourth of int64's range,
    so that every sum on the way fits, in units of 1/(12 x denominator) of a cent."""
    return LIMIT // 2 // (12 * denominator * 100)


def too_large(denominator: int) -> str:
    return (
        "MRR too large for exact 64-bit arithmetic: the MRR of all invoices together (each "
        f"converted at its FX rate, then added up) passes {mrr_bound(denominator):,} US "
        f"dollars, the most these rates allow (the engine counts in 1/(12 x {denominator:,}) "
        "of a cent; rates with fewer decimals raise the bound)"
    )


def _check_rates(currency: str, dated: list[tuple[date, Fraction]]) -> None:
    for (earlier, _), (later, _) in itertools.pairwise(dated):
        if earlier == later:
            raise RevenueInputError(f"two different {currency} rates for {earlier:%Y-%m-%d}")
    for day, usd in dated:
        if usd <= 0:
            raise RevenueInputError(f"the {currency} rate for {day:%Y-%m-%d} is not above zero")


@dataclass(frozen=True)
class Spans:
    """One row per invoice that contributes MRR: [start, end) in day numbers."""

    customer: I64
    start: I64
    end: I64
    # MRR in 1/12 of a minor unit of the customer's currency, and in reporting units.
    native: I64
    usd: I64


@dataclass(frozen=True)
class Calendar:
    first: int
    days: int
    months: tuple[date, ...]
    # The month index (into `months`) of every day of the range.
    month_of_day: I64

    @classmethod
    def of(cls, book: Book) -> Calendar:
        if book.days < 1 or day_date(book.first).day != 1:
            raise RevenueInputError("a book's range starts on a month's first day and is not empty")
        days = np.arange(book.first, book.first + book.days).astype("datetime64[D]")
        month_numbers = days.astype("datetime64[M]").astype(np.int64)
        month_of_day = month_numbers - month_numbers[0]
        first = day_date(book.first)
        months = tuple(
            date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1)
            for k in range(int(month_of_day[-1]) + 1)
        )
        return cls(book.first, book.days, months, month_of_day)

    @property
    def last_day(self) -> int:
        return self.first + self.days - 1


@dataclass(frozen=True)
class Block:
    """What a set of customers contributes. Every figure is a sum over customers, so the
    whole book is one block, and an update subtracts the affected customers' old block and
    adds their new one."""

    members: I64
    # [movement, month] in reporting units; counts are movements (customers) per month.
    moves: I64
    counts: I64
    # the same restricted to customers paying at the month's start (for NRR / GRR)
    cohort_moves: I64
    fx: I64
    churned_from_start: I64
    # [member, month]: MRR at each month's end, and the FX part of its change in the month
    month_end: I64
    month_fx: I64
    # month index of each member's first paid day, -1 if never paid
    first_paid: I64


@dataclass(frozen=True)
class Month:
    """One month of the movement table, in cents (exact fractions)."""

    month: date
    start: Fraction
    end: Fraction
    fx: Fraction
    moves: dict[str, Fraction]
    counts: dict[str, int]
    cohort_moves: dict[str, Fraction]
    paying_start: int
    paying_end: int
    churned_from_start: int


@dataclass(frozen=True)
class Result:
    book: Book
    settings: Settings
    rates: Rates
    calendar: Calendar
    block: Block

    @property
    def customers(self) -> list[str]:
        return self.book.customers

    @property
    def scale(self) -> int:
        return self.rates.scale

    def cents(self, units: int | np.integer[Any]) -> Fraction:
        return Fraction(int(units), self.scale)

    @cached_property
    def end_units(self) -> I64:
        return np.asarray(self.block.month_end.sum(axis=0), dtype=np.int64)

    @cached_property
    def start_units(self) -> I64:
        return np.concatenate(([0], self.end_units[:-1])).astype(np.int64)

    @cached_property
    def paying_end(self) -> I64:
        return np.asarray((self.block.month_end > 0).sum(axis=0), dtype=np.int64)

    @cached_property
    def months(self) -> list[Month]:
        return [self._month(index) for index in range(len(self.calendar.months))]

    def month_end(self, customer: int) -> list[Fraction]:
        """Customer number `customer`'s MRR at each month's end, in cents."""
        return [self.cents(units) for units in self.block.month_end[customer]]

    def month_end_by_name(self) -> dict[str, list[Fraction]]:
        """Every customer's month-end MRR by name (the shape `insights` takes)."""
        return {name: self.month_end(index) for index, name in enumerate(self.customers)}

    def _month(self, index: int) -> Month:
        block = self.block
        paying_start = int(self.paying_end[index - 1]) if index else 0
        return Month(
            month=self.calendar.months[index],
            start=self.cents(self.start_units[index]),
            end=self.cents(self.end_units[index]),
            fx=self.cents(block.fx[index]),
            moves={k: self.cents(block.moves[i, index]) for i, k in enumerate(MOVEMENTS)},
            counts={k: int(block.counts[i, index]) for i, k in enumerate(MOVEMENTS)},
            cohort_moves={
                k: self.cents(block.cohort_moves[i, index]) for i, k in enumerate(MOVEMENTS)
            },
            paying_start=paying_start,
            paying_end=int(self.paying_end[index]),
            churned_from_start=int(block.churned_from_start[index]),
        )


def compute(records: Ledger | Book, settings: Settings = PROFILES["chartmogul"]) -> Result:
    """The movement table and month-end MRR of every customer, under `settings`."""
    book = records if isinstance(records, Book) else from_ledger(records)
    rates, calendar = Rates.of(book), Calendar.of(book)
    spans = invoice_spans(book, settings, rates, None)
    members = np.arange(len(book.customers), dtype=np.int64)
    block = customer_block(spans, members, calendar, _foreign(book))
    return Result(book, settings, rates, calendar, block)


# -- invoices -> spans --------------------------------------------------------------------------
def invoice_spans(book: Book, settings: Settings, rates: Rates, chosen: Bools | None) -> Spans:
    """The MRR span of each invoice (only the `chosen` ones when given: an update reads the
    few invoices of the customers it touches, not the whole book)."""
    if chosen is None:
        rows, lines = np.arange(len(book.invoices.customer)), np.arange(len(book.lines.invoice))
        refunds = np.arange(len(book.refunds.invoice))
    else:
        rows, lines = np.flatnonzero(chosen), np.flatnonzero(chosen[book.lines.invoice])
        refunds = np.flatnonzero(chosen[book.refunds.invoice])
    native = _invoice_mrr(book, settings, rows, lines, refunds)
    start, end = book.invoices.start[rows], _coverage_end(book, settings, rows)
    keep = (native != 0) & (end > start)
    if settings.past_due == "exclude_unpaid":
        keep &= book.invoices.status[rows] == PAID
    rows, native = rows[keep], native[keep]
    usd = _to_reporting(book, settings, rates, rows, native)
    return Spans(book.invoices.customer[rows], start[keep], end[keep], native, usd)


def _invoice_mrr(book: Book, settings: Settings, rows: I64, lines: I64, refunds: I64) -> I64:
    """Per invoice of `rows` (sorted), the MRR of its `lines`, refunds applied as set."""
    slot = np.searchsorted(rows, book.lines.invoice[lines])
    twelfths = line_twelfths(
        _line_amount(book, settings, lines), book.lines.per_year[lines], book.lines.every[lines]
    )
    mrr = _sum_into(len(rows), slot, twelfths)
    negative = np.flatnonzero(mrr < 0)
    if len(negative):
        raise RevenueInputError(
            f"{book.invoice_name(int(rows[negative[0]]))}: its lines add up to a negative MRR; "
            "a credit line may lower an invoice but not below zero"
        )
    charged = book.lines.gross[lines] - book.lines.discount[lines]
    net = _sum_into(len(rows), slot, charged)
    refund_slot = np.searchsorted(rows, book.refunds.invoice[refunds])
    refunded = _sum_into(len(rows), refund_slot, book.refunds.amount[refunds])
    return _after_refunds(book, settings, rows, mrr, net, refunded)


def line_twelfths(amount: I64, per_year: I64, every: I64) -> I64:
    """A line's MRR in twelfths of a minor unit: its amount x periods a year. Exact whenever
    `every` divides amount x per_year, so always for a month, quarter, year, week, fortnight,
    4 weeks, day, every 2, 4 or 6 months; otherwise (every 5 months, 3 weeks, 2 years) rounded
    half-up to the unit, 1/12 of a cent at most. Each line is rounded once and its MRR is an
    integer from then on, so the bridge stays exact."""
    product = amount * per_year
    return np.asarray((2 * product + every) // (2 * every), dtype=np.int64)


def _sum_into(size: int, slot: I64, values: I64) -> I64:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, slot, values)
    return out


def _line_amount(book: Book, settings: Settings, chosen: I64) -> I64:
    """Each chosen line's amount for one interval, in minor units, as `settings` count it."""
    lines = book.lines
    gross, discount, trial = lines.gross[chosen], lines.discount[chosen], lines.trial[chosen]
    amount = gross.copy()
    if settings.discounts == "all_applied":
        amount -= discount
    elif settings.discounts == "forever_only":
        amount -= np.where(lines.forever[chosen], discount, 0)
    if settings.tax == "include":
        amount += lines.tax[chosen]
    trial_amount = gross if settings.trials == "list_price" else 0
    return np.where(trial, trial_amount, amount).astype(np.int64)


def _after_refunds(
    book: Book, settings: Settings, rows: I64, mrr: I64, net: I64, refunded: I64
) -> I64:
    excess = np.flatnonzero(refunded > np.maximum(net, 0))
    if len(excess):
        raise RevenueInputError(
            f"{book.invoice_name(int(rows[excess[0]]))}: refunds of {int(refunded[excess[0]])} "
            f"exceed what it charged ({int(net[excess[0]])}, minor units before tax)"
        )
    if settings.refunds == "ignore":
        return mrr
    # MRR x unrefunded share, half-up to the unit: exact for full and for no refunds.
    kept = net - refunded
    divisor = np.maximum(net, 1)
    return np.asarray(
        np.where(refunded > 0, (2 * mrr * kept + divisor) // (2 * divisor), mrr), dtype=np.int64
    )


def _coverage_end(book: Book, settings: Settings, rows: I64) -> I64:
    invoices = book.invoices
    end = invoices.end[rows]
    # A past-due invoice counts until it is voided (ChartMogul); exclude_unpaid drops it.
    end = np.where(invoices.status[rows] != PAID, np.minimum(end, invoices.voided[rows]), end)
    if settings.churn_recognition == "at_cancellation":
        end = np.minimum(end, book.subscriptions.end[invoices.subscription[rows]])
    return end


def _to_reporting(book: Book, settings: Settings, rates: Rates, rows: I64, native: I64) -> I64:
    currency = book.customer_currency[book.invoices.customer[rows]]
    moment = book.invoices.start[rows]
    if settings.fx_date == "subscription_start":
        moment = book.subscriptions.start[book.invoices.subscription[rows]]
    factor = np.full(len(rows), rates.denominator, dtype=np.int64)
    for index, (days, values) in rates.table.items():
        mine = np.flatnonzero(currency == index)
        found = np.searchsorted(days, moment[mine], side="right") - 1
        missing = mine[found < 0]
        if len(missing):
            _no_rate(book, index, int(rows[missing[0]]), int(moment[missing[0]]))
        factor[mine] = values[found]
    _check_range(native, factor, rates.denominator)
    return native * factor


def _no_rate(book: Book, currency: int, row: int, day: int) -> None:
    pair = f"{book.currencies[currency]}{REPORTING_CURRENCY}"
    raise RevenueInputError(
        f"no {pair} rate on or before {day_date(day):%Y-%m-%d} ({book.invoice_name(row)})"
    )


def _check_range(native: I64, factor: I64, denominator: int) -> None:
    # Exactness needs every product and every sum of them to fit in 64 bits: the sum of all
    # |MRR| x rate stays below a fourth of the range (so each product does too). Counted in
    # floats, and again exactly in Python integers when that lands near the bound.
    if not len(native):
        return
    total = float(np.abs(native).astype(np.float64) @ factor.astype(np.float64))
    if 2 * total < LIMIT * (1 - 1e-9):
        return
    exact = sum(abs(n) * f for n, f in zip(native.tolist(), factor.tolist(), strict=True))
    if 2 * exact >= LIMIT:
        raise RevenueInputError(too_large(denominator))


def _foreign(book: Book) -> Bools:
    return np.asarray(book.customer_currency != 0, dtype=np.bool_)


# -- spans -> change points -> a block ----------------------------------------------------------
@dataclass(frozen=True)
class _Changes:
    """One row per (customer, day) on which the customer's MRR changes."""

    customer: I64
    day: I64
    native: I64
    usd: I64
    native_before: I64
    usd_before: I64


def customer_block(spans: Spans, members: I64, calendar: Calendar, foreign: Bools) -> Block:
    """Movements and month-end MRR of `members` (sorted customer indices) from their spans."""
    changes = _changes(spans, calendar)
    months = len(calendar.months)
    local = np.searchsorted(members, changes.customer)
    month = calendar.month_of_day[changes.day - calendar.first]
    delta = changes.usd - changes.usd_before
    flat = local * months + month
    month_end = _accumulate((len(members), months), flat, delta).cumsum(axis=1)
    kind, amount, fx = _classify(changes, foreign)
    previous = np.where(month > 0, month_end[local, np.maximum(month - 1, 0)], 0)
    cohort = previous > 0
    return Block(
        members=members,
        moves=_by_kind(kind, month, months, amount),
        counts=_by_kind(kind, month, months, np.ones_like(amount)),
        cohort_moves=_by_kind(np.where(cohort, kind, -1), month, months, amount),
        fx=_accumulate((months,), month, fx),
        churned_from_start=_churned_from_start(kind == CHURN, cohort, flat, months),
        month_end=month_end,
        month_fx=_accumulate((len(members), months), flat, fx),
        first_paid=_first_paid(kind == NEW, local, month, len(members)),
    )


def _changes(spans: Spans, calendar: Calendar) -> _Changes:
    # Each span adds its MRR on its first day and removes it on the day after its last; days
    # outside the range are clipped (a span running at the start shows as new on day one).
    start, end = spans.start - calendar.first, spans.end - calendar.first
    live = (end > start) & (end > 0) & (start < calendar.days)
    start, end = np.maximum(start[live], 0), end[live]
    customer, native, usd = spans.customer[live], spans.native[live], spans.usd[live]
    closes = end < calendar.days
    day = np.concatenate((start, end[closes]))
    who = np.concatenate((customer, customer[closes]))
    d_native = np.concatenate((native, -native[closes]))
    d_usd = np.concatenate((usd, -usd[closes]))
    key = who * (calendar.days + 1) + day
    order = np.argsort(key, kind="stable")
    key = key[order]
    heads = _heads(key)
    d_native = np.add.reduceat(d_native[order], heads) if len(key) else d_native
    d_usd = np.add.reduceat(d_usd[order], heads) if len(key) else d_usd
    key = key[heads]
    who, day = key // (calendar.days + 1), key % (calendar.days + 1)
    return _running(who, day + calendar.first, d_native, d_usd)


def _heads(values: I64) -> I64:
    """Where each run of equal values starts in sorted `values`."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))


def _running(who: I64, day: I64, d_native: I64, d_usd: I64) -> _Changes:
    starts = np.zeros(len(who), dtype=np.bool_)
    starts[_heads(who)] = True
    native, usd = _segment_cumsum(d_native, starts), _segment_cumsum(d_usd, starts)
    changed = (d_native != 0) | (d_usd != 0)
    return _Changes(
        customer=who[changed],
        day=day[changed],
        native=native[changed],
        usd=usd[changed],
        native_before=(native - d_native)[changed],
        usd_before=(usd - d_usd)[changed],
    )


def _segment_cumsum(values: I64, starts: Bools) -> I64:
    total = np.cumsum(values)
    before = total - values
    head = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return (total - before[head]).astype(np.int64)


def _classify(changes: _Changes, foreign: Bools) -> tuple[I64, I64, I64]:
    """Each change's movement kind (-1: FX only), its amount (>= 0) and its FX part."""
    was, now = changes.usd_before > 0, changes.usd > 0
    kind = np.full(len(was), -1, dtype=np.int64)
    amount = np.zeros(len(was), dtype=np.int64)
    comeback = ~was & now
    kind[comeback] = REACTIVATION
    kind[_first_per_customer(comeback, changes.customer)] = NEW
    amount[comeback] = changes.usd[comeback]
    kind[was & ~now] = CHURN
    amount[was & ~now] = changes.usd_before[was & ~now]
    fx = _fx_part(changes, was & now & foreign[changes.customer])
    change = np.where(was & now, changes.usd - changes.usd_before - fx, 0)
    kind[change > 0], kind[change < 0] = EXPANSION, CONTRACTION
    amount[change != 0] = np.abs(change[change != 0])
    return kind, amount, fx


def _first_per_customer(mask: Bools, customer: I64) -> I64:
    rows = np.flatnonzero(mask)
    return rows[_heads(customer[rows])]


def _fx_part(changes: _Changes, rows: Bools) -> I64:
    """FX impact: yesterday's native MRR revalued at today's effective rate, minus yesterday's
    reporting MRR. Same native MRR: the whole change is FX; otherwise the revaluation
    (native_before x usd / native) is rounded half-up to the unit, in Python integers because
    the product can pass 64 bits."""
    fx = np.zeros(len(rows), dtype=np.int64)
    same = rows & (changes.native == changes.native_before)
    fx[same] = (changes.usd - changes.usd_before)[same]
    mixed = np.flatnonzero(rows & ~same)
    before = changes.native_before[mixed].astype(object)
    usd, native = changes.usd[mixed].astype(object), changes.native[mixed].astype(object)
    revalued = (2 * before * usd + native) // (2 * native)
    fx[mixed] = (revalued - changes.usd_before[mixed]).astype(np.int64)
    return fx


def _accumulate(shape: tuple[int, ...], flat: I64, values: I64) -> I64:
    out = np.zeros(math.prod(shape), dtype=np.int64)
    np.add.at(out, flat, values)
    return out.reshape(shape)


def _by_kind(kind: I64, month: I64, months: int, values: I64) -> I64:
    chosen = kind >= 0
    flat = kind[chosen] * months + month[chosen]
    return _accumulate((len(MOVEMENTS), months), flat, values[chosen])


def _churned_from_start(churn: Bools, cohort: Bools, flat: I64, months: int) -> I64:
    # A customer who was paying at the month's start counts once, however often they churn.
    once = np.unique(flat[churn & cohort])
    return _accumulate((months,), once % months, np.ones_like(once))


def _first_paid(new: Bools, local: I64, month: I64, members: int) -> I64:
    first = np.full(members, -1, dtype=np.int64)
    first[local[new]] = month[new]
    return first


# -- incremental --------------------------------------------------------------------------------
def update(result: Result, batch: Book) -> Result:
    """`result` with `batch` (one day of new invoices, say, and the day's changes to earlier
    invoices and subscriptions) added: only the customers it touches are recomputed, their old
    contribution subtracted and the new one added; everyone else's months are carried over.
    Equal to `compute` on the extended book (tested)."""
    book = result.book.extend(batch)
    rates, calendar = Rates.of(book), Calendar.of(book)
    if rates.denominator != result.rates.denominator:
        # A rate with a new denominator changes the unit of every figure.
        return compute(book, result.settings)
    touched = _touched(result, batch, book)
    members = np.flatnonzero(touched).astype(np.int64)
    foreign = _foreign(book)
    known = len(result.customers)
    was = invoice_spans(
        result.book, result.settings, result.rates, touched[:known][result.book.invoices.customer]
    )
    old = customer_block(was, members[members < known], result.calendar, foreign)
    now = invoice_spans(book, result.settings, rates, touched[book.invoices.customer])
    new = customer_block(now, members, calendar, foreign)
    block = _merge(result.block, old, new, len(book.customers), len(calendar.months))
    return Result(book, result.settings, rates, calendar, block)


def _touched(result: Result, batch: Book, book: Book) -> Bools:
    """Customers whose MRR history can change: new invoices, refunds or failures, status
    changes of earlier invoices, changed (ended, canceled, cancel_at_period_end) or new
    subscriptions, and spans that start or end on the range's new days."""
    touched = np.zeros(len(book.customers), dtype=np.bool_)
    invoice_owner = book.invoices.customer
    touched[batch.invoices.customer] = True
    # A batch's refunds and failures name invoices by their row in the extended book.
    touched[invoice_owner[batch.refunds.invoice]] = True
    touched[invoice_owner[batch.failures.invoice]] = True
    # An earlier invoice paid, reopened or voided: its owner's old block came from the old
    # status (`result.book`), the new one from the new (`book`), like any other change.
    touched[invoice_owner[batch.changes.invoice]] = True
    touched[_changed_subscriptions(result.book, book)] = True
    touched[len(result.customers) :] = True
    # Service periods of the old book that start or end on the new days (an end with no
    # renewal is a churn); voids and cancellations bound a period too.
    old_end, new_end = calendar_end(result.book), calendar_end(book)
    invoices = result.book.invoices
    ends = np.minimum(invoices.end, invoices.voided)
    if result.settings.churn_recognition == "at_cancellation":
        ends = np.minimum(ends, result.book.subscriptions.end[invoices.subscription])
    inside = ((invoices.start >= old_end) & (invoices.start < new_end)) | (
        (ends >= old_end) & (ends < new_end)
    )
    touched[invoices.customer[inside]] = True
    return touched


def calendar_end(book: Book) -> int:
    return book.first + book.days


def _changed_subscriptions(before: Book, after: Book) -> I64:
    old, new = before.subscriptions, after.subscriptions
    count = len(old.customer)
    differs = (
        (old.end != new.end[:count])
        | (old.start != new.start[:count])
        | (old.cancel_at_period_end != new.cancel_at_period_end[:count])
        | (old.customer != new.customer[:count])
    )
    return np.concatenate((old.customer[differs], new.customer[count:]))


def _merge(total: Block, old: Block, new: Block, customers: int, months: int) -> Block:
    """`total` - `old` + `new` over `customers` and `months` (both may have grown: a new
    customer has nothing yet, a new month carries every month-end MRR forward)."""
    known, span = total.month_end.shape

    def monthly(table: I64, before: I64, after: I64) -> I64:
        out = np.zeros((*table.shape[:-1], months), dtype=np.int64)
        out[..., :span] = table
        out[..., : before.shape[-1]] -= before
        out += after
        return out

    month_end = np.zeros((customers, months), dtype=np.int64)
    month_end[:known, :span] = total.month_end
    month_end[:known, span:] = total.month_end[:, -1:]
    month_end[new.members] = new.month_end
    month_fx = np.zeros((customers, months), dtype=np.int64)
    month_fx[:known, :span] = total.month_fx
    month_fx[new.members] = new.month_fx
    first_paid = np.full(customers, -1, dtype=np.int64)
    first_paid[:known] = total.first_paid
    first_paid[new.members] = new.first_paid
    return Block(
        members=np.arange(customers, dtype=np.int64),
        moves=monthly(total.moves, old.moves, new.moves),
        counts=monthly(total.counts, old.counts, new.counts),
        cohort_moves=monthly(total.cohort_moves, old.cohort_moves, new.cohort_moves),
        fx=monthly(total.fx, old.fx, new.fx),
        churned_from_start=monthly(
            total.churned_from_start, old.churned_from_start, new.churned_from_start
        ),
        month_end=month_end,
        month_fx=month_fx,
        first_paid=first_paid,
    )
