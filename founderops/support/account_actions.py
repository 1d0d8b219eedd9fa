"""The Support Agent's account actions: refund, credit, invoice copy, cancel at period end.

When a ticket asks for one (account_wording), the agent finds the customer's Stripe account and
the charge, invoice or subscription meant, and asks the founder's policy:

- *auto*: revenue performs it (with a Stripe idempotency key), then the customer is told exactly
  what happened (amount, card, when it shows up) through the normal reply path;
- *approval*: the ticket is escalated with the proposed action in the approval; approving it
  (the approval is claimed with a conditional update, so once) queues `run_approved`, which
  performs it and tells the customer with the text the founder approved;
- *notify*: the ticket is escalated saying what the customer asks; nothing is done;
- *off* (kill switch): nothing is done; the agent's usual escalation follows.

What cannot be planned (no Stripe customer, nothing left to refund, two subscriptions) is
escalated with that reason; so is an action Stripe refused, with Stripe's message. Without a
Stripe key the agent answers such tickets from the knowledge base as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from founderops.ai import policy
from founderops.ai.models import Approval
from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money
from founderops.customers.models import Customer
from founderops.revenue import account_actions as revenue
from founderops.revenue.models import AccountAction, Charge, Invoice, Subscription
from founderops.support import services
from founderops.support.account_wording import (
    CANCEL,
    CREDIT,
    INVOICE_COPY,
    NOUNS,
    REFUND,
    Ask,
    asked,
)
from founderops.support.models import Message, Ticket

AGENT = services.AGENT
ACTOR = "agent:support"
# Where an approval's payload keeps the action to run once the founder approves.
PAYLOAD_KEY = services.ACCOUNT_ACTION
REFUND_DELAY = "Refunds usually show up on your statement within 5 to 10 business days"


class Unplannable(InvalidInput):
    """The request cannot be turned into an action; the message tells the founder why."""


@dataclass(frozen=True)
class Proposal:
    """One planned action, as kept in an approval's payload until the founder decides."""

    kind: str
    customer_id: int
    livemode: bool
    target: str = ""
    amount: int | None = None
    currency: str = ""
    age_days: int | None = None

    def request(self, source: str) -> revenue.Request:
        return revenue.Request(
            self.kind,
            self.customer_id,
            source,
            self.target,
            self.amount,
            self.currency,
            self.livemode,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "customer": self.customer_id,
            "livemode": self.livemode,
            "target": self.target,
            "amount": self.amount,
            "currency": self.currency,
            "age_days": self.age_days,
            "summary": summary(self),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proposal:
        amount, age = data.get("amount"), data.get("age_days")
        return cls(
            str(data["kind"]),
            int(data["customer"]),
            bool(data["livemode"]),
            str(data.get("target") or ""),
            None if amount is None else int(amount),
            str(data.get("currency") or ""),
            None if age is None else int(age),
        )

    @classmethod
    def of(cls, action: AccountAction) -> Proposal:
        assert action.customer_id is not None
        return cls(
            action.kind,
            action.customer_id,
            action.livemode,
            action.target,
            action.amount,
            action.currency,
        )


@dataclass(frozen=True)
class Outcome:
    """What the agent does with the ticket: answer (reason "") or escalate."""

    reason: str
    # The reply sent (answered), or the draft the founder sees (escalated; "" keeps the
    # article's draft).
    reply: str = ""
    summary: str = ""
    # Runs when the founder approves; None: nothing to run.
    proposal: Proposal | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Why the agent acted alone, for an answered ticket ("refund inside the policy (auto, up
    # to 50.00 USD, within 14 days of the charge), asked for explicitly"); "" otherwise.
    why: str = ""

    def payload(self) -> dict[str, Any]:
        return {PAYLOAD_KEY: self.proposal.to_json()} if self.proposal else {}


def source_of(ticket: Ticket) -> str:
    return f"ticket-{ticket.pk}"


# Deciding.


def settle(ticket: Ticket, intent: str, text: str, signature: str) -> Outcome | None:
    """The agent's decision on an account request in the ticket; None when there is none."""
    if not revenue.available():
        return None
    asks = asked(intent, text)
    if not asks:
        return None
    if len(asks) > 1:
        names = ", ".join(NOUNS[a.kind] for a in asks)
        return Outcome(
            f"the customer asks for several account actions ({names}): a person should look",
            details={"asked": [a.kind for a in asks]},
        )
    earlier = revenue.existing(source_of(ticket), asks[0].kind)
    if earlier is not None:
        # This ticket's job ran before and died after asking Stripe: finish that action.
        outcome = finish(ticket, earlier, ACTOR, signature)
        if outcome.reason:
            return outcome
        noun = NOUNS[earlier.kind]
        return replace(outcome, why=f"the {noun} started earlier for this ticket was finished")
    return decide(ticket, asks[0], signature)


def decide(ticket: Ticket, ask: Ask, signature: str) -> Outcome:
    if ask.unclear:
        # Money moves on the figure read: a figure not read exactly is the founder's call.
        return Outcome(f"{NOUNS[ask.kind]} asked, but {ask.unclear}", details={"asked": ask.kind})
    try:
        proposal = plan(ticket.customer, ask)
    except Unplannable as why:
        return Outcome(f"{NOUNS[ask.kind]} asked, but {why}", details={"asked": ask.kind})
    verdict = unverified_asks_first(
        ticket,
        policy.verdict(
            AGENT, ask.kind, proposal.amount, proposal.age_days, proposal.currency, AGE_OF[ask.kind]
        ),
    )
    _audit_considered(ticket, proposal, verdict)
    if verdict.mode == policy.Mode.AUTO:
        outcome = perform(ticket, proposal, ACTOR, signature)
        return outcome if outcome.reason else replace(outcome, why=why_alone(ask, verdict))
    if verdict.mode == policy.Mode.APPROVAL:
        draft = reply_text(proposal, {}, ticket.customer.name, signature)
        # The summary without the age: a breach of the age limit already gives it.
        reason = f"{verdict.reason}: approve to {summary(proposal, age=False)}"
        return Outcome(reason, draft, f"Approve: {summary(proposal)}", proposal)
    if verdict.mode == policy.Mode.NOTIFY:
        reason = f"{verdict.reason}; nothing was done. Asked: {summary(proposal)}"
        return Outcome(reason, details={"suggested": proposal.to_json()})
    return Outcome(verdict.reason)


# Channels whose sender address nobody checked: a chat visitor types any e-mail address, so
# an action there on the account of whoever owns it waits for the founder, whatever the policy.
UNVERIFIED_CHANNELS = frozenset({Ticket.Channel.CHAT})


def unverified_asks_first(ticket: Ticket, verdict: policy.Verdict) -> policy.Verdict:
    """*auto* becomes *approval* when the ticket's sender could be anyone (the chat widget):
    otherwise typing a customer's address would refund, cancel or send their invoice."""
    if verdict.mode != policy.Mode.AUTO or ticket.channel not in UNVERIFIED_CHANNELS:
        return verdict
    return policy.Verdict(
        policy.Mode.APPROVAL,
        "asked in the chat widget, whose e-mail address nobody verified (anyone can type one)",
    )


# What the policy's age limit is the age of, per action ("the charge is 15 days old").
AGE_OF = {REFUND: "the charge", CREDIT: "it", INVOICE_COPY: "it", CANCEL: "it"}


def why_alone(ask: Ask, verdict: policy.Verdict) -> str:
    """Why the agent acted without the founder: inside which policy, asked how."""
    limits = verdict.limits
    terms = [verdict.mode]
    if limits.max_amount is not None:
        terms.append(f"up to {Money(limits.max_amount, limits.currency)}")
    if limits.max_age_days is not None:
        of = " of the charge" if ask.kind == REFUND else ""
        terms.append(f"within {policy.days(limits.max_age_days)}{of}")
    return f"{NOUNS[ask.kind]} inside the policy ({', '.join(terms)}), {ask.how}"


def _audit_considered(ticket: Ticket, proposal: Proposal, verdict: policy.Verdict) -> None:
    audit.record(
        ACTOR,
        "support.account_action_considered",
        ("ticket", ticket.pk),
        outcome=verdict.mode,
        details={"proposal": proposal.to_json(), "reason": verdict.reason},
    )


# Planning: which charge, invoice or subscription, how much, how old.


def plan(customer: Customer, ask: Ask) -> Proposal:
    livemode = bool(settings.STRIPE_LIVEMODE)
    if not revenue.billing_accounts(customer, livemode).exists():
        raise Unplannable(f"no Stripe customer is linked to {customer.email or customer}")
    return PLANNERS[ask.kind](customer, ask, livemode)


def _plan_refund(customer: Customer, ask: Ask, livemode: bool) -> Proposal:
    charge = revenue.latest_refundable_charge(customer, livemode)
    if charge is None:
        raise Unplannable(f"{customer.email} has no paid charge left to refund")
    left = revenue.refundable(charge)
    if ask.currency and ask.currency != charge.currency:
        raise Unplannable(
            f"the customer names {ask.currency} but charge {charge.stripe_id} is in "
            f"{charge.currency}"
        )
    if ask.amount is not None and ask.amount > left:
        raise Unplannable(
            f"{Money(ask.amount, charge.currency)} is more than the "
            f"{Money(left, charge.currency)} left to refund on the last charge "
            f"({charge.stripe_id})"
        )
    amount = left if ask.amount is None else ask.amount
    return Proposal(
        REFUND, customer.pk, livemode, charge.stripe_id, amount, charge.currency, age_of(charge)
    )


def age_of(charge: Charge) -> int | None:
    """Whole days since the charge; None when Stripe gave no date."""
    return (clock.now() - charge.created).days if charge.created else None


def _plan_credit(customer: Customer, ask: Ask, livemode: bool) -> Proposal:
    if ask.amount is None:
        raise Unplannable("the customer names no amount (with its currency)")
    return Proposal(CREDIT, customer.pk, livemode, "", ask.amount, ask.currency)


def _plan_invoice(customer: Customer, ask: Ask, livemode: bool) -> Proposal:
    invoice = revenue.latest_invoice(customer, livemode)
    if invoice is None:
        raise Unplannable(f"{customer.email} has no finalized invoice")
    return Proposal(INVOICE_COPY, customer.pk, livemode, invoice.stripe_id)


def _plan_cancel(customer: Customer, ask: Ask, livemode: bool) -> Proposal:
    live = revenue.live_subscriptions(customer, livemode)
    if not live:
        raise Unplannable(f"{customer.email} has no active subscription")
    if len(live) > 1:
        names = ", ".join(s.stripe_id for s in live)
        raise Unplannable(f"{customer.email} has {len(live)} active subscriptions ({names})")
    return Proposal(CANCEL, customer.pk, livemode, live[0].stripe_id)


PLANNERS = {
    REFUND: _plan_refund,
    CREDIT: _plan_credit,
    INVOICE_COPY: _plan_invoice,
    CANCEL: _plan_cancel,
}


# Performing.


def perform(ticket: Ticket, proposal: Proposal, actor: str, signature: str) -> Outcome:
    """Revenue performs the action (once per key); the outcome says what to tell whom."""
    try:
        action = revenue.perform(proposal.request(source_of(ticket)), actor)
    except InvalidInput as refused:
        # Refused before Stripe was asked (or no key any more): nothing happened.
        return Outcome(f"the {NOUNS[proposal.kind]} was refused: {refused}")
    return finish(ticket, action, actor, signature)


def finish(ticket: Ticket, action: AccountAction, actor: str, signature: str) -> Outcome:
    """The outcome of an action sent to Stripe (sent again when its worker died)."""
    try:
        action = revenue.execute(action)
    except InvalidInput as refused:
        return Outcome(f"the {NOUNS[action.kind]} was not sent: {refused}")
    noun = NOUNS[action.kind]
    if action.status == AccountAction.Status.FAILED:
        return Outcome(
            f"the {noun} failed: {action.error}. The customer was told nothing",
            details={"account_action": action.pk},
        )
    proposal = Proposal.of(action)
    reply = reply_text(proposal, action.result, ticket.customer.name, signature)
    if not reply:
        return Outcome(f"the {noun} has no link to send (Stripe gave none)")
    details = {"account_action": action.pk, "done": summary(proposal)}
    return Outcome("", reply, summary(proposal), details=details)


# After the founder approves.


def run_approved(approval_id: int) -> str:
    """The job queued by approving: perform the proposed action, then tell the customer."""
    approval = Approval.objects.filter(
        pk=approval_id, status__in=[Approval.Status.APPROVED, Approval.Status.EDITED]
    ).first()
    data = approval.payload.get(PAYLOAD_KEY) if approval else None
    if approval is None or not isinstance(data, dict):
        return "nothing approved to run"
    ticket = Ticket.objects.filter(pk=approval.subject_id).first()
    if ticket is None:
        return "the ticket is gone"
    who = approval.decided_by.get_username() if approval.decided_by else "founder"
    proposal = Proposal.from_json(data)
    try:
        outcome = perform(ticket, proposal, f"user:{who}", settings.SUPPORT_SIGNATURE)
    except revenue.ActionInProgress:
        # The same job, delivered twice, runs in another worker: that one tells the customer.
        return "in another worker's hands"
    if outcome.reason:
        escalate_failure(ticket, approval, outcome.reason)
        return "failed"
    tell_once(ticket, str(approval.resolution.get("body") or outcome.reply), approval)
    return "done"


def tell_once(ticket: Ticket, body: str, approval: Approval) -> Message | None:
    """The founder's approved reply, sent once however often the job runs."""
    marker = f"approval-{approval.pk}"
    if ticket.messages.filter(external_id=marker).exists():
        return None
    try:
        with transaction.atomic():
            return services.send_reply(ticket, body, Message.Author.FOUNDER, external_id=marker)
    except IntegrityError:
        return None


def escalate_failure(ticket: Ticket, approval: Approval, reason: str) -> None:
    """Back to the founder's inbox (once per approval) with why nothing was done."""
    marker = f"approval-{approval.pk}"
    seen = Approval.objects.filter(
        subject_type="ticket", subject_id=str(ticket.pk), payload__failed_after=marker
    )
    if seen.exists():
        return
    with transaction.atomic():
        services.escalate(
            ticket,
            summary=f"Approved, but not done: {approval.summary}"[:300],
            reason=reason,
            payload={"draft": "", "intent": ticket.intent, "failed_after": marker},
        )


# What the customer reads.


def summary(proposal: Proposal, age: bool = True) -> str:
    """The action in a line, for the founder (with the charge's age unless `age` is False)."""
    money = (
        str(Money(proposal.amount, proposal.currency))
        if proposal.amount is not None and proposal.currency
        else ""
    )
    old = f", {policy.days(proposal.age_days)} old" if age and proposal.age_days is not None else ""
    return {
        REFUND: f"refund {money} of charge {proposal.target}{old}",
        CREDIT: f"credit {money} to the customer's balance",
        INVOICE_COPY: f"send invoice {proposal.target}",
        CANCEL: f"cancel subscription {proposal.target} at the end of its period",
    }[proposal.kind]


def reply_text(proposal: Proposal, result: dict[str, Any], name: str, signature: str) -> str:
    """The reply, from what Stripe answered (`result`) or, for a draft, what is stored."""
    body = WRITERS[proposal.kind](proposal, result)
    if not body:
        return ""
    greeting = f"Hi {name.split()[0]}," if name.strip() else "Hi,"
    return f"{greeting}\n\n{body}\n\n{signature}"


def _refund_body(proposal: Proposal, result: dict[str, Any]) -> str:
    charge = Charge.objects.filter(livemode=proposal.livemode, stripe_id=proposal.target).first()
    assert proposal.amount is not None
    amount = Money(proposal.amount, proposal.currency)
    if charge is None:
        return f"I've refunded {amount}. {REFUND_DELAY}, depending on your bank."
    paid = f" of {day(charge.created)}" if charge.created else ""
    part = (
        ""
        if proposal.amount == charge.amount
        else f" of the {Money(charge.amount, proposal.currency)}"
    )
    return (
        f"I've refunded {amount}{part} from your payment{paid} to {revenue.card_of(charge)}. "
        f"{REFUND_DELAY}, depending on your bank."
    )


def _credit_body(proposal: Proposal, result: dict[str, Any]) -> str:
    assert proposal.amount is not None
    amount = Money(proposal.amount, proposal.currency)
    return (
        f"I've added a credit of {amount} to your account. It is used automatically on your "
        "next invoice, before your card is charged."
    )


def _invoice_body(proposal: Proposal, result: dict[str, Any]) -> str:
    invoice = Invoice.objects.filter(livemode=proposal.livemode, stripe_id=proposal.target).first()
    stored = invoice.raw if invoice else {}
    page = result.get("hosted_invoice_url") or stored.get("hosted_invoice_url")
    pdf = result.get("invoice_pdf") or stored.get("invoice_pdf")
    if not page and not pdf:
        return ""
    number = result.get("number") or (invoice.number if invoice else "") or proposal.target
    lines = [f"Here is your invoice {number}:"]
    lines += [f"View it online: {page}"] if page else []
    lines += [f"Download the PDF: {pdf}"] if pdf else []
    return "\n".join(lines)


def _cancel_body(proposal: Proposal, result: dict[str, Any]) -> str:
    ends = _end_of_period(proposal, result)
    until = f"until {day(ends)}" if ends else "until the end of the period you paid for"
    return (
        f"I've cancelled your subscription at the end of the current billing period: it keeps "
        f"working {until}, and you won't be charged again."
    )


def day(moment: datetime) -> str:
    """3 May 2026, in the founder's time zone."""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%B %Y}"


def _end_of_period(proposal: Proposal, result: dict[str, Any]) -> datetime | None:
    if isinstance(result.get("ends_at"), int):
        return datetime.fromtimestamp(result["ends_at"], tz=UTC)
    subscription = Subscription.objects.filter(
        livemode=proposal.livemode, stripe_id=proposal.target
    ).first()
    if subscription is None:
        return None
    return subscription.cancel_at or subscription.current_period_end


WRITERS = {
    REFUND: _refund_body,
    CREDIT: _credit_body,
    INVOICE_COPY: _invoice_body,
    CANCEL: _cancel_body,
}
