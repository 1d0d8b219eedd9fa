"""The admin shows every stored billing object, read-only, and never a sealed secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from founderops.revenue import stripe_api, stripe_store
from founderops.revenue.models import Invoice
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
# The stored Stripe objects, their events, FX rates and the per-mode account.
MODELS = [
    "billingcustomer",
    "product",
    "price",
    "coupon",
    "discount",
    "subscription",
    "subscriptionschedule",
    "invoice",
    "invoicepayment",
    "charge",
    "refund",
    "creditnote",
    "dispute",
    "stripeevent",
    "fxrate",
    "stripeaccount",
]


@pytest.fixture
def invoice() -> Invoice:
    obj = fs.invoice("in_1", "cus_ada", [fs.line("il_1", 2000, MARCH, APRIL)], MARCH)
    stripe_store.store(obj, stripe_store.Context(livemode=False, version=fs.ts(MARCH)))
    return Invoice.objects.get()


@pytest.mark.parametrize(
    "model", [m for m in MODELS if m not in {"subscriptionitem", "invoiceline"}]
)
def test_it_lists_every_stored_model_in_the_admin(
    founder_client: Any, invoice: Invoice, model: str
) -> None:
    response = founder_client.get(f"/admin/revenue/{model}/")
    assert response.status_code == 200


def test_it_shows_an_invoice_with_its_lines_read_only(
    founder_client: Any, invoice: Invoice
) -> None:
    response = founder_client.get(f"/admin/revenue/invoice/{invoice.pk}/change/")
    assert response.status_code == 200
    assert b"il_1" in response.content
    assert b'name="_save"' not in response.content


def test_it_never_shows_a_sealed_key(founder_client: Any) -> None:
    stripe_api.connect("rk_live_shown_nowhere", actor="cli")
    response = founder_client.get("/admin/revenue/stripeaccount/")
    assert b"api_key_sealed" not in response.content
    assert b"gAAAA" not in response.content
