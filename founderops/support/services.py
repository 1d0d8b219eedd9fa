"""Every write in support: intake, replies, the founder's decisions, knowledge, training."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from founderops.ai import approvals
from founderops.ai.models import Approval
from founderops.core import audit, clock, jobs
from founderops.core.errors import Conflict, InvalidInput
from founderops.customers.services import find_or_create_customer
from founderops.support.models import KnowledgeArticle, Message, Ticket, TrainingExample
from founderops.support.text import clean_body, clean_line

AGENT = "support"
REPLY = "reply"
UNKNOWN_INTENT = "oos"


@dataclass(frozen=True)
class Incoming:
    email: str
    body: str
    subject: str = ""
    name: str = ""
    channel: str = Ticket.Channel.API
    external_id: str | None = None
    created_at: datetime | None = None


def validate_incoming(incoming: Incoming) -> Incoming:
    if incoming.channel not in Ticket.Channel.values:
        raise InvalidInput(
            f"unknown channel {incoming.channel!r}; use one of {', '.join(Ticket.Channel.values)}"
        )
    if incoming.external_id is not None and not incoming.external_id.strip():
        raise InvalidInput("external_id is empty; leave it out or give the source's id")
    if incoming.external_id and len(incoming.external_id) > 200:
        raise InvalidInput("external_id is longer than 200 characters")
    if incoming.external_id and clean_line(incoming.external_id, 200) != incoming.external_id:
        raise InvalidInput("external_id holds spaces at its ends or control characters")
    if incoming.created_at and incoming.created_at.tzinfo is None:
        raise InvalidInput("created_at needs a time zone (e.g. 2026-01-31T09:00:00Z)")
    return incoming


def receive_ticket(incoming: Incoming, triage: bool = True) -> tuple[Ticket, bool]:
    """Store a customer's request (once per channel and external id) and queue the agent on it.

    The same external id again with the same request returns the first ticket (a retry); with
    a different request it raises Conflict, since answering the first one would be wrong.
    """
    incoming = validate_incoming(incoming)
    body = clean_body(incoming.body, settings.SUPPORT_MAX_BODY_CHARS)
    if incoming.external_id:
        existing = Ticket.objects.filter(
            channel=incoming.channel, external_id=incoming.external_id
        ).first()
        if existing:
            return _same_request(existing, body), False
    customer = find_or_create_customer(incoming.email, clean_line(incoming.name, 200))
    created_at = incoming.created_at or clock.now()
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                customer=customer,
                external_id=incoming.external_id or None,
                channel=incoming.channel,
                subject=clean_line(incoming.subject, 300) or subject_from(body),
                created_at=created_at,
            )
            Message.objects.create(
                ticket=ticket, author=Message.Author.CUSTOMER, body=body, created_at=created_at
            )
    except IntegrityError:
        # Same external id submitted twice at the same moment: the first one won.
        first = Ticket.objects.get(channel=incoming.channel, external_id=incoming.external_id)
        return _same_request(first, body), False
    audit.record(
        "channel:" + ticket.channel,
        "support.ticket_received",
        ("ticket", ticket.pk),
        outcome="stored",
    )
    if triage:
        transaction.on_commit(
            lambda: jobs.enqueue("founderops.support.tasks.triage_ticket", ticket.pk)
        )
    return ticket, True


def _same_request(ticket: Ticket, body: str) -> Ticket:
    """The stored ticket for a repeated external id, if it holds the same (cleaned) request."""
    first = ticket.messages.filter(author=Message.Author.CUSTOMER).first()
    if first is not None and first.body != body:
        raise Conflict(
            f"external_id {ticket.external_id!r} was already used for a different request "
            f"(ticket #{ticket.pk})"
        )
    return ticket


SUBJECT_CHARS = 80


def subject_from(body: str) -> str:
    """A subject from the body's start: whole words, at most SUBJECT_CHARS characters."""
    line = clean_line(body, len(body))
    if len(line) <= SUBJECT_CHARS:
        return line
    cut = line[: SUBJECT_CHARS - 1]
    words = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return words.rstrip(" ,;:.-") + "…"


FOLLOW_UP_REOPENS = {Ticket.Status.ANSWERED_AUTO, Ticket.Status.ANSWERED, Ticket.Status.CLOSED}


def add_customer_message(
    ticket: Ticket, body: str, created_at: datetime | None = None, external_id: str | None = None
) -> tuple[Message, bool]:
    """The customer writes again; an answered ticket goes back to the founder's inbox.

    Returns the message and whether it is new. With an external id the call is idempotent:
    the same id on the same ticket stores once (the same id with another text is a Conflict).
    """
    text = clean_body(body, settings.SUPPORT_MAX_BODY_CHARS)
    if created_at and created_at.tzinfo is None:
        raise InvalidInput("created_at needs a time zone (e.g. 2026-01-31T09:00:00Z)")
    if external_id is not None and not external_id.strip():
        raise InvalidInput("external_id is empty; leave it out or give the source's id")
    seen = ticket.messages.filter(external_id=external_id).first() if external_id else None
    if seen:
        if seen.body != text:
            raise Conflict(
                f"external_id {external_id!r} was already used for a different message "
                f"on ticket #{ticket.pk}"
            )
        return seen, False
    with transaction.atomic():
        message = Message.objects.create(
            ticket=ticket,
            author=Message.Author.CUSTOMER,
            body=text,
            created_at=created_at or clock.now(),
            external_id=external_id or None,
        )
        audit.record(
            "customer", "support.message_received", ("ticket", ticket.pk), outcome="stored"
        )
        if ticket.status in FOLLOW_UP_REOPENS:
            escalate(
                ticket,
                summary=f"Follow-up from {ticket.customer}: {ticket.subject}",
                reason="the customer wrote again after the ticket was answered",
                payload={"draft": "", "intent": ticket.intent, "follow_up": text[:2000]},
            )
    return message, True


def customer_text(ticket: Ticket) -> str:
    first = ticket.messages.filter(author=Message.Author.CUSTOMER).first()
    body = first.body if first else ""
    if ticket.subject and not body.startswith(ticket.subject):
        return f"{ticket.subject}\n{body}"
    return body


def send_reply(ticket: Ticket, body: str, author: str) -> Message:
    """Store the outbound reply (channels deliver it) and mark the first response."""
    now = clock.now()
    message = Message.objects.create(ticket=ticket, author=author, body=body, created_at=now)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.status = (
        Ticket.Status.ANSWERED_AUTO if author == Message.Author.AGENT else Ticket.Status.ANSWERED
    )
    ticket.resolved_by = "agent" if author == Message.Author.AGENT else "founder"
    ticket.save(update_fields=["first_response_at", "status", "resolved_by"])
    # Support knows no channel; the channels app (named, not imported) delivers the reply.
    transaction.on_commit(
        lambda: jobs.enqueue("founderops.channels.tasks.deliver_reply", message.pk)
    )
    return message


def escalate(ticket: Ticket, summary: str, reason: str, payload: dict[str, object]) -> Approval:
    ticket.status = Ticket.Status.ESCALATED
    ticket.save(update_fields=["status"])
    return approvals.request(AGENT, REPLY, ("ticket", ticket.pk), summary, reason, payload)


def approve_reply(
    approval: Approval, user: AbstractBaseUser, body: str | None = None, intent: str | None = None
) -> Message:
    """The founder sends the draft (as is or edited); the label becomes a training example."""
    ticket = Ticket.objects.get(pk=approval.subject_id)
    draft = str(approval.payload.get("draft", ""))
    text = (body if body is not None else draft).strip()
    if not text:
        raise InvalidInput("the reply is empty")
    label = (intent or str(approval.payload.get("intent", ""))).strip()
    edited = text != draft.strip() or label != approval.payload.get("intent")
    with transaction.atomic():
        approvals.decide(
            approval,
            user,
            Approval.Status.EDITED if edited else Approval.Status.APPROVED,
            {"body": text, "intent": label},
        )
        message = send_reply(ticket, text, Message.Author.FOUNDER)
        if label:
            relabel_ticket(ticket, label, user, TrainingExample.Source.APPROVAL)
    return message


def reject_escalation(approval: Approval, user: AbstractBaseUser, intent: str = "") -> None:
    """The founder will answer elsewhere; an optional label still teaches the agent."""
    ticket = Ticket.objects.get(pk=approval.subject_id)
    with transaction.atomic():
        approvals.decide(approval, user, Approval.Status.REJECTED, {"intent": intent})
        ticket.status = Ticket.Status.CLOSED
        ticket.save(update_fields=["status"])
        if intent:
            relabel_ticket(ticket, intent, user, TrainingExample.Source.CORRECTION)


def relabel_ticket(ticket: Ticket, intent: str, user: AbstractBaseUser, source: str) -> None:
    intent = intent.strip()
    known = set(KnowledgeArticle.objects.values_list("intent", flat=True)) | {UNKNOWN_INTENT}
    if intent not in known:
        raise InvalidInput(f"unknown intent {intent!r}: add an article for it first")
    corrected = ticket.intent != intent
    ticket.intent = intent
    ticket.save(update_fields=["intent"])
    TrainingExample.objects.update_or_create(
        ticket=ticket,
        defaults={
            "text": customer_text(ticket),
            "intent": intent,
            "source": source,
            "created_at": clock.now(),
        },
    )
    audit.record(
        f"user:{user.get_username()}",
        "support.ticket_labelled",
        ("ticket", ticket.pk),
        outcome="corrected" if corrected else "confirmed",
        details={"intent": intent},
    )
    transaction.on_commit(lambda: jobs.enqueue("founderops.support.tasks.refresh_classifier"))


def check_intent_free(intent: str, slug: str) -> None:
    """One article answers each intent; an article may keep its own intent when updated."""
    taken = KnowledgeArticle.objects.filter(intent=intent.strip()).exclude(slug=slug).first()
    if taken is not None:
        raise InvalidInput(f"intent {intent.strip()!r} is already answered by article {taken.slug}")


def save_article(
    slug: str,
    title: str,
    intent: str,
    body: str,
    answer: str,
    examples: list[str],
    published: bool = True,
) -> KnowledgeArticle:
    if not intent.strip() or intent == UNKNOWN_INTENT:
        raise InvalidInput(f"article {slug!r} needs an intent other than {UNKNOWN_INTENT!r}")
    if not answer.strip():
        raise InvalidInput(f"article {slug!r} has no answer")
    check_intent_free(intent, slug)
    article, _ = KnowledgeArticle.objects.update_or_create(
        slug=slug,
        defaults={
            "title": title,
            "intent": intent.strip(),
            "body": body,
            "answer": answer.strip(),
            "examples": examples,
            "published": published,
            "updated_at": clock.now(),
        },
    )
    return article
