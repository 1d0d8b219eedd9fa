"""The demo's Stripe account: Inkwell's billing history loaded through the real Stripe sync.

`load` plans the history (`demo_revenue`), writes it as Stripe's JSON (`demo_stripe`), answers
the official SDK's list requests from it in-process (the HTTP seam's injectable transport: no
request leaves the machine) and runs `revenue.sync.backfill` in live mode, exactly as
`founderops stripe sync` would against Stripe. The EUR rates go through the same import as
`founderops revenue import-rates`. A workspace that has the history already is left alone, so
a second load writes nothing; `reset` removes what the load made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from django.db.models import Q

from founderops.cli import demo_revenue, demo_stripe
from founderops.core import clock, http
from founderops.customers.models import Customer
from founderops.revenue import csv_import, stripe_api, stripe_store, sync
from founderops.revenue.models import BillingCustomer, Discount, FxRate, StripeObject

# A live-mode key in form only: the SDK needs one, and the transport below answers every call.
DEMO_KEY = "rk_live_inkwell_demo_history"
RATES_SOURCE = "demo"
# Every generated id looks like cus_ink0001, in_ink000042, price_ink_pro_month_usd.
DEMO_IDS = Q(stripe_id__regex=rf"^[a-z]+_{demo_revenue.ID}") | Q(
    stripe_id__in=list(demo_revenue.COUPONS)
)
Obj = dict[str, Any]


class ServedStripe:
    """Stripe's list endpoints over a fixed set of objects, paged as Stripe pages them."""

    def __init__(self, objects: dict[str, list[Obj]]) -> None:
        self.objects = objects
        self.positions = {
            name: {obj["id"]: index for index, obj in enumerate(items)}
            for name, items in objects.items()
        }
        self.requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        parts = request.url.path.strip("/").split("/")
        if request.method != "GET" or len(parts) != 2 or parts[0] != "v1":
            return _error(404, f"the demo's Stripe lists objects only, not {request.url.path}")
        return self._page(parts[1], request.url.params)

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


def _error(status: int, message: str) -> httpx.Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    return httpx.Response(status, json=body)


def loaded() -> bool:
    return BillingCustomer.objects.filter(DEMO_IDS, livemode=True).exists()


def load(now: datetime, customers: Sequence[tuple[str, str]]) -> int:
    """Load the history unless it is there; returns how many Stripe objects were stored.
    `customers`: the demo's own (name, e-mail) pairs, whose billing the story tells."""
    if loaded():
        return 0
    history = demo_revenue.plan_history(now, customers)
    with clock.replaying(now):
        import_rates(history.rates)
        report = backfill(demo_stripe.stripe_objects(history))
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


def reset() -> None:
    """Remove the history: its Stripe objects, the customers the sync made of them, the rates."""
    billing = BillingCustomer.objects.filter(DEMO_IDS, livemode=True)
    Customer.objects.filter(billing_accounts__in=billing).delete()
    models: list[type[StripeObject]] = [*stripe_store.MODELS.values(), Discount]
    for model in models:
        model._default_manager.filter(DEMO_IDS, livemode=True).delete()
    FxRate.objects.filter(source=RATES_SOURCE).delete()
