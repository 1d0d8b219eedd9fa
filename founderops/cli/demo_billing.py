"""The demo's Stripe account: Inkwell's billing history loaded through the real Stripe sync.

`load` plans the history (`demo_revenue`), writes it as Stripe's JSON (`demo_stripe`), answers
the official SDK's list requests from it in-process (the HTTP seam's injectable transport: no
request leaves the machine) and runs `revenue.sync.backfill` in live mode, exactly as
`founderops stripe sync` would against Stripe. The EUR rates go through the same import as
`founderops revenue import-rates`. Then every invoice still unpaid after a failed charge gets
the `invoice.payment_failed` event Stripe would have sent, processed by the webhook code at the
failure's time, and each dunning step whose day has come is done at its own time, with the
demo's Stripe answering (`connected`): so the sequences stand as they would now. A workspace
that has the history already is left alone, so a second load writes nothing; `reset` removes
what the load made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
from django.db.models import Q
from django.test.utils import override_settings

from founderops.cli import demo_revenue, demo_stripe
from founderops.core import clock, http
from founderops.customers.models import Customer
from founderops.revenue import csv_import, dunning, stripe_api, stripe_store, sync, webhooks
from founderops.revenue.models import (
    AccountAction,
    BillingCustomer,
    Discount,
    DunningStep,
    FxRate,
    StripeEvent,
    StripeObject,
)

# A live-mode key in form only: the SDK and the account actions need one, and the transport
# below answers every call made with it (`connected`).
DEMO_KEY = "rk_live_inkwell_demo_history"
# The API version the demo's events name (the older shape the objects are written in).
API_VERSION = "2024-06-20"
# Stripe sends the event a few seconds after the failed charge.
EVENT_DELAY = timedelta(seconds=5)
RATES_SOURCE = "demo"
# Every generated id looks like cus_ink0001, in_ink000042, price_ink_pro_month_usd.
DEMO_IDS = Q(stripe_id__regex=rf"^[a-z]+_{demo_revenue.ID}") | Q(
    stripe_id__in=list(demo_revenue.COUPONS)
)
DEMO_TARGET = rf"^[a-z]+_{demo_revenue.ID}"
DEMO_INVOICES = Q(dunning__invoice__stripe_id__regex=DEMO_TARGET, dunning__invoice__livemode=True)
Obj = dict[str, Any]


class ServedStripe:
    """The demo's Stripe: its list endpoints over a fixed set of objects, paged as Stripe
    pages them, and the few calls the product makes on its own: one invoice read, an invoice
    paid (declined: the demo's unpaid invoices stay unpaid), a charge refunded. Repeating a
    request with the same idempotency key gets the first answer again, as from Stripe."""

    def __init__(self, objects: dict[str, list[Obj]]) -> None:
        self.objects = objects
        self.positions = {
            name: {obj["id"]: index for index, obj in enumerate(items)}
            for name, items in objects.items()
        }
        self.requests = 0
        self.answered: dict[str, httpx.Response] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        parts = request.url.path.strip("/").split("/")
        if parts[:1] != ["v1"]:
            return error(404, f"no such endpoint {request.url.path}")
        if request.method == "GET" and len(parts) == 2:
            return self._page(parts[1], request.url.params)
        if request.method == "GET" and len(parts) == 3 and parts[1] == "invoices":
            return self._invoice(parts[2])
        if request.method == "POST" and parts[1:2] in (["invoices"], ["refunds"]):
            return self._once(request, parts[1:])
        return error(404, f"the demo's Stripe does not serve {request.method} {request.url.path}")

    def _page(self, name: str, params: httpx.QueryParams) -> httpx.Response:
        items = self.objects.get(name, [])
        after = params.get("starting_after")
        start = self.positions.get(name, {}).get(after, -1) + 1 if after else 0
        limit = int(params.get("limit", "10"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        return httpx.Response(
            200, json={"object": "list", "data": page, "has_more": more, "url": f"/v1/{name}"}
        )

    def find(self, name: str, object_id: str) -> Obj | None:
        index = self.positions.get(name, {}).get(object_id)
        return None if index is None else self.objects[name][index]

    def _invoice(self, invoice_id: str) -> httpx.Response:
        invoice = self.find("invoices", invoice_id)
        if invoice is None:
            return error(404, f"No such invoice: '{invoice_id}'", "resource_missing")
        return httpx.Response(200, json=invoice)

    def _once(self, request: httpx.Request, path: list[str]) -> httpx.Response:
        key = request.headers.get("Idempotency-Key", "")
        if key and key in self.answered:
            return self.answered[key]
        form = httpx.QueryParams(request.content.decode("utf-8"))
        if path == ["refunds"]:
            answer = self._refund(form)
        elif len(path) == 3 and path[2] == "pay":
            answer = self._pay(path[1])
        else:
            answer = error(404, f"the demo's Stripe does not serve POST {request.url.path}")
        if key:
            self.answered[key] = answer
        return answer

    def _pay(self, invoice_id: str) -> httpx.Response:
        invoice = self.find("invoices", invoice_id)
        if invoice is None:
            return error(404, f"No such invoice: '{invoice_id}'", "resource_missing")
        return declined(invoice)

    def _refund(self, form: httpx.QueryParams) -> httpx.Response:
        charge = self.find("charges", form.get("charge", ""))
        if charge is None:
            return error(404, f"No such charge: '{form.get('charge', '')}'", "resource_missing")
        if charge["status"] != "succeeded":
            return error(400, f"Charge {charge['id']} was not paid; nothing to refund.")
        left = charge["amount"] - charge["amount_refunded"]
        raw = form.get("amount", "")
        amount = int(raw) if raw.isdigit() else left
        if not 0 < amount <= left:
            return error(
                400, f"Refund amount ({amount}) is greater than unrefunded amount ({left})."
            )
        charge.update(amount_refunded=charge["amount_refunded"] + amount)
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = self._add(
            "refunds",
            {
                "object": "refund",
                "charge": charge["id"],
                "amount": amount,
                "currency": charge["currency"],
                "status": "succeeded",
                "reason": form.get("reason") or None,
                "metadata": {
                    name.removeprefix("metadata[").removesuffix("]"): value
                    for name, value in form.multi_items()
                    if name.startswith("metadata[")
                },
                "created": int(clock.now().timestamp()),
                "livemode": True,
            },
        )
        return httpx.Response(200, json=refund)

    def _add(self, name: str, obj: Obj) -> Obj:
        """A new object with the next id of its kind (re_ink000007 after re_ink000006)."""
        items = self.objects.setdefault(name, [])
        prefix = {"refunds": "re"}[name]
        obj = {"id": f"{prefix}_{demo_revenue.ID}{len(items) + 1:06d}", **obj}
        self.positions.setdefault(name, {})[obj["id"]] = len(items)
        items.append(obj)
        return obj


def declined(invoice: Obj) -> httpx.Response:
    """Stripe's answer to paying an invoice of the demo's: an open one's card is declined
    (the history says it stays unpaid), any other is not open."""
    if invoice["status"] != "open":
        return error(400, f"Invoice is already {invoice['status']}.", "invoice_not_open")
    body = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
        }
    }
    return httpx.Response(402, json=body)


def error(status: int, message: str, code: str = "") -> httpx.Response:
    body: Obj = {"error": {"type": "invalid_request_error", "message": message}}
    if code:
        body["error"]["code"] = code
    return httpx.Response(status, json=body)


@contextmanager
def connected(served: ServedStripe) -> Iterator[None]:
    """The product connected to the demo's Stripe for the block: every Stripe call it makes
    (a refund, an invoice read, a payment retry) goes to `served` through the HTTP seam, with
    a key in form only. Nothing leaves the machine, and after the block no key is left in
    this process (the running demo's processes have their own: `demo_live_stripe`)."""
    http.set_transport(httpx.MockTransport(served.handle))
    try:
        with override_settings(STRIPE_API_KEY=DEMO_KEY, STRIPE_LIVEMODE=True):
            yield
    finally:
        http.set_transport(None)


@dataclass
class Account:
    """The demo's Stripe account for `now`: planned and written out only when asked for."""

    now: datetime
    customers: Sequence[tuple[str, str]]

    @cached_property
    def history(self) -> demo_revenue.History:
        return demo_revenue.plan_history(self.now, self.customers)

    @cached_property
    def served(self) -> ServedStripe:
        return ServedStripe(demo_stripe.stripe_objects(self.history))


def loaded() -> bool:
    return BillingCustomer.objects.filter(DEMO_IDS, livemode=True).exists()


def load(
    now: datetime, customers: Sequence[tuple[str, str]], account: Account | None = None
) -> int:
    """Load the history unless it is there; returns how many Stripe objects were stored.
    `customers`: the demo's own (name, e-mail) pairs, whose billing the story tells."""
    if loaded():
        return 0
    account = account or Account(now, customers)
    served = account.served
    with clock.replaying(now):
        import_rates(account.history.rates)
        report = backfill(served.objects)
    dun(served, now)
    return sum(report.stored.values())


def import_rates(rates: list[tuple[Any, str]]) -> None:
    text = "currency,day,rate\n" + "".join(f"EUR,{day:%Y-%m-%d},{rate}\n" for day, rate in rates)
    csv_import.import_rates(text, source=RATES_SOURCE)


def backfill(objects: dict[str, list[Obj]]) -> sync.BackfillReport:
    """The real backfill, its HTTP answered by `objects`."""
    served = ServedStripe(objects)
    http.set_transport(httpx.MockTransport(served.handle))
    try:
        return sync.backfill(stripe_api.client(key=DEMO_KEY), livemode=True)
    finally:
        http.set_transport(None)


# --- dunning: what Stripe's failure events started --------------------------------------------


def failure_events(objects: dict[str, list[Obj]]) -> list[Obj]:
    """`invoice.payment_failed` for each invoice still open after a failed charge, at its
    first failure (the later failures' events find the sequence already running)."""
    failed: dict[str, int] = {}
    for charge in objects.get("charges", []):
        if charge["status"] == "failed":
            invoice, at = charge["invoice"], charge["created"]
            failed[invoice] = min(failed.get(invoice, at), at)
    invoices = [
        i for i in objects.get("invoices", []) if i["status"] == "open" and i["id"] in failed
    ]
    return [
        _event(number, invoice, failed[invoice["id"]])
        for number, invoice in enumerate(sorted(invoices, key=lambda i: failed[i["id"]]), start=1)
    ]


def _event(number: int, invoice: Obj, failed_at: int) -> Obj:
    return {
        "id": f"evt_{demo_revenue.ID}{number:06d}",
        "object": "event",
        "type": dunning.STARTS,
        "api_version": API_VERSION,
        "created": failed_at + int(EVENT_DELAY.total_seconds()),
        "livemode": True,
        "data": {"object": invoice},
    }


def dun(served: ServedStripe, now: datetime) -> int:
    """Each failure event through the webhook processing at its time, then every dunning step
    whose day has come at its own time (the demo's Stripe answers the retries and reads);
    returns how many events were processed."""
    events = failure_events(served.objects)
    with connected(served):
        for event in events:
            with clock.replaying(datetime.fromtimestamp(event["created"], tz=UTC)):
                body = json.dumps(event)
                row, _ = webhooks.store_event(event, body, StripeEvent.Via.WEBHOOK, queue=False)
                webhooks.process_event(row.pk)
        for pk in due_steps(now):
            step = DunningStep.objects.select_related("dunning__invoice").get(pk=pk)
            if step.state == DunningStep.State.PENDING:
                with clock.replaying(step.due_at):
                    dunning.run_step(step)
    with clock.replaying(now):
        dunning.finish_exhausted()
    return len(events)


def due_steps(now: datetime) -> list[int]:
    """The demo's dunning steps due by `now`, in the order the schedule takes them."""
    return list(
        DunningStep.objects.filter(DEMO_INVOICES, state=DunningStep.State.PENDING, due_at__lte=now)
        .order_by("due_at", "-kind", "number", "pk")
        .values_list("pk", flat=True)
    )


def reset() -> None:
    """Remove the history: its Stripe objects (dunning goes with its invoices), the customers
    the sync made of them, the rates, the failure events and the agent's account actions."""
    billing = BillingCustomer.objects.filter(DEMO_IDS, livemode=True)
    StripeEvent.objects.filter(
        livemode=True, stripe_id__startswith=f"evt_{demo_revenue.ID}"
    ).delete()
    AccountAction.objects.filter(livemode=True, target__regex=DEMO_TARGET).delete()
    Customer.objects.filter(billing_accounts__in=billing).delete()
    models: list[type[StripeObject]] = [*stripe_store.MODELS.values(), Discount]
    for model in models:
        model._default_manager.filter(DEMO_IDS, livemode=True).delete()
    FxRate.objects.filter(source=RATES_SOURCE).delete()
