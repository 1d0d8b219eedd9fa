"""Revenue's money actions: refund, credit, invoice copy, cancel, each once per request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from founderops.core import http
from founderops.core.models import AuditEvent
from founderops.customers.models import Customer
from founderops.customers.services import find_or_create_customer
from founderops.revenue import account_actions as actions
from founderops.revenue import stripe_api
from founderops.revenue.models import AccountAction, Refund, Subscription
from tests.revenue import fake_stripe as fs
from tests.revenue import money_stripe as ms

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PAID = NOW - timedelta(days=3)
Status = AccountAction.Status


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as travelled:
        yield travelled


@pytest.fixture
def fake(settings: Any, traveller: time_machine.Traveller) -> Iterator[ms.MoneyStripe]:
    settings.STRIPE_API_KEY = ms.KEY
    settings.STRIPE_LIVEMODE = False
    yield from ms.installed()


@pytest.fixture
def ada(fake: ms.MoneyStripe) -> Customer:
    customer = find_or_create_customer("ada@example.com", "Ada Lovelace")
    ms.billing_customer(fake)
    ms.charge(fake, "ch_1", 8000, PAID)
    return customer


def test_it_refunds_a_whole_charge_with_a_key_derived_from_the_request(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    action = actions.refund_charge(ada, "ch_1", None, "ticket-7", "agent:support")
    assert (action.status, action.amount, action.result_id) == (Status.SUCCEEDED, 8000, "re_1")
    assert fake.keys("/v1/refunds") == ["founderops-refund-ticket-7-ch_1-full"]
    assert ms.form_of(fake.posts("/v1/refunds")[0])["amount"] == "8000"


def test_it_refunds_part_of_a_charge(fake: ms.MoneyStripe, ada: Customer) -> None:
    action = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert action.result == {"amount": 2000, "currency": "USD", "status": "succeeded"}
    assert fake.keys() == ["founderops-refund-ticket-7-ch_1-2000"]


def test_it_stores_the_refund_stripe_made(fake: ms.MoneyStripe, ada: Customer) -> None:
    actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    refund = Refund.objects.get(stripe_id="re_1")
    assert (refund.charge.stripe_id if refund.charge else None, refund.amount) == ("ch_1", 2000)
    assert actions.refundable(refund.charge) == 6000  # type: ignore[arg-type]


def test_it_refuses_a_partial_refund_exceeding_what_remains(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    ms.charge(fake, "ch_2", 5000, PAID, refunded=3000)
    with pytest.raises(actions.ActionRefused) as refused:
        actions.refund_charge(ada, "ch_2", 2500, "ticket-7", "agent:support")
    assert str(refused.value) == (
        "a refund of 25.00 USD is more than the 20.00 USD still refundable on charge ch_2 "
        "(50.00 USD charged, 30.00 USD refunded or being refunded): refused"
    )
    assert (fake.requests, AccountAction.objects.count()) == ([], 0)


def test_it_refuses_a_three_decimal_refund_stripe_cannot_move(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    ms.charge(fake, "ch_kwd", 12_500, PAID, currency="kwd")
    with pytest.raises(actions.ActionRefused) as refused:
        actions.refund_charge(ada, "ch_kwd", 1_005, "ticket-7", "agent:support")
    assert str(refused.value) == "a KWD refund must be a multiple of 0.010 KWD"
    assert (fake.requests, AccountAction.objects.count()) == ([], 0)


def test_it_refunds_a_three_decimal_amount_in_tens_of_fils(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    ms.charge(fake, "ch_kwd", 12_500, PAID, currency="kwd")
    action = actions.refund_charge(ada, "ch_kwd", 1_250, "ticket-7", "agent:support")
    assert (action.status, ms.form_of(fake.posts("/v1/refunds")[0])["amount"]) == (
        Status.SUCCEEDED,
        "1250",
    )


def test_it_refuses_a_charge_that_is_not_the_customers(fake: ms.MoneyStripe, ada: Customer) -> None:
    ms.billing_customer(fake, "cus_bob", "bob@example.com")
    ms.charge(fake, "ch_bob", 3000, PAID, customer_id="cus_bob")
    with pytest.raises(actions.ActionRefused, match="charge ch_bob is not one of"):
        actions.refund_charge(ada, "ch_bob", None, "ticket-7", "agent:support")
    assert fake.requests == []


def test_it_asks_stripe_once_for_a_request_already_done(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    first = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    again = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert (again.pk, len(fake.posts())) == (first.pk, 1)


def test_it_sends_the_same_key_when_retried_after_a_crash(
    fake: ms.MoneyStripe,
    ada: Customer,
    traveller: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def killed(action: AccountAction, answer: dict[str, Any]) -> AccountAction:
        raise RuntimeError("worker killed after Stripe answered")

    with monkeypatch.context() as patched:
        patched.setattr(actions, "_answered", killed)
        with pytest.raises(RuntimeError):
            actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    traveller.shift(actions.LEASE + timedelta(seconds=1))
    action = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert fake.keys() == ["founderops-refund-ticket-7-ch_1-2000"] * 2
    assert (len(fake.refunds), action.result_id, action.attempts) == (1, "re_1", 2)


def test_it_leaves_an_action_held_by_a_live_worker_alone(
    fake: ms.MoneyStripe, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(action: AccountAction, answer: dict[str, Any]) -> AccountAction:
        raise RuntimeError("still running")

    with monkeypatch.context() as patched:
        patched.setattr(actions, "_answered", killed)
        with pytest.raises(RuntimeError):
            actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    with pytest.raises(actions.ActionInProgress):
        actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert len(fake.posts()) == 1


def test_it_marks_a_refused_action_failed_with_stripes_message(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    fake.failure = (402, "card_error", "expired_card", "Your card has expired.")
    action = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert action.status == Status.FAILED
    assert action.error == "the card was declined (expired_card): Your card has expired."


def test_it_never_retries_a_failed_action_on_its_own(fake: ms.MoneyStripe, ada: Customer) -> None:
    fake.failure = (400, "invalid_request_error", "charge_disputed", "Charge is disputed.")
    actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    again = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert (again.status, len(fake.posts())) == (Status.FAILED, 1)
    assert again.error == "Stripe refused (charge_disputed): Charge is disputed."


def test_it_says_a_network_failure_may_have_moved_money(
    fake: ms.MoneyStripe, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    http.set_transport(httpx.MockTransport(unreachable))
    monkeypatch.setattr(stripe_api, "NETWORK_RETRIES", 0)
    action = actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    assert action.status == Status.FAILED
    assert "may or may not have been made: check the Stripe dashboard" in action.error


def test_it_credits_the_balance_with_a_negative_balance_transaction(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    action = actions.add_credit(ada, 1500, "usd", "ticket-7", "agent:support")
    posted = ms.form_of(fake.posts("/v1/customers/cus_ada/balance_transactions")[0])
    assert (posted["amount"], posted["currency"]) == ("-1500", "usd")
    assert (action.status, action.result["amount"]) == (Status.SUCCEEDED, 1500)
    assert fake.keys() == ["founderops-credit-ticket-7-USD-1500"]


def test_it_refuses_a_credit_in_another_currency_than_the_balance(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    with pytest.raises(actions.ActionRefused, match="balance is in USD, not EUR"):
        actions.add_credit(ada, 1500, "EUR", "ticket-7", "agent:support")


def test_it_fetches_the_invoice_links_fresh(fake: ms.MoneyStripe, ada: Customer) -> None:
    ms.invoice(fake, "in_0042", PAID)
    fake.invoices["in_0042"]["hosted_invoice_url"] = "https://invoice.stripe.com/i/fresh"
    action = actions.invoice_copy(ada, "in_0042", "ticket-7", "agent:support")
    assert action.result["hosted_invoice_url"] == "https://invoice.stripe.com/i/fresh"
    assert action.result["number"] == "INK-0042"


def test_it_cancels_a_subscription_at_the_end_of_its_period(
    fake: ms.MoneyStripe, ada: Customer
) -> None:
    ms.subscription(fake, "sub_1", PAID)
    action = actions.cancel_at_period_end(ada, "sub_1", "ticket-7", "agent:support")
    assert ms.form_of(fake.posts("/v1/subscriptions/sub_1")[0]) == {"cancel_at_period_end": "true"}
    assert action.result["ends_at"] == fs.ts(PAID) + 30 * 86400
    assert Subscription.objects.get(stripe_id="sub_1").cancel_at_period_end


def test_it_audits_the_request_and_its_outcome(fake: ms.MoneyStripe, ada: Customer) -> None:
    actions.refund_charge(ada, "ch_1", 2000, "ticket-7", "agent:support")
    events = AuditEvent.objects.filter(action__startswith="revenue.account_action").order_by("id")
    assert [(e.actor, e.action, e.outcome) for e in events] == [
        ("agent:support", "revenue.account_action_requested", "pending"),
        ("agent:support", "revenue.account_action_succeeded", "succeeded"),
    ]
    assert events[1].details["amount"] == 2000
    assert events[1].details["result_id"] == "re_1"


def test_it_audits_a_refusal_with_who_asked(fake: ms.MoneyStripe, ada: Customer) -> None:
    with pytest.raises(actions.ActionRefused):
        actions.refund_charge(ada, "ch_1", 9000, "ticket-7", "user:fiona")
    refused = AuditEvent.objects.get(action="revenue.account_action_refused")
    assert (refused.actor, refused.details["amount"]) == ("user:fiona", 9000)
    assert refused.details["reason"].startswith("a refund of 90.00 USD is more than")
