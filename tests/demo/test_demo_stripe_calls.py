"""The demo's Stripe (`demo_billing.ServedStripe`) answers the calls the product makes on its
own, through the official SDK and the HTTP seam: an invoice read, a payment retry (declined:
the demo's unpaid invoices stay unpaid), a refund, each repeat of a key answered the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import stripe
import time_machine

from founderops.cli import demo_billing
from founderops.revenue import stripe_api

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Obj = dict[str, object]


def objects() -> dict[str, list[Obj]]:
    charge: Obj = {
        "id": "ch_ink000001",
        "object": "charge",
        "amount": 2900,
        "amount_refunded": 0,
        "currency": "usd",
        "status": "succeeded",
        "refunded": False,
    }
    failed: Obj = {**charge, "id": "ch_ink000002", "status": "failed"}
    invoices: list[Obj] = [
        {"id": "in_ink000001", "object": "invoice", "status": "open"},
        {"id": "in_ink000002", "object": "invoice", "status": "paid"},
    ]
    refund: Obj = {"id": "re_ink000001", "object": "refund", "charge": "ch_ink000009"}
    return {"charges": [charge, failed], "invoices": invoices, "refunds": [refund]}


@pytest.fixture
def served() -> Iterator[demo_billing.ServedStripe]:
    fake = demo_billing.ServedStripe(objects())
    with time_machine.travel(NOW, tick=False), demo_billing.connected(fake):
        yield fake


def api() -> stripe.StripeClient:
    return stripe_api.client(livemode=True)


def refund(amount: int | None = None, key: str = "founderops-refund-1") -> dict[str, object]:
    params: dict[str, object] = {"charge": "ch_ink000001", "metadata": {"source": "ticket-1"}}
    if amount is not None:
        params["amount"] = amount
    answer = api().v1.refunds.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
    return stripe_api.as_dict(answer)


@pytest.mark.django_db
def test_it_connects_the_product_with_a_key_in_form_only(
    served: demo_billing.ServedStripe,
) -> None:
    assert stripe_api.configured_modes() == [True]
    assert stripe_api.api_key(True) == demo_billing.DEMO_KEY


@pytest.mark.django_db
def test_it_leaves_no_key_once_the_block_ends() -> None:
    with demo_billing.connected(demo_billing.ServedStripe({})):
        pass
    assert stripe_api.configured_modes() == []


def test_it_reads_one_invoice(served: demo_billing.ServedStripe) -> None:
    invoice = stripe_api.as_dict(api().v1.invoices.retrieve("in_ink000001"))
    assert (invoice["id"], invoice["status"]) == ("in_ink000001", "open")


def test_it_says_an_unknown_invoice_is_missing(served: demo_billing.ServedStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice: 'in_nope'"):
        api().v1.invoices.retrieve("in_nope")


def test_it_declines_the_payment_of_an_open_invoice(served: demo_billing.ServedStripe) -> None:
    with pytest.raises(stripe.CardError, match="Your card was declined"):
        api().v1.invoices.pay("in_ink000001", None, {"idempotency_key": "retry-0"})


def test_it_refuses_to_pay_an_invoice_already_paid(served: demo_billing.ServedStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="already paid"):
        api().v1.invoices.pay("in_ink000002")


def test_it_refunds_what_is_left_when_no_amount_is_named(
    served: demo_billing.ServedStripe,
) -> None:
    made = refund()
    assert (made["amount"], made["currency"], made["status"]) == (2900, "usd", "succeeded")


def test_it_numbers_a_new_refund_after_the_last_one(served: demo_billing.ServedStripe) -> None:
    assert refund(1000)["id"] == "re_ink000002"


def test_it_dates_the_refund_on_the_products_clock(served: demo_billing.ServedStripe) -> None:
    assert refund(1000)["created"] == int(NOW.timestamp())


def test_it_keeps_the_metadata_it_was_given(served: demo_billing.ServedStripe) -> None:
    assert refund(1000)["metadata"] == {"source": "ticket-1"}


def test_it_marks_the_charge_refunded_by_what_was_given_back(
    served: demo_billing.ServedStripe,
) -> None:
    refund(1000)
    charge = served.find("charges", "ch_ink000001")
    assert charge is not None
    assert (charge["amount_refunded"], charge["refunded"]) == (1000, False)


def test_it_answers_a_repeated_key_with_the_first_refund(
    served: demo_billing.ServedStripe,
) -> None:
    first = refund(1000)
    assert refund(1000) == first
    assert len(served.objects["refunds"]) == 2


def test_it_refuses_a_refund_beyond_what_is_left(served: demo_billing.ServedStripe) -> None:
    refund(2000, key="first")
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        refund(1000, key="second")


def test_it_refuses_to_refund_a_failed_charge(served: demo_billing.ServedStripe) -> None:
    params: dict[str, object] = {"charge": "ch_ink000002"}
    with pytest.raises(stripe.InvalidRequestError, match="was not paid"):
        api().v1.refunds.create(params)  # type: ignore[arg-type]


def test_it_says_an_unknown_charge_is_missing(served: demo_billing.ServedStripe) -> None:
    params: dict[str, object] = {"charge": "ch_nope"}
    with pytest.raises(stripe.InvalidRequestError, match="No such charge"):
        api().v1.refunds.create(params)  # type: ignore[arg-type]


def test_it_serves_no_other_call(served: demo_billing.ServedStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="does not serve POST"):
        api().v1.customers.update("cus_ink0001", {"name": "x"})
