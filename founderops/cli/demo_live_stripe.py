"""The running demo's Stripe: the calls the product makes, answered from the stored Stripe copy.

`founderops demo` loads Inkwell's billing through `demo_billing` (an in-memory Stripe, for the
load only), then starts the web server and the workers with FOUNDEROPS_DEMO_STRIPE set. Each
of those processes installs `install()`'s transport at start-up (`cli.apps`): requests to
api.stripe.com are answered here, everything else (the monitors' targets, notifications) goes
out as usual. Nothing is ever sent to Stripe.

The demo's Stripe keeps no state of its own: the stored copy (every object keeps Stripe's JSON
in `raw`) is its account. A read answers the stored JSON; a write changes the objects as Stripe
would and stores them through `stripe_store`, as the webhook Stripe sends afterwards would:
a refund stores the refund and the charge's new `amount_refunded`; a credit the customer's new
`balance`; a cancellation the subscription's `cancel_at_period_end`. An object made by a write
has an id derived from the request's idempotency key, so the same key finds the first answer
and nothing happens twice. Paying an invoice is declined (the demo's unpaid invoices stay
unpaid, as the loaded history says); the Events API has no events (nothing happened in Stripe
that the product did not do itself). An object that is not the demo's (the setting where it
does not belong) is refused with an error, never refunded in the copy or called gone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from django.db import transaction
from django.db.models import QuerySet

from founderops.cli import demo_billing, demo_revenue
from founderops.core import clock, http
from founderops.revenue import stripe_store
from founderops.revenue.models import BillingCustomer, Charge, Refund, StripeObject, Subscription

STRIPE_HOST = "api.stripe.com"
# The demo's history is in live mode (`demo_billing.DEMO_KEY`).
LIVEMODE = True
# Stripe's list endpoints by the object kind they list: /v1/customers lists customers.
LISTED = {f"{kind}s": kind for kind in stripe_store.MODELS}
# Where a balance transaction the demo made is kept: on its customer (Stripe has them apart).
CREDITS = "demo_balance_transactions"
Obj = dict[str, Any]
Handler = Callable[[httpx.Request], httpx.Response]


class StripeRouter(httpx.BaseTransport):
    """Requests to Stripe to `stripe`, every other request to `other`."""

    def __init__(self, stripe: Handler, other: httpx.BaseTransport) -> None:
        self.stripe = stripe
        self.other = other

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == STRIPE_HOST:
            request.read()
            return self.stripe(request)
        return self.other.handle_request(request)

    def close(self) -> None:
        # Shared by every client of the process (`core.http.client`): closing one client must
        # not close the connections of the others.
        return None


def install() -> None:
    """The process's outbound HTTP through the router: Stripe answered here, the rest sent."""
    http.set_transport(StripeRouter(handle, httpx.HTTPTransport()))


def handle(request: httpx.Request) -> httpx.Response:
    parts = request.url.path.strip("/").split("/")
    if parts[:1] != ["v1"] or len(parts) < 2:
        return _missing(request)
    form = httpx.QueryParams(request.content.decode("utf-8"))
    named = [*parts[2:3], form.get("charge", "")]
    foreign = [stripe_id for stripe_id in named if stripe_id and not is_demos(stripe_id)]
    if foreign:
        return _not_the_demos(foreign[0])
    if request.method == "GET":
        return _read(parts[1:], request)
    if request.method == "POST":
        key = request.headers.get("Idempotency-Key", "") or secrets.token_hex(16)
        with transaction.atomic():
            return _write(parts[1:], form, key, request)
    return _missing(request)


def is_demos(stripe_id: str) -> bool:
    """Whether an id is one of the demo's (cus_ink0001, a coupon of its history)."""
    return bool(re.match(demo_billing.DEMO_TARGET, stripe_id)) or stripe_id in demo_revenue.COUPONS


def _not_the_demos(stripe_id: str) -> httpx.Response:
    """Set where it does not belong (an installation with real billing), the demo's Stripe
    refuses the real objects loudly rather than pretend to refund them or call them gone."""
    body = {
        "error": {
            "type": "invalid_request_error",
            "code": "demo_stripe_only",
            "message": f"{stripe_id} is not one of the demo's objects: FOUNDEROPS_DEMO_STRIPE "
            "answers only for the demo's billing, and nothing was sent to Stripe",
        }
    }
    return httpx.Response(403, json=body)


def _missing(request: httpx.Request) -> httpx.Response:
    return demo_billing.error(
        404, f"the demo's Stripe does not serve {request.method} {request.url.path}"
    )


# Reading.


def _read(path: list[str], request: httpx.Request) -> httpx.Response:
    name = path[0]
    if len(path) == 1 and name == "events":
        return _page(name, [], False)
    if len(path) == 1 and name in LISTED:
        return _list(name, request.url.params)
    if len(path) == 2 and name in LISTED:
        obj = _stored(LISTED[name], path[1])
        if obj is None:
            return _no_such(LISTED[name], path[1])
        return httpx.Response(200, json=obj)
    if len(path) == 3 and name == "invoices" and path[2] == "lines":
        invoice = _stored("invoice", path[1])
        if invoice is None:
            return _no_such("invoice", path[1])
        lines = (invoice.get("lines") or {}).get("data") or []
        return _page(f"invoices/{path[1]}/lines", lines, False)
    return _missing(request)


def _model(kind: str) -> type[StripeObject]:
    return stripe_store.MODELS[kind]


def _demos(kind: str) -> QuerySet[StripeObject]:
    """The demo's stored objects of a kind, in live mode: its Stripe account."""
    return (
        _model(kind)
        ._default_manager.filter(demo_billing.DEMO_IDS, livemode=LIVEMODE, deleted=False)
        .exclude(raw={})
    )


def _stored(kind: str, stripe_id: str) -> Obj | None:
    """The object's JSON as Stripe sent it; None for one the copy knows only by reference."""
    row = _demos(kind).filter(stripe_id=stripe_id).first()
    return dict(row.raw) if row is not None else None


def _list(name: str, params: httpx.QueryParams) -> httpx.Response:
    rows = _demos(LISTED[name]).order_by("pk")
    after = params.get("starting_after")
    if after:
        start = rows.filter(stripe_id=after).values_list("pk", flat=True).first() or 0
        rows = rows.filter(pk__gt=start)
    limit = max(1, min(100, int(params.get("limit", "10") or 10)))
    page = [dict(raw) for raw in rows.values_list("raw", flat=True)[: limit + 1]]
    return _page(name, page[:limit], len(page) > limit)


def _page(name: str, data: list[Obj], more: bool) -> httpx.Response:
    body = {"object": "list", "data": data, "has_more": more, "url": f"/v1/{name}"}
    return httpx.Response(200, json=body)


def _no_such(kind: str, stripe_id: str) -> httpx.Response:
    return demo_billing.error(404, f"No such {kind}: '{stripe_id}'", "resource_missing")


# Writing.


def _write(
    path: list[str], form: httpx.QueryParams, key: str, request: httpx.Request
) -> httpx.Response:
    if path == ["refunds"]:
        return refund(form, key)
    if len(path) == 3 and path[0] == "customers" and path[2] == "balance_transactions":
        return credit(path[1], form, key)
    if len(path) == 2 and path[0] == "subscriptions":
        return update_subscription(path[1], form)
    if len(path) == 3 and path[0] == "invoices" and path[2] == "pay":
        return pay(path[1])
    return _missing(request)


def made_id(prefix: str, key: str) -> str:
    """The id of what a request makes, the same for the same idempotency key:
    re_ink3f2a…, within the demo's ids (`demo --reset` removes it with the rest)."""
    digest = hashlib.sha256(f"{prefix}:{key}".encode()).hexdigest()[:20]
    return f"{prefix}_{demo_revenue.ID}{digest}"


def _now() -> int:
    return int(clock.now().timestamp())


def _keep(obj: Obj) -> None:
    """The object's new state in the copy, as its webhook would store it."""
    stripe_store.store(obj, stripe_store.Context(LIVEMODE, _now()))


def _metadata(form: httpx.QueryParams) -> dict[str, str]:
    return {
        name.removeprefix("metadata[").removesuffix("]"): value
        for name, value in form.multi_items()
        if name.startswith("metadata[")
    }


def refund(form: httpx.QueryParams, key: str) -> httpx.Response:
    """A refund of a charge (all that is left, or `amount`), checked as Stripe checks it."""
    refund_id = made_id("re", key)
    done = Refund.objects.filter(livemode=LIVEMODE, stripe_id=refund_id).first()
    if done is not None:
        return httpx.Response(200, json=done.raw)
    charge_id = form.get("charge", "")
    row = Charge.objects.select_for_update().filter(livemode=LIVEMODE, stripe_id=charge_id)
    charge = row.exclude(raw={}).first()
    if charge is None:
        return _no_such("charge", charge_id)
    if charge.status != "succeeded":
        return demo_billing.error(400, f"Charge {charge_id} was not paid; nothing to refund.")
    # The refunds stored for it count too: one made while loading left the charge as it was
    # (no `charge.refunded` followed), and the store refuses refunds above the charge.
    stored = Refund.objects.filter(livemode=LIVEMODE, charge=charge, status="succeeded")
    refunded_before = max(charge.amount_refunded, sum(r.amount for r in stored))
    left = charge.amount - refunded_before
    raw = form.get("amount", "")
    amount = int(raw) if raw.isdigit() else left
    if not 0 < amount <= left:
        return demo_billing.error(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
            "charge_already_refunded" if left == 0 else "",
        )
    made: Obj = {
        "id": refund_id,
        "object": "refund",
        "charge": charge_id,
        "amount": amount,
        "currency": charge.raw.get("currency") or charge.currency.lower(),
        "status": "succeeded",
        "reason": form.get("reason") or None,
        "metadata": _metadata(form),
        "created": _now(),
        "livemode": LIVEMODE,
    }
    refunded = refunded_before + amount
    _keep({**charge.raw, "amount_refunded": refunded, "refunded": refunded == charge.amount})
    _keep(made)
    return httpx.Response(200, json=made)


def credit(customer_id: str, form: httpx.QueryParams, key: str) -> httpx.Response:
    """A customer balance transaction (negative: a credit) and the customer's new balance."""
    customer = (
        BillingCustomer.objects.select_for_update()
        .filter(livemode=LIVEMODE, stripe_id=customer_id, deleted=False)
        .exclude(raw={})
        .first()
    )
    if customer is None:
        return _no_such("customer", customer_id)
    made_before: dict[str, Obj] = customer.raw.get(CREDITS) or {}
    transaction_id = made_id("cbtxn", key)
    if transaction_id in made_before:
        return httpx.Response(200, json=made_before[transaction_id])
    raw = form.get("amount", "")
    if not raw.lstrip("-").isdigit() or int(raw) == 0:
        return demo_billing.error(400, f"Invalid integer: {raw!r}")
    balance = int(customer.raw.get("balance") or 0) + int(raw)
    made: Obj = {
        "id": transaction_id,
        "object": "customer_balance_transaction",
        "amount": int(raw),
        "currency": form.get("currency", "").lower(),
        "customer": customer_id,
        "description": form.get("description") or None,
        "ending_balance": balance,
        "metadata": _metadata(form),
        "type": "adjustment",
        "created": _now(),
        "livemode": LIVEMODE,
    }
    _keep({**customer.raw, "balance": balance, CREDITS: {**made_before, transaction_id: made}})
    return httpx.Response(200, json=made)


def update_subscription(subscription_id: str, form: httpx.QueryParams) -> httpx.Response:
    """Only what the product asks: cancel at the end of the period paid for (or not)."""
    subscription = (
        Subscription.objects.select_for_update()
        .filter(livemode=LIVEMODE, stripe_id=subscription_id, deleted=False)
        .exclude(raw={})
        .first()
    )
    if subscription is None:
        return _no_such("subscription", subscription_id)
    asked = set(form.keys())
    if asked != {"cancel_at_period_end"}:
        return demo_billing.error(
            400, f"the demo's Stripe changes only cancel_at_period_end, not {sorted(asked)}"
        )
    obj = dict(subscription.raw)
    if obj.get("status") == "canceled":
        return demo_billing.error(
            400, "A canceled subscription can only update its cancellation_details and metadata."
        )
    ending = form.get("cancel_at_period_end") == "true"
    obj["cancel_at_period_end"] = ending
    obj["cancel_at"] = _period_end(obj) if ending else None
    obj["canceled_at"] = _now() if ending else None
    _keep(obj)
    return httpx.Response(200, json=obj)


def _period_end(subscription: Obj) -> int | None:
    """The end of the period paid for: on the subscription (older API versions) or its items."""
    items = (subscription.get("items") or {}).get("data") or []
    ends = [item["current_period_end"] for item in items if item.get("current_period_end")]
    end = subscription.get("current_period_end") or max(ends, default=None)
    return int(end) if end else None


def pay(invoice_id: str) -> httpx.Response:
    invoice = _stored("invoice", invoice_id)
    if invoice is None:
        return _no_such("invoice", invoice_id)
    return demo_billing.declined(invoice)
