"""Read a scenario's events.csv and turn it into billing records, as a Stripe sync would.

The vocabulary is closed (see the scenario README's "Fixture format"): an unknown event, a
malformed amount, an invoice amount that does not follow from price, quantity and discount, or
an event that does not fit the subscription's state is an error naming the line and the reason.
Renewals without a change are implied by the interval and generated here.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import cast

from founderops.revenue.billing import (
    Coupon,
    FailedPayment,
    FxRate,
    Interval,
    Invoice,
    InvoiceLine,
    Ledger,
    Refund,
    RevenueInputError,
    Subscription,
)

COLUMNS = (
    "customer",
    "currency",
    "timestamp_utc",
    "event",
    "plan",
    "interval",
    "list_price",
    "quantity",
    "discount",
    "invoice_amount_ex_tax",
    "tax",
    "note",
)
PRICED = frozenset(
    {
        "subscribe",
        "trial_start",
        "trial_converts",
        "quantity_change_at_renewal",
        "plan_change_at_renewal",
        "add_second_subscription",
        "renewal_discount_expired",
        "renewal_payment_failed",
        "resubscribe",
    }
)
UNPRICED = frozenset(
    {
        "canceled_after_dunning",
        "cancel_at_period_end_requested",
        "subscription_ended",
        "cancel_immediately_full_refund",
    }
)
EVENTS = PRICED | UNPRICED
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_AMOUNT = re.compile(r"^-?\d+(\.\d{1,2})?$")
_DISCOUNT = re.compile(r"^(\d+)% (forever|repeating (\d+) months?)$")
_FX_NOTE = re.compile(r"^([A-Z]{3})USD at service-period start:(.*)$")
_FX_ENTRY = re.compile(r"^(\d{2})-(\d{2}) (\d+(?:\.\d{1,6})?)$")
# Bounds that keep the engine's exact 64-bit arithmetic (and date arithmetic) in range; far
# beyond any real scenario.
_YEARS = (1970, 2999)
MAX_AMOUNT = 10**7  # major units, exclusive, as `revenue import-csv`
MAX_QUANTITY = 10**9


# The reference scenario bills by the month, quarter or year (its format's three words).
MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


class FixtureError(RevenueInputError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"events.csv line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class EventRow:
    line: int
    customer: str
    currency: str
    at: datetime
    event: str
    plan: str
    interval: Interval | None
    list_price: int | None
    quantity: int | None
    coupon: Coupon | None
    amount: int | None
    tax: int | None
    note: str


def load(path: Path) -> Ledger:
    """Parse `path` (UTF-8, a byte-order mark allowed) and build its billing records."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FixtureError(
            line, f"not UTF-8 text (byte 0x{raw[error.start]:02x}); save the file as UTF-8"
        ) from None
    return build(parse(text))


def parse(text: str) -> list[EventRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise FixtureError(1, f"columns are {header}, expected exactly {list(COLUMNS)}")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise FixtureError(number, f"{len(cells)} fields, expected {len(COLUMNS)}")
        rows.append(_row(number, dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))))
    if not rows:
        raise FixtureError(2, "no events")
    return rows


def _row(line: int, cells: dict[str, str]) -> EventRow:
    event = cells["event"]
    if event not in EVENTS:
        raise FixtureError(line, f"unknown event {event!r}; known: {', '.join(sorted(EVENTS))}")
    if not cells["customer"]:
        raise FixtureError(line, "customer is empty")
    if not re.fullmatch(r"[A-Z]{3}", cells["currency"]):
        raise FixtureError(line, f"currency {cells['currency']!r} is not a 3-letter ISO code")
    row = EventRow(
        line=line,
        customer=cells["customer"],
        currency=cells["currency"],
        at=_timestamp(line, cells["timestamp_utc"]),
        event=event,
        plan=cells["plan"],
        interval=_interval(line, cells["interval"]),
        list_price=_money(line, "list_price", cells["list_price"]),
        quantity=_quantity(line, cells["quantity"]),
        coupon=_coupon(line, cells["discount"]),
        amount=_money(line, "invoice_amount_ex_tax", cells["invoice_amount_ex_tax"]),
        tax=_money(line, "tax", cells["tax"]),
        note=cells["note"],
    )
    _check_fields(row)
    return row


def _timestamp(line: int, text: str) -> datetime:
    if not _TIMESTAMP.match(text):
        raise FixtureError(line, f"timestamp_utc {text!r} is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise FixtureError(line, f"timestamp_utc {text!r} is not a real date") from None
    if not _YEARS[0] <= moment.year <= _YEARS[1]:
        raise FixtureError(line, f"timestamp_utc {text!r} is not in {_YEARS[0]}-{_YEARS[1]}")
    return moment


def _interval(line: int, text: str) -> Interval | None:
    if not text:
        return None
    if text not in MONTHS_IN:  # the scenario's format: whole months only
        raise FixtureError(line, f"interval {text!r} is not one of month, quarter, year")
    return text


def _money(line: int, column: str, text: str) -> int | None:
    if not text:
        return None
    if not _AMOUNT.match(text):
        raise FixtureError(line, f"{column} {text!r} is not a decimal amount with ≤ 2 decimals")
    if abs(Decimal(text)) >= MAX_AMOUNT:
        raise FixtureError(line, f"{column} {text!r} is too large (below {MAX_AMOUNT:,})")
    return int(Decimal(text) * 100)


def _quantity(line: int, text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise FixtureError(line, f"quantity {text!r} must be a whole number of at least 1")
    if len(text) > 10 or int(text) >= MAX_QUANTITY:
        raise FixtureError(line, f"quantity {text!r} is too large (below {MAX_QUANTITY:,})")
    return int(text)


def _coupon(line: int, text: str) -> Coupon | None:
    if not text:
        return None
    match = _DISCOUNT.match(text)
    if match is None:
        raise FixtureError(
            line, f"discount {text!r} is not empty, 'N% forever' or 'N% repeating K months'"
        )
    percent = int(match[1])
    if not 1 <= percent <= 100:
        raise FixtureError(line, f"discount {text!r}: percent must be between 1 and 100")
    if match[3] is None:
        return Coupon(percent, "forever")
    if int(match[3]) < 1:
        raise FixtureError(line, f"discount {text!r}: K must be at least 1")
    return Coupon(percent, "repeating", int(match[3]))


def _check_fields(row: EventRow) -> None:
    if row.event in PRICED:
        missing = [
            name
            for name, value in (
                ("plan", row.plan or None),
                ("interval", row.interval),
                ("list_price", row.list_price),
                ("quantity", row.quantity),
            )
            if value is None
        ]
        if row.event != "trial_start":
            missing += [
                n for n, v in (("invoice_amount_ex_tax", row.amount), ("tax", row.tax)) if v is None
            ]
        if missing:
            raise FixtureError(row.line, f"{row.event} needs {', '.join(missing)}")
        if row.list_price is not None and row.list_price <= 0:
            raise FixtureError(row.line, "list_price must be above zero (zero or negative line)")
        if row.amount is not None and row.amount < 0:
            raise FixtureError(row.line, "invoice_amount_ex_tax is negative outside a refund")
    elif row.event == "cancel_immediately_full_refund":
        if row.amount is None or row.amount >= 0:
            raise FixtureError(row.line, "a refund needs a negative invoice_amount_ex_tax")
    elif row.amount is not None:
        raise FixtureError(row.line, f"{row.event} carries no invoice amount")
    if row.tax is not None and row.tax < 0 and row.event != "cancel_immediately_full_refund":
        raise FixtureError(row.line, "tax is negative outside a refund")


def build(rows: list[EventRow]) -> Ledger:
    builder = _Builder(rows)
    for row in sorted(rows, key=lambda r: (r.at, r.line)):
        builder.apply(row)
    builder.finish()
    return builder.ledger


@dataclass
class _Sub:
    record: Subscription
    plan: str
    interval: Interval
    unit_amount: int
    quantity: int
    coupon: Coupon | None
    tax: int
    anchor: datetime | None = None
    periods: int = 0
    period_end: datetime | None = None
    paid_invoices: int = 0
    trial: Invoice | None = None
    last_invoice: Invoice | None = None


@dataclass
class _Builder:
    rows: list[EventRow]
    ledger: Ledger = field(default_factory=Ledger)
    subs: dict[str, list[_Sub]] = field(default_factory=dict)
    currency: dict[str, str] = field(default_factory=dict)
    horizon: datetime = field(init=False)
    # invoice id -> the events.csv line that billed it (implied renewals have none)
    billed_by: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        first = min(row.at for row in self.rows)
        last = max(row.at for row in self.rows)
        self.ledger.first_month = date(first.year, first.month, 1)
        self.ledger.last_month = date(last.year, last.month, 1)
        self.horizon = _add_months(
            datetime.combine(self.ledger.last_month, datetime.min.time(), UTC), 1
        )
        for row in self.rows:
            self._rates(row)
            # Customers are reported in the order the file first names them.
            if row.customer not in self.subs:
                self.subs[row.customer] = []
                self.ledger.customers.append(row.customer)

    def apply(self, row: EventRow) -> None:
        self._customer(row)
        self._renew_until(row.customer, row.at)
        handler = getattr(self, f"_on_{row.event}")
        handler(row)

    def finish(self) -> None:
        for customer in self.subs:
            self._renew_until(customer, self.horizon)
        self._check_rates()

    def _check_rates(self) -> None:
        # The engine would refuse too, but only this file knows the line to point at.
        for invoice in self.ledger.invoices:
            if invoice.currency == "USD" or invoice.net <= 0 or invoice.lines[0].trial:
                continue
            known = [r.day for r in self.ledger.rates if r.currency == invoice.currency]
            if not any(day <= invoice.period_start.date() for day in known):
                raise FixtureError(
                    self.billed_by.get(invoice.id, 2),
                    f"customer {invoice.customer} is billed in {invoice.currency} from "
                    f"{invoice.period_start:%Y-%m-%d} but no {invoice.currency}USD rate is given "
                    f"on or before that day (note: '{invoice.currency}USD at service-period "
                    "start: MM-DD rate; ...')",
                )

    # -- customers, rates ----------------------------------------------------------------
    def _customer(self, row: EventRow) -> None:
        known = self.currency.setdefault(row.customer, row.currency)
        if known != row.currency:
            raise FixtureError(
                row.line, f"customer {row.customer} was billed in {known}, not {row.currency}"
            )

    def _rates(self, row: EventRow) -> None:
        match = _FX_NOTE.match(row.note)
        if match is None:
            return
        if match[1] != row.currency:
            raise FixtureError(
                row.line, f"note gives {match[1]}USD rates for a {row.currency} customer"
            )
        for entry in (part.strip() for part in match[2].split(";")):
            found = _FX_ENTRY.match(entry)
            if found is None:
                raise FixtureError(
                    row.line, f"FX rate {entry!r} is not 'MM-DD rate' (at most 6 decimals)"
                )
            try:
                day = date(row.at.year, int(found[1]), int(found[2]))
            except ValueError:
                raise FixtureError(row.line, f"FX rate {entry!r}: not a real date") from None
            rate = Fraction(Decimal(found[3]))
            if rate <= 0:
                raise FixtureError(row.line, f"FX rate {entry!r} must be above zero")
            self._one_rate(row, FxRate(row.currency, day, rate))

    def _one_rate(self, row: EventRow, rate: FxRate) -> None:
        for known in self.ledger.rates:
            if (known.currency, known.day) == (rate.currency, rate.day) and known != rate:
                raise FixtureError(
                    row.line,
                    f"a second {rate.currency} rate for {rate.day:%Y-%m-%d} "
                    f"({float(rate.usd):g}, earlier {float(known.usd):g})",
                )
        self.ledger.rates.append(rate)

    # -- subscriptions -------------------------------------------------------------------
    def _active(self, customer: str) -> list[_Sub]:
        return [s for s in self.subs[customer] if s.record.ended_at is None]

    def _find(self, row: EventRow, *, by_plan: bool = True) -> _Sub:
        active = self._active(row.customer)
        matching = [s for s in active if s.plan == row.plan] if by_plan and row.plan else active
        if len(matching) != 1:
            what = f"plan {row.plan!r}" if row.plan else "a plan"
            raise FixtureError(
                row.line,
                f"{row.event}: customer {row.customer} has {len(matching)} active subscriptions "
                f"with {what}, expected exactly one",
            )
        return matching[0]

    def _new_sub(self, row: EventRow) -> _Sub:
        number = len(self.ledger.subscriptions) + 1
        record = Subscription(f"sub_{number}", row.customer, row.currency, row.at)
        self.ledger.subscriptions[record.id] = record
        sub = _Sub(
            record,
            row.plan,
            cast(Interval, row.interval),
            cast(int, row.list_price),
            cast(int, row.quantity),
            row.coupon,
            row.tax or 0,
        )
        self.subs[row.customer].append(sub)
        return sub

    def _on_subscribe(self, row: EventRow) -> None:
        if self._active(row.customer):
            raise FixtureError(
                row.line,
                f"subscribe: {row.customer} already has an active subscription; "
                "use add_second_subscription",
            )
        self._start(self._new_sub(row), row)

    def _on_add_second_subscription(self, row: EventRow) -> None:
        if not self._active(row.customer):
            raise FixtureError(
                row.line, f"add_second_subscription: {row.customer} has no active subscription"
            )
        self._start(self._new_sub(row), row)

    def _on_resubscribe(self, row: EventRow) -> None:
        if not self.subs[row.customer] or self._active(row.customer):
            raise FixtureError(
                row.line,
                f"resubscribe: {row.customer} must have had a subscription and have none active",
            )
        self._start(self._new_sub(row), row)

    def _on_trial_start(self, row: EventRow) -> None:
        if row.amount not in (None, 0) or row.tax not in (None, 0):
            raise FixtureError(row.line, "trial_start must not carry an invoice amount above zero")
        if self._active(row.customer):
            raise FixtureError(
                row.line, f"trial_start: {row.customer} already has an active subscription"
            )
        sub = self._new_sub(row)
        line = InvoiceLine(
            sub.plan,
            sub.interval,
            sub.unit_amount,
            sub.quantity,
            sub.unit_amount * sub.quantity,
            None,
            0,
            trial=True,
        )
        sub.trial = self._invoice(sub, row.at, self.horizon, line)

    def _on_trial_converts(self, row: EventRow) -> None:
        sub = self._find(row)
        if sub.trial is None or sub.anchor is not None:
            raise FixtureError(row.line, "trial_converts: the subscription is not in a trial")
        sub.trial.period_end = row.at
        self._change(sub, row)
        self._start(sub, row)

    def _start(self, sub: _Sub, row: EventRow) -> None:
        sub.anchor = row.at
        self._bill(sub, row.at, row)

    def _on_quantity_change_at_renewal(self, row: EventRow) -> None:
        sub = self._find(row)
        self._at_renewal(sub, row)
        if row.plan != sub.plan:
            raise FixtureError(
                row.line, "quantity_change_at_renewal changes the plan; use plan_change_at_renewal"
            )
        self._change(sub, row)
        self._bill(sub, row.at, row)

    def _on_plan_change_at_renewal(self, row: EventRow) -> None:
        sub = self._find(row, by_plan=False)
        self._at_renewal(sub, row)
        if row.interval != sub.interval:
            sub.anchor, sub.periods = row.at, 0
        self._change(sub, row)
        self._bill(sub, row.at, row)

    def _on_renewal_discount_expired(self, row: EventRow) -> None:
        sub = self._find(row)
        self._at_renewal(sub, row)
        if sub.coupon is None or sub.coupon.applies_to(sub.paid_invoices + 1):
            raise FixtureError(
                row.line, "renewal_discount_expired: no discount ends at this renewal"
            )
        self._bill(sub, row.at, row)

    def _on_renewal_payment_failed(self, row: EventRow) -> None:
        sub = self._find(row)
        self._at_renewal(sub, row)
        sub.record.past_due = True
        invoice = self._bill(sub, row.at, row)
        self.ledger.failed_payments.append(FailedPayment(invoice.id, row.at))

    def _on_canceled_after_dunning(self, row: EventRow) -> None:
        sub = self._find(row)
        if not sub.record.past_due:
            raise FixtureError(row.line, "canceled_after_dunning: the subscription is not past due")
        for invoice in self.ledger.invoices:
            if invoice.subscription == sub.record.id and invoice.status == "open":
                invoice.status, invoice.voided_at = "void", row.at
        self._end(sub, row.at)

    def _on_cancel_at_period_end_requested(self, row: EventRow) -> None:
        sub = self._find(row)
        sub.record.cancel_at_period_end = True
        sub.record.canceled_at = row.at

    def _on_subscription_ended(self, row: EventRow) -> None:
        sub = self._find(row)
        if sub.trial is not None and sub.anchor is None:
            sub.trial.period_end = row.at
        elif row.at != sub.period_end:
            raise FixtureError(
                row.line,
                f"subscription_ended at {row.at:%Y-%m-%d}, but the service period ends "
                f"{sub.period_end:%Y-%m-%d}",
            )
        self._end(sub, row.at)

    def _on_cancel_immediately_full_refund(self, row: EventRow) -> None:
        sub = self._find(row)
        invoice = sub.last_invoice
        if invoice is None or invoice.status != "paid":
            raise FixtureError(
                row.line, "cancel_immediately_full_refund: no paid invoice to refund"
            )
        tax = sum(line.tax for line in invoice.lines)
        if -cast(int, row.amount) != invoice.net or -(row.tax or 0) != tax:
            raise FixtureError(
                row.line,
                f"refund {_fmt(-cast(int, row.amount))} (tax {_fmt(-(row.tax or 0))}) "
                f"is not the full invoice {_fmt(invoice.net)} (tax {_fmt(tax)})",
            )
        self.ledger.refunds.append(Refund(invoice.id, invoice.net, tax, row.at))
        sub.record.canceled_at = row.at
        self._end(sub, row.at)

    # -- invoices ------------------------------------------------------------------------
    def _at_renewal(self, sub: _Sub, row: EventRow) -> None:
        if sub.period_end != row.at:
            when = f"{sub.period_end:%Y-%m-%d}" if sub.period_end else "none"
            raise FixtureError(
                row.line,
                f"{row.event} at {row.at:%Y-%m-%d} is not a renewal (next renewal: {when})",
            )
        if sub.record.cancel_at_period_end:
            raise FixtureError(
                row.line, f"{row.event}: the subscription is set to cancel at period end"
            )

    def _change(self, sub: _Sub, row: EventRow) -> None:
        sub.plan, sub.interval = row.plan, cast(Interval, row.interval)
        sub.unit_amount, sub.quantity = cast(int, row.list_price), cast(int, row.quantity)
        sub.tax = row.tax or 0
        if row.coupon is not None and row.coupon != sub.coupon:
            sub.coupon = row.coupon

    def _end(self, sub: _Sub, at: datetime) -> None:
        sub.record.ended_at = at
        if sub.record.canceled_at is None:
            sub.record.canceled_at = at

    def _renew_until(self, customer: str, until: datetime) -> None:
        for sub in self._active(customer):
            while (
                sub.period_end is not None
                and sub.period_end < until
                and sub.period_end < self.horizon
                and not sub.record.cancel_at_period_end
            ):
                self._bill(sub, sub.period_end, None)

    def _bill(self, sub: _Sub, start: datetime, row: EventRow | None) -> Invoice:
        assert sub.anchor is not None
        number = sub.paid_invoices + 1
        discounted = sub.coupon is not None and sub.coupon.applies_to(number)
        percent = sub.coupon.percent_off if sub.coupon is not None and discounted else 0
        gross = sub.unit_amount * sub.quantity
        discount = _half_up(Fraction(gross * percent, 100))
        if row is not None and row.amount is not None and row.amount != gross - discount:
            raise FixtureError(
                row.line,
                f"invoice_amount_ex_tax {_fmt(row.amount)} does not follow from "
                f"list_price x quantity - discount = {_fmt(gross - discount)}",
            )
        duration = sub.coupon.duration if sub.coupon is not None and discounted else None
        line = InvoiceLine(
            sub.plan, sub.interval, sub.unit_amount, sub.quantity, discount, duration, sub.tax
        )
        sub.periods += 1
        end = _add_months(sub.anchor, MONTHS_IN[sub.interval] * sub.periods)
        invoice = self._invoice(sub, start, end, line)
        if sub.record.past_due:
            invoice.status = "open"
        sub.paid_invoices, sub.period_end, sub.last_invoice = number, end, invoice
        if row is not None:
            self.billed_by[invoice.id] = row.line
        return invoice

    def _invoice(self, sub: _Sub, start: datetime, end: datetime, line: InvoiceLine) -> Invoice:
        invoice = Invoice(
            f"in_{len(self.ledger.invoices) + 1}",
            sub.record.customer,
            sub.record.id,
            sub.record.currency,
            start,
            end,
            [line],
        )
        self.ledger.invoices.append(invoice)
        return invoice


def _add_months(moment: datetime, months: int) -> datetime:
    """Stripe-like anchoring: the same day of month, clamped to the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    days = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def _half_up(value: Fraction) -> int:
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def _fmt(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
