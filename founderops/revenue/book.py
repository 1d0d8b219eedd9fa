"""Billing records as columns: what the engine reads, for nine customers or a hundred thousand.

The `billing` dataclasses are the readable form (the fixture and a Stripe sync build them);
a 1.2 M-invoice history as Python objects would take gigabytes and seconds, so the engine reads
this columnar form instead, and `from_ledger` is the one bridge. Days are whole UTC days counted
from 1970-01-01; a service period [start, end) covers the days start.date() .. end.date() - 1,
which is exactly "in effect at the end of the day" for timestamps with any time of day.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from founderops.revenue.billing import (
    FxRate,
    Invoice,
    Ledger,
    RevenueInputError,
    Subscription,
    cycle,
)

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

REPORTING_CURRENCY = "USD"
EPOCH = date(1970, 1, 1).toordinal()
# "Not ended" / "not voided": later than any day a history can reach.
NEVER = 2**31 - 1
PAID, OPEN, VOID = 0, 1, 2
_STATUS = {"paid": PAID, "open": OPEN, "void": VOID}


def day_number(moment: date | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise RevenueInputError(f"{moment.isoformat()} has no time zone; use aware UTC")
        moment = moment.astimezone(UTC).date()
    return moment.toordinal() - EPOCH


def day_date(day: int) -> date:
    return date.fromordinal(day + EPOCH)


def ints(values: list[int] | range) -> I64:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def flags(values: list[bool]) -> Bools:
    return np.asarray(values, dtype=np.bool_).reshape(-1)


@dataclass(frozen=True)
class Subscriptions:
    customer: I64
    start: I64
    # NEVER while the subscription runs.
    end: I64
    cancel_at_period_end: Bools


@dataclass(frozen=True)
class Invoices:
    customer: I64
    subscription: I64
    start: I64
    end: I64
    status: I64
    # NEVER unless voided (an open invoice given up on).
    voided: I64


@dataclass(frozen=True)
class Lines:
    invoice: I64
    # The line's interval is every `every` units, a unit being `per_year` to the year (12 for
    # a month, 1 for a year, 52 for a week, 365 for a day): a quarter is (12, 3), a fortnight
    # (52, 2). Its MRR in twelfths of a minor unit is amount x per_year / every.
    per_year: I64
    every: I64
    # Minor units of the invoice's currency: unit amount x quantity, the discount applied, tax.
    gross: I64
    discount: I64
    forever: Bools
    tax: I64
    trial: Bools


@dataclass(frozen=True)
class Refunds:
    invoice: I64
    amount: I64


@dataclass(frozen=True)
class Failures:
    """Failed payment attempts; the invoice's final status says whether it was recovered."""

    invoice: I64
    day: I64


Table = TypeVar("Table", Subscriptions, Invoices, Lines, Refunds, Failures)


def concat(first: Table, second: Table) -> Table:
    return replace(
        first,
        **{
            f.name: np.concatenate((getattr(first, f.name), getattr(second, f.name)))
            for f in fields(first)
        },
    )


@dataclass(frozen=True)
class Book:
    # The reporting range: `days` whole days from day `first` (a month's first day).
    first: int
    days: int
    customers: list[str]
    # Index 0 is the reporting currency; customer_currency indexes this list.
    currencies: list[str]
    customer_currency: I64
    subscriptions: Subscriptions
    invoices: Invoices
    lines: Lines
    refunds: Refunds
    failures: Failures
    rates: tuple[FxRate, ...]
    # Invoice ids for error messages; None at bench scale (errors then give the row number).
    invoice_ids: list[str] | None = None

    def invoice_name(self, row: int) -> str:
        name = self.invoice_ids[row] if self.invoice_ids is not None else f"#{row}"
        return f"invoice {name} (customer {self.customers[int(self.invoices.customer[row])]})"

    def extend(self, batch: Book) -> Book:
        """This book with `batch` appended. The batch carries the new invoices with their
        lines (whose `invoice` counts from the batch's first invoice), new refunds and failed
        payments (whose `invoice` is the row in the extended book, so an earlier invoice can be
        refunded), and, as they stand now, the customers, currencies and subscriptions (this
        book's are a prefix of them, so indices are shared)."""
        if (
            batch.first != self.first
            or batch.currencies[: len(self.currencies)] != self.currencies
            or batch.customers[: len(self.customers)] != self.customers
            or len(batch.subscriptions.customer) < len(self.subscriptions.customer)
        ):
            raise RevenueInputError(
                "a batch must share the book's first day, and extend its currencies, "
                "customers and subscriptions"
            )
        offset = len(self.invoices.customer)
        return replace(
            batch,
            days=max(self.days, batch.days),
            invoices=concat(self.invoices, batch.invoices),
            lines=concat(self.lines, replace(batch.lines, invoice=batch.lines.invoice + offset)),
            # Refunds and failures may name an earlier invoice: their rows are the extended
            # book's already.
            refunds=concat(self.refunds, batch.refunds),
            failures=concat(self.failures, batch.failures),
            rates=tuple(dict.fromkeys(self.rates + batch.rates)),
            invoice_ids=_ids(self.invoice_ids, batch.invoice_ids),
        )


def _ids(old: list[str] | None, new: list[str] | None) -> list[str] | None:
    return None if old is None or new is None else old + new


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def from_ledger(ledger: Ledger) -> Book:
    """The columnar form of `ledger`; refuses what it cannot map (unknown ids, mixed currency)."""
    customers = {name: index for index, name in enumerate(ledger.customers)}
    currency = _customer_currencies(ledger, customers)
    currencies = [REPORTING_CURRENCY, *sorted(set(currency.values()) - {REPORTING_CURRENCY})]
    subs = {sub_id: index for index, sub_id in enumerate(ledger.subscriptions)}
    invoices = {invoice.id: index for index, invoice in enumerate(ledger.invoices)}
    first = day_number(ledger.first_month)
    return Book(
        first=first,
        days=day_number(next_month(ledger.last_month)) - first,
        customers=list(ledger.customers),
        currencies=currencies,
        customer_currency=ints(
            [currencies.index(currency.get(c, "USD")) for c in ledger.customers]
        ),
        subscriptions=_subscriptions(ledger, customers),
        invoices=_invoices(ledger, customers, subs),
        lines=_lines(ledger),
        refunds=Refunds(
            ints([_known(invoices, r.invoice, "refund") for r in ledger.refunds]),
            ints([r.amount for r in ledger.refunds]),
        ),
        failures=Failures(
            ints([_known(invoices, f.invoice, "failed payment") for f in ledger.failed_payments]),
            ints([day_number(f.created_at) for f in ledger.failed_payments]),
        ),
        rates=tuple(ledger.rates),
        invoice_ids=[invoice.id for invoice in ledger.invoices],
    )


def _known(index: dict[str, int], key: str, what: str) -> int:
    if key not in index:
        raise RevenueInputError(f"{what} names unknown invoice {key}")
    return index[key]


def _customer_currencies(ledger: Ledger, customers: dict[str, int]) -> dict[str, str]:
    # Stripe bills a customer in one currency; a second one would make "native MRR" (and so
    # the FX split of a movement) meaningless, so it is refused rather than guessed.
    found: dict[str, str] = {}
    records: list[Subscription | Invoice] = [*ledger.subscriptions.values(), *ledger.invoices]
    for record in records:
        if record.customer not in customers:
            raise RevenueInputError(f"{type(record).__name__} {record.id}: unknown customer")
        known = found.setdefault(record.customer, record.currency)
        if known != record.currency:
            raise RevenueInputError(
                f"customer {record.customer} is billed in {known} and {record.currency}; "
                "one currency per customer"
            )
    return found


def _subscriptions(ledger: Ledger, customers: dict[str, int]) -> Subscriptions:
    subs = list(ledger.subscriptions.values())
    return Subscriptions(
        customer=ints([customers[s.customer] for s in subs]),
        start=ints([day_number(s.started_at) for s in subs]),
        end=ints([NEVER if s.ended_at is None else day_number(s.ended_at) for s in subs]),
        cancel_at_period_end=flags([s.cancel_at_period_end for s in subs]),
    )


def _invoices(ledger: Ledger, customers: dict[str, int], subs: dict[str, int]) -> Invoices:
    for invoice in ledger.invoices:
        if invoice.subscription not in subs:
            raise RevenueInputError(f"invoice {invoice.id}: unknown subscription")
    rows = ledger.invoices
    return Invoices(
        customer=ints([customers[i.customer] for i in rows]),
        subscription=ints([subs[i.subscription] for i in rows]),
        start=ints([day_number(i.period_start) for i in rows]),
        end=ints([day_number(i.period_end) for i in rows]),
        status=ints([_STATUS[i.status] for i in rows]),
        voided=ints([_voided(i) for i in rows]),
    )


def _voided(invoice: Invoice) -> int:
    return NEVER if invoice.voided_at is None else day_number(invoice.voided_at)


def _lines(ledger: Ledger) -> Lines:
    pairs = [(row, line) for row, i in enumerate(ledger.invoices) for line in i.lines]
    cycles = [cycle(line.interval) for _, line in pairs]
    return Lines(
        invoice=ints([row for row, _ in pairs]),
        per_year=ints([c.per_year for c in cycles]),
        every=ints([c.count for c in cycles]),
        gross=ints([line.gross for _, line in pairs]),
        discount=ints([line.discount for _, line in pairs]),
        forever=flags([line.discount_duration == "forever" for _, line in pairs]),
        tax=ints([line.tax for _, line in pairs]),
        trial=flags([line.trial for _, line in pairs]),
    )


def split(book: Book, day: int) -> tuple[Book, Book]:
    """`book` as it stood before `day` (the range cut there, invoices whose period starts
    earlier, subscriptions ending later still running) and the batch that brings it up to
    date: what a daily job would hand to the incremental update."""
    if not book.first < day <= book.first + book.days:
        raise RevenueInputError("split inside the book's range")
    before = book.invoices.start < day
    rows, later = np.flatnonzero(before), np.flatnonzero(~before)
    position = np.empty(len(before), dtype=np.int64)
    position[rows], position[later] = np.arange(len(rows)), len(rows) + np.arange(len(later))
    line_before = before[book.lines.invoice]
    lines = replace(book.lines, invoice=position[book.lines.invoice])
    refunds = replace(book.refunds, invoice=position[book.refunds.invoice])
    failures = replace(book.failures, invoice=position[book.failures.invoice])
    failed_before = book.failures.day < day
    running = np.where(book.subscriptions.end >= day, NEVER, book.subscriptions.end)
    ids = book.invoice_ids
    base = replace(
        book,
        days=day - book.first,
        subscriptions=replace(book.subscriptions, end=running),
        invoices=_take(book.invoices, rows),
        lines=_take(lines, line_before),
        refunds=_take(refunds, before[book.refunds.invoice]),
        failures=_take(failures, failed_before),
        invoice_ids=None if ids is None else [ids[row] for row in rows],
    )
    batch = replace(
        book,
        invoices=_take(book.invoices, later),
        lines=replace(_take(lines, ~line_before), invoice=lines.invoice[~line_before] - len(rows)),
        refunds=_take(refunds, ~before[book.refunds.invoice]),
        failures=_take(failures, ~failed_before),
        invoice_ids=None if ids is None else [ids[row] for row in later],
    )
    return base, batch


def _take(table: Table, chosen: npt.NDArray[np.generic]) -> Table:
    return replace(table, **{f.name: getattr(table, f.name)[chosen] for f in fields(table)})
