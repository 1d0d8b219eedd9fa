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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

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
    handler = HANDLERS.get(kind)
    if handler is None:
        raise UnsupportedObject(f"FounderOps does not store Stripe {kind or 'untyped'} objects")
    with transaction.atomic():
        row, applied = handler(obj, ctx)
    return Stored(kind, row.stripe_id, applied)


def stores(kind: str) -> bool:
    return kind in HANDLERS


# Reading Stripe's JSON.


def ref(value: object) -> str:
    """The id of a reference, given as an id, an expanded object or nothing."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value) if isinstance(value, str) else ""


def moment(value: object) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int | float):
        raise InvalidInput(f"expected a Unix timestamp, got {value!r}")
    return datetime.fromtimestamp(int(value), tz=UTC)


def amount(value: object, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"expected an amount in minor units, got {value!r}")
    return value


def text(value: object, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def currency(value: object) -> str:
    return text(value, 3).upper()


def percent(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        # The column keeps 4 decimals; Stripe sends at most 2.
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    except InvalidOperation:
        raise InvalidInput(f"percent_off {value!r} is not a number") from None


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
    stripe_id = ref(obj)
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
        row.created = moment(obj.get("created")) or row.created
    row.deleted = row.deleted or gone or ctx.deleted
    row.version, row.rank, row.needs_fetch, row.synced_at = ctx.version, rank, False, clock.now()
    row.save()
    return row


def reference(model: type[M], value: object, ctx: Context, **stub: Any) -> M | None:
    """The row a reference names: stored from an expanded object, found, or made a stub."""
    if isinstance(value, dict) and value.get("object"):
        handler = HANDLERS[str(value["object"])]
        row, _ = handler(value, ctx)
        assert isinstance(row, model)
        return row
    stripe_id = ref(value)
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
            _discount(obj["discount"], ctx)
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
    recurring = obj.get("recurring") or {}
    # Legacy plans carry interval and amount on themselves.
    interval = recurring.get("interval") or obj.get("interval") or ""
    unit_amount = obj.get("unit_amount", obj.get("amount"))
    fields = {
        "product": reference(Product, obj.get("product"), ctx),
        "currency": currency(obj.get("currency")),
        "unit_amount": None if unit_amount is None else amount(unit_amount),
        "type": text(obj.get("type") or ("recurring" if interval else ""), 20),
        "interval": text(interval, 10),
        "interval_count": int(recurring.get("interval_count") or obj.get("interval_count") or 1),
        "nickname": text(obj.get("nickname"), 255),
        "lookup_key": text(obj.get("lookup_key"), 255),
        "active": bool(obj.get("active", True)),
    }
    return _save(Price, obj, ctx, fields)


def _coupon(obj: Obj, ctx: Context) -> tuple[Coupon, bool]:
    fields = {
        "name": text(obj.get("name"), 255),
        "percent_off": percent(obj.get("percent_off")),
        "amount_off": None if obj.get("amount_off") is None else amount(obj["amount_off"]),
        "currency": currency(obj.get("currency")),
        "duration": text(obj.get("duration"), 10),
        "duration_in_months": obj.get("duration_in_months"),
        "valid": bool(obj.get("valid", True)),
    }
    return _save(Coupon, obj, ctx, fields)


def _discount(obj: Obj, ctx: Context) -> tuple[Discount, bool]:
    # Older versions nest the coupon itself; newer ones name it under `source`.
    coupon = obj.get("coupon") or _dig(obj, "source", "coupon")
    fields = {
        "coupon": reference(Coupon, coupon, ctx),
        "customer": reference(BillingCustomer, obj.get("customer"), ctx),
        "subscription_stripe_id": ref(obj.get("subscription")),
        "start": moment(obj.get("start")),
        "end": moment(obj.get("end")),
    }
    return _save(Discount, obj, ctx, fields)


def _subscription(obj: Obj, ctx: Context) -> tuple[Subscription, bool]:
    items = _all(obj.get("items"), "subscription_items", ref(obj), ctx)
    starts = [moment(i.get("current_period_start")) for i in items]
    ends = [moment(i.get("current_period_end")) for i in items]
    fields = {
        "customer": reference(BillingCustomer, obj.get("customer"), ctx),
        "status": text(obj.get("status"), 30),
        "currency": currency(obj.get("currency")),
        "start_date": moment(obj.get("start_date")),
        "trial_start": moment(obj.get("trial_start")),
        "trial_end": moment(obj.get("trial_end")),
        "current_period_start": moment(obj.get("current_period_start"))
        or min((s for s in starts if s), default=None),
        "current_period_end": moment(obj.get("current_period_end"))
        or max((e for e in ends if e), default=None),
        "cancel_at": moment(obj.get("cancel_at")),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "canceled_at": moment(obj.get("canceled_at")),
        "ended_at": moment(obj.get("ended_at")),
        "schedule_stripe_id": ref(obj.get("schedule")),
    }
    row, applied = _save(Subscription, obj, ctx, fields)
    if applied and obj.get("deleted") is not True:
        _replace_items(row, items, ctx)
        _nested_discounts([obj.get("discount"), *(obj.get("discounts") or [])], ctx)
    return row, applied


def _replace_items(row: Subscription, items: list[Obj], ctx: Context) -> None:
    row.items.all().delete()
    SubscriptionItem.objects.bulk_create(
        SubscriptionItem(
            subscription=row,
            stripe_id=ref(item),
            price=reference(Price, item.get("price") or item.get("plan"), ctx),
            quantity=amount(item.get("quantity"), 1),
            current_period_start=moment(item.get("current_period_start")),
            current_period_end=moment(item.get("current_period_end")),
        )
        for item in items
    )


def _nested_discounts(values: list[object], ctx: Context) -> bool:
    """Store expanded discounts; False when one is only an id not stored yet."""
    complete = True
    for value in values:
        if isinstance(value, dict):
            _discount(value, ctx)
        elif (
            isinstance(value, str)
            and not Discount.objects.filter(livemode=ctx.livemode, stripe_id=value).exists()
        ):
            complete = False
    return complete


def _schedule(obj: Obj, ctx: Context) -> tuple[SubscriptionSchedule, bool]:
    customer = reference(BillingCustomer, obj.get("customer"), ctx)
    fields = {
        "customer": customer,
        "subscription": reference(Subscription, obj.get("subscription"), ctx, customer=customer),
        "status": text(obj.get("status"), 30),
        "end_behavior": text(obj.get("end_behavior"), 20),
        "phases": obj.get("phases") or [],
    }
    return _save(SubscriptionSchedule, obj, ctx, fields)


def _invoice(obj: Obj, ctx: Context) -> tuple[Invoice, bool]:
    customer = reference(BillingCustomer, obj.get("customer"), ctx)
    subscription = obj.get("subscription") or _dig(
        obj, "parent", "subscription_details", "subscription"
    )
    transitions = obj.get("status_transitions") or {}
    fields = {
        "customer": customer,
        "subscription": reference(Subscription, subscription, ctx, customer=customer),
        "status": text(obj.get("status"), 20),
        "number": text(obj.get("number"), 100),
        "billing_reason": text(obj.get("billing_reason"), 40),
        "currency": currency(obj.get("currency")),
        "period_start": moment(obj.get("period_start")),
        "period_end": moment(obj.get("period_end")),
        "subtotal": amount(obj.get("subtotal")),
        "tax": _invoice_tax(obj),
        "total": amount(obj.get("total")),
        "amount_due": amount(obj.get("amount_due")),
        "amount_paid": amount(obj.get("amount_paid")),
        "amount_remaining": amount(obj.get("amount_remaining")),
        "attempt_count": amount(obj.get("attempt_count")),
        "finalized_at": moment(transitions.get("finalized_at")),
        "paid_at": moment(transitions.get("paid_at")),
        "voided_at": moment(transitions.get("voided_at")),
        "marked_uncollectible_at": moment(transitions.get("marked_uncollectible_at")),
    }
    row, applied = _save(Invoice, obj, ctx, fields)
    if applied and obj.get("deleted") is not True:
        _store_lines(row, obj, ctx)
    return row, applied


def _invoice_tax(obj: Obj) -> int:
    if obj.get("total_taxes") is not None:
        return sum(amount(tax.get("amount")) for tax in obj["total_taxes"])
    return amount(obj.get("tax"))


def _store_lines(row: Invoice, obj: Obj, ctx: Context) -> None:
    lines = obj.get("lines") or {}
    complete = not lines.get("has_more") or ctx.more is not None
    data = _all(lines, "invoice_lines", row.stripe_id, ctx)
    row.lines.all().delete()
    InvoiceLine.objects.bulk_create(_line(row, line, ctx) for line in data)
    discounts = [obj.get("discount"), *(obj.get("discounts") or [])]
    discounts += [d.get("discount") for line in data for d in line.get("discount_amounts") or []]
    if not (_nested_discounts(discounts, ctx) and complete):
        # Lines beyond the first page or discounts we cannot resolve: fetch the whole invoice.
        Invoice.objects.filter(pk=row.pk).update(needs_fetch=True)


def _all(listing: object, kind: str, parent: str, ctx: Context) -> list[Obj]:
    """A nested list's items, the rest fetched when it is truncated and an API is at hand."""
    if not isinstance(listing, dict):
        return []
    data = [item for item in listing.get("data") or [] if isinstance(item, dict)]
    if listing.get("has_more") and ctx.more is not None:
        data += ctx.more(kind, parent, ref(data[-1]) if data else "")
    return data


def _line(invoice: Invoice, line: Obj, ctx: Context) -> InvoiceLine:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    if parent.get("type") in ("subscription_item_details", "invoice_item_details"):
        details = parent.get(parent["type"]) or {}
    price = line.get("price") or line.get("plan") or _dig(line, "pricing", "price_details", "price")
    discounts = [
        {"discount": ref(d.get("discount")), "amount": amount(d.get("amount"))}
        for d in line.get("discount_amounts") or []
    ]
    exclusive, inclusive = _line_taxes(line)
    period = line.get("period") or {}
    return InvoiceLine(
        invoice=invoice,
        stripe_id=text(line.get("id"), 255),
        kind=_line_kind(line, parent),
        subscription_stripe_id=ref(line.get("subscription") or details.get("subscription")),
        subscription_item_stripe_id=ref(
            line.get("subscription_item") or details.get("subscription_item")
        ),
        price=reference(Price, price, ctx),
        description=text(line.get("description"), 2000),
        currency=currency(line.get("currency") or invoice.currency),
        amount=amount(line.get("amount")),
        quantity=amount(line.get("quantity"), 1),
        period_start=moment(period.get("start")),
        period_end=moment(period.get("end")),
        proration=bool(line.get("proration") or details.get("proration")),
        discount_amount=sum(d["amount"] for d in discounts),
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
    for tax in line.get("taxes") or []:
        if tax.get("tax_behavior") == "inclusive":
            inclusive += amount(tax.get("amount"))
        else:
            exclusive += amount(tax.get("amount"))
    for tax in line.get("tax_amounts") or []:
        if tax.get("inclusive"):
            inclusive += amount(tax.get("amount"))
        else:
            exclusive += amount(tax.get("amount"))
    return exclusive, inclusive


def _invoice_payment(obj: Obj, ctx: Context) -> tuple[InvoicePayment, bool]:
    payment = obj.get("payment") or {}
    fields = {
        "invoice": reference(Invoice, obj.get("invoice"), ctx),
        "payment_intent": ref(payment.get("payment_intent")),
        "charge_stripe_id": ref(payment.get("charge")),
        "amount_paid": None if obj.get("amount_paid") is None else amount(obj["amount_paid"]),
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
    outcome = obj.get("outcome") or {}
    fields = {
        "customer": reference(BillingCustomer, obj.get("customer"), ctx),
        "invoice": reference(Invoice, obj.get("invoice"), ctx) or _paid_invoice(obj, ctx),
        "payment_intent": ref(obj.get("payment_intent")),
        "amount": amount(obj.get("amount")),
        "amount_refunded": amount(obj.get("amount_refunded")),
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
    charge = reference(Charge, obj.get("charge"), ctx)
    fields = {
        "charge": charge,
        "amount": amount(obj.get("amount")),
        "currency": currency(obj.get("currency")),
        "status": text(obj.get("status"), 20),
        "reason": text(obj.get("reason"), 60),
    }
    refunding = amount(obj.get("amount"))
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
    customer = reference(BillingCustomer, obj.get("customer"), ctx)
    tax = obj.get("total_taxes")
    fields = {
        "customer": customer,
        "invoice": reference(Invoice, obj.get("invoice"), ctx, customer=customer),
        "number": text(obj.get("number"), 100),
        "status": text(obj.get("status"), 20),
        "type": text(obj.get("type"), 20),
        "reason": text(obj.get("reason"), 60),
        "currency": currency(obj.get("currency")),
        "subtotal": amount(obj.get("subtotal")),
        "tax": sum(amount(t.get("amount")) for t in tax) if tax else amount(obj.get("tax")),
        "total": amount(obj.get("total")),
        "out_of_band_amount": amount(obj.get("out_of_band_amount")),
        "voided_at": moment(obj.get("voided_at")) if obj.get("status") == "void" else None,
    }
    return _save(CreditNote, obj, ctx, fields)


def _dispute(obj: Obj, ctx: Context) -> tuple[Dispute, bool]:
    fields = {
        "charge": reference(Charge, obj.get("charge"), ctx),
        "amount": amount(obj.get("amount")),
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
