"""What the API accepts and returns. Unknown fields are refused, never silently dropped."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from founderops.support.models import Message, Ticket

MAX_PAGE = 100
# Databases take offsets as 64-bit integers; no real list is longer than this.
MAX_OFFSET = 1_000_000_000


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TicketIn(Strict):
    email: str = Field(max_length=254, description="The customer's email address")
    body: str = Field(description="The request; HTML mail is turned into text")
    subject: str = Field("", max_length=300)
    name: str = Field("", max_length=200, description="The customer's name, if known")
    external_id: str | None = Field(
        None,
        max_length=200,
        description="The source's id: the same id twice returns the first ticket (200)",
    )
    created_at: datetime | None = Field(None, description="ISO 8601 with a time zone")
    channel: Ticket.Channel = Ticket.Channel.API


class MessageIn(Strict):
    body: str = Field(description="The customer's follow-up")
    created_at: datetime | None = Field(None, description="ISO 8601 with a time zone")
    external_id: str | None = Field(
        None, max_length=200, description="Your id for this message: a retry stores it once"
    )


class Filters(Strict):
    """Query-string filters: matched against stored text, so a NUL character (which no stored
    text holds, and PostgreSQL refuses in a query) is refused with a 422."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class TicketFilters(Filters):
    status: Ticket.Status | None = None
    intent: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AuditFilters(Filters):
    action: str | None = Field(None, max_length=100)
    subject_type: str | None = Field(None, max_length=100)
    subject_id: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class MessageOut(Schema):
    author: str
    body: str
    created_at: datetime


class TicketSummary(Schema):
    id: int
    status: str
    subject: str
    channel: str
    intent: str
    confidence: float | None
    priority: int
    sentiment: str
    language: str
    external_id: str | None
    customer_id: int
    customer_email: str
    created_at: datetime
    first_response_at: datetime | None


class TicketOut(TicketSummary):
    messages: list[MessageOut]


class TicketPage(Schema):
    count: int
    items: list[TicketSummary]


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    inputs: dict[str, object]
    model: str
    model_version: str
    confidence: float | None
    outcome: str
    details: dict[str, object]
    previous_hash: str
    hash: str


class AuditPage(Schema):
    count: int
    items: list[AuditEventOut]


class ErrorOut(Schema):
    detail: str


def ticket_summary(ticket: Ticket) -> TicketSummary:
    return TicketSummary.model_validate(_ticket_fields(ticket))


def ticket_out(ticket: Ticket) -> TicketOut:
    messages = [message_out(m) for m in ticket.messages.all()]
    return TicketOut.model_validate({**_ticket_fields(ticket), "messages": messages})


def message_out(message: Message) -> MessageOut:
    return MessageOut(author=message.author, body=message.body, created_at=message.created_at)


def _ticket_fields(ticket: Ticket) -> dict[str, object]:
    return {
        "id": ticket.pk,
        "status": ticket.status,
        "subject": ticket.subject,
        "channel": ticket.channel,
        "intent": ticket.intent,
        "confidence": ticket.confidence,
        "priority": ticket.priority,
        "sentiment": ticket.sentiment,
        "language": ticket.language,
        "external_id": ticket.external_id,
        "customer_id": ticket.customer_id,
        "customer_email": ticket.customer.email,
        "created_at": ticket.created_at,
        "first_response_at": ticket.first_response_at,
    }
