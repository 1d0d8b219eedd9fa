"""Every write in support: intake, replies, the founder's decisions, knowledge, training."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F

from founderops.ai import approvals
from founderops.ai.models import Approval
from founderops.core import audit, clock, jobs, notifications
from founderops.core.errors import Conflict, InvalidInput
from founderops.customers.services import find_or_create_customer
from founderops.support.models import (
    KnowledgeArticle,
    Message,
    Rating,
    SavedReply,
    Ticket,
    TrainingExample,
)
from founderops.support.text import clean_body, clean_line

AGENT = "support"
REPLY = "reply"
UNKNOWN_INTENT = "oos"
# An approval whose payload holds this runs the account action in a job once approved.
ACCOUNT_ACTION = "account_action"
RUN_ACCOUNT_ACTION = "founderops.support.tasks.run_account_action"


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


def assign_customer(ticket: Ticket, email: str, name: str = "") -> Ticket:
    """The writer of a ticket gives (or corrects) their e-mail address, e.g. a chat visitor
    asked for it before a handoff: the ticket moves to the customer known by that address."""
    customer = find_or_create_customer(email, clean_line(name, 200))
    if customer.pk == ticket.customer_id:
        return ticket
    previous = ticket.customer_id
    ticket.customer = customer
    ticket.save(update_fields=["customer"])
    audit.record(
        "customer",
        "support.ticket_customer_changed",
        ("ticket", ticket.pk),
        outcome="moved",
        details={"from_customer": previous, "to_customer": customer.pk},
    )
    return ticket


def customer_text(ticket: Ticket) -> str:
    first = ticket.messages.filter(author=Message.Author.CUSTOMER).first()
    body = first.body if first else ""
    if ticket.subject and not body.startswith(ticket.subject):
        return f"{ticket.subject}\n{body}"
    return body


def send_reply(ticket: Ticket, body: str, author: str, external_id: str | None = None) -> Message:
    """Store the outbound reply (channels deliver it) and mark the first response.

    With an `external_id` a second call for the same reply raises IntegrityError (a job that
    runs twice sends once)."""
    now = clock.now()
    message = Message.objects.create(
        ticket=ticket, author=author, body=body, created_at=now, external_id=external_id
    )
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


RATABLE = {Message.Author.AGENT, Message.Author.FOUNDER}
RATING_COMMENT_CHARS = 2000


def rate_reply(message: Message, score: str, channel: str, comment: str = "") -> Rating:
    """CSAT: the customer's verdict on one reply; a later click replaces the earlier one."""
    if score not in Rating.Score.values:
        raise InvalidInput(f"unknown score {score!r}; use one of {', '.join(Rating.Score.values)}")
    if message.author not in RATABLE:
        raise InvalidInput("only a reply (the agent's or the founder's) can be rated")
    if channel not in Ticket.Channel.values:
        raise InvalidInput(f"unknown channel {channel!r}")
    if len(comment) > RATING_COMMENT_CHARS:
        raise InvalidInput(f"the comment is longer than {RATING_COMMENT_CHARS} characters")
    text = clean_body(comment, RATING_COMMENT_CHARS) if comment.strip() else ""
    rating, created = Rating.objects.update_or_create(
        message=message,
        defaults={
            "ticket_id": message.ticket_id,
            "score": score,
            "comment": text,
            "channel": channel,
            "created_at": clock.now(),
        },
    )
    audit.record(
        "customer",
        "support.reply_rated",
        ("ticket", message.ticket_id),
        outcome=score,
        details={"message": message.pk, "channel": channel, "changed": not created},
    )
    return rating


def escalate(ticket: Ticket, summary: str, reason: str, payload: dict[str, object]) -> Approval:
    ticket.status = Ticket.Status.ESCALATED
    ticket.save(update_fields=["status"])
    approval = approvals.request(AGENT, REPLY, ("ticket", ticket.pk), summary, reason, payload)
    # Keyed by the approval: a ticket escalated again while it waits pings the founder once.
    notifications.publish(
        notifications.ESCALATION,
        f"Ticket #{ticket.pk} needs you: {ticket.subject or '(no subject)'}",
        f"{summary}\nWhy: {reason}",
        link=f"{settings.SITE_URL.rstrip('/')}/tickets/{ticket.pk}/",
        urgent=ticket.priority == Ticket.Priority.URGENT,
        key=f"escalation:approval:{approval.pk}",
    )
    return approval


def approve_reply(
    approval: Approval, user: AbstractBaseUser, body: str | None = None, intent: str | None = None
) -> Message | None:
    """The founder sends the draft (as is or edited); the label becomes a training example.

    An approval that proposes an account action (a refund...) returns None: the action runs in
    a job after the commit, and that job sends the reply once Stripe has done it."""
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
        message: Message | None = None
        if ACCOUNT_ACTION in approval.payload:
            pk = approval.pk
            transaction.on_commit(lambda: jobs.enqueue(RUN_ACCOUNT_ACTION, pk))
        else:
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


def edit_article(
    slug: str,
    title: str,
    intent: str,
    body: str,
    answer: str,
    examples: list[str],
    published: bool,
    user: AbstractBaseUser,
) -> KnowledgeArticle:
    """The founder writes an article in the cockpit: saved, audited, and the agent retrained
    (its examples, or whether it is published, change what the classifier learns)."""
    article = save_article(slug, title, intent, body, answer, examples, published)
    audit.record(
        f"user:{user.get_username()}",
        "support.article_saved",
        ("article", article.pk),
        outcome="published" if published else "unpublished",
        details={"slug": slug, "intent": article.intent, "examples": len(examples)},
    )
    transaction.on_commit(lambda: jobs.enqueue("founderops.support.tasks.refresh_classifier"))
    return article


# Saved replies (macros).


def save_macro(
    title: str, body: str, intent: str, user: AbstractBaseUser, macro: SavedReply | None = None
) -> SavedReply:
    """Create a saved reply, or update `macro`; titles are unique."""
    title, body, intent = clean_line(title, 120), body.strip(), intent.strip()
    if not title:
        raise InvalidInput("a saved reply needs a title")
    if not body:
        raise InvalidInput("a saved reply needs a text")
    taken = SavedReply.objects.filter(title=title)
    if macro is not None and macro.pk is not None:
        taken = taken.exclude(pk=macro.pk)
    if taken.exists():
        raise InvalidInput(f"a saved reply is already called {title!r}")
    macro = macro or SavedReply()
    macro.title, macro.body, macro.intent, macro.updated_at = title, body, intent, clock.now()
    try:
        with transaction.atomic():
            macro.save()
    except IntegrityError:
        raise InvalidInput(f"a saved reply is already called {title!r}") from None
    audit.record(
        f"user:{user.get_username()}", "support.macro_saved", ("savedreply", macro.pk), title
    )
    return macro


def delete_macro(macro: SavedReply, user: AbstractBaseUser) -> None:
    pk, title = macro.pk, macro.title
    macro.delete()
    audit.record(f"user:{user.get_username()}", "support.macro_deleted", ("savedreply", pk), title)


def fill_macro(body: str, customer_name: str) -> str:
    """{name} becomes the customer's first name ("there" when unknown); other braces stay."""
    first = customer_name.split()[0] if customer_name.strip() else "there"
    return body.replace("{name}", first)


def use_macro(macro: SavedReply, ticket: Ticket, user: AbstractBaseUser) -> str:
    """The text to put in the ticket's draft; the use is counted (one conditional update)."""
    SavedReply.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)
    audit.record(
        f"user:{user.get_username()}",
        "support.macro_used",
        ("ticket", ticket.pk),
        outcome=macro.title,
        details={"macro": macro.pk},
    )
    return fill_macro(macro.body, ticket.customer.name)
