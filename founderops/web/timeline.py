"""A customer's timeline: everything about them from every domain, newest first.

The timeline is a list of sources, each a function from a customer (and a row limit) to its
newest entries, newest first. A domain adds
its own (revenue's payments, refunds and dunning) by appending a function to SOURCES; the page
needs no change. Each source reads at most PER_SOURCE rows in one or two queries, so a
customer with years of history still loads quickly; the page says when it shows less.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.urls import reverse

from founderops.core import audit_words
from founderops.core.models import AuditEvent
from founderops.customers.models import Customer
from founderops.reports import revenue_detail
from founderops.reports.revenue_text import native
from founderops.support.models import Message, Rating, Ticket

PER_SOURCE = 200
# These actions restate an entry another source already shows (the ticket, the message,
# the rating itself); listing them twice would only add noise.
RESTATED = ("support.ticket_received", "support.message_received", "support.reply_rated")


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    body: str = ""
    url: str = ""
    actor: str = ""
    badge: str = ""


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    # True when a source had more rows than shown: the page covers only the newest moments.
    truncated: bool


Source = Callable[[Customer, int], list[Entry]]


def ticket_url(ticket_id: int) -> str:
    return reverse("web:ticket", kwargs={"pk": ticket_id})


def ticket_entries(customer: Customer, limit: int) -> list[Entry]:
    rows = customer.tickets.order_by("-created_at", "-id").values(
        "pk", "created_at", "subject", "channel", "status"
    )[:limit]
    return [
        Entry(
            r["created_at"],
            "ticket",
            f"Opened ticket #{r['pk']}: {r['subject'] or '(no subject)'}",
            url=ticket_url(r["pk"]),
            actor=Ticket.Channel(r["channel"]).label if r["channel"] in Ticket.Channel else "",
            badge=Ticket.Status(r["status"]).label if r["status"] in Ticket.Status else "",
        )
        for r in rows
    ]


MESSAGE_TITLES: dict[str, str] = {
    Message.Author.CUSTOMER: "Wrote",
    Message.Author.AGENT: "The Support Agent replied",
    Message.Author.FOUNDER: "You replied",
}


def message_entries(customer: Customer, limit: int) -> list[Entry]:
    rows = (
        Message.objects.filter(ticket__customer=customer)
        .order_by("-created_at", "-id")
        .values("created_at", "author", "body", "ticket_id")[:limit]
    )
    return [
        Entry(
            r["created_at"],
            f"message-{r['author']}",
            f"{MESSAGE_TITLES.get(r['author'], r['author'])} on #{r['ticket_id']}",
            body=r["body"],
            url=ticket_url(r["ticket_id"]),
        )
        for r in rows
    ]


def rating_entries(customer: Customer, limit: int) -> list[Entry]:
    rows = (
        Rating.objects.filter(ticket__customer=customer)
        .order_by("-created_at", "-id")
        .values("created_at", "score", "comment", "channel", "ticket_id")[:limit]
    )
    return [
        Entry(
            r["created_at"],
            f"rating-{r['score']}",
            f"Rated the reply on #{r['ticket_id']} "
            + ("good" if r["score"] == Rating.Score.GOOD else "not good"),
            body=r["comment"],
            url=ticket_url(r["ticket_id"]),
            actor=r["channel"],
        )
        for r in rows
    ]


def audit_entries(customer: Customer, limit: int) -> list[Entry]:
    """What agents and people did about the customer or any of their tickets."""
    ticket_ids = customer.tickets.annotate(key=Cast("pk", CharField())).values("key")
    about = Q(subject_type="ticket", subject_id__in=ticket_ids) | Q(
        subject_type="customer", subject_id=str(customer.pk)
    )
    rows = (
        AuditEvent.objects.filter(about)
        .exclude(action__in=RESTATED)
        .order_by("-id")
        .only("created_at", "actor", "action", "outcome", "subject_type", "subject_id")[:limit]
    )
    return [action_entry(row) for row in rows]


def action_entry(row: AuditEvent) -> Entry:
    """An audit event in words: "Escalated to you on ticket #12", not `support.escalate`."""
    said = audit_words.describe(row)
    title = str(said)
    return Entry(
        row.created_at,
        "action",
        title,
        url=ticket_url(int(row.subject_id)) if row.subject_type == "ticket" else "",
        actor=audit_words.actor(row.actor),
        # "Escalated to you" needs no "escalated" beside it.
        badge="" if said.note.lower() in title.lower() else said.note,
    )


PAYMENT_TITLES = {"paid": "Paid", "failed": "Payment failed:", "refund": "Refunded"}


def payment_entries(customer: Customer, limit: int) -> list[Entry]:
    """Their Stripe charges (paid or failed) and refunds, in the mode the numbers use."""
    found = revenue_detail.payments(customer.pk, settings.STRIPE_LIVEMODE, limit)
    return [
        Entry(
            p.at,
            f"payment-{p.kind}",
            f"{PAYMENT_TITLES[p.kind]} {native(p.amount, p.currency)}",
            body=p.detail if p.kind != "paid" else "",
            actor="Stripe",
            badge=p.invoice and f"invoice {p.invoice}",
        )
        for p in found
    ]


def dunning_entries(customer: Customer, limit: int) -> list[Entry]:
    """Dunning after a failed payment: its start and what it planned, each step's outcome (a
    retry with the amount of the charge it made, which `payment_entries` then leaves out),
    its end. What comes next is the page's summary (`running_dunning`), not a past entry's."""
    found = revenue_detail.dunning(customer.pk, settings.STRIPE_LIVEMODE, limit)
    return [
        Entry(
            m.at,
            "dunning",
            m.title if m.amount is None else f"{m.title}: {native(m.amount, m.currency)}",
            body=m.detail,
            actor="FounderOps",
            badge=f"invoice {m.invoice}",
        )
        for m in found
    ]


def running_dunning(customer: Customer) -> list[revenue_detail.Running]:
    """Their dunning still running, each with its next step: the current state, above the
    timeline."""
    return revenue_detail.running(customer.pk, settings.STRIPE_LIVEMODE)


SOURCES: list[Source] = [
    ticket_entries,
    message_entries,
    rating_entries,
    audit_entries,
    payment_entries,
    dunning_entries,
]


def timeline(customer: Customer, per_source: int | None = None) -> Timeline:
    per_source = per_source or PER_SOURCE
    entries: list[Entry] = []
    cutoffs = []
    for source in SOURCES:
        found = source(customer, per_source + 1)
        if len(found) > per_source:
            # This source shows only its newest rows: older moments would look incomplete.
            cutoffs.append(found[per_source - 1].at)
        entries += found[:per_source]
    if cutoffs:
        entries = [e for e in entries if e.at >= max(cutoffs)]
    # Newest first. A ticket opened and its first message share a moment; the opening came
    # first, so in newest-first order it goes below the message.
    entries.sort(key=lambda e: (e.at, e.kind != "ticket"), reverse=True)
    return Timeline(entries, truncated=bool(cutoffs))
