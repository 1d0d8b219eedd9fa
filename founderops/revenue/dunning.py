"""Dunning: after a failed payment, polite reminders and payment retries on the founder's days.

`start(invoice)` (called when an `invoice.payment_failed` event is processed) stores every step
of the sequence at once: one reminder e-mail per day of FOUNDEROPS_DUNNING_SCHEDULE_DAYS and one
payment retry per day of FOUNDEROPS_DUNNING_RETRY_DAYS, counted from the failure. `tick` (a
schedule, every few minutes) does the steps that are due, retries before e-mails of the same
day, so a retry that succeeds spares the customer the reminder.

Once: a step is claimed with a conditional update before it is done; an e-mail's Message-ID is
fixed when the step is stored, so a resend after a crash is the same mail to the customer's
client; a retry sends Stripe an idempotency key per step, so a crash after Stripe answered
charges nobody twice. The sequence stops as soon as the invoice is paid, voided, written off or
deleted: on its webhook (`on_event`), and before every step, which reads the invoice from Stripe
first when a key is known.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money
from founderops.core.smtp import classify, smtp_server, transmit
from founderops.customers.services import is_visitor
from founderops.revenue import stripe_api, stripe_store
from founderops.revenue.models import Dunning, DunningStep, Invoice

logger = logging.getLogger(__name__)

ACTOR = "system:dunning"
TICK_JOB = "founderops.revenue.dunning.tick"
# Longer than one SMTP send or one Stripe call; a claim older than this means its worker died.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
# A step more than this overdue when the failure is first seen is skipped, not done late.
LATE = timedelta(days=1)
BATCH = 100
OUTCOME_CHARS = 500
STARTS = "invoice.payment_failed"
SETTLES = frozenset(
    {
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoice.deleted",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

State = Dunning.State
Step = DunningStep.State


# Starting and stopping.


def on_event(event_type: str, livemode: bool, obj: dict[str, Any], at: datetime) -> None:
    """Webhook processing's hook, after it stored the invoice an event carried at `at`."""
    if obj.get("object") != "invoice" or (event_type != STARTS and event_type not in SETTLES):
        return
    invoice = Invoice.objects.filter(livemode=livemode, stripe_id=stripe_store.ref(obj)).first()
    if invoice is None:
        return
    if event_type == STARTS:
        start(invoice, at)
    else:
        settle(invoice)


def start(invoice: Invoice, failed_at: datetime | None = None) -> Dunning | None:
    """Store the sequence for a failed invoice (once); None when there is nothing to do.

    Days count from `failed_at` (the event's time): a failure learnt late (reconciliation,
    or Stripe connected after the fact) skips the steps whose day is long past."""
    emails, retries = settings.DUNNING_SCHEDULE_DAYS, settings.DUNNING_RETRY_DAYS
    if ended(invoice) is not None or not (emails or retries):
        return None
    if invoice.billing_reason == "subscription_create":
        # A sign-up whose first payment failed is not a customer who stopped paying: the
        # checkout told them, and Stripe expires the incomplete subscription within a day.
        return None
    found = Dunning.objects.filter(invoice=invoice).first()
    if found is not None:
        return found
    failed_at = failed_at or clock.now()
    try:
        with transaction.atomic():
            dunning = Dunning.objects.create(invoice=invoice, started_at=failed_at)
            DunningStep.objects.bulk_create(steps(dunning, failed_at, emails, retries))
    except IntegrityError:
        # The same failure processed twice at once (a webhook and reconciliation).
        return Dunning.objects.get(invoice=invoice)
    audit.record(
        ACTOR,
        "revenue.dunning_started",
        ("invoice", invoice.stripe_id),
        outcome="active",
        details={"dunning": dunning.pk, "emails": emails, "retries": retries},
    )
    return dunning


def steps(
    dunning: Dunning, now: datetime, emails: list[int], retries: list[int]
) -> list[DunningStep]:
    made = [
        DunningStep(
            dunning=dunning,
            kind=DunningStep.Kind.EMAIL,
            number=number,
            day=day,
            due_at=now + timedelta(days=day),
            msgid=new_msgid(),
        )
        for number, day in enumerate(emails)
    ]
    made += [
        DunningStep(
            dunning=dunning,
            kind=DunningStep.Kind.RETRY,
            number=number,
            day=day,
            due_at=now + timedelta(days=day),
        )
        for number, day in enumerate(retries)
    ]
    late = clock.now() - LATE
    for step in made:
        if step.due_at < late:
            step.state, step.done_at = Step.SKIPPED, clock.now()
            step.outcome = "the failure was learnt after this step's day"
    return made


def ended(invoice: Invoice) -> tuple[str, str] | None:
    """(state, why) when the invoice needs no more dunning, else None."""
    if invoice.deleted:
        return State.STOPPED, "the invoice was deleted"
    if invoice.status == "paid":
        return State.RECOVERED, "the invoice was paid"
    if invoice.status == "void":
        return State.STOPPED, "the invoice was voided"
    if invoice.status == "uncollectible":
        return State.STOPPED, "the invoice was marked uncollectible"
    return None


def settle(invoice: Invoice) -> bool:
    """End the invoice's running sequence if the invoice is settled; True when it ended."""
    dunning = Dunning.objects.filter(invoice=invoice, state=State.ACTIVE).first()
    outcome = ended(invoice)
    if dunning is None or outcome is None:
        return False
    return finish(dunning, *outcome)


def finish(dunning: Dunning, state: str, why: str) -> bool:
    """End a running sequence (once): its waiting steps are skipped."""
    won = Dunning.objects.filter(pk=dunning.pk, state=State.ACTIVE).update(
        state=state, ended_at=clock.now(), end_reason=why[:200]
    )
    if not won:
        return False
    DunningStep.objects.filter(dunning=dunning, state=Step.PENDING).update(
        state=Step.SKIPPED, outcome=why[:OUTCOME_CHARS], done_at=clock.now()
    )
    audit.record(
        ACTOR,
        "revenue.dunning_ended",
        ("invoice", dunning.invoice.stripe_id),
        outcome=state,
        details={"dunning": dunning.pk, "reason": why},
    )
    return True


# Doing the steps.


def tick() -> str:
    """The schedule: every step that is due (or whose worker died), oldest first."""
    now = clock.now()
    due = (
        DunningStep.objects.filter(dunning__state=State.ACTIVE)
        .filter(
            Q(state=Step.PENDING, due_at__lte=now)
            | Q(state=Step.CLAIMED, claimed_at__lte=now - LEASE)
        )
        .select_related("dunning__invoice__customer__customer")
        .order_by("due_at", "-kind", "number", "pk")
    )
    counts: Counter[str] = Counter(run_step(step) for step in due[:BATCH])
    counts["finished unpaid"] = finish_exhausted()
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items()) if n) or "nothing due"


def run_step(step: DunningStep) -> str:
    """One due step: stop first if the invoice is settled, else claim it and do it."""
    dunning = step.dunning
    dunning.refresh_from_db(fields=["state"])
    if dunning.state != State.ACTIVE:
        return "skipped"
    invoice = fresh(dunning.invoice)
    if settle(invoice):
        return "stopped"
    if superseded(step):
        return skip(step, "a later step of the same kind is due too")
    if not claim(step):
        return "in hand"
    step.refresh_from_db()
    if step.kind == DunningStep.Kind.EMAIL:
        return send_reminder(step, invoice)
    return retry_payment(step, invoice)


def superseded(step: DunningStep) -> bool:
    """A later reminder (or retry) is due as well, e.g. after the workers were down for days:
    only the latest is done, so the customer never gets a burst of reminders."""
    later = DunningStep.objects.filter(
        dunning=step.dunning_id,
        kind=step.kind,
        number__gt=step.number,
        due_at__lte=clock.now(),
        state=Step.PENDING,
    )
    return step.state == Step.PENDING and later.exists()


def fresh(invoice: Invoice) -> Invoice:
    """The invoice as Stripe has it now (webhooks may lag), or as stored without a key."""
    try:
        api = stripe_api.client(invoice.livemode)
        answer = stripe_api.as_dict(api.v1.invoices.retrieve(invoice.stripe_id))
        stripe_store.store(answer, _context(invoice))
    except (stripe.StripeError, InvalidInput) as error:
        # No key, or Stripe unreachable: the stored state decides; webhooks still stop us.
        logger.info("dunning: invoice %s not refreshed: %s", invoice.stripe_id, error)
    invoice.refresh_from_db()
    return invoice


def _context(invoice: Invoice) -> stripe_store.Context:
    return stripe_store.Context(invoice.livemode, int(clock.now().timestamp()))


def claim(step: DunningStep) -> bool:
    now = clock.now()
    lapsed = Q(state=Step.CLAIMED, claimed_at__lte=now - LEASE)
    won = DunningStep.objects.filter(Q(state=Step.PENDING) | lapsed, pk=step.pk).update(
        state=Step.CLAIMED, claimed_at=now, attempts=F("attempts") + 1
    )
    return bool(won)


def done(step: DunningStep, state: str, outcome: str) -> str:
    DunningStep.objects.filter(pk=step.pk).update(
        state=state, outcome=outcome[:OUTCOME_CHARS], done_at=clock.now()
    )
    audit.record(
        ACTOR,
        f"revenue.dunning_{step.kind}",
        ("invoice", step.dunning.invoice.stripe_id),
        outcome=state,
        details={
            "dunning": step.dunning_id,
            "step": step.number,
            "day": step.day,
            "attempts": step.attempts,
            "result": outcome[:OUTCOME_CHARS],
        },
    )
    return f"{step.kind} {state}"


def skip(step: DunningStep, why: str) -> str:
    """Skip a step nobody has claimed (a claimed one is in a worker's hands)."""
    won = DunningStep.objects.filter(pk=step.pk, state=Step.PENDING).update(
        state=Step.SKIPPED, outcome=why[:OUTCOME_CHARS], done_at=clock.now()
    )
    return f"{step.kind} skipped" if won else "in hand"


def finish_exhausted() -> int:
    """Running sequences with every step behind them end, still unpaid."""
    open_steps = DunningStep.objects.filter(state__in=[Step.PENDING, Step.CLAIMED])
    over = Dunning.objects.filter(state=State.ACTIVE).exclude(
        pk__in=open_steps.values("dunning_id")
    )
    return sum(finish(d, State.EXHAUSTED, "every step is done; still unpaid") for d in over)


# Retrying the payment.


def retry_key(step: DunningStep) -> str:
    """One key per scheduled retry: a resend after a crash is the same attempt to Stripe."""
    return f"founderops-dunning-{step.dunning.invoice.stripe_id}-retry-{step.number}"


def retry_payment(step: DunningStep, invoice: Invoice) -> str:
    try:
        api = stripe_api.client(invoice.livemode)
    except stripe_api.StripeNotConfigured as error:
        return done(step, Step.SKIPPED, str(error))
    options: Any = {"idempotency_key": retry_key(step)}
    try:
        answer = stripe_api.as_dict(api.v1.invoices.pay(invoice.stripe_id, None, options))
    except stripe.CardError as error:
        return done(step, Step.DONE, f"declined: {error.user_message or error}")
    except stripe.StripeError as error:
        return done(step, Step.FAILED, f"Stripe refused: {error.user_message or error}")
    stripe_store.store(answer, _context(invoice))
    invoice.refresh_from_db()
    result = done(step, Step.DONE, "paid" if invoice.status == "paid" else invoice.status)
    settle(invoice)
    return result


# The reminder e-mail.


def send_reminder(step: DunningStep, invoice: Invoice) -> str:
    if not settings.SMTP_URL:
        return done(step, Step.SKIPPED, "not sent: FOUNDEROPS_SMTP_URL is not set")
    address = recipient(invoice)
    if not address:
        return done(step, Step.SKIPPED, "not sent: the customer has no e-mail address")
    try:
        transmit(
            smtp_server(settings.SMTP_URL),
            reminder(step, invoice, address),
            settings.SUPPORT_FROM_EMAIL,
            address,
        )
    except OSError as error:
        return _not_sent(step, error, address)
    return done(step, Step.DONE, "sent")


def _not_sent(step: DunningStep, error: OSError, address: str) -> str:
    failure = classify(error)
    reason = scrub(failure.reason, address)
    if failure.permanent or step.attempts >= MAX_ATTEMPTS:
        return done(step, Step.FAILED, reason)
    # Stays claimed: the next tick after the lease sends it again, same Message-ID.
    DunningStep.objects.filter(pk=step.pk).update(outcome=reason)
    logger.warning("dunning reminder %s: %s", step.pk, reason)
    return "email will retry"


def recipient(invoice: Invoice) -> str:
    """The FounderOps customer's address, else the one Stripe has."""
    account = invoice.customer
    if account is None:
        return ""
    person = account.customer
    if person is not None and person.email and not is_visitor(person.email):
        return person.email
    return account.email


def scrub(reason: str, address: str) -> str:
    if address:
        reason = re.sub(re.escape(address), "<recipient>", reason, flags=re.I)
    return reason[:OUTCOME_CHARS]


def new_msgid() -> str:
    domain = settings.SUPPORT_FROM_EMAIL.rpartition("@")[2].strip() or "localhost"
    return f"<{uuid.uuid4()}@{domain}>"


def reminder(step: DunningStep, invoice: Invoice, address: str) -> EmailMessage:
    emails = DunningStep.objects.filter(dunning=step.dunning_id, kind=DunningStep.Kind.EMAIL)
    last = step.number == emails.count() - 1 and step.number > 0
    mail = EmailMessage()
    mail["Message-ID"] = step.msgid or new_msgid()
    mail["Date"] = format_datetime(clock.now())
    mail["From"] = settings.SUPPORT_FROM_EMAIL
    mail["To"] = address
    mail["Subject"] = _CONTROL.sub(" ", subject(step, invoice, last))[:300]
    # RFC 3834: sent by a program, so autoresponders stay quiet.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body(step, invoice, last))
    return mail


def subject(step: DunningStep, invoice: Invoice, last: bool) -> str:
    number = invoice.number or invoice.stripe_id
    if step.number == 0:
        return f"Your payment for invoice {number} didn't go through"
    if last:
        return f"Last reminder: invoice {number} is still unpaid"
    return f"Reminder: invoice {number} is still unpaid"


def body(step: DunningStep, invoice: Invoice, last: bool) -> str:
    owed = Money(invoice.amount_remaining or invoice.amount_due, invoice.currency or "USD")
    number = invoice.number or invoice.stripe_id
    if step.number == 0:
        opening = (
            f"We tried to take {owed} for invoice {number}, but the payment didn't go through. "
            "This usually means the card on file has expired or been replaced, or the bank "
            "declined it."
        )
    elif last:
        opening = f"This is our last reminder: invoice {number} for {owed} is still unpaid."
    else:
        opening = f"Just a friendly reminder: invoice {number} for {owed} is still unpaid."
    link = update_link(invoice)
    action = (
        f"You can update your card and pay the invoice here:\n{link}"
        if link
        else "Reply to this e-mail and we'll help you update your card."
    )
    return (
        f"{greeting(invoice)}\n\n{opening}\n\n{action}\n\n"
        "If you have already sorted this out, thank you, and please ignore this message.\n\n"
        f"{settings.SUPPORT_SIGNATURE}\n"
    )


def update_link(invoice: Invoice) -> str:
    """The founder's own billing page when set, else Stripe's page for this invoice."""
    if settings.DUNNING_UPDATE_CARD_URL:
        return str(settings.DUNNING_UPDATE_CARD_URL)
    return str(invoice.raw.get("hosted_invoice_url") or "")


def greeting(invoice: Invoice) -> str:
    account = invoice.customer
    person = account.customer if account is not None else None
    name = (person.name if person is not None else "") or (account.name if account else "")
    return f"Hi {name.split()[0]}," if name.strip() else "Hello,"
