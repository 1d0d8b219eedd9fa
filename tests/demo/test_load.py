"""`founderops demo --no-serve`: the workspace loads once, replays its history through the
Support Agent, schedules the live stream, and a second run changes nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django_q.models import OrmQ, Schedule

from founderops.ai import registry
from founderops.ai.models import Approval, TrainedModel
from founderops.channels.models import InboundEmail
from founderops.cli import demo, demo_billing, demo_live_stripe
from founderops.core import http
from founderops.core.models import AuditEvent
from founderops.customers.models import Customer
from founderops.revenue import dunning, stripe_api, sync
from founderops.revenue.models import (
    AccountAction,
    Charge,
    Dunning,
    DunningStep,
    Refund,
    StripeAccount,
    StripeEvent,
    Subscription,
)
from founderops.support import account_actions, services
from founderops.support.models import (
    Decision,
    KnowledgeArticle,
    Message,
    Rating,
    SavedReply,
    Ticket,
)
from tests.conftest import _local_only

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "demo password for tests"
# The same fast hasher as the per-test settings in tests/conftest.py (this fixture runs first).
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loaded(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One load for the whole module (training takes a while), rolled back at the end."""
    out = StringIO()
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(DEMO_PASSWORD=PASSWORD, PASSWORD_HASHERS=FAST_HASHERS),
        time_machine.travel(NOW, tick=False),
        # The per-test guard is not up yet for a module's fixture: nothing may leave here either.
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(socket.socket, "connect", _local_only)
        call_command("demo", "--no-serve", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
    registry.forget()  # the model trained here is gone with the rollback


@pytest.fixture
def workspace(loaded: str, db: None) -> Iterator[str]:
    with override_settings(DEMO_PASSWORD=PASSWORD), time_machine.travel(NOW, tick=False):
        yield loaded


def counts() -> dict[str, int]:
    models = (
        *(KnowledgeArticle, Customer, Ticket, Message, Decision, Approval, AuditEvent),
        *(AccountAction, Refund, Dunning, DunningStep, StripeEvent),
    )
    tables = {m.__name__: m.objects.count() for m in models}
    return tables | {"models": TrainedModel.objects.count(), "schedules": Schedule.objects.count()}


def test_it_loads_every_article_customer_and_past_ticket(workspace: str) -> None:
    past = [t for t in demo.read_tickets() if not t.live]
    assert KnowledgeArticle.objects.count() == len(demo.read_articles())
    # Inkwell's own customers; the Stripe history brings more (tests/demo/test_demo_revenue.py).
    own = [row.email for row in demo.read_customers()]
    assert Customer.objects.filter(email__in=own).count() == len(own)
    assert Ticket.objects.filter(external_id__startswith="demo-").count() == len(past)


def test_it_changes_nothing_on_a_second_run(workspace: str) -> None:
    before = counts()
    call_command("demo", "--no-serve", stdout=StringIO())
    assert counts() == before


def test_it_answers_some_tickets_and_escalates_others(workspace: str) -> None:
    assert Ticket.objects.filter(status=Ticket.Status.ANSWERED_AUTO).count() >= 1
    assert Approval.objects.filter(status=Approval.Status.PENDING).count() >= 1


def test_it_gives_every_escalation_a_reason(workspace: str) -> None:
    escalated = Decision.objects.filter(action=Decision.Action.ESCALATE)
    assert escalated.exists()
    assert not escalated.filter(reason="").exists()


def test_it_replays_each_ticket_at_its_own_time(workspace: str) -> None:
    ticket = Ticket.objects.get(external_id=demo.external_id(demo.read_tickets()[0]))
    assert ticket.created_at == NOW + timedelta(minutes=demo.read_tickets()[0].offset_minutes)
    assert ticket.decisions.get().created_at == ticket.created_at


def test_it_receives_the_email_tickets_as_real_mail(workspace: str) -> None:
    mails = InboundEmail.objects.filter(status=InboundEmail.Status.PROCESSED)
    emailed = [t for t in demo.read_tickets() if t.channel == "email" and not t.live]
    assert sorted(str(m.ticket.external_id) for m in mails if m.ticket) == sorted(
        demo.external_id(t) for t in emailed
    )


def test_it_shows_an_auto_reply_and_a_bounce_kept_but_not_answered(workspace: str) -> None:
    ignored = InboundEmail.objects.filter(status=InboundEmail.Status.IGNORED)
    assert (ignored.count(), ignored.filter(ticket__isnull=False).count()) == (2, 0)


def test_it_has_customers_rate_some_automatic_answers(workspace: str) -> None:
    scores = list(Rating.objects.values_list("score", flat=True))
    assert (len(scores), scores.count("bad")) == (18, 3)


def test_it_leaves_no_job_of_the_history_waiting_in_the_queue(workspace: str) -> None:
    assert OrmQ.objects.count() == 0


def test_it_gives_the_founder_saved_replies(workspace: str) -> None:
    assert SavedReply.objects.count() == len(demo.SAVED_REPLIES)


def test_it_records_first_responses_in_the_agents_own_time(workspace: str) -> None:
    answered = Ticket.objects.filter(status=Ticket.Status.ANSWERED_AUTO)
    assert all(t.first_response_seconds == 0 for t in answered)


def test_it_creates_the_owner_login(workspace: str) -> None:
    assert User.objects.get(username=demo.OWNER).check_password(PASSWORD)


def test_it_prints_the_login_and_how_to_start_it_when_not_serving(workspace: str) -> None:
    assert f"{demo.OWNER} / {PASSWORD}" in workspace
    assert "Start it with `founderops up`" in workspace
    assert "Open" not in workspace  # nothing listens, so there is no URL to open
    assert "more arrive one a minute" not in workspace
    assert "more are scheduled, one a minute, for when it runs" in workspace


def test_it_schedules_the_live_stream(workspace: str) -> None:
    schedule = Schedule.objects.get(name=demo.STREAM)
    live = [t for t in demo.read_tickets() if t.live]
    assert (schedule.func, schedule.repeats) == (demo.FEED_JOB, len(live))


def test_it_feeds_the_next_live_ticket_for_the_worker_to_triage(
    workspace: str, django_capture_on_commit_callbacks: Any
) -> None:
    first = next(t for t in demo.read_tickets() if t.live)
    with (
        override_settings(Q_CLUSTER={"sync": True}),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert demo.feed_next_ticket() == f"received {first.external_id}"
    ticket = Ticket.objects.get(external_id=demo.external_id(first))
    assert ticket.created_at == NOW
    assert ticket.decisions.exists()


def test_it_stops_feeding_when_the_stream_is_exhausted(workspace: str) -> None:
    for row in (t for t in demo.read_tickets() if t.live):
        services.receive_ticket(demo.incoming(row, NOW), triage=False)
    assert demo.feed_next_ticket() == "the demo stream is exhausted"


def test_it_removes_only_the_demos_own_records_on_reset(workspace: str) -> None:
    demo.reset()
    left = (Ticket, Customer, KnowledgeArticle, Approval, Schedule, AccountAction, Dunning)
    assert [m.objects.count() for m in left] == [0] * len(left)
    assert User.objects.filter(username=demo.OWNER).exists()
    assert AuditEvent.objects.filter(action="demo.reset").count() == 1


def test_it_generates_a_password_once_and_keeps_it(tmp_path: Path) -> None:
    with override_settings(DATA_DIR=tmp_path, DEMO_PASSWORD=""):
        first = demo.demo_password()
        assert demo.demo_password() == first
        assert len(first) >= 12
    assert (tmp_path / "demo_password").stat().st_mode & 0o777 == 0o600


# Sam's refund: asked in a ticket, within the demo's refund policy, done by the agent alone.

SAM = "demo-017"


def sams_ticket() -> Ticket:
    return Ticket.objects.get(channel="email", external_id=f"{SAM}@{demo.MAIL_DOMAIN}")


def sams_refund() -> AccountAction:
    return AccountAction.objects.get(source=f"ticket-{sams_ticket().pk}", kind="refund")


def test_it_answers_sams_refund_request_by_itself(workspace: str) -> None:
    ticket = sams_ticket()
    assert ticket.status == Ticket.Status.ANSWERED_AUTO
    assert ticket.decisions.get().action == Decision.Action.AUTO_REPLY


def test_it_refunds_sams_renewal_in_full_through_the_demos_stripe(workspace: str) -> None:
    action = sams_refund()
    assert (action.status, action.amount, action.currency) == ("succeeded", 1200, "USD")
    assert action.result_id.startswith("re_ink")
    assert action.requested_by == "agent:support"


def test_it_refunds_at_the_tickets_own_time(workspace: str) -> None:
    assert sams_refund().finished_at == sams_ticket().created_at


def test_it_stores_the_refund_stripe_answered_with(workspace: str) -> None:
    action = sams_refund()
    refund = Refund.objects.select_related("charge").get(stripe_id=action.result_id)
    assert refund.charge is not None
    assert (refund.charge.stripe_id, refund.amount, refund.status) == (
        action.target,
        1200,
        "succeeded",
    )


def test_it_tells_sam_what_was_refunded_and_to_which_card(workspace: str) -> None:
    reply = sams_ticket().messages.get(author=Message.Author.AGENT)
    assert "I've refunded 12.00 USD from your payment of " in reply.body
    assert "to your Visa card ending in " in reply.body


def test_it_refunds_the_renewal_sam_says_he_got_yesterday(workspace: str) -> None:
    ticket = sams_ticket()
    charge = Charge.objects.get(stripe_id=sams_refund().target)
    assert "I got renewed yesterday" in ticket.messages.get(author=Message.Author.CUSTOMER).body
    assert charge.created == ticket.created_at - timedelta(days=1)
    reply = ticket.messages.get(author=Message.Author.AGENT)
    assert f"from your payment of {account_actions.day(charge.created)} " in reply.body


def test_it_finds_sams_subscription_canceled_as_he_says_before_he_wrote(workspace: str) -> None:
    ticket = sams_ticket()
    assert (
        "I've just cancelled my subscription"
        in ticket.messages.get(author=Message.Author.CUSTOMER).body
    )
    subscription = Subscription.objects.get(customer__email=ticket.customer.email)
    assert subscription.status == "canceled"
    assert subscription.canceled_at is not None
    assert subscription.canceled_at < ticket.created_at


def test_it_audits_the_refund_from_the_policy_to_stripes_answer(workspace: str) -> None:
    action = sams_refund()
    considered = AuditEvent.objects.get(
        action="support.account_action_considered", subject_id=str(sams_ticket().pk)
    )
    trail = AuditEvent.objects.filter(subject_type="account_action", subject_id=str(action.pk))
    assert considered.outcome == "auto"
    assert list(trail.order_by("id").values_list("action", flat=True)) == [
        "revenue.account_action_requested",
        "revenue.account_action_succeeded",
    ]


def test_it_acts_on_no_other_ticket_of_the_history(workspace: str) -> None:
    """Olu's refund (below) waits for the founder: nothing is done before she approves."""
    assert AccountAction.objects.count() == 1


# Olu's refund: over the demo's refund policy, so it waits in the inbox for the founder.

OLU = "demo-069"


def olus_ticket() -> Ticket:
    return Ticket.objects.get(channel="email", external_id=f"{OLU}@{demo.MAIL_DOMAIN}")


def olus_approval() -> Approval:
    return Approval.objects.get(
        subject_type="ticket", subject_id=str(olus_ticket().pk), status=Approval.Status.PENDING
    )


def olus_proposal() -> dict[str, Any]:
    proposal: dict[str, Any] = olus_approval().payload[services.ACCOUNT_ACTION]
    return proposal


def test_it_leaves_olus_refund_for_the_founder_to_approve(workspace: str) -> None:
    ticket = olus_ticket()
    assert ticket.status == Ticket.Status.ESCALATED
    assert ticket.decisions.get().action == Decision.Action.ESCALATE
    assert not AccountAction.objects.filter(source=f"ticket-{ticket.pk}").exists()
    assert not ticket.messages.exclude(author=Message.Author.CUSTOMER).exists()


def test_it_proposes_the_100_dollars_olu_asks_for_of_his_annual_payment(workspace: str) -> None:
    proposal = olus_proposal()
    charge = Charge.objects.get(stripe_id=proposal["target"])
    assert (proposal["kind"], proposal["amount"], proposal["currency"]) == ("refund", 10000, "USD")
    assert (charge.customer.email if charge.customer else "", charge.amount) == (
        olus_ticket().customer.email,
        79000,
    )
    assert proposal["age_days"] > 14


def test_it_tells_the_founder_what_to_approve_and_why_it_waits(workspace: str) -> None:
    approval = olus_approval()
    assert approval.summary.startswith("Approve: refund 100.00 USD of charge ch_ink")
    assert approval.reason.startswith("100.00 USD is over the 50.00 USD limit: approve to refund")


def test_it_drafts_the_reply_olu_gets_once_it_is_done(workspace: str) -> None:
    draft = olus_approval().payload["draft"]
    assert draft.startswith("Hi Olu,")
    assert "I've refunded 100.00 USD of the 790.00 USD from your payment of " in draft


def test_it_shows_the_proposed_refund_its_reason_and_draft_in_the_inbox(workspace: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username=demo.OWNER))
    inbox = client.get("/inbox/").content.decode()
    assert "Make-good for our sponsor" in inbox
    assert "over the 50.00 USD limit: approve to refund 100.00 USD of charge ch_ink" in inbox
    ticket = client.get(f"/tickets/{olus_ticket().pk}/").content.decode()
    assert "I&#x27;ve refunded 100.00 USD of the 790.00 USD from your payment of " in ticket


def test_it_cannot_carry_out_the_approval_without_the_demos_stripe(
    workspace: str,
) -> None:
    """Without FOUNDEROPS_DEMO_STRIPE (`founderops up` after `demo --no-serve`) no Stripe is
    known: approving takes the product's path for a missing key (README): back to the inbox
    with why, the customer told nothing."""
    approval = olus_approval()
    services.approve_reply(approval, User.objects.get(username=demo.OWNER))
    assert account_actions.run_approved(approval.pk) == "failed"
    again = Approval.objects.get(
        subject_type="ticket", subject_id=str(olus_ticket().pk), status=Approval.Status.PENDING
    )
    assert "no Stripe API key for live mode" in again.reason
    assert not olus_ticket().messages.exclude(author=Message.Author.CUSTOMER).exists()


def test_it_leaves_no_stripe_key_behind(workspace: str) -> None:
    assert stripe_api.configured_modes() == []


# The running demo (`founderops demo` sets FOUNDEROPS_DEMO_STRIPE for its web and workers).


@pytest.fixture
def running_demo(workspace: str, settings: Any) -> Iterator[None]:
    settings.DEMO_STRIPE = True
    settings.STRIPE_API_KEY = demo_billing.DEMO_KEY
    settings.STRIPE_LIVEMODE = True
    demo_live_stripe.install()
    try:
        # The founder clicks Approve a little after the start.
        with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
            yield
    finally:
        http.set_transport(None)


def approve_olus_refund() -> tuple[Approval, str]:
    approval = olus_approval()
    services.approve_reply(approval, User.objects.get(username=demo.OWNER))
    return approval, account_actions.run_approved(approval.pk)


def test_it_refunds_olu_once_when_the_founder_approves_in_the_running_demo(
    running_demo: None,
) -> None:
    charge_id = olus_proposal()["target"]
    approval, outcome = approve_olus_refund()
    assert (outcome, account_actions.run_approved(approval.pk)) == ("done", "done")
    action = AccountAction.objects.get(source=f"ticket-{olus_ticket().pk}")
    assert (action.status, action.amount, action.attempts) == ("succeeded", 10000, 1)
    refunds = Refund.objects.filter(charge__stripe_id=charge_id)
    assert [(r.stripe_id, r.amount) for r in refunds] == [(action.result_id, 10000)]
    assert Charge.objects.get(stripe_id=charge_id).amount_refunded == 10000


def test_it_tells_olu_once_his_refund_is_done(running_demo: None) -> None:
    approval, _ = approve_olus_refund()
    account_actions.run_approved(approval.pk)
    replies = olus_ticket().messages.exclude(author=Message.Author.CUSTOMER)
    assert [m.body.startswith("Hi Olu,") for m in replies] == [True]
    assert "I've refunded 100.00 USD of the 790.00 USD" in replies[0].body


def test_it_handles_the_streams_billing_tickets_in_the_running_demo(running_demo: None) -> None:
    """The live stream's tickets that ask for an account action are acted on or escalated
    with a reason now that Stripe answers; none ends on an error from the demo's Stripe."""
    while demo.feed_next_ticket() != "the demo stream is exhausted":
        pass
    failed = AccountAction.objects.filter(status=AccountAction.Status.FAILED)
    assert list(failed.values_list("error", flat=True)) == []
    pending = Approval.objects.filter(status=Approval.Status.PENDING)
    assert not [a.reason for a in pending if "Stripe" in a.reason]


def test_it_reconciles_the_running_demo_without_an_error(running_demo: None) -> None:
    sync.reconcile_configured()
    assert StripeAccount.objects.get(livemode=True).last_error == ""


def test_it_retries_the_unpaid_invoices_against_the_demos_stripe(running_demo: None) -> None:
    """The dunning schedule's retries are declined by the demo's Stripe, as during the load,
    instead of being skipped for want of a key."""
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        dunning.tick()
    retries = DunningStep.objects.filter(kind=DunningStep.Kind.RETRY, state="done", outcome__gt="")
    outcomes = set(retries.values_list("outcome", flat=True))
    assert outcomes == {"declined: Your card was declined."}
    assert not DunningStep.objects.filter(state=DunningStep.State.FAILED).exists()
