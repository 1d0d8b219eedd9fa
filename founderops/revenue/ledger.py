"""The stored billing objects (Stripe's and CSV imports) as the engine's `billing.Ledger`.

What becomes MRR, and why:

- Only subscription lines with a recurring price count; one-off invoice items (set-up fees,
  credits) are not recurring revenue. Drafts are skipped; an uncollectible invoice is "void"
  from the moment it was marked so.
- The lines of a Stripe invoice that share a service period (and subscription) are one engine
  invoice over that period; lines of one Stripe invoice may cover different periods (prorations
  billed at renewal), and then each period is an engine invoice `<invoice id>/<first line id>`,
  the invoice's refunds shared among them in proportion to what each charged.
- Tax-inclusive prices: the tax inside the amount is taken out (MRR is before tax; the engine's
  tax setting adds it back). Discounts keep their coupon's duration: `forever`, or temporary
  (`once` and `repeating` alike), so the Stripe-like profile can ignore the temporary ones.
- A $0 line inside the subscription's trial is a trial line at the price's list amount.
- Prorations: the positive line ("remaining time on Pro") counts at the price's full rate for
  its period; the negative one ("unused time on Basic") ends the earlier line for that item at
  the moment of the change, so an upgrade shows as expansion, not as churn plus new.
- Refunds (succeeded or pending) reach their invoice through their charge; the tax part of a
  refund is the invoice's tax share. Failed charges are failed payments of their invoice.
- With `known_at`, the records as they stood then (`known.py` has the rules): later invoices,
  refunds and failed charges are not there, an invoice paid or voided later is open, a
  subscription canceled or ended later is still running.

- Intervals: Stripe's (interval, interval_count) as the engine's cycle (days, weeks, months,
  years, every 1 to 3 years' worth; see `billing.UNITS` for how each becomes MRR).

Quarantine, not blackout: the store keeps what Stripe sent (it is a copy, and Stripe's record
is the truth), so a record the engine cannot count is not refused on arrival but found here:
a price whose interval cannot be expressed, a customer billed in a second currency, an invoice
with a negative MRR, refunds above what an invoice charged, a foreign invoice with no FX rate.
That customer is left out of the figures and named in `Ledger.excluded` with the record and
the reason (`quarantine.screen`); everyone else's numbers are computed. `problems` lists what
is known to make the numbers incomplete (those customers, stubs waiting for reconciliation,
discounts whose coupon is unknown).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet

from founderops.core import clock, gcpause
from founderops.revenue import billing, known, quarantine
from founderops.revenue.billing import Exclusion, RevenueInputError
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Discount,
    FxRate,
    InvoiceLine,
    Refund,
    StripeEvent,
    Subscription,
)
from founderops.revenue.stripe_store import MODELS

COUNTED = ("paid", "open", "void", "uncollectible")
REFUNDED = ("succeeded", "pending")
PAST_DUE = ("past_due", "unpaid")
_SUBSCRIPTION_FIELDS = (
    "stripe_id",
    "needs_fetch",
    "status",
    "start_date",
    "ended_at",
    "canceled_at",
    "cancel_at_period_end",
)
_LINE_FIELDS = (
    "invoice__stripe_id",
    "invoice__status",
    "invoice__currency",
    "invoice__customer__stripe_id",
    "invoice__subscription__stripe_id",
    "invoice__voided_at",
    "invoice__marked_uncollectible_at",
    "invoice__created",
    "invoice__finalized_at",
    "invoice__paid_at",
    "invoice__tax",
    "invoice__total",
    "stripe_id",
    "subscription_stripe_id",
    "subscription_item_stripe_id",
    "price__stripe_id",
    "price__type",
    "price__interval",
    "price__interval_count",
    "price__unit_amount",
    "price__nickname",
    "price__product__name",
    "amount",
    "quantity",
    "period_start",
    "period_end",
    "proration",
    "discount_amount",
    "discounts",
    "tax_exclusive",
    "tax_inclusive",
)


def ledger_from_db(
    livemode: bool, through: date | None = None, known_at: datetime | None = None
) -> billing.Ledger:
    """Everything stored for one mode (CSV imports count as live), up to `through`'s month
    (default: this month), without the customers whose records cannot be counted: those are
    in the ledger's `excluded`, each with the record and the reason. With `known_at`, only
    what had happened before that instant."""
    builder = _Builder(livemode, _durations(livemode), _trial_ends(livemode), known_at)
    with gcpause.paused():  # about a million objects that all stay: see core.gcpause
        for values in _line_rows(livemode, known_at):
            row = dict(zip(_LINE_FIELDS, values, strict=True))
            if builder.rewind(row):
                builder.add(row)
        return quarantine.screen(builder.finish(through or clock.now().date()))


def problems(livemode: bool, records: billing.Ledger | None = None) -> list[str]:
    """What is known to make the numbers incomplete right now, in words; `records` is the
    mode's ledger when the caller has it (read again otherwise)."""
    records = records if records is not None else ledger_from_db(livemode)
    found = [
        f"customer {exclusion.customer} is left out of the figures: {exclusion}"
        for exclusion in records.excluded
    ]
    unknown = _unknown_discounts(livemode)
    if unknown:
        found.append(
            f"{unknown} discounts on invoice lines have no known coupon (counted as temporary)"
        )
    for kind, model in MODELS.items():
        waiting = model._default_manager.filter(livemode=livemode, needs_fetch=True).count()
        if waiting:
            found.append(f"{waiting} {kind} objects wait to be fetched from Stripe")
    failed = StripeEvent.objects.filter(livemode=livemode, status=StripeEvent.Status.FAILED)
    if failed.exists():
        found.append(f"{failed.count()} Stripe events failed (`founderops stripe events --failed`)")
    return found


def _unknown_discounts(livemode: bool) -> int:
    known = _durations(livemode)
    lines = InvoiceLine.objects.filter(invoice__livemode=livemode).exclude(discounts=[])
    return sum(
        1
        for discounts in lines.values_list("discounts", flat=True)
        for entry in discounts or []
        if not entry.get("duration") and entry.get("discount") not in known
    )


def customer_ids(livemode: bool) -> dict[str, int | None]:
    """The ledger's customer keys (Stripe ids, `csv:` ids) -> customers.Customer ids."""
    rows = BillingCustomer.objects.filter(livemode=livemode).values_list("stripe_id", "customer")
    return dict(rows)


# Reading.


def _line_rows(livemode: bool, known_at: datetime | None) -> Iterator[tuple[Any, ...]]:
    rows = InvoiceLine.objects.filter(
        invoice__livemode=livemode,
        invoice__deleted=False,
        invoice__status__in=COUNTED,
        price__type="recurring",
        period_start__isnull=False,
        period_end__isnull=False,
    )
    if known_at is not None:
        # Not created yet, or still a draft then (the status itself is rewound row by row).
        rows = rows.exclude(invoice__created__gte=known_at).exclude(
            invoice__finalized_at__gte=known_at
        )
    return _fetch(rows.order_by("period_start", "invoice__stripe_id", "id"), _LINE_FIELDS)


FETCH_CHUNK = 5000
Convert = Callable[[Any], Any]


def _fetch(rows: QuerySet[Any], names: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """`rows.values_list(*names)`, read through a chunked (server-side on PostgreSQL) cursor
    with the values converted here. Why not the ORM's own iteration: it runs a chain of
    converters per value (a settings lookup and a time-zone check per datetime, a JSON decoder
    call per list), which was most of the time of reading 100,000 lines; these do the same
    conversions (SQLite's text datetimes and 0/1 booleans, JSON text) with one call each."""
    query = rows.values_list(*names)
    connection = connections[query.db]
    sql, params = query.query.get_compiler(using=query.db).as_sql()
    converters = [
        (index, convert)
        for index, name in enumerate(names)
        if (convert := _converter(_field(rows.model, name), connection.timezone)) is not None
    ]
    width = len(names)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(FETCH_CHUNK):
            for raw in chunk:
                values = list(raw[:width])
                for index, convert in converters:
                    values[index] = convert(values[index])
                yield tuple(values)


def _field(model: type[Model], path: str) -> Any:
    *hops, last = path.split("__")
    for hop in hops:
        target = model._meta.get_field(hop).related_model
        if not isinstance(target, type):
            raise TypeError(f"{path}: {hop} is not a relation")
        model = target
    return model._meta.get_field(last)


def _converter(column: Any, zone: tzinfo | None) -> Convert | None:
    kind = column.get_internal_type()
    if kind == "DateTimeField":
        return lambda value: _moment(value, zone)
    if kind == "JSONField":
        return _json
    if kind == "BooleanField":
        return _boolean
    return None


def _moment(value: Any, zone: tzinfo | None) -> Any:
    # SQLite gives naive UTC (parsed by the driver, or text), which Django's own converter
    # makes aware in the connection's zone; PostgreSQL's driver gives aware datetimes already.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if zone is not None and isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value == "[]":
        return []  # most lines carry no discount: skip the decoder
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # what JSONField.from_db_value hands back too


def _boolean(value: Any) -> Any:
    return bool(value) if value in (0, 1) else value


def _durations(livemode: bool) -> dict[str, str]:
    """Discount id -> its coupon's duration (forever, once, repeating)."""
    rows = Discount.objects.filter(livemode=livemode).exclude(coupon=None)
    return dict(rows.values_list("stripe_id", "coupon__duration"))


def _interval(row: dict[str, Any]) -> billing.Interval:
    """The line's price interval by name; RevenueInputError when it cannot be expressed."""
    unit, count = row["price__interval"] or "", row["price__interval_count"] or 1
    try:
        return billing.interval_of(unit, count).name
    except RevenueInputError as error:
        raise RevenueInputError(
            f"price {row['price__stripe_id']} bills every {count} {unit or '?'}(s): {error}"
        ) from None


def _rate(raw: str) -> Fraction:
    return Fraction(raw) if "/" in raw else Fraction(Decimal(raw))


def _half_up(value: Fraction) -> int:
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


# Building.


@dataclass
class _Entry:
    """One Stripe line inside an engine invoice."""

    line: str
    item: str
    price: str
    lines: list[billing.InvoiceLine]
    # What the line really charged before tax (a proration: part of a period).
    charged: int


@dataclass
class _Part:
    """One engine invoice: the lines of one Stripe invoice that share a service period."""

    invoice: billing.Invoice
    stripe_invoice: str
    entries: list[_Entry]

    @property
    def charged(self) -> int:
        return sum(entry.charged for entry in self.entries)


@dataclass
class _Builder:
    livemode: bool
    durations: dict[str, str]
    trial_ends: dict[str, datetime]
    known_at: datetime | None = None
    parts: list[_Part] = field(default_factory=list)
    by_invoice: dict[str, list[_Part]] = field(default_factory=lambda: defaultdict(list))
    # The parts of each subscription in `parts`' order: a credit looks only at its own.
    by_subscription: dict[str, list[_Part]] = field(default_factory=lambda: defaultdict(list))
    by_period: dict[tuple[str, str, datetime, datetime], _Part] = field(default_factory=dict)
    # Per Stripe invoice: (all its tax, its total), for sharing refunds.
    invoice_tax: dict[str, tuple[int, int]] = field(default_factory=dict)
    subscriptions: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    # Customers found unusable while reading (a price interval that cannot be expressed).
    excluded: list[Exclusion] = field(default_factory=list)

    def rewind(self, row: dict[str, Any]) -> bool:
        """Turn the row's invoice into what it was at `known_at`; False: not counted then."""
        if self.known_at is None:
            return True
        times = known.InvoiceTimes(
            row["invoice__status"],
            row["invoice__created"],
            row["invoice__finalized_at"],
            row["invoice__paid_at"],
            row["invoice__voided_at"],
            row["invoice__marked_uncollectible_at"],
        )
        status = known.invoice_status(times, self.known_at)
        if status not in COUNTED:
            return False
        row["invoice__status"] = status
        if status != "void":
            row["invoice__voided_at"] = None
        if status != "uncollectible":
            row["invoice__marked_uncollectible_at"] = None
        return True

    def add(self, row: dict[str, Any]) -> None:
        customer = row["invoice__customer__stripe_id"]
        subscription = row["subscription_stripe_id"] or row["invoice__subscription__stripe_id"]
        if not customer or not subscription:
            return
        if row["proration"] and row["amount"] < 0:
            self._clip(row, subscription)
            return
        try:
            lines = self._lines(row, subscription)
        except RevenueInputError as error:
            record = f"invoice {row['invoice__stripe_id']} line {row['stripe_id']}"
            self.excluded.append(Exclusion(customer, record, str(error)))
            return
        entry = _Entry(
            line=row["stripe_id"],
            item=row["subscription_item_stripe_id"],
            price=row["price__stripe_id"],
            lines=lines,
            charged=row["amount"] - row["tax_inclusive"] - row["discount_amount"],
        )
        part = self._part(row, customer, subscription)
        part.entries.append(entry)
        part.invoice.lines.extend(entry.lines)
        first = self.subscriptions.get(subscription)
        if first is None or row["period_start"] < first[2]:
            self.subscriptions[subscription] = (
                customer,
                row["invoice__currency"],
                row["period_start"],
            )

    def _part(self, row: dict[str, Any], customer: str, subscription: str) -> _Part:
        key = (row["invoice__stripe_id"], subscription, row["period_start"], row["period_end"])
        part = self.by_period.get(key)
        if part is None:
            invoice = billing.Invoice(
                id=row["invoice__stripe_id"],
                customer=customer,
                subscription=subscription,
                currency=row["invoice__currency"],
                period_start=row["period_start"],
                period_end=row["period_end"],
                lines=[],
                status=_status(row),
                voided_at=row["invoice__voided_at"] or row["invoice__marked_uncollectible_at"],
            )
            part = self.by_period[key] = _Part(invoice, row["invoice__stripe_id"], [])
            self._keep(part)
            self.invoice_tax[part.stripe_invoice] = (row["invoice__tax"], row["invoice__total"])
        return part

    def _keep(self, part: _Part) -> None:
        self.parts.append(part)
        self.by_invoice[part.stripe_invoice].append(part)
        self.by_subscription[part.invoice.subscription].append(part)

    def _lines(self, row: dict[str, Any], subscription: str) -> list[billing.InvoiceLine]:
        interval = _interval(row)
        plan = row["price__nickname"] or row["price__product__name"] or row["price__stripe_id"]
        gross = row["amount"] - row["tax_inclusive"]
        tax = row["tax_exclusive"] + row["tax_inclusive"]
        if self._trial(row, subscription, gross):
            unit, quantity = row["price__unit_amount"], max(row["quantity"] or 1, 1)
            full = unit * quantity
            return [billing.InvoiceLine(plan, interval, unit, quantity, full, None, 0, trial=True)]
        unit, quantity = _unit(row, gross)
        discounts = self._discounts(row)
        if row["proration"] and gross > 0 and unit * quantity != gross:
            # A part-period charge: counted at the full rate, its discount and tax scaled alike.
            scale = Fraction(unit * quantity, gross)
            discounts = {k: _half_up(v * scale) for k, v in discounts.items()}
            tax = _half_up(tax * scale)
        forever, temporary = discounts.get("forever", 0), discounts.get("repeating", 0)
        main = billing.InvoiceLine(
            plan, interval, unit, quantity, forever or temporary, _duration(forever, temporary), tax
        )
        if forever and temporary:
            # Both kinds on one line: the temporary part rides on a line of its own.
            extra = billing.InvoiceLine(plan, interval, 0, 1, temporary, "repeating", 0)
            return [main, extra]
        return [main]

    def _trial(self, row: dict[str, Any], subscription: str, gross: int) -> bool:
        """A $0 line of a priced plan, inside the subscription's trial."""
        unit = row["price__unit_amount"]
        if gross != 0 or row["proration"] or unit is None or unit <= 0:
            return False
        trial_end = self.trial_ends.get(subscription)
        return trial_end is not None and row["period_start"] < trial_end

    def _discounts(self, row: dict[str, Any]) -> dict[str, int]:
        """Discount amounts by kind: "forever" or "repeating" (temporary, `once` included)."""
        if not row["discounts"] and not row["discount_amount"]:
            return {}  # most lines: no discount
        kinds: dict[str, int] = defaultdict(int)
        for entry in row["discounts"] or []:
            duration = entry.get("duration") or self.durations.get(entry.get("discount", ""), "")
            kinds["forever" if duration == "forever" else "repeating"] += int(entry["amount"])
        rest = row["discount_amount"] - sum(kinds.values())
        if rest:
            kinds["repeating"] += rest
        return dict(kinds)

    def _clip(self, row: dict[str, Any], subscription: str) -> None:
        """Unused time credited: the earlier line for that item ends where the credit begins."""
        changed, item = row["period_start"], row["subscription_item_stripe_id"]
        # Newest first, like a walk back through `parts` (scanning all of them made a history
        # with thousands of upgrades quadratic).
        for part in reversed(self.by_subscription.get(subscription, [])):
            invoice = part.invoice
            if not invoice.period_start < changed < invoice.period_end:
                continue
            for entry in part.entries:
                if (entry.item == item) if item else (entry.price == row["price__stripe_id"]):
                    self._end(part, entry, changed)
                    return

    def _end(self, part: _Part, entry: _Entry, changed: datetime) -> None:
        """End one line of `part` at `changed`; the part's other lines run on."""
        if len(part.entries) == 1:
            part.invoice.period_end = changed
            return
        part.entries.remove(entry)
        part.invoice.lines = [line for e in part.entries for line in e.lines]
        ended = billing.Invoice(
            **{**vars(part.invoice), "period_end": changed, "lines": list(entry.lines)}
        )
        self._keep(_Part(ended, part.stripe_invoice, [entry]))

    def finish(self, through: date) -> billing.Ledger:
        self._name_parts()
        failures = self._failures()
        ledger = billing.Ledger(
            customers=list(dict.fromkeys(part.invoice.customer for part in self.parts)),
            subscriptions=self._subscriptions(),
            invoices=[part.invoice for part in self.parts],
            refunds=self._refunds(),
            failed_payments=failures,
            rates=[
                billing.FxRate(rate.currency, rate.day, _rate(rate.rate))
                for rate in FxRate.objects.order_by("currency", "day")
            ],
            excluded=list(self.excluded),
        )
        if self.known_at is not None:
            _past_due_then(ledger, failures)
        starts = [part.invoice.period_start.date() for part in self.parts]
        ledger.first_month = min(starts, default=through).replace(day=1)
        ledger.last_month = max(max(starts, default=through), through).replace(day=1)
        return ledger

    def _name_parts(self) -> None:
        for stripe_id, parts in self.by_invoice.items():
            if len(parts) > 1:
                for part in parts:
                    part.invoice.id = f"{stripe_id}/{part.entries[0].line}"

    def _subscriptions(self) -> dict[str, billing.Subscription]:
        # All of the mode's, filtered here: an IN list of every id would be one huge query.
        rows = _fetch(Subscription.objects.filter(livemode=self.livemode), _SUBSCRIPTION_FIELDS)
        stored = {
            row[0]: _Stored(**dict(zip(_SUBSCRIPTION_FIELDS, row, strict=True)))
            for row in rows
            if row[0] in self.subscriptions
        }
        return {
            sub_id: _subscription(
                sub_id, customer, currency, first, stored.get(sub_id), self.known_at
            )
            for sub_id, (customer, currency, first) in self.subscriptions.items()
        }

    def _refunds(self) -> list[billing.Refund]:
        refunds = (
            Refund.objects.filter(
                livemode=self.livemode, status__in=REFUNDED, charge__invoice__isnull=False
            )
            .values_list("charge__invoice__stripe_id", "amount", "created", "synced_at")
            .order_by("created", "id")
        )
        out = []
        for stripe_invoice, amount, created, synced in refunds:
            if stripe_invoice in self.by_invoice and known.existed(created, synced, self.known_at):
                out += self._share(stripe_invoice, amount, created or synced)
        return out

    def _share(self, stripe_invoice: str, amount: int, at: datetime) -> list[billing.Refund]:
        """A refund (tax included) split into the invoice's MRR parts by what each charged."""
        tax_total, total = self.invoice_tax[stripe_invoice]
        tax = _half_up(Fraction(amount * tax_total, total)) if total > 0 else 0
        parts = self.by_invoice[stripe_invoice]
        charged = sum(part.charged for part in parts)
        whole = max(total - tax_total, charged, 1)
        return [
            billing.Refund(
                part.invoice.id,
                _half_up(Fraction((amount - tax) * part.charged, whole)),
                _half_up(Fraction(tax * part.charged, whole)),
                at,
            )
            for part in parts
            if part.charged > 0
        ]

    def _failures(self) -> list[billing.FailedPayment]:
        failed = (
            Charge.objects.filter(livemode=self.livemode, status="failed", invoice__isnull=False)
            .values_list("invoice__stripe_id", "created", "synced_at")
            .order_by("created", "id")
        )
        return [
            billing.FailedPayment(self.by_invoice[invoice][0].invoice.id, created or synced)
            for invoice, created, synced in failed
            if invoice in self.by_invoice and known.existed(created, synced, self.known_at)
        ]


def _status(row: dict[str, Any]) -> billing.InvoiceStatus:
    status = row["invoice__status"]
    if status == "paid":
        return "paid"
    return "open" if status == "open" else "void"


def _duration(forever: int, temporary: int) -> billing.DiscountDuration | None:
    if forever:
        return "forever"
    return "repeating" if temporary else None


class _Stored(SimpleNamespace):
    """A stored subscription's _SUBSCRIPTION_FIELDS as attributes, like the model's (model
    instances cost ten times as much to make)."""


def _subscription(
    sub_id: str,
    customer: str,
    currency: str,
    first: datetime,
    row: Any,
    known_at: datetime | None,
) -> billing.Subscription:
    if row is None or row.needs_fetch:
        # A stub: known from its invoices only; reconciliation brings its dates.
        return billing.Subscription(sub_id, customer, currency, first)
    then = known.subscription_state(
        row.ended_at, row.canceled_at, row.cancel_at_period_end, known_at
    )
    return billing.Subscription(
        sub_id,
        customer,
        currency,
        started_at=min(row.start_date or first, first),
        ended_at=then.ended_at,
        canceled_at=then.canceled_at,
        cancel_at_period_end=row.cancel_at_period_end if known_at is None else then.leaving,
        past_due=row.status in PAST_DUE,
    )


def _past_due_then(ledger: billing.Ledger, failures: list[billing.FailedPayment]) -> None:
    """A subscription's status has no transition times: past due then is one of its invoices
    open then after a payment that failed before then (what makes Stripe say past_due)."""
    open_invoices = {i.id: i.subscription for i in ledger.invoices if i.status == "open"}
    overdue = {open_invoices[f.invoice] for f in failures if f.invoice in open_invoices}
    for sub_id, subscription in ledger.subscriptions.items():
        subscription.past_due = sub_id in overdue and subscription.ended_at is None


def _unit(row: dict[str, Any], gross: int) -> tuple[int, int]:
    """The price's unit amount and quantity when they explain the line, else the line as one."""
    unit, quantity = row["price__unit_amount"], max(row["quantity"] or 1, 1)
    if unit is not None and (row["proration"] or unit * quantity == gross):
        return unit, quantity
    return gross, 1


def _trial_ends(livemode: bool) -> dict[str, datetime]:
    rows = Subscription.objects.filter(livemode=livemode).exclude(trial_end=None)
    return {sub: end for sub, end in rows.values_list("stripe_id", "trial_end") if end}
