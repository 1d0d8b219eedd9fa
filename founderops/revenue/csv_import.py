"""Billing history from another billing system, as CSV: one row per invoice.

Columns (a header row names them, in any order):

- required: `customer_id`, `email`, `invoice_id`, `currency` (ISO code), `amount` (what the
  period costs before discount and tax, e.g. `49.00`), `tax`, `period_start`, `period_end`
  (`YYYY-MM-DD` or ISO 8601 with a zone; a date is 00:00 UTC), `plan`, `interval` (`day`,
  `week`, `month`, `quarter`, `year`, or a count of days, weeks, months or years up to three
  years: `2 weeks`, `6 months`), `status` (`paid`, `open`, `void` or `uncollectible`);
- optional: `name`, `quantity` (default 1, below 10^9), `discount` (an amount off `amount`),
  `discount_duration` (`forever`, `once` or `repeating`), `subscription_id` (default: one
  subscription per customer), `issued_at`, `paid_at`, `canceled_at` (when the subscription
  ended), `refunded` (refunded on this invoice, tax included).

A missing or unknown column stops the import with one error naming the expected and found
columns. Amounts must be below 10^7 units of the currency (larger is surely a typo). A period
must start in 2000 or later and at most a year ahead, and may be shorter than its interval (a
prorated first period) but not longer by more than three days (an annual invoice marked
`month` would count twelve times its MRR). A bad
row is reported with its line and skipped; the good rows are kept. What the revenue engine
could not count is refused here, on arrival, rather than left out of the figures later: a
row in another currency than the customer's other invoices (one currency per customer), and
a row whose invoice would have a negative MRR (a negative amount, a discount above it).
One thing is deliberately not refused: a row in a currency with no FX rate yet (rates may be
imported after the invoices). It is imported, and its customer is left out of the figures,
listed with the reason, until `import-rates` brings a rate on or before the invoice's period.
Importing the same file again changes nothing (rows are keyed by `invoice_id`; a row stored
as it is counts as unchanged); a later file with the same invoice ids updates them. Rows are
stored like live-mode Stripe objects with ids prefixed `csv:`, so the revenue numbers read
both alike.

`import_rates` reads FX rates the same way: `currency`, `day` (`YYYY-MM-DD`, from 2000-01-01
to today: no rate is known for a day to come), `rate` (US dollars for one unit of the
currency, a decimal of at most 10: above that it is surely units per dollar, as 150 for JPY;
one with more than six decimals, or a fraction, is rounded half-up to six and listed as
rounded; none for USD, the reporting currency). A currency must be an ISO 4217 code in use,
and a currency and day appear once per file. The command exits with status 1 when any row
was rejected (the good rows are kept).
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from django.db import transaction

from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money, exponent, is_currency
from founderops.customers import services as customers
from founderops.customers.models import Identity
from founderops.revenue.billing import Cycle, RevenueInputError, cycle
from founderops.revenue.book import REPORTING_CURRENCY
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    FxRate,
    Invoice,
    InvoiceLine,
    Price,
    Product,
    Refund,
    Source,
    StripeObject,
    Subscription,
)

M = TypeVar("M", bound=StripeObject)
ACTOR = "import:csv"
REQUIRED = (
    "customer_id",
    "email",
    "invoice_id",
    "currency",
    "amount",
    "tax",
    "period_start",
    "period_end",
    "plan",
    "interval",
    "status",
)
OPTIONAL = (
    "name",
    "quantity",
    "discount",
    "discount_duration",
    "subscription_id",
    "issued_at",
    "paid_at",
    "canceled_at",
    "refunded",
)
RATE_COLUMNS = ("currency", "day", "rate")
STATUSES = ("paid", "open", "void", "uncollectible")
DURATIONS = ("forever", "once", "repeating")
ID_CHARS = 200
RATE_CHARS = 64  # FxRate.rate's max_length
_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
# Larger figures are surely typos (Stripe's own largest charge is 999,999.99), and the engine's
# exact arithmetic (1/12 of a cent times a rate's six decimals, weekly plans x 52) must fit in
# 64 bits.
MAX_AMOUNT = 10**7  # major units (dollars, yen), exclusive
MAX_QUANTITY = 10**9
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=366)
PERIOD_GRACE = timedelta(days=3)  # month ends and time zones
RATE_DECIMALS = 6
# US dollars for one unit: the most valuable currency in use (KWD) is about 3.3.
MAX_RATE = 10
_RATE = re.compile(r"^\d+(\.\d+)?$|^\d+/\d+$")


class WrongColumns(InvalidInput):
    """The header does not name the documented columns; nothing was imported."""


class EmptyFile(InvalidInput):
    """The file has no header row (nor anything else); nothing was imported."""


class BadRow(InvalidInput):
    pass


@dataclass
class ImportReport:
    imported: int = 0
    created: int = 0
    # Imported rows that were stored before exactly as they are now: nothing was written.
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Imported, but not exactly as written (a rate rounded to six decimals).
    notes: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        updated = self.imported - self.created - self.unchanged
        rounded = f", {len(self.notes)} rounded" if self.notes else ""
        rows = "row" if self.imported == 1 else "rows"
        return (
            f"{self.imported} {rows} imported ({self.created} new, {updated} updated, "
            f"{self.unchanged} unchanged{rounded}), {len(self.rejected)} rejected"
        )

    def messages(self) -> list[tuple[int, str]]:
        """Rejected rows and notes together, in line order."""
        rejected = [(line, f"rejected: {reason}") for line, reason in self.rejected]
        return sorted([*rejected, *self.notes], key=lambda message: message[0])


@dataclass(frozen=True)
class Row:
    line: int
    customer_id: str
    email: str
    name: str
    invoice_id: str
    subscription_id: str
    currency: str
    amount: int
    quantity: int
    discount: int
    discount_duration: str
    tax: int
    refunded: int
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    paid_at: datetime | None
    canceled_at: datetime | None
    plan: str
    interval: str
    status: str

    @property
    def total(self) -> int:
        return self.amount - self.discount + self.tax


# Reading.


def read_rows(
    text: str, expected: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells by column) for each non-empty row, after checking the header."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise EmptyFile(f"the file is empty; it needs a header row naming {', '.join(expected)}")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader, [])]
    _check_columns(header, expected, optional)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield reader.line_num, {"": f"{len(cells)} values, but the header has {len(header)}"}
            continue
        yield (
            reader.line_num,
            {name: cell.strip() for name, cell in zip(header, cells, strict=True)},
        )


def _check_columns(header: list[str], expected: tuple[str, ...], optional: tuple[str, ...]) -> None:
    missing = [name for name in expected if name not in header]
    unknown = [name for name in header if name not in expected + optional]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if not (missing or unknown or duplicated):
        return
    problems = [
        f"{label} {', '.join(names)}"
        for label, names in (("missing", missing), ("unknown", unknown), ("repeated", duplicated))
        if names
    ]
    raise WrongColumns(
        f"wrong columns ({'; '.join(problems)}). Expected: {', '.join(expected)}"
        + (f" (optional: {', '.join(optional)})" if optional else "")
        + f". Found: {', '.join(header) or 'no header'}."
    )


def parse_row(line: int, cells: dict[str, str]) -> Row:
    if "" in cells:
        raise BadRow(cells[""])
    code = _currency(cells["currency"])
    if cells["amount"].startswith("-"):
        raise BadRow(
            f"amount {cells['amount']!r} is not an amount ≥ 0: it would give the invoice a "
            "negative MRR (a credit belongs in the discount of the invoice it lowers)"
        )
    amount = _money(cells, "amount", code)
    discount = _money(cells, "discount", code)
    start, end = _moment(cells, "period_start"), _moment(cells, "period_end")
    if end <= start:
        raise BadRow(f"period_end {cells['period_end']} is not after period_start")
    interval = _interval(cells["interval"])
    _check_period(start, end, interval)
    if discount > amount:
        raise BadRow(
            f"discount {cells['discount']} is larger than amount {cells['amount']}: "
            "the invoice would have a negative MRR"
        )
    row = Row(
        line=line,
        customer_id=_id(cells, "customer_id"),
        email=customers.normalise_email(cells["email"]),
        name=cells.get("name", "")[:255],
        invoice_id=_id(cells, "invoice_id"),
        subscription_id=_id(cells, "subscription_id", required=False),
        currency=code,
        amount=amount,
        quantity=_quantity(cells.get("quantity", "")),
        discount=discount,
        discount_duration=_choice(cells, "discount_duration", DURATIONS, "forever"),
        tax=_money(cells, "tax", code),
        refunded=_money(cells, "refunded", code),
        period_start=start,
        period_end=end,
        issued_at=_moment(cells, "issued_at", required=False) or start,
        paid_at=_moment(cells, "paid_at", required=False),
        canceled_at=_moment(cells, "canceled_at", required=False),
        plan=_id(cells, "plan"),
        interval=interval,
        status=_choice(cells, "status", STATUSES, ""),
    )
    _check_refund(row)
    return row


def _check_period(start: datetime, end: datetime, interval: str) -> None:
    if start < EARLIEST:
        raise BadRow(f"period_start {start.date().isoformat()} is before {EARLIEST:%Y}")
    if start > clock.now() + AHEAD:
        raise BadRow(f"period_start {start:%Y-%m-%d} is more than a year ahead")
    every = cycle(interval)
    if end > _advance(start, every) + PERIOD_GRACE:
        raise BadRow(
            f"the period {start:%Y-%m-%d} to {end:%Y-%m-%d} is longer than its interval "
            f"({interval}): is the interval right?"
        )


def _advance(start: datetime, every: Cycle) -> datetime:
    """`start` plus one interval (a month from 31 January is the last day of February)."""
    if every.unit in ("day", "week"):
        return start + timedelta(days=every.count * (7 if every.unit == "week" else 1))
    months = start.month - 1 + every.count * (12 if every.unit == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def _check_refund(row: Row) -> None:
    if row.refunded and row.status != "paid":
        raise BadRow(
            f"refunded {Money(row.refunded, row.currency)} on an invoice that is {row.status}"
        )
    if row.refunded > row.total:
        raise BadRow(
            f"refunded {Money(row.refunded, row.currency)} is more than the "
            f"{Money(row.total, row.currency)} the invoice charged"
        )


def check_currency(row: Row) -> None:
    """A customer is billed in one currency (the engine's "native MRR" needs it): a row in
    another than the customer's other invoices is refused, before anything is stored."""
    other = (
        Invoice.objects.filter(livemode=True, customer__stripe_id=f"csv:{row.customer_id}")
        .exclude(stripe_id=f"csv:{row.invoice_id}")
        .exclude(currency=row.currency)
        .values_list("stripe_id", "currency")
        .first()
    )
    if other is not None:
        invoice, currency = other
        raise BadRow(
            f"currency {row.currency}: customer {row.customer_id} is billed in {currency} "
            f"(invoice {invoice.removeprefix('csv:')}); one currency per customer"
        )


def _id(cells: dict[str, str], name: str, required: bool = True) -> str:
    value = cells.get(name, "")
    if required and not value:
        raise BadRow(f"{name} is empty")
    if len(value) > ID_CHARS:
        raise BadRow(f"{name} is longer than {ID_CHARS} characters")
    return value


def _currency(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", raw):
        raise BadRow(f"currency {raw!r} is not a 3-letter ISO code such as USD")
    if not is_currency(raw):
        raise BadRow(f"currency {raw.upper()!r} is not an ISO 4217 currency code")
    return raw.upper()


def _money(cells: dict[str, str], name: str, code: str) -> int:
    """Minor units of a non-negative amount, with at most the currency's decimals."""
    raw = cells.get(name, "") or "0"
    decimals = exponent(code)
    if not _AMOUNT.match(raw) or len(raw.partition(".")[2]) > decimals:
        raise BadRow(
            f"{name} {raw!r} is not an amount ≥ 0 with at most {decimals} decimals for {code}"
        )
    if Decimal(raw) >= MAX_AMOUNT:
        raise BadRow(f"{name} too large: {_short(raw)} (must be below {MAX_AMOUNT:,} {code})")
    return int(Decimal(raw) * 10**decimals)


def _quantity(raw: str) -> int:
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
        raise BadRow(f"quantity {_short(raw)} is not a whole number of at least 1")
    if len(raw.lstrip("0")) > len(str(MAX_QUANTITY)) or int(raw) >= MAX_QUANTITY:
        raise BadRow(f"quantity too large: {_short(raw)} (must be below {MAX_QUANTITY:,})")
    return int(raw)


def _interval(raw: str) -> str:
    """The interval's canonical name (`billing.cycle` reads the same set as the engine)."""
    try:
        return cycle(raw).name
    except RevenueInputError as error:
        raise BadRow(str(error)) from None


def _short(raw: str) -> str:
    return repr(raw if len(raw) <= 30 else raw[:30] + "…")


def _choice(cells: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = cells.get(name, "").lower() or default
    if value not in choices:
        raise BadRow(f"{name} {cells.get(name, '')!r} is not one of {', '.join(choices)}")
    return value


def _moment(cells: dict[str, str], name: str, required: bool = True) -> Any:
    raw = cells.get(name, "")
    if not raw and not required:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRow(f"{name} {raw!r} is not YYYY-MM-DD or an ISO 8601 time with its zone")
    return moment.astimezone(UTC)


# Storing.


def import_invoices(text: str) -> ImportReport:
    """Import every good row; WrongColumns (nothing imported) when the header is wrong."""
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, cells in read_rows(text, REQUIRED, OPTIONAL):
        try:
            row = parse_row(line, cells)
            if row.invoice_id in seen:
                raise BadRow(f"invoice {row.invoice_id} is already on line {seen[row.invoice_id]}")
            seen[row.invoice_id] = line
            check_currency(row)
            if _stored_as_is(row):
                report.unchanged += 1
            else:
                with transaction.atomic():
                    report.created += store_row(row)
        except InvalidInput as error:
            report.rejected.append((line, str(error)))
            continue
        except OverflowError:
            # Bounded above; kept so one row can never stop the rest of the file.
            report.rejected.append((line, "a value is too large to store"))
            continue
        report.imported += 1
    audit.record(ACTOR, "revenue.csv_imported", outcome=report.summary())
    return report


def fingerprint(row: Row) -> str:
    """What the row says (its line aside), as a digest kept on the invoice: a row imported
    again unchanged is recognised and left alone."""
    said = {name: value for name, value in asdict(row).items() if name != "line"}
    return hashlib.sha256(json.dumps(said, default=str, sort_keys=True).encode()).hexdigest()


def _stored_as_is(row: Row) -> bool:
    return Invoice.objects.filter(
        livemode=True, stripe_id=f"csv:{row.invoice_id}", raw__csv_row=fingerprint(row)
    ).exists()


def store_row(row: Row) -> bool:
    """Upsert the row's customer, plan, subscription and invoice; True for a new invoice."""
    version = int(clock.now().timestamp())
    customer = _customer(row, version)
    subscription = _subscription(row, customer, version)
    invoice, created = _upsert(
        Invoice,
        f"csv:{row.invoice_id}",
        version,
        customer=customer,
        subscription=subscription,
        status=row.status,
        currency=row.currency,
        period_start=row.period_start,
        period_end=row.period_end,
        subtotal=row.amount,
        tax=row.tax,
        total=row.total,
        amount_due=row.total,
        amount_paid=row.total if row.status == "paid" else 0,
        amount_remaining=0 if row.status == "paid" else row.total,
        finalized_at=row.issued_at,
        paid_at=row.paid_at or (row.issued_at if row.status == "paid" else None),
        voided_at=row.issued_at if row.status == "void" else None,
        marked_uncollectible_at=row.issued_at if row.status == "uncollectible" else None,
        created=row.issued_at,
        raw={"csv_row": fingerprint(row)},
    )
    _line(invoice, row, _price(row, version))
    _refund(invoice, row, version)
    return created


def _upsert(model: type[M], stripe_id: str, version: int, **fields: Any) -> tuple[M, bool]:
    return model._default_manager.update_or_create(
        livemode=True,
        stripe_id=stripe_id,
        defaults={
            **fields,
            "source": Source.CSV,
            "version": version,
            "needs_fetch": False,
            "synced_at": clock.now(),
        },
    )


def _customer(row: Row, version: int) -> BillingCustomer:
    customer, _ = _upsert(
        BillingCustomer, f"csv:{row.customer_id}", version, email=row.email, name=row.name
    )
    if customer.customer_id is None:
        customer.customer = customers.find_or_create_customer(row.email, row.name)
        customers.add_identity(customer.customer, Identity.Kind.EXTERNAL, customer.stripe_id)
        customer.save(update_fields=["customer"])
    return customer


def _subscription(row: Row, customer: BillingCustomer, version: int) -> Subscription:
    stripe_id = f"csv:{row.subscription_id or row.customer_id}"
    known = Subscription.objects.filter(livemode=True, stripe_id=stripe_id).first()
    start = (
        min(row.period_start, known.start_date or row.period_start) if known else row.period_start
    )
    ended = row.canceled_at or (known.ended_at if known else None)
    subscription, _ = _upsert(
        Subscription,
        stripe_id,
        version,
        customer=customer,
        currency=row.currency,
        start_date=start,
        created=start,
        status="canceled" if ended else "active",
        canceled_at=ended,
        ended_at=ended,
    )
    return subscription


def _price(row: Row, version: int) -> Price:
    product, _ = _upsert(Product, f"csv:{row.plan}", version, name=row.plan)
    every = cycle(row.interval)
    price, _ = _upsert(
        Price,
        f"csv:{row.plan}:{row.interval}:{row.currency}",
        version,
        product=product,
        currency=row.currency,
        type="recurring",
        interval=every.unit,
        interval_count=every.count,
        nickname=row.plan,
    )
    return price


def _line(invoice: Invoice, row: Row, price: Price) -> None:
    invoice.lines.all().delete()
    discounts = (
        [{"amount": row.discount, "duration": row.discount_duration}] if row.discount else []
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        stripe_id=f"csv:{row.invoice_id}:1",
        kind=InvoiceLine.Kind.SUBSCRIPTION,
        subscription_stripe_id=invoice.subscription.stripe_id if invoice.subscription else "",
        price=price,
        description=row.plan,
        currency=row.currency,
        amount=row.amount,
        quantity=row.quantity,
        period_start=row.period_start,
        period_end=row.period_end,
        discount_amount=row.discount,
        discounts=discounts,
        tax_exclusive=row.tax,
    )


def _refund(invoice: Invoice, row: Row, version: int) -> None:
    """A paid invoice becomes a charge; what was refunded of it, a refund."""
    if row.status != "paid":
        return
    charge, _ = _upsert(
        Charge,
        f"csv:{row.invoice_id}",
        version,
        customer=invoice.customer,
        invoice=invoice,
        amount=row.total,
        currency=row.currency,
        status="succeeded",
        paid=True,
        amount_refunded=row.refunded,
        refunded=row.refunded == row.total and row.total > 0,
        created=invoice.paid_at,
    )
    if row.refunded:
        _upsert(
            Refund,
            f"csv:{row.invoice_id}",
            version,
            charge=charge,
            amount=row.refunded,
            currency=row.currency,
            status="succeeded",
            created=invoice.paid_at,
        )
    else:
        Refund.objects.filter(livemode=True, stripe_id=f"csv:{row.invoice_id}").delete()


# FX rates.


def import_rates(text: str, source: str = "csv") -> ImportReport:
    report = ImportReport()
    seen: dict[tuple[str, date], int] = {}
    for line, cells in read_rows(text, RATE_COLUMNS, ()):
        try:
            currency, day, rate = _rate(cells)
            if (currency, day) in seen:
                raise BadRow(
                    f"the {currency} rate for {day} is already on line {seen[currency, day]}"
                )
        except InvalidInput as error:
            report.rejected.append((line, str(error)))
            continue
        seen[currency, day] = line
        if rate != cells["rate"]:
            report.notes.append((line, f"rate {cells['rate']} rounded to {rate}"))
        report.imported += 1
        known = FxRate.objects.filter(currency=currency, day=day).first()
        if known is None:
            FxRate.objects.create(currency=currency, day=day, rate=rate, source=source)
            report.created += 1
        elif (known.rate, known.source) == (rate, source):
            report.unchanged += 1
        else:
            known.rate, known.source = rate, source
            known.save(update_fields=["rate", "source"])
    audit.record(ACTOR, "revenue.fx_rates_imported", outcome=report.summary())
    return report


def _rate(cells: dict[str, str]) -> tuple[str, date, str]:
    if "" in cells:
        raise BadRow(cells[""])
    currency = _currency(cells["currency"])
    if currency == REPORTING_CURRENCY:
        raise BadRow(f"{currency} is the reporting currency: its rate is always 1")
    return currency, _rate_day(cells["day"]), _plausible(check_rate(cells["rate"]), currency)


def _rate_day(raw: str) -> date:
    """A day from 2000-01-01 to today (UTC): no rate is known for a day still to come."""
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        day = None
    if day is None:
        raise BadRow(f"day {raw!r} is not YYYY-MM-DD")
    if day < EARLIEST.date():
        raise BadRow(f"day {day} is before {EARLIEST.date()}")
    today = clock.now().date()
    if day > today:
        raise BadRow(f"day {day} is after today ({today}): no rate is known for it yet")
    return day


def _plausible(rate: str, currency: str) -> str:
    """A rate of at most MAX_RATE dollars: a larger one is surely written the other way round
    (units of the currency for one dollar, as 150 for JPY rather than 0.006667)."""
    value = _fraction(rate)
    if value <= MAX_RATE:
        return rate
    inverse = _decimal(1 / value)
    raise BadRow(
        f"rate {rate} is above {MAX_RATE} US dollars for one {currency}, more than any "
        f"currency is worth: is it {currency} per US dollar? The rate is US dollars per "
        f"{currency}, here 1/{rate}" + (f" = {inverse}" if inverse != "0" else "")
    )


def _fraction(rate: str) -> Fraction:
    return Fraction(rate) if "/" in rate else Fraction(Decimal(rate))


def check_rate(raw: str) -> str:
    """A positive decimal or fraction (never through a float), as given when it has at most
    six decimals, else rounded half-up to six: the engine's exact arithmetic needs rates in
    millionths (a spreadsheet's 1.08295862032705 differs from 1.082959 by under 10^-6)."""
    if len(raw) > RATE_CHARS:
        raise BadRow(f"rate {raw[:20]!r}… is longer than {RATE_CHARS} characters")
    if raw.startswith("-") and _RATE.match(raw[1:]):
        raise BadRow(f"rate {raw!r} must be above zero")
    if not _RATE.match(raw):
        # Exponents are refused before any arithmetic: 1e99999999 would be a huge integer.
        raise BadRow(f"rate {raw!r} is not a decimal such as 1.0843")
    try:
        value = Fraction(Decimal(raw)) if "/" not in raw else Fraction(raw)
    except ZeroDivisionError:
        raise BadRow(f"rate {raw!r} divides by zero") from None
    if value <= 0:
        raise BadRow(f"rate {raw!r} must be above zero")
    millionths = value * 10**RATE_DECIMALS
    if millionths.denominator == 1:
        return raw
    rounded = _decimal(value)
    if rounded == "0":
        raise BadRow(f"rate {raw!r} is below 0.000001, the smallest rate counted")
    return rounded


def _decimal(value: Fraction) -> str:
    """`value` rounded half-up to six decimals, as a decimal without trailing zeros."""
    rounded = int(value * 10**RATE_DECIMALS + Fraction(1, 2))
    return f"{Decimal(rounded).scaleb(-RATE_DECIMALS).normalize():f}"
