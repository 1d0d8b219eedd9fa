"""A fake Stripe for the money actions (refunds, balance credits, cancellations, invoice
payments) behind core.http's transport, idempotent as Stripe is.

Stripe keeps the answer to a request with an `Idempotency-Key` and gives it again, unchanged,
to a later request with the same key (errors included); this fake does the same, so a test can
show that a retry moved money once. Objects are Stripe's own examples (fake_stripe.shape, read
from ../shared/data) with the fields a test cares about replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from founderops.core import clock, http
from founderops.revenue import stripe_store
from founderops.revenue.models import BillingCustomer, Charge, Invoice, Subscription
from tests.revenue import fake_stripe as fs

Obj = dict[str, Any]
KEY = "rk_test_fake"


@dataclass
class MoneyStripe:
    charges: dict[str, Obj] = field(default_factory=dict)
    invoices: dict[str, Obj] = field(default_factory=dict)
    subscriptions: dict[str, Obj] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    refunds: list[Obj] = field(default_factory=list)
    credits: list[Obj] = field(default_factory=list)
    # Answers to `POST /v1/invoices/{id}/pay`, in turn: "paid" or "declined".
    payments: list[str] = field(default_factory=list)
    # The next request (any) answers this error instead: (status, type, code, message).
    failure: tuple[int, str, str, str] | None = None
    replays: dict[str, tuple[int, Obj]] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key in self.replays:
            status, body = self.replays[key]
            return httpx.Response(status, json=copy.deepcopy(body))
        status, body = self._answer(request)
        if request.method == "POST" and key:
            self.replays[key] = (status, copy.deepcopy(body))
        return httpx.Response(status, json=body)

    def _answer(self, request: httpx.Request) -> tuple[int, Obj]:
        if self.failure is not None:
            status, kind, code, message = self.failure
            self.failure = None
            return status, {"error": {"type": kind, "code": code, "message": message}}
        parts = request.url.path.strip("/").split("/")[1:]
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        route = ROUTES.get((request.method, parts[0], len(parts)))
        if route is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "no route"}}
        answer: tuple[int, Obj] = route(self, parts, form)
        return answer

    def posts(self, path: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST" and path in r.url.path]

    def keys(self, path: str = "") -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.posts(path)]

    # Endpoints.

    def _refund(self, parts: list[str], form: dict[str, str]) -> tuple[int, Obj]:
        charge = self.charges.get(form.get("charge", ""))
        if charge is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such charge")
        amount = int(form.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount > charge["amount"] - charge["amount_refunded"]:
            message = "Refund amount is greater than unrefunded amount on charge"
            return 400, _error("invalid_request_error", "amount_too_large", message)
        charge["amount_refunded"] += amount
        refund = fs.refund(
            f"re_{len(self.refunds) + 1}",
            charge["id"],
            amount,
            currency=charge["currency"],
            status="succeeded",
            created=fs.ts(clock.now()),
            livemode=False,
        )
        self.refunds.append(refund)
        return 200, refund

    def _credit(self, parts: list[str], form: dict[str, str]) -> tuple[int, Obj]:
        credit = fs.shape(
            "customer_balance_transaction",
            id=f"cbtxn_{len(self.credits) + 1}",
            customer=parts[1],
            amount=int(form["amount"]),
            currency=form["currency"],
            ending_balance=int(form["amount"]),
            created=fs.ts(clock.now()),
        )
        self.credits.append(credit)
        return 200, credit

    def _update_subscription(self, parts: list[str], form: dict[str, str]) -> tuple[int, Obj]:
        subscription = self.subscriptions[parts[1]]
        if form.get("cancel_at_period_end") == "true":
            end = subscription["items"]["data"][0]["current_period_end"]
            subscription.update(cancel_at_period_end=True, cancel_at=end)
        return 200, subscription

    def _invoice(self, parts: list[str], form: dict[str, str]) -> tuple[int, Obj]:
        found = self.invoices.get(parts[1])
        if found is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such invoice")
        return 200, found

    def _pay(self, parts: list[str], form: dict[str, str]) -> tuple[int, Obj]:
        invoice = self.invoices[parts[1]]
        if (self.payments.pop(0) if self.payments else "declined") == "declined":
            return 402, _error("card_error", "card_declined", "Your card was declined.")
        paid_at = fs.ts(clock.now())
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["status_transitions"] = {**invoice["status_transitions"], "paid_at": paid_at}
        return 200, invoice


ROUTES: dict[tuple[str, str, int], Any] = {
    ("POST", "refunds", 1): MoneyStripe._refund,
    ("POST", "customers", 3): MoneyStripe._credit,
    ("POST", "subscriptions", 2): MoneyStripe._update_subscription,
    ("GET", "invoices", 2): MoneyStripe._invoice,
    ("POST", "invoices", 3): MoneyStripe._pay,
}


def _error(kind: str, code: str, message: str) -> Obj:
    return {"error": {"type": kind, "code": code, "message": message}}


def installed() -> Iterator[MoneyStripe]:
    fake = MoneyStripe()
    http.set_transport(httpx.MockTransport(fake.handle))
    try:
        yield fake
    finally:
        http.set_transport(None)


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


# What FounderOps has stored (as if synced), and the fake's copy of the same objects.


def store(obj: Obj) -> None:
    stripe_store.store(obj, stripe_store.Context(False, fs.ts(clock.now())))


def billing_customer(
    fake: MoneyStripe, stripe_id: str = "cus_ada", email: str = "ada@example.com"
) -> BillingCustomer:
    store(fs.customer(stripe_id, email=email, livemode=False, currency="usd"))
    return BillingCustomer.objects.get(stripe_id=stripe_id)


def charge(
    fake: MoneyStripe,
    stripe_id: str,
    amount: int,
    created: datetime,
    customer_id: str = "cus_ada",
    refunded: int = 0,
    currency: str = "usd",
) -> Charge:
    obj = fs.charge(
        stripe_id,
        amount,
        customer_id=customer_id,
        created=created,
        amount_refunded=refunded,
        currency=currency,
        livemode=False,
        invoice=None,
    )
    fake.charges[stripe_id] = copy.deepcopy(obj)
    store(obj)
    return Charge.objects.get(stripe_id=stripe_id)


def invoice(
    fake: MoneyStripe,
    stripe_id: str,
    created: datetime,
    status: str = "paid",
    customer_id: str = "cus_ada",
    amount: int = 2000,
) -> Invoice:
    line = fs.line(f"il_{stripe_id}", amount, created, created, subscription_id=None)
    obj = fs.invoice(
        stripe_id,
        customer_id,
        [line],
        created,
        status=status,
        subscription_id=None,
        livemode=False,
        number=f"INK-{stripe_id[-4:].upper()}",
        hosted_invoice_url=f"https://invoice.stripe.com/i/acct_1/{stripe_id}",
        invoice_pdf=f"https://pay.stripe.com/invoice/acct_1/{stripe_id}/pdf",
    )
    fake.invoices[stripe_id] = copy.deepcopy(obj)
    store(obj)
    return Invoice.objects.get(stripe_id=stripe_id)


def subscription(
    fake: MoneyStripe, stripe_id: str, start: datetime, customer_id: str = "cus_ada"
) -> Subscription:
    store(fs.product())
    store(fs.price())
    obj = fs.subscription(
        stripe_id, customer_id, [(f"si_{stripe_id}", fs.price(), 1)], start, livemode=False
    )
    fake.subscriptions[stripe_id] = copy.deepcopy(obj)
    store(obj)
    return Subscription.objects.get(stripe_id=stripe_id)
