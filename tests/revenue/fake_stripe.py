"""A fake Stripe API behind core.http's transport, answering Stripe-shaped JSON.

Objects start from Stripe's own example of each resource (`fixtures3.json` from
github.com/stripe/openapi, read from ../shared/data, never copied here) with the fields a test
cares about replaced, so every other field has the shape the real API sends.
"""

from __future__ import annotations

import copy
import functools
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import stripe

from founderops.core import http
from tests.conftest import SHARED_DATA

FIXTURES = SHARED_DATA / "revenue" / "stripe" / "fixtures3.json"
SECRET = "whsec_TestSecret0123456789"
KEY = "rk_test_FakeKey0123456789"
NESTED_PAGE = 10
Obj = dict[str, Any]


@functools.cache
def _resources() -> dict[str, Obj]:
    resources: dict[str, Obj] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def shape(kind: str, **fields: Any) -> Obj:
    """Stripe's example `kind` object with `fields` in place of its values."""
    obj = copy.deepcopy(_resources()[kind])
    obj.update(fields)
    return obj


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def listing(data: list[Obj], url: str, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


# Objects.


def customer(stripe_id: str, email: str | None = "ada@example.com", **fields: Any) -> Obj:
    return shape(
        "customer", id=stripe_id, email=email, name="Ada Lovelace", discount=None, **fields
    )


def product(stripe_id: str = "prod_pro", name: str = "Pro") -> Obj:
    return shape("product", id=stripe_id, name=name)


def price(
    stripe_id: str = "price_pro",
    unit_amount: int | None = 2000,
    interval: str = "month",
    currency: str = "usd",
    product_id: str = "prod_pro",
    interval_count: int = 1,
) -> Obj:
    recurring = {**_resources()["price"]["recurring"], "interval": interval}
    recurring["interval_count"] = interval_count
    return shape(
        "price",
        id=stripe_id,
        unit_amount=unit_amount,
        unit_amount_decimal=None if unit_amount is None else str(unit_amount),
        currency=currency,
        product=product_id,
        recurring=recurring,
        transform_quantity=None,
    )


def coupon(stripe_id: str, percent_off: float, duration: str, months: int | None = None) -> Obj:
    return shape(
        "coupon",
        id=stripe_id,
        percent_off=percent_off,
        amount_off=None,
        duration=duration,
        duration_in_months=months,
    )


def discount(stripe_id: str, coupon_id: str, customer_id: str = "cus_ada") -> Obj:
    return shape(
        "discount",
        id=stripe_id,
        customer=customer_id,
        source={"coupon": coupon_id, "type": "coupon"},
    )


def subscription(
    stripe_id: str,
    customer_id: str,
    items: list[tuple[str, Obj, int]],
    start: datetime,
    status: str = "active",
    **fields: Any,
) -> Obj:
    template = _resources()["subscription"]["items"]["data"][0]
    data = [
        {
            **copy.deepcopy(template),
            "id": item_id,
            "price": item_price,
            "quantity": quantity,
            "subscription": stripe_id,
            "current_period_start": ts(start),
            "current_period_end": ts(start) + 30 * 86400,
        }
        for item_id, item_price, quantity in items
    ]
    defaults: Obj = {
        "canceled_at": None,
        "cancel_at": None,
        "ended_at": None,
        "trial_start": None,
        "trial_end": None,
        "cancel_at_period_end": False,
        "discounts": [],
    }
    return shape(
        "subscription",
        id=stripe_id,
        customer=customer_id,
        status=status,
        start_date=ts(start),
        created=ts(start),
        items=listing(data, f"/v1/subscription_items?subscription={stripe_id}"),
        **{**defaults, **fields},
    )


def line(
    stripe_id: str,
    amount: int,
    start: datetime,
    end: datetime,
    price_id: str | None = "price_pro",
    subscription_id: str | None = "sub_1",
    quantity: int = 1,
    proration: bool = False,
    discounts: list[tuple[str, int]] = (),  # type: ignore[assignment]
    tax: int = 0,
    inclusive: bool = False,
    item: str = "",
) -> Obj:
    template = _resources()["line_item"]
    details = {
        "invoice_item": None,
        "proration": proration,
        "proration_details": {"credited_items": None},
        "subscription": subscription_id,
        "subscription_item": item or f"si_{stripe_id}",
    }
    return {
        **copy.deepcopy(template),
        "id": stripe_id,
        "amount": amount,
        "currency": "usd",
        "quantity": quantity,
        "period": {"start": ts(start), "end": ts(end)},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price_id, "product": "prod_pro"},
            "unit_amount_decimal": None,
        },
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": details,
            "invoice_item_details": None,
        }
        if subscription_id
        else {
            "type": "invoice_item_details",
            "invoice_item_details": {**details, "subscription_item": None},
            "subscription_item_details": None,
        },
        "discount_amounts": [{"amount": a, "discount": d} for d, a in discounts],
        "discounts": [d for d, _ in discounts],
        "taxes": [
            {
                "amount": tax,
                "tax_behavior": "inclusive" if inclusive else "exclusive",
                "taxability_reason": "standard_rated",
                "taxable_amount": amount,
                "type": "tax_rate_details",
            }
        ]
        if tax
        else [],
    }


def invoice(
    stripe_id: str,
    customer_id: str,
    lines: list[Obj],
    created: datetime,
    status: str = "paid",
    subscription_id: str | None = "sub_1",
    discounts: list[Any] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Obj:
    subtotal = sum(item["amount"] for item in lines)
    off = sum(d["amount"] for item in lines for d in item["discount_amounts"])
    tax = sum(
        t["amount"] for item in lines for t in item["taxes"] if t["tax_behavior"] != "inclusive"
    )
    total = subtotal - off + tax
    paid = total if status == "paid" else 0
    return shape(
        "invoice",
        id=stripe_id,
        customer=customer_id,
        status=status,
        created=ts(created),
        period_start=ts(created),
        period_end=ts(created),
        lines=listing(lines, f"/v1/invoices/{stripe_id}/lines"),
        subtotal=subtotal,
        total=total,
        amount_due=total,
        amount_paid=paid,
        amount_remaining=total - paid,
        discounts=list(discounts),
        total_discount_amounts=[],
        total_taxes=[{"amount": tax, "tax_behavior": "exclusive"}] if tax else [],
        parent={
            "type": "subscription_details",
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
            "quote_details": None,
        }
        if subscription_id
        else None,
        status_transitions={
            "finalized_at": ts(created),
            "marked_uncollectible_at": None,
            "paid_at": ts(created) if status == "paid" else None,
            "voided_at": None,
        },
        **fields,
    )


def charge(
    stripe_id: str,
    amount: int,
    customer_id: str = "cus_ada",
    created: datetime | None = None,
    status: str = "succeeded",
    **fields: Any,
) -> Obj:
    extra = {"created": ts(created)} if created else {}
    return shape(
        "charge",
        id=stripe_id,
        amount=amount,
        amount_captured=amount,
        customer=customer_id,
        status=status,
        paid=status == "succeeded",
        **extra,
        **fields,
    )


def refund(stripe_id: str, charge_id: str, amount: int, **fields: Any) -> Obj:
    return shape("refund", id=stripe_id, charge=charge_id, amount=amount, **fields)


def invoice_payment(stripe_id: str, invoice_id: str, payment_intent: str, amount: int) -> Obj:
    return shape(
        "invoice_payment",
        id=stripe_id,
        invoice=invoice_id,
        payment={"type": "payment_intent", "payment_intent": payment_intent},
        amount_paid=amount,
        currency="usd",
        status="paid",
        livemode=False,
    )


def event(stripe_id: str, kind: str, obj: Obj, created: datetime, livemode: bool = False) -> Obj:
    return shape(
        "event",
        id=stripe_id,
        type=kind,
        created=ts(created),
        livemode=livemode,
        data={"object": obj},
        api_version="2026-10-28.endive",
    )


def signed(body: str, at: datetime, secret: str = SECRET) -> str:
    """The Stripe-Signature header Stripe would send for `body` at `at`."""
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=ts(at)))


# The API.


class FakeStripe:
    """Stripe's list, retrieve and nested-list endpoints over objects a test adds."""

    def __init__(self) -> None:
        self.objects: dict[str, list[Obj]] = defaultdict(list)
        self.requests: list[httpx.Request] = []
        # POST path -> the object answered (creating is not this fake's business).
        self.created: dict[str, Obj] = {}
        # Set to answer every request with this error instead: (status, code, message).
        self.failure: tuple[int, str, str] | None = None

    def add(self, resource: str, *objs: Obj) -> None:
        """`resource` as in the URL: customers, invoices, events, ..."""
        self.objects[resource].extend(objs)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failure is not None:
            return _error(*self.failure)
        if request.method == "POST":
            answer = self.created.get(request.url.path)
            return httpx.Response(200, json=answer) if answer else _error(404, "x", "no POST")
        parts = request.url.path.strip("/").split("/")[1:]
        if len(parts) == 1:
            return self._list(parts[0], self._filtered(parts[0], request), request)
        if len(parts) == 2:
            return self._retrieve(parts[0], parts[1])
        if len(parts) == 3 and parts[2] == "lines":
            found = self._find("invoices", parts[1])
            return self._list("lines", found["lines"]["data"] if found else [], request)
        return _error(404, "unrecognized_request_url", f"Unrecognized request URL {request.url}")

    def _filtered(self, resource: str, request: httpx.Request) -> list[Obj]:
        items = self.objects[resource]
        since = request.url.params.get("created[gte]")
        if since is not None:
            items = [i for i in items if i["created"] >= int(since)]
        parent = request.url.params.get("subscription")
        if resource == "subscription_items" and parent:
            items = [i for i in items if i.get("subscription") == parent]
        if resource == "events":
            items = sorted(items, key=lambda i: i["created"], reverse=True)
        return items

    def _list(self, resource: str, items: list[Obj], request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "10"))
        after = request.url.params.get("starting_after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = [_truncated(item) for item in items[:limit]]
        return httpx.Response(
            200, json=listing(page, request.url.path, has_more=len(items) > limit)
        )

    def _retrieve(self, resource: str, stripe_id: str) -> httpx.Response:
        found = self._find(resource, stripe_id)
        if found is None:
            return _error(404, "resource_missing", f"No such {resource}: '{stripe_id}'")
        return httpx.Response(200, json=_truncated(found))

    def _find(self, resource: str, stripe_id: str) -> Obj | None:
        return next((o for o in self.objects[resource] if o["id"] == stripe_id), None)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


def _truncated(obj: Obj) -> Obj:
    """As Stripe does: an object carries the first NESTED_PAGE of its lines or items."""
    for key in ("lines", "items"):
        nested = obj.get(key)
        if isinstance(nested, dict) and len(nested.get("data") or []) > NESTED_PAGE:
            page = {**nested, "data": nested["data"][:NESTED_PAGE], "has_more": True}
            obj = {**obj, key: page}
    return obj


def _error(status: int, code: str, message: str) -> httpx.Response:
    body = {"error": {"type": "invalid_request_error", "code": code, "message": message}}
    return httpx.Response(status, json=body)


def installed() -> Iterator[FakeStripe]:
    """Route core.http through a new FakeStripe for the duration of a test."""
    fake = FakeStripe()
    http.set_transport(httpx.MockTransport(fake.handle))
    try:
        yield fake
    finally:
        http.set_transport(None)
