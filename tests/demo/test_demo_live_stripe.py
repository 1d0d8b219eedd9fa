"""The running demo's Stripe (`demo_live_stripe`): Stripe's calls answered from the stored copy,
every other request sent as usual, installed only where FOUNDEROPS_DEMO_STRIPE says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
import time_machine
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from founderops.cli import demo_billing, demo_live_stripe
from founderops.cli.management.commands import demo as demo_command
from founderops.core import http
from founderops.customers.models import Customer
from founderops.customers.services import find_or_create_customer
from founderops.revenue import account_actions as actions
from founderops.revenue import stripe_api, stripe_store, sync
from founderops.revenue.models import (
    AccountAction,
    BillingCustomer,
    Charge,
    Refund,
    StripeAccount,
    Subscription,
)
from tests.revenue import fake_stripe as fs
from tests.test_settings import load_settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAID = NOW - timedelta(days=3)
Obj = dict[str, Any]
ONLY_FOR_THE_DEMO = "FOUNDEROPS_DEMO_STRIPE is for `founderops demo` only"


def stored(obj: Obj) -> None:
    stripe_store.store({**obj, "livemode": True}, stripe_store.Context(True, fs.ts(PAID)))


@pytest.fixture
def demo_stripe(settings: Any) -> Iterator[None]:
    settings.DEMO_STRIPE = True
    settings.STRIPE_API_KEY = demo_billing.DEMO_KEY
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(NOW, tick=False):
        demo_live_stripe.install()
        try:
            yield
        finally:
            http.set_transport(None)


@pytest.fixture
def ada(db: None, demo_stripe: None) -> Customer:
    customer = find_or_create_customer("ada@example.com", "Ada Lovelace")
    stored(fs.customer("cus_ink_ada", currency="usd"))
    BillingCustomer.objects.filter(stripe_id="cus_ink_ada").update(customer=customer)
    stored(fs.charge("ch_ink_1", 8000, customer_id="cus_ink_ada", created=PAID, invoice=None))
    return customer


def api() -> stripe.StripeClient:
    return stripe_api.client(livemode=True)


def charge() -> Charge:
    return Charge.objects.get(stripe_id="ch_ink_1")


# Routing.


def recording(seen: list[str], status: int) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status)

    return httpx.MockTransport(answer)


def test_it_sends_requests_to_stripe_to_the_demo_stripe() -> None:
    seen: list[str] = []
    router = demo_live_stripe.StripeRouter(
        lambda request: httpx.Response(200, json={"demo": True}), recording(seen, 500)
    )
    with httpx.Client(transport=router) as client:
        answer = client.get("https://api.stripe.com/v1/customers/cus_1")
    assert (answer.json(), seen) == ({"demo": True}, [])


def test_it_sends_every_other_request_through_the_usual_transport() -> None:
    seen: list[str] = []
    router = demo_live_stripe.StripeRouter(
        lambda request: httpx.Response(500), recording(seen, 204)
    )
    with httpx.Client(transport=router) as client:
        answer = client.get("http://127.0.0.1:8171/health")
    assert (answer.status_code, seen) == (204, ["http://127.0.0.1:8171/health"])


def test_it_installs_the_router_only_where_the_setting_says_so(settings: Any) -> None:
    settings.DEMO_STRIPE = False
    apps.get_app_config("cli").ready()
    assert http._transport is None
    settings.DEMO_STRIPE = True
    try:
        apps.get_app_config("cli").ready()
        assert isinstance(http._transport, demo_live_stripe.StripeRouter)
    finally:
        http.set_transport(None)


def test_it_uses_the_key_the_settings_accept_for_the_demo() -> None:
    from founderops import settings as s

    assert s.DEMO_STRIPE_KEY == demo_billing.DEMO_KEY


# Reading.


def test_it_answers_a_stored_object_as_stripe_sent_it(ada: Customer) -> None:
    answer = stripe_api.as_dict(api().v1.charges.retrieve("ch_ink_1"))
    assert (answer["id"], answer["amount"]) == ("ch_ink_1", 8000)


def test_it_says_an_object_it_does_not_have_is_missing(ada: Customer) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="No such charge: 'ch_ink_nope'"):
        api().v1.charges.retrieve("ch_ink_nope")


def test_it_pages_a_list_endpoint_from_the_copy(ada: Customer) -> None:
    stored(fs.charge("ch_ink_2", 500, customer_id="cus_ink_ada", created=PAID, invoice=None))
    listed = [obj["id"] for obj in stripe_api.each(api().v1.charges, {"limit": 1})]
    assert listed == ["ch_ink_1", "ch_ink_2"]


def test_it_reconciles_against_no_events_without_an_error(ada: Customer) -> None:
    result = sync.reconcile_configured()
    assert "mode failed" not in result
    assert StripeAccount.objects.get(livemode=True).last_error == ""


# Writing, through the real account actions.


def test_it_refunds_a_stored_charge_and_updates_the_charge(ada: Customer) -> None:
    action = actions.refund_charge(ada, "ch_ink_1", 3000, "ticket-7", "agent:support")
    assert action.status == AccountAction.Status.SUCCEEDED
    refund = Refund.objects.get(stripe_id=action.result_id)
    assert (refund.amount, refund.charge_id, refund.status) == (3000, charge().pk, "succeeded")
    assert (charge().amount_refunded, charge().refunded) == (3000, False)


def test_it_refunds_once_per_idempotency_key(ada: Customer) -> None:
    params: Any = {"charge": "ch_ink_1", "amount": 2000}
    first = api().v1.refunds.create(params, {"idempotency_key": "founderops-refund-x"})
    again = api().v1.refunds.create(params, {"idempotency_key": "founderops-refund-x"})
    assert first.id == again.id
    assert (Refund.objects.count(), charge().amount_refunded) == (1, 2000)


def test_it_refunds_again_for_another_key(ada: Customer) -> None:
    params: Any = {"charge": "ch_ink_1", "amount": 2000}
    api().v1.refunds.create(params, {"idempotency_key": "founderops-refund-x"})
    api().v1.refunds.create(params, {"idempotency_key": "founderops-refund-y"})
    assert (Refund.objects.count(), charge().amount_refunded) == (2, 4000)


def test_it_refuses_a_refund_above_what_is_left_on_the_charge(ada: Customer) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        api().v1.refunds.create({"charge": "ch_ink_1", "amount": 9000})
    assert (Refund.objects.count(), charge().amount_refunded) == (0, 0)


def test_it_counts_a_refund_stored_without_the_charges_update(ada: Customer) -> None:
    # As the load leaves Sam's: the refund stored, no `charge.refunded` to update the charge.
    stored(fs.refund("re_ink_loaded", "ch_ink_1", 8000, status="succeeded"))
    Charge.objects.filter(stripe_id="ch_ink_1").update(amount_refunded=0)
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        api().v1.refunds.create({"charge": "ch_ink_1"})
    assert Refund.objects.count() == 1


def test_it_credits_the_customers_balance_once_per_key(ada: Customer) -> None:
    action = actions.add_credit(ada, 1500, "USD", "ticket-8", "agent:support")
    assert action.status == AccountAction.Status.SUCCEEDED
    assert action.result["ending_balance"] == -1500
    params: Any = {"amount": -1500, "currency": "usd"}
    options: Any = {"idempotency_key": action.idempotency_key}
    api().v1.customers.balance_transactions.create("cus_ink_ada", params, options)
    assert BillingCustomer.objects.get(stripe_id="cus_ink_ada").raw["balance"] == -1500


def test_it_cancels_a_subscription_at_the_end_of_its_period(ada: Customer) -> None:
    price = {**fs.price(), "livemode": True}
    stored(fs.product())
    stored(price)
    start = NOW - timedelta(days=10)
    stored(fs.subscription("sub_ink_1", "cus_ink_ada", [("si_ink_1", price, 1)], start))
    action = actions.cancel_at_period_end(ada, "sub_ink_1", "ticket-9", "agent:support")
    assert action.status == AccountAction.Status.SUCCEEDED
    subscription = Subscription.objects.get(stripe_id="sub_ink_1")
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert action.result["ends_at"]


def test_it_declines_paying_an_open_invoice(ada: Customer) -> None:
    line = fs.line("il_ink_1", 2000, PAID, PAID, subscription_id=None)
    stored(fs.invoice("in_ink_1", "cus_ink_ada", [line], PAID, status="open", subscription_id=None))
    with pytest.raises(stripe.CardError, match="Your card was declined"):
        api().v1.invoices.pay("in_ink_1")


# Anything but the demo's own billing.


def test_it_refuses_to_refund_a_charge_that_is_not_the_demos(ada: Customer) -> None:
    stored(fs.charge("ch_3Real", 8000, customer_id="cus_ink_ada", created=PAID, invoice=None))
    action = actions.refund_charge(ada, "ch_3Real", None, "ticket-7", "agent:support")
    assert action.status == AccountAction.Status.FAILED
    assert "ch_3Real is not one of the demo's objects" in action.error
    assert (Refund.objects.count(), Charge.objects.get(stripe_id="ch_3Real").amount_refunded) == (
        0,
        0,
    )


def test_it_leaves_an_object_that_is_not_the_demos_as_stored(ada: Customer) -> None:
    stored(fs.charge("ch_3Real", 8000, customer_id="cus_ink_ada", created=PAID, invoice=None))
    Charge.objects.filter(stripe_id="ch_3Real").update(needs_fetch=True)
    sync.reconcile_configured()
    assert "not one of the demo's objects" in StripeAccount.objects.get(livemode=True).last_error
    assert not Charge.objects.get(stripe_id="ch_3Real").deleted


# The setting: `founderops demo` sets it for what it starts; anywhere else it is refused or off.


def test_it_is_off_unless_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = load_settings(monkeypatch, tmp_path)
    assert (loaded["DEMO_STRIPE"], loaded["STRIPE_API_KEY"]) == (False, "")


def test_it_starts_the_demo_with_the_demos_stripe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variables = {
        name.removeprefix("FOUNDEROPS_"): value
        for name, value in demo_command.demo_stripe_environment().items()
    }
    loaded = load_settings(monkeypatch, tmp_path, **variables)
    assert (loaded["DEMO_STRIPE"], loaded["STRIPE_LIVEMODE"]) == (True, True)
    assert loaded["STRIPE_API_KEY"] == demo_billing.DEMO_KEY


def test_it_refuses_the_demos_stripe_beside_a_real_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=ONLY_FOR_THE_DEMO) as refused:
        load_settings(
            monkeypatch, tmp_path, DEMO_STRIPE="true", STRIPE_API_KEY="rk_live_" + "x" * 24
        )
    assert "FOUNDEROPS_STRIPE_API_KEY holds a real key" in str(refused.value)


def test_it_refuses_the_demos_stripe_in_test_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ImproperlyConfigured, match=ONLY_FOR_THE_DEMO) as refused:
        load_settings(monkeypatch, tmp_path, DEMO_STRIPE="true", STRIPE_LIVEMODE="false")
    assert "the demo's history is live mode" in str(refused.value)
