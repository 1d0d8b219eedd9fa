"""The Support Agent's account actions: refund, credit, invoice copy, cancel, within policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai import policy
from founderops.ai.models import AgentSwitch, Approval
from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.revenue import account_actions as revenue
from founderops.revenue.models import AccountAction
from founderops.support import account_actions, agents, services
from founderops.support.agents import SupportDeps
from founderops.support.models import Decision, KnowledgeArticle, Message, Ticket
from tests.revenue import money_stripe as ms
from tests.support.conftest import FakeClassifier, incoming
from tests.web.cast import decision_post

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PAID = NOW - timedelta(days=3)
REFUND_PLEASE = "I forgot to cancel before the renewal, please refund the last charge."


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as travelled:
        yield travelled


@pytest.fixture
def fake(settings: Any, traveller: time_machine.Traveller) -> Iterator[ms.MoneyStripe]:
    settings.STRIPE_API_KEY = ms.KEY
    settings.STRIPE_LIVEMODE = False
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    yield from ms.installed()


@pytest.fixture
def refund_policy(db: None) -> None:
    """The demo's policy: refunds up to 50 USD within 14 days of the charge are automatic."""
    limits = policy.Limits(max_amount=5000, currency="USD", max_age_days=14)
    policy.set_policy("support", "refund", policy.Mode.AUTO, limits, "user:fiona")


@pytest.fixture
def refunding(
    articles: list[KnowledgeArticle], classifier: FakeClassifier, fake: ms.MoneyStripe
) -> ms.MoneyStripe:
    classifier.intent = "refund_request"
    ms.billing_customer(fake)
    return fake


def new_ticket(body: str = REFUND_PLEASE) -> Ticket:
    return services.receive_ticket(incoming(body=body, subject="Refund"), triage=False)[0]


def agent_reply(ticket: Ticket) -> str:
    return ticket.messages.get(author=Message.Author.AGENT).body


def approve(founder: User, capture: Any, body: str | None = None) -> Message | None:
    approval = Approval.objects.get(status=Approval.Status.PENDING)
    with capture(execute=True):
        return services.approve_reply(approval, founder, body=body)


# Within policy.


def test_it_refunds_within_policy_and_tells_the_customer(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket()
    decision = agents.handle_ticket(ticket, deps)
    ticket.refresh_from_db()
    assert (decision.action, ticket.status) == (Decision.Action.AUTO_REPLY, "answered_auto")
    assert [r["amount"] for r in refunding.refunds] == [4000]
    assert agent_reply(ticket) == (
        "Hi Ada,\n\nI've refunded 40.00 USD from your payment of 1 May 2026 to your Visa card "
        "ending in 4242. Refunds usually show up on your statement within 5 to 10 business "
        "days, depending on your bank.\n\nFiona at Inkwell"
    )


def test_it_asks_the_founder_before_refunding_a_chat_visitor_whose_address_nobody_checked(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    incoming_chat = incoming(body=REFUND_PLEASE, subject="Refund", channel=Ticket.Channel.CHAT)
    ticket = services.receive_ticket(incoming_chat, triage=False)[0]
    agents.handle_ticket(ticket, deps)
    ticket.refresh_from_db()
    assert (ticket.status, refunding.refunds) == ("escalated", [])
    approval = Approval.objects.get(status=Approval.Status.PENDING)
    assert "whose e-mail address nobody verified" in approval.reason


def test_it_refunds_the_amount_the_customer_names(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    ticket = new_ticket("Please refund $20 of my last payment, I was charged for 2 seats.")
    agents.handle_ticket(ticket, deps)
    assert refunding.keys() == [f"founderops-refund-ticket-{ticket.pk}-ch_1-2000"]
    assert "I've refunded 20.00 USD of the 80.00 USD from your payment" in agent_reply(ticket)


def test_it_audits_what_it_considered_and_did(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    considered = AuditEvent.objects.get(action="support.account_action_considered")
    assert (considered.outcome, considered.details["proposal"]["age_days"]) == ("auto", 3)
    replied = AuditEvent.objects.get(action="support.auto_reply")
    assert replied.inputs["account_action"]["done"] == "refund 40.00 USD of charge ch_1"


def test_it_says_why_it_refunded_alone_when_asked_explicitly(
    refunding: ms.MoneyStripe,
    refund_policy: None,
    deps: SupportDeps,
    classifier: FakeClassifier,
) -> None:
    # The classifier is unsure, but the customer asks in so many words: the refund goes ahead,
    # and the stored reason says so rather than the classifier's doubt.
    classifier.answerable = False
    ms.charge(refunding, "ch_1", 4000, PAID)
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.action == Decision.Action.AUTO_REPLY
    assert decision.reason == (
        "refund inside the policy (auto, up to 50.00 USD, within 14 days of the charge), "
        "asked for explicitly"
    )


def test_it_says_when_it_refunded_alone_on_the_tickets_intent(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    decision = agents.handle_ticket(new_ticket("refund plz, wrong plan"), deps)
    assert decision.reason == (
        "refund inside the policy (auto, up to 50.00 USD, within 14 days of the charge), "
        "read from the ticket's intent (refund_request)"
    )


# Outside policy: the founder decides.


def test_it_asks_approval_above_the_amount_limit(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    decision = agents.handle_ticket(new_ticket(), deps)
    approval = Approval.objects.get()
    assert decision.action == Decision.Action.ESCALATE
    assert decision.reason == (
        "80.00 USD is over the 50.00 USD limit: approve to refund 80.00 USD of charge ch_1"
    )
    assert approval.payload["account_action"]["amount"] == 8000
    assert approval.payload["draft"].startswith("Hi Ada,\n\nI've refunded 80.00 USD")
    assert refunding.requests == []


def test_it_asks_approval_for_a_charge_older_than_the_age_limit(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 2000, NOW - timedelta(days=20))
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == (
        "the charge is 20 days old, over the 14-day limit: approve to refund 20.00 USD of "
        "charge ch_1"
    )
    assert refunding.requests == []


def test_it_keeps_the_charges_age_in_the_approvals_summary(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 2000, NOW - timedelta(days=20))
    agents.handle_ticket(new_ticket(), deps)
    assert Approval.objects.get().summary.startswith(
        "Approve: refund 20.00 USD of charge ch_1, 20 days old"
    )


def test_it_says_one_day_old_in_the_singular(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, NOW - timedelta(days=1))
    agents.handle_ticket(new_ticket(), deps)
    considered = AuditEvent.objects.get(action="support.account_action_considered")
    assert considered.details["proposal"]["summary"] == "refund 40.00 USD of charge ch_1, 1 day old"


def test_it_asks_approval_by_default(refunding: ms.MoneyStripe, deps: SupportDeps) -> None:
    ms.charge(refunding, "ch_1", 500, PAID)
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason.startswith("policy for refunds is 'approval': approve to refund")


def test_it_runs_the_approved_refund_and_tells_the_customer(
    refunding: ms.MoneyStripe,
    deps: SupportDeps,
    founder: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    assert approve(founder, django_capture_on_commit_callbacks, "Refunded, sorry!") is None
    ticket.refresh_from_db()
    assert [r["amount"] for r in refunding.refunds] == [8000]
    founder_reply = ticket.messages.get(author=Message.Author.FOUNDER)
    assert (founder_reply.body, ticket.status) == ("Refunded, sorry!", Ticket.Status.ANSWERED)
    action = AccountAction.objects.get()
    assert (action.requested_by, action.status) == ("user:fiona", "succeeded")


def test_it_runs_an_approved_refund_exactly_once(
    refunding: ms.MoneyStripe,
    deps: SupportDeps,
    founder: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    approval = Approval.objects.get()
    approve(founder, django_capture_on_commit_callbacks)
    with pytest.raises(InvalidInput, match="already decided"):
        services.approve_reply(approval, founder)
    # The job delivered a second time (at least once) finds the work done.
    account_actions.run_approved(approval.pk)
    assert len(refunding.posts("/v1/refunds")) == 1
    assert ticket.messages.filter(author=Message.Author.FOUNDER).count() == 1


def test_it_escalates_again_when_an_approved_refund_fails(
    refunding: ms.MoneyStripe,
    deps: SupportDeps,
    founder: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    refunding.failure = (400, "invalid_request_error", "charge_disputed", "Charge is disputed.")
    approve(founder, django_capture_on_commit_callbacks)
    again = Approval.objects.get(status=Approval.Status.PENDING)
    assert again.reason == (
        "the refund failed: Stripe refused (charge_disputed): Charge is disputed.. "
        "The customer was told nothing"
    )
    assert "account_action" not in again.payload
    assert not ticket.messages.exclude(author=Message.Author.CUSTOMER).exists()


# Nothing done.


def test_it_does_nothing_when_the_kill_switch_is_off(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    AgentSwitch.objects.create(agent="support", enabled=False)
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == "the Support Agent is switched off"
    assert "account_action" not in Approval.objects.get().payload
    assert (refunding.requests, AccountAction.objects.count()) == ([], 0)


def test_it_only_tells_the_founder_under_a_notify_policy(
    refunding: ms.MoneyStripe, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    policy.set_policy("support", "refund", policy.Mode.NOTIFY, policy.Limits(), "user:fiona")
    decision = agents.handle_ticket(new_ticket(), deps)
    approval = Approval.objects.get()
    assert decision.reason.startswith("policy for refunds is 'notify'; nothing was done")
    assert "account_action" not in approval.payload
    assert refunding.requests == []


def test_it_escalates_when_the_customer_has_no_stripe_account(
    articles: list[KnowledgeArticle],
    classifier: FakeClassifier,
    fake: ms.MoneyStripe,
    refund_policy: None,
    deps: SupportDeps,
) -> None:
    classifier.intent = "refund_request"
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == "refund asked, but no Stripe customer is linked to ada@example.com"
    assert decision.draft.startswith("Hi Ada,\n\nWe refund within 14 days")


def test_it_escalates_when_no_charge_is_left_to_refund(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID, refunded=4000)
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == "refund asked, but ada@example.com has no paid charge left to refund"


def test_it_escalates_a_partial_refund_larger_than_the_charge(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    decision = agents.handle_ticket(new_ticket("Please refund $45 of my payment."), deps)
    assert decision.reason == (
        "refund asked, but 45.00 USD is more than the 40.00 USD left to refund on the last "
        "charge (ch_1)"
    )
    assert refunding.requests == []


def test_it_tells_the_founder_when_stripe_refuses(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    refunding.failure = (400, "invalid_request_error", "charge_disputed", "Charge is disputed.")
    ticket = new_ticket()
    decision = agents.handle_ticket(ticket, deps)
    assert decision.reason.startswith("the refund failed: Stripe refused (charge_disputed)")
    assert not ticket.messages.exclude(author=Message.Author.CUSTOMER).exists()


def test_it_escalates_when_several_actions_are_asked(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    body = "I want to cancel, and get refunded for the whole year."
    decision = agents.handle_ticket(new_ticket(body), deps)
    assert decision.reason == (
        "the customer asks for several account actions (refund, cancellation): a person should look"
    )
    assert refunding.requests == []


def test_it_answers_a_how_to_question_from_the_article(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket("How do I request a refund if I change my mind?")
    decision = agents.handle_ticket(ticket, deps)
    assert decision.action == Decision.Action.AUTO_REPLY
    assert "We refund within 14 days of payment." in agent_reply(ticket)
    assert refunding.requests == []


def test_it_answers_from_the_article_without_a_stripe_key(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps, settings: Any
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    settings.STRIPE_API_KEY = ""
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    assert "We refund within 14 days of payment." in agent_reply(ticket)


def test_it_finishes_the_refund_a_crashed_triage_started(
    refunding: ms.MoneyStripe,
    refund_policy: None,
    deps: SupportDeps,
    traveller: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket()

    def killed(action: AccountAction, answer: dict[str, Any]) -> AccountAction:
        raise RuntimeError("worker killed after Stripe answered")

    with monkeypatch.context() as patched:
        patched.setattr(revenue, "_answered", killed)
        with pytest.raises(RuntimeError):
            agents.handle_ticket(ticket, deps)
    traveller.shift(revenue.LEASE + timedelta(seconds=1))
    agents.handle_ticket(ticket, deps)
    assert refunding.keys() == [f"founderops-refund-ticket-{ticket.pk}-ch_1-4000"] * 2
    assert len(refunding.refunds) == 1
    assert "I've refunded 40.00 USD" in agent_reply(ticket)


# The other actions.


def test_it_sends_an_invoice_copy_on_its_own(
    articles: list[KnowledgeArticle],
    classifier: FakeClassifier,
    fake: ms.MoneyStripe,
    deps: SupportDeps,
) -> None:
    classifier.intent = "invoice_copy"
    ms.billing_customer(fake)
    ms.invoice(fake, "in_0042", PAID)
    ticket = new_ticket("Could you send me a copy of the last invoice? My accountant needs it.")
    agents.handle_ticket(ticket, deps)
    assert agent_reply(ticket) == (
        "Hi Ada,\n\nHere is your invoice INK-0042:\n"
        "View it online: https://invoice.stripe.com/i/acct_1/in_0042\n"
        "Download the PDF: https://pay.stripe.com/invoice/acct_1/in_0042/pdf\n\n"
        "Fiona at Inkwell"
    )


def test_it_credits_the_amount_asked_once_approved(
    articles: list[KnowledgeArticle],
    classifier: FakeClassifier,
    fake: ms.MoneyStripe,
    deps: SupportDeps,
    founder: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    classifier.answerable = False
    ms.billing_customer(fake)
    agents.handle_ticket(
        new_ticket("The editor was broken all day, can I get a credit of $15?"), deps
    )
    approve(founder, django_capture_on_commit_callbacks)
    assert [c["amount"] for c in fake.credits] == [-1500]


def test_it_cancels_at_period_end_once_approved(
    articles: list[KnowledgeArticle],
    classifier: FakeClassifier,
    fake: ms.MoneyStripe,
    deps: SupportDeps,
    founder: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ms.billing_customer(fake)
    ms.subscription(fake, "sub_1", PAID)
    ticket = new_ticket("Please cancel my subscription, we are closing the newsletter.")
    agents.handle_ticket(ticket, deps)
    assert "it keeps working until 31 May 2026" in Approval.objects.get().payload["draft"]
    approve(founder, django_capture_on_commit_callbacks)
    assert [r.url.path for r in fake.posts()] == ["/v1/subscriptions/sub_1"]


def test_it_approves_from_the_cockpit_and_says_the_customer_is_told_after_stripe(
    refunding: ms.MoneyStripe,
    deps: SupportDeps,
    founder_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ms.charge(refunding, "ch_1", 8000, PAID)
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    approval = Approval.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = founder_client.post(
            reverse("web:approve", kwargs={"pk": ticket.pk}), decision_post(approval), follow=True
        )
    assert "Approved. Ada Lovelace is told once Stripe has done it." in response.content.decode()
    assert [r["amount"] for r in refunding.refunds] == [8000]


# What the customer wrote, read carefully: money moves only on an exact reading.


def test_it_refunds_nothing_the_customer_says_not_to_refund(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket("Do NOT refund the last charge, I want to keep my plan.")
    agents.handle_ticket(ticket, deps)
    assert refunding.refunds == []


def test_it_asks_the_founder_about_half_a_refund(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket("Please refund half of my last payment.")
    decision = agents.handle_ticket(ticket, deps)
    assert refunding.refunds == []
    assert decision.action == Decision.Action.ESCALATE
    assert decision.reason == (
        "refund asked, but the customer asks for part of a charge without an exact amount"
    )


def test_it_asks_the_founder_when_two_amounts_are_named(
    refunding: ms.MoneyStripe, refund_policy: None, deps: SupportDeps
) -> None:
    ms.charge(refunding, "ch_1", 4000, PAID)
    ticket = new_ticket("I was charged $40 but my plan is $25, please refund the difference.")
    decision = agents.handle_ticket(ticket, deps)
    assert refunding.refunds == []
    assert decision.reason.startswith("refund asked, but several amounts are named")


def test_it_leaves_an_email_tickets_verdict_as_the_policy_gives_it() -> None:
    verdict = policy.Verdict(policy.Mode.AUTO, "within policy")
    ticket = Ticket(channel=Ticket.Channel.EMAIL)
    assert account_actions.unverified_asks_first(ticket, verdict) is verdict


def test_it_leaves_a_chat_tickets_approval_as_it_is() -> None:
    verdict = policy.Verdict(policy.Mode.APPROVAL, "over the limit")
    ticket = Ticket(channel=Ticket.Channel.CHAT)
    assert account_actions.unverified_asks_first(ticket, verdict) is verdict
