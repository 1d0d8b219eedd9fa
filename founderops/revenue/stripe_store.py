"""Store Stripe objects, whatever carried them (a webhook, the Events API, a backfill page).

One function per object type turns Stripe's JSON into rows. Both API shapes are read: the
older one (`invoice.subscription`, `line.price`, `invoice.tax`, `charge.invoice`) and the
newer one (`invoice.parent`, `line.pricing`, `total_taxes`, invoice payments).

Ordering: every snapshot carries a version (the event's `created`, or when a list was fetched)
and a rank for ties within one second (paid beats open, canceled beats active). A snapshot
older than the stored one changes nothing, so events may arrive in any order and twice.
A reference to an object not stored yet (an invoice's customer, a refund's charge) becomes a
stub row marked `needs_fetch`, which reconciliation fills from the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from founderops.core import clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money
from founderops.customers import services as customers
from founderops.customers.models import Identity
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Coupon,
    CreditNote,
    Discount,
    Dispute,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    Price,
    Product,
    Refund,
    StripeObject,
    Subscription,
    SubscriptionItem,
    SubscriptionSchedule,
)

Obj = dict[str, Any]
M = TypeVar("M", bound=StripeObject)

# Ties within the same second: a later state of the object's life wins.
_RANKS = {
    "invoice": {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3},
    "subscription": {"canceled": 5, "incomplete_expired": 5},
    "charge": {"pending": 0, "succeeded": 1, "failed": 1},
    "refund": {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 1, "canceled": 1},
    "dispute": {"won": 1, "lost": 1},
    "credit_note": {"issued": 0, "void": 1},
}
DELETED_RANK = 9
# Refunds that count against their charge (a failed or canceled refund returned nothing).
REFUNDING = ("succeeded", "pending", "requires_action")


class ImpossibleAmount(InvalidInput):
    """An amount no real charge or refund has (negative, or refunding more than was charged):
    refused, never stored; the event is marked failed with the reason."""


class RefundExceedsCharge(ImpossibleAmount):
    """Refunds on a charge would add up to more than the charge: refused, never stored."""


class UnsupportedObject(InvalidInput):
    """An object type FounderOps does not store."""


class MalformedObject(InvalidInput):
    """A field with a shape or value no Stripe object has (a list where an object belongs, an
    amount no column can hold): the object is refused, its event marked failed with the reason,
    which names the object and the field ("invoice in_1: total 1e20 is out of range ...")."""


# What the columns hold: amounts are BigIntegerField; counts PositiveIntegerField, whose
# PostgreSQL range is the narrower one (SQLite would take more, PostgreSQL refuses it).
AMOUNTS = (-(2**63), 2**63 - 1)
COUNTS = (0, 2**31 - 1)
# Unix times a datetime can hold: 1970 to the last second of 9999.
TIMES = (0, 253402300799)
ID_LENGTH = 255


@dataclass
class Context:
    """Where a snapshot came from: its mode, its version, and an optional API to complete it."""

    livemode: bool
    version: int
    # The event deleted the object (customer.deleted, product.deleted, ...).
    deleted: bool = False
    # The rest of a truncated nested list (`has_more`): (kind, parent id, after id) -> objects,
    # kind "invoice_lines" or "subscription_items". None: keep what came, fetch it later.
    more: Callable[[str, str, str], list[Obj]] | None = None


@dataclass(frozen=True)
class Stored:
    object_type: str
    stripe_id: str
    applied: bool


def store(obj: Obj, ctx: Context) -> Stored:
    """Store one Stripe object (and the objects nested in it); raises UnsupportedObject."""
    kind = str(obj.get("object", ""))
    if kind not in HANDLERS:
        raise UnsupportedObject(f"FounderOps does not store Stripe {kind or 'untyped'} objects")
    with within(f"{kind} {ref(obj) or '(no id)'}"):
        _storable(obj)
    with transaction.atomic():
        row, applied = _handle(kind, obj, ctx)
    return Stored(kind, row.stripe_id, applied)


def _storable(obj: Obj) -> None:
    """Refuse what the `raw` JSON column cannot hold, anywhere in the object: NaN and Infinity
    (Python's json reads them, and 1e400 as Infinity) and NUL characters (PostgreSQL refuses
    them). Iterative: nesting may be deep."""
    stack: list[tuple[str, object]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise MalformedObject(
                f"{path} {shown(value)} is not a number JSON can hold (no NaN or Infinity)"
            )
        if isinstance(value, str) and "\x00" in value:
            raise MalformedObject(f"{path or 'a key'} holds a NUL character")
        if isinstance(value, dict):
            stack.extend(("", key) for key in value)
            stack.extend((f"{path}.{key}" if path else str(key), v) for key, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{n}]", v) for n, v in enumerate(value))


def _handle(kind: str, obj: Obj, ctx: Context) -> tuple[Any, bool]:
    """One object through its handler; a malformed field is named with the object it is in."""
    with within(f"{kind} {ref(obj) or '(no id)'}"):
        _same_mode(obj, ctx)
        return HANDLERS[kind](obj, ctx)


def _same_mode(obj: Obj, ctx: Context) -> None:
    """An object's `livemode`, when it says one, is the mode it is stored in (its event's):
    test and live data never mix."""
    livemode = obj.get("livemode")
    if livemode is None or livemode is ctx.livemode:
        return
    if not isinstance(livemode, bool):
        raise MalformedObject(f"livemode {shown(livemode)} is not true or false")
    raise MalformedObject(
        f"a {_mode(livemode)}-mode object among {_mode(ctx.livemode)}-mode data: refused, so "
        "that test and live data never mix"
    )


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


@contextmanager
def within(where: str) -> Iterator[None]:
    """Prefix a MalformedObject's reason with where it was found (nested objects nest)."""
    try:
        yield
    except MalformedObject as error:
        raise MalformedObject(f"{where}: {error}") from None


def stores(kind: str) -> bool:
    return kind in HANDLERS


# Reading Stripe's JSON.


def ref(value: object) -> str:
    """The id of a reference, given as an id, an expanded object or nothing."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def ident(value: object, field: str) -> str:
    """A reference's id for a column: refused when longer than the column holds."""
    found = ref(value)
    if len(found) > ID_LENGTH:
        raise MalformedObject(f"{field} {shown(found)} is longer than {ID_LENGTH} characters")
    return found


def whole(value: object, field: str, bounds: tuple[int, int]) -> int:
    """`value` as an integer within `bounds` (what its column holds): the one check of every
    amount, count and timestamp, so none reaches the database out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedObject(f"{field} {shown(value)} is not a whole number")
    low, high = bounds
    if not low <= value <= high:
        raise MalformedObject(f"{field} {shown(value)} is out of range ({low} to {high})")
    return value


def moment(value: object, field: str) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)  # A time written in exponent form (1.7e9) or with a fraction.
    if not isinstance(value, int):
        raise MalformedObject(f"{field} {shown(value)} is not a Unix timestamp")
    return datetime.fromtimestamp(whole(value, field, TIMES), tz=UTC)


def amount(value: object, field: str, default: int = 0) -> int:
    """Minor units, within what a BigIntegerField holds."""
    return default if value is None else whole(value, field, AMOUNTS)


def count(value: object, field: str, default: int = 0) -> int:
    """A count for a PositiveIntegerField."""
    return default if value is None else whole(value, field, COUNTS)


def nested(value: object, field: str) -> Obj:
    """A nested object; {} when absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedObject(f"{field} must be an object, got {shown(value)}")
    return value


def items(value: object, field: str) -> list[Any]:
    """A nested array; [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedObject(f"{field} must be a list, got {shown(value)}")
    return value


def objects(value: object, field: str) -> list[Obj]:
    """A nested array of objects; [] when absent."""
    found = items(value, field)
    if not all(isinstance(item, dict) for item in found):
        raise MalformedObject(f"{field} must be a list of objects, got {shown(value)}")
    return found


def shown(value: object) -> str:
    """A value for a reason: large numbers in exponent form (1e20), long values cut short."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        digits = str(abs(value))  # JSON refuses integers of more than 4300 digits.
        lead = f"{int(digits[:3]) / 100:g}"
        return f"{'-' if value < 0 else ''}{lead}e{len(digits) - 1}"
    text = repr(value).replace("e+", "e") if isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def text(value: object, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def currency(value: object) -> str:
    return text(value, 3).upper()


def percent(value: object, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite():
        raise MalformedObject(f"{field} {shown(value)} is not a number")
    if not 0 <= number <= 100:
        raise MalformedObject(f"{field} {shown(value)} is not a percentage from 0 to 100")
    # The column keeps 4 decimals; Stripe sends at most 2.
    return number.quantize(Decimal("0.0001"))


def _dig(obj: Obj, *path: str) -> Any:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _rank(kind: str, obj: Obj, ctx: Context) -> int:
    if ctx.deleted or obj.get("deleted") is True:
        return DELETED_RANK
    return _RANKS.get(kind, {}).get(str(obj.get("status", "")), 0)


# Saving rows.


def _save(model: type[M], obj: Obj, ctx: Context, fields: dict[str, Any]) -> tuple[M, bool]:
    """Upsert by (livemode, id) unless the stored snapshot is newer; True when applied."""
    stripe_id = ident(obj, "id")
    if not stripe_id:
        raise InvalidInput(f"a Stripe {obj.get('object')} without an id")
    rank = _rank(str(obj.get("object")), obj, ctx)
    row = _locked(model, ctx.livemode, stripe_id)
    if row is None:
        try:
            with transaction.atomic():
                return _write(
                    model(livemode=ctx.livemode, stripe_id=stripe_id), obj, ctx, fields, rank
                ), True
        except IntegrityError:
            # Another worker stored it between our read and our write: compare with theirs.
            row = _locked(model, ctx.livemode, stripe_id)
            assert row is not None
    if (row.version, row.rank) > (ctx.version, rank):
        return row, False
    return _write(row, obj, ctx, fields, rank), True


def _locked(model: type[M], livemode: bool, stripe_id: str) -> M | None:
    return (
        model._default_manager.select_for_update()
        .filter(livemode=livemode, stripe_id=stripe_id)
        .first()
    )


def _write(row: M, obj: Obj, ctx: Context, fields: dict[str, Any], rank: int) -> M:
    gone = obj.get("deleted") is True
    # A deleted stub ({"id", "object", "deleted": true}) says nothing about the other fields.
    for name, value in ({} if gone else fields).items():
        setattr(row, name, value)
    if not gone:
        row.raw = obj
        row.created = moment(obj.get("created"), "created") or row.created
    row.deleted = row.deleted or gone or ctx.deleted
    row.version, row.rank, row.needs_fetch, row.synced_at = ctx.version, rank, False, clock.now()
    row.save()
    return row


def reference(model: type[M], value: object, field: str, ctx: Context, **stub: Any) -> M | None:
    """The row a reference names: stored from an expanded object, found, or made a stub."""
    if isinstance(value, dict) and value.get("object"):
        kind = value["object"]
        expected = [name for name, stored in MODELS.items() if stored is model]
        if kind not in expected and not (model is Price and kind == "plan"):
            raise MalformedObject(
                f"{field} must be a {' or '.join(expected)}, got a Stripe {shown(kind)} "
                f"({shown(ref(value))})"
            )
        row, _ = _handle(kind, value, ctx)
        return cast(M, row)
    stripe_id = ident(value, field)
    if not stripe_id:
        return None
    row, _ = model._default_manager.get_or_create(
        livemode=ctx.livemode,
        stripe_id=stripe_id,
        defaults={"needs_fetch": True, "synced_at": clock.now(), **stub},
    )
    return row


# One function per object type.


def _customer(obj: Obj, ctx: Context) -> tuple[BillingCustomer, bool]:
    fields = {
        "email": text(obj.get("email"), 254),
        "name": text(obj.get("name"), 255),
        "currency": currency(obj.get("currency")),
        "delinquent": bool(obj.get("delinquent")),
    }
    row, applied = _save(BillingCustomer, obj, ctx, fields)
    if applied:
        _link(row)
        if isinstance(obj.get("discount"), dict):
            _handle("discount", obj["discount"], ctx)
    return row, applied


def _link(row: BillingCustomer) -> None:
    """Point the row at the FounderOps customer: by its Stripe identity, else by e-mail."""
    if row.customer_id is not None:
        return
    identity = Identity.objects.filter(kind=Identity.Kind.STRIPE, value=row.stripe_id).first()
    if identity is not None:
        row.customer = identity.customer
    elif row.email:
        try:
            row.customer = customers.find_or_create_customer(row.email, row.name)
        except InvalidInput:
            return  # Not an address we can use; the row stays unlinked, nothing is lost.
        customers.add_identity(row.customer, Identity.Kind.STRIPE, row.stripe_id)
    else:
        return
    row.save(update_fields=["customer"])


def _product(obj: Obj, ctx: Context) -> tuple[Product, bool]:
    fields = {"name": text(obj.get("name"), 255), "active": bool(obj.get("active", True))}
    return _save(Product, obj, ctx, fields)


def _price(obj: Obj, ctx: Context) -> tuple[Price, bool]:
    recurring = nested(obj.get("recurring"), "recurring")
    # Legacy plans carry interval and amount on themselves.
    interval = recurring.get("interval") or obj.get("interval") or ""
    unit_amount = obj.get("unit_amount", obj.get("amount"))
    interval_count = recurring.get("interval_count") or obj.get("interval_count") or 1
    fields = {
        "product": reference(Product, obj.get("product"), "product", ctx),
        "currency": currency(obj.get("currency")),
        "unit_amount": None if unit_amount is None else amount(unit_amount, "unit_amount"),
        "type": text(obj.get("type") or ("recurring" if interval else ""), 20),
        "interval": text(interval, 10),
        "interval_count": whole(interval_count, "interval_count", (1, COUNTS[1])),
        "nickname": text(obj.get("nickname"), 255),
        "lookup_key": text(obj.get("lookup_key"), 255),
        "active": bool(obj.get("active", True)),
    }
    return _save(Price, obj, ctx, fields)


def _coupon(obj: Obj, ctx: Context) -> tuple[Coupon, bool]:
    months = obj.get("duration_in_months")
    fields = {
        "name": text(obj.get("name"), 255),
        "percent_off": percent(obj.get("percent_off"), "percent_off"),
        "amount_off": None
        if obj.get("amount_off") is None
        else amount(obj["amount_off"], "amount_off"),
        "currency": currency(obj.get("currency")),
        "duration": text(obj.get("duration"), 10),
        "duration_in_months": None if months is None else count(months, "duration_in_months"),
        "valid": bool(obj.get("valid", True)),
    }
    return _save(Coupon, obj, ctx, fields)


def _discount(obj: Obj, ctx: Context) -> tuple[Discount, bool]:
    # Older versions nest the coupon itself; newer ones name it under `source`.
    coupon = obj.get("coupon") or _dig(obj, "source", "coupon")
    fields = {
        "coupon": reference(Coupon, coupon, "coupon", ctx),
        "customer": reference(BillingCustomer, obj.get("customer"), "customer", ctx),
        "subscription_stripe_id": ident(obj.get("subscription"), "subscription"),
        "start": moment(obj.get("start"), "start"),
        "end": moment(obj.get("end"), "end"),
    }
    return _save(Discount, obj, ctx, fields)


def _subscription(obj: Obj, ctx: Context) -> tuple[Subscription, bool]:
    subscribed = _all(obj.get("items"), "items", "subscription_items", ref(obj), ctx)
    starts = [
        moment(i.get("current_period_start"), "items.current_period_start") for i in subscribed
    ]
    ends = [moment(i.get("current_period_end"), "items.current_period_end") for i in subscribed]
    fields = {
        "customer": reference(BillingCustomer, obj.get("customer"), "customer", ctx),
        "status": text(obj.get("status"), 30),
        "currency": currency(obj.get("currency")),
        "start_date": moment(obj.get("start_date"), "start_date"),
        "trial_start": moment(obj.get("trial_start"), "trial_start"),
        "trial_end": moment(obj.get("trial_end"), "trial_end"),
        "current_period_start": moment(obj.get("current_period_start"), "current_period_start")
        or min((s for s in starts if s), default=None),
        "current_period_end": moment(obj.get("current_period_end"), "current_period_end")
        or max((e for e in ends if e), default=None),
        "cancel_at": moment(obj.get("cancel_at"), "cancel_at"),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "canceled_at": moment(obj.get("canceled_at"), "canceled_at"),
        "ended_at": moment(obj.get("ended_at"), "ended_at"),
        "schedule_stripe_id": ident(obj.get("schedule"), "schedule"),
    }
    discounts = [obj.get("discount"), *items(obj.get("discounts"), "discounts")]
    row, applied = _save(Subscription, obj, ctx, fields)
    if applied and obj.get("deleted") is not True:
        _replace_items(row, subscribed, ctx)
        _nested_discounts(discounts, ctx)
    return row, applied


def _replace_items(row: Subscription, subscribed: list[Obj], ctx: Context) -> None:
    rows = []
    for item in subscribed:
        with within(f"item {ref(item) or '(no id)'}"):
            rows.append(
                SubscriptionItem(
                    subscription=row,
                    stripe_id=ident(item, "id"),
                    price=reference(Price, item.get("price") or item.get("plan"), "price", ctx),
                    quantity=amount(item.get("quantity"), "quantity", 1),
                    current_period_start=moment(
                        item.get("current_period_start"), "current_period_start"
                    ),
                    current_period_end=moment(item.get("current_period_end"), "current_period_end"),
                )
            )
    _unique([item.stripe_id for item in rows], "items")
    row.items.all().delete()
    SubscriptionItem.objects.bulk_create(rows)


def _unique(ids: list[str], field: str) -> None:
    """Nested rows are unique per parent: a repeated id would fail the insert."""
    seen: set[str] = set()
    for stripe_id in ids:
        if stripe_id in seen:
            raise MalformedObject(f"{field} holds {shown(stripe_id)} twice")
        seen.add(stripe_id)


def _nested_discounts(values: list[object], ctx: Context) -> bool:
    """Store expanded discounts; False when one is only an id not stored yet."""
    complete = True
    for value in values:
        if isinstance(value, dict):
            _handle("discount", value, ctx)
        elif (
            isinstance(value, str)
            and not Discount.objects.filter(livemode=ctx.livemode, stripe_id=value).exists()
        ):
            complete = False
    return complete


def _schedule(obj: Obj, ctx: Context) -> tuple[SubscriptionSchedule, bool]:
    customer = reference(BillingCustomer, obj.get("customer"), "customer", ctx)
    fields = {
        "customer": customer,
        "subscription": reference(
            Subscription, obj.get("subscription"), "subscription", ctx, customer=customer
        ),
        "status": text(obj.get("status"), 30),
        "end_behavior": text(obj.get("end_behavior"), 20),
        "phases": objects(obj.get("phases"), "phases"),
    }
    return _save(SubscriptionSchedule, obj, ctx, fields)


def _invoice(obj: Obj, ctx: Context) -> tuple[Invoice, bool]:
    customer = reference(BillingCustomer, obj.get("customer"), "customer", ctx)
    subscription = obj.get("subscription") or _dig(
        obj, "parent", "subscription_details", "subscription"
    )
    transitions = nested(obj.get("status_transitions"), "status_transitions")
    fields = {
        "customer": customer,
        "subscription": reference(
            Subscription, subscription, "subscription", ctx, customer=customer
        ),
        "status": text(obj.get("status"), 20),
        "number": text(obj.get("number"), 100),
        "billing_reason": text(obj.get("billing_reason"), 40),
        "currency": currency(obj.get("currency")),
        "period_start": moment(obj.get("period_start"), "period_start"),
        "period_end": moment(obj.get("period_end"), "period_end"),
        "subtotal": amount(obj.get("subtotal"), "subtotal"),
        "tax": _invoice_tax(obj),
        "total": amount(obj.get("total"), "total"),
        "amount_due": amount(obj.get("amount_due"), "amount_due"),
        "amount_paid": amount(obj.get("amount_paid"), "amount_paid"),
        "amount_remaining": amount(obj.get("amount_remaining"), "amount_remaining"),
        "attempt_count": count(obj.get("attempt_count"), "attempt_count"),
        **{
            name: moment(transitions.get(name), f"status_transitions.{name}")
            for name in ("finalized_at", "paid_at", "voided_at", "marked_uncollectible_at")
        },
    }
    row, applied = _save(Invoice, obj, ctx, fields)
    if applied and obj.get("deleted") is not True:
        _store_lines(row, obj, ctx)
    return row, applied


def _invoice_tax(obj: Obj) -> int:
    if obj.get("total_taxes") is not None:
        taxes = objects(obj["total_taxes"], "total_taxes")
        return amount(sum(amount(t.get("amount"), "total_taxes.amount") for t in taxes), "tax")
    return amount(obj.get("tax"), "tax")


def _store_lines(row: Invoice, obj: Obj, ctx: Context) -> None:
    listing = obj.get("lines")
    data = _all(listing, "lines", "invoice_lines", row.stripe_id, ctx)
    truncated = isinstance(listing, dict) and bool(listing.get("has_more"))
    rows = []
    for number, line in enumerate(data, start=1):
        with within(f"line {ref(line) or number}"):
            rows.append(_line(row, line, ctx))
    _unique([line.stripe_id for line in rows], "lines")
    discounts = [obj.get("discount"), *items(obj.get("discounts"), "discounts")]
    discounts += [
        d.get("discount")
        for line in data
        for d in objects(line.get("discount_amounts"), "discount_amounts")
    ]
    row.lines.all().delete()
    InvoiceLine.objects.bulk_create(rows)
    if not (_nested_discounts(discounts, ctx) and (not truncated or ctx.more is not None)):
        # Lines beyond the first page or discounts we cannot resolve: fetch the whole invoice.
        Invoice.objects.filter(pk=row.pk).update(needs_fetch=True)


def _all(listing: object, field: str, kind: str, parent: str, ctx: Context) -> list[Obj]:
    """A nested list's items, the rest fetched when it is truncated and an API is at hand."""
    if listing is None:
        return []
    if not isinstance(listing, dict):
        raise MalformedObject(
            f'{field} must be a Stripe list ({{"object": "list", "data": [...]}}), got '
            f"{shown(listing)}"
        )
    data = objects(listing.get("data"), f"{field}.data")
    if listing.get("has_more") and ctx.more is not None:
        data += objects(ctx.more(kind, parent, ref(data[-1]) if data else ""), field)
    return data


# Where a line names its subscription item (newer API versions), by `parent.type`.
LINE_DETAILS = ("subscription_item_details", "invoice_item_details")


def _line(invoice: Invoice, line: Obj, ctx: Context) -> InvoiceLine:
    parent = nested(line.get("parent"), "parent")
    key = parent.get("type")
    if key not in LINE_DETAILS:
        key = next((name for name in LINE_DETAILS if parent.get(name)), LINE_DETAILS[1])
    details = nested(parent.get(str(key)), f"parent.{key}")
    price = line.get("price") or line.get("plan") or _dig(line, "pricing", "price_details", "price")
    discounts: list[dict[str, Any]] = [
        {
            "discount": ident(d.get("discount"), "discount_amounts.discount"),
            "amount": amount(d.get("amount"), "discount_amounts.amount"),
        }
        for d in objects(line.get("discount_amounts"), "discount_amounts")
    ]
    exclusive, inclusive = _line_taxes(line)
    period = nested(line.get("period"), "period")
    return InvoiceLine(
        invoice=invoice,
        stripe_id=ident(line.get("id"), "id"),
        kind=_line_kind(line, parent),
        subscription_stripe_id=ident(
            line.get("subscription") or details.get("subscription"), "subscription"
        ),
        subscription_item_stripe_id=ident(
            line.get("subscription_item") or details.get("subscription_item"),
            "subscription_item",
        ),
        price=reference(Price, price, "price", ctx),
        description=text(line.get("description"), 2000),
        currency=currency(line.get("currency") or invoice.currency),
        amount=amount(line.get("amount"), "amount"),
        quantity=amount(line.get("quantity"), "quantity", 1),
        period_start=moment(period.get("start"), "period.start"),
        period_end=moment(period.get("end"), "period.end"),
        proration=bool(line.get("proration") or details.get("proration")),
        discount_amount=amount(sum(d["amount"] for d in discounts), "discount_amounts"),
        discounts=discounts,
        tax_exclusive=exclusive,
        tax_inclusive=inclusive,
    )


def _line_kind(line: Obj, parent: Obj) -> str:
    if line.get("type") == "subscription" or parent.get("type") == "subscription_item_details":
        return InvoiceLine.Kind.SUBSCRIPTION
    return InvoiceLine.Kind.INVOICE_ITEM


def _line_taxes(line: Obj) -> tuple[int, int]:
    """(exclusive, inclusive) tax of a line, from `taxes` (newer) or `tax_amounts` (older)."""
    exclusive = inclusive = 0
    for tax in objects(line.get("taxes"), "taxes"):
        if tax.get("tax_behavior") == "inclusive":
            inclusive += amount(tax.get("amount"), "taxes.amount")
        else:
            exclusive += amount(tax.get("amount"), "taxes.amount")
    for tax in objects(line.get("tax_amounts"), "tax_amounts"):
        if tax.get("inclusive"):
            inclusive += amount(tax.get("amount"), "tax_amounts.amount")
        else:
            exclusive += amount(tax.get("amount"), "tax_amounts.amount")
    return amount(exclusive, "taxes"), amount(inclusive, "taxes")


def _invoice_payment(obj: Obj, ctx: Context) -> tuple[InvoicePayment, bool]:
    payment = nested(obj.get("payment"), "payment")
    paid = obj.get("amount_paid")
    fields = {
        "invoice": reference(Invoice, obj.get("invoice"), "invoice", ctx),
        "payment_intent": ident(payment.get("payment_intent"), "payment.payment_intent"),
        "charge_stripe_id": ident(payment.get("charge"), "payment.charge"),
        "amount_paid": None if paid is None else amount(paid, "amount_paid"),
        "currency": currency(obj.get("currency")),
        "status": text(obj.get("status"), 20),
    }
    row, applied = _save(InvoicePayment, obj, ctx, fields)
    if applied and row.invoice is not None:
        _charges_paying(row).filter(invoice=None).update(invoice=row.invoice)
    return row, applied


def _charges_paying(payment: InvoicePayment) -> Any:
    match = Q(pk__in=[])
    if payment.charge_stripe_id:
        match |= Q(stripe_id=payment.charge_stripe_id)
    if payment.payment_intent:
        match |= Q(payment_intent=payment.payment_intent)
    return Charge.objects.filter(match, livemode=payment.livemode)


def _charge(obj: Obj, ctx: Context) -> tuple[Charge, bool]:
    outcome = nested(obj.get("outcome"), "outcome")
    fields = {
        "customer": reference(BillingCustomer, obj.get("customer"), "customer", ctx),
        "invoice": reference(Invoice, obj.get("invoice"), "invoice", ctx)
        or _paid_invoice(obj, ctx),
        "payment_intent": ident(obj.get("payment_intent"), "payment_intent"),
        "amount": amount(obj.get("amount"), "amount"),
        "amount_refunded": amount(obj.get("amount_refunded"), "amount_refunded"),
        "currency": currency(obj.get("currency")),
        "status": text(obj.get("status"), 20),
        "paid": bool(obj.get("paid")),
        "refunded": bool(obj.get("refunded")),
        "failure_code": text(obj.get("failure_code"), 100),
        "failure_message": text(obj.get("failure_message") or outcome.get("seller_message"), 500)
        if obj.get("status") == "failed"
        else "",
    }
    _check_charge(ref(obj), fields)
    return _save(Charge, obj, ctx, fields)


def _check_charge(charge_id: str, fields: dict[str, Any]) -> None:
    code = fields["currency"] or "USD"
    for name in ("amount", "amount_refunded"):
        if fields[name] < 0:
            raise ImpossibleAmount(
                f"charge {charge_id} has a negative {name} ({fields[name]} minor units): refused"
            )
    if fields["amount_refunded"] > fields["amount"]:
        raise RefundExceedsCharge(
            f"charge {charge_id} says {Money(fields['amount_refunded'], code)} refunded, more "
            f"than the {Money(fields['amount'], code)} charged: refused"
        )


def _paid_invoice(obj: Obj, ctx: Context) -> Invoice | None:
    """Newer API versions link a charge to its invoice through an invoice payment."""
    match = Q(charge_stripe_id=ref(obj))
    if obj.get("payment_intent"):
        match |= Q(payment_intent=ref(obj.get("payment_intent")))
    payment = (
        InvoicePayment.objects.filter(match, livemode=ctx.livemode)
        .exclude(invoice=None)
        .select_related("invoice")
        .first()
    )
    return payment.invoice if payment else None


def _refund(obj: Obj, ctx: Context) -> tuple[Refund, bool]:
    charge = reference(Charge, obj.get("charge"), "charge", ctx)
    fields = {
        "charge": charge,
        "amount": amount(obj.get("amount"), "amount"),
        "currency": currency(obj.get("currency")),
        "status": text(obj.get("status"), 20),
        "reason": text(obj.get("reason"), 60),
    }
    refunding = amount(obj.get("amount"), "amount")
    if refunding < 0:
        raise ImpossibleAmount(
            f"refund {ref(obj)} has a negative amount ({refunding} minor units): refused"
        )
    if charge is not None and not charge.needs_fetch:
        _check_refund(charge, ref(obj), fields)
    return _save(Refund, obj, ctx, fields)


def _check_refund(charge: Charge, refund_id: str, fields: dict[str, Any]) -> None:
    if fields["status"] not in REFUNDING:
        return
    others = (
        Refund.objects.filter(charge=charge, status__in=REFUNDING)
        .exclude(stripe_id=refund_id)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    if others + fields["amount"] > charge.amount:
        code = fields["currency"] or charge.currency or "USD"
        raise RefundExceedsCharge(
            f"refund {refund_id} of {Money(fields['amount'], code)} would bring the refunds on "
            f"charge {charge.stripe_id} to {Money(others + fields['amount'], code)}, more than "
            f"the {Money(charge.amount, code)} charged: refused"
        )


def _credit_note(obj: Obj, ctx: Context) -> tuple[CreditNote, bool]:
    customer = reference(BillingCustomer, obj.get("customer"), "customer", ctx)
    taxes = objects(obj.get("total_taxes"), "total_taxes")
    fields = {
        "customer": customer,
        "invoice": reference(Invoice, obj.get("invoice"), "invoice", ctx, customer=customer),
        "number": text(obj.get("number"), 100),
        "status": text(obj.get("status"), 20),
        "type": text(obj.get("type"), 20),
        "reason": text(obj.get("reason"), 60),
        "currency": currency(obj.get("currency")),
        "subtotal": amount(obj.get("subtotal"), "subtotal"),
        "tax": amount(sum(amount(t.get("amount"), "total_taxes.amount") for t in taxes), "tax")
        if taxes
        else amount(obj.get("tax"), "tax"),
        "total": amount(obj.get("total"), "total"),
        "out_of_band_amount": amount(obj.get("out_of_band_amount"), "out_of_band_amount"),
        "voided_at": moment(obj.get("voided_at"), "voided_at")
        if obj.get("status") == "void"
        else None,
    }
    return _save(CreditNote, obj, ctx, fields)


def _dispute(obj: Obj, ctx: Context) -> tuple[Dispute, bool]:
    fields = {
        "charge": reference(Charge, obj.get("charge"), "charge", ctx),
        "amount": amount(obj.get("amount"), "amount"),
        "currency": currency(obj.get("currency")),
        "status": text(obj.get("status"), 40),
        "reason": text(obj.get("reason"), 60),
    }
    return _save(Dispute, obj, ctx, fields)


HANDLERS: dict[str, Callable[[Obj, Context], tuple[Any, bool]]] = {
    "customer": _customer,
    "product": _product,
    "price": _price,
    # Legacy plans are prices in an older shape.
    "plan": _price,
    "coupon": _coupon,
    "discount": _discount,
    "subscription": _subscription,
    "subscription_schedule": _schedule,
    "invoice": _invoice,
    "invoice_payment": _invoice_payment,
    "charge": _charge,
    "refund": _refund,
    "credit_note": _credit_note,
    "dispute": _dispute,
}
# Where each stored type lives, for reconciliation's fetches.
MODELS: dict[str, type[StripeObject]] = {
    "customer": BillingCustomer,
    "product": Product,
    "price": Price,
    "coupon": Coupon,
    "subscription": Subscription,
    "subscription_schedule": SubscriptionSchedule,
    "invoice": Invoice,
    "invoice_payment": InvoicePayment,
    "charge": Charge,
    "refund": Refund,
    "credit_note": CreditNote,
    "dispute": Dispute,
}
