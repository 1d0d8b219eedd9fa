"""The REST API (django-ninja). Header tokens, stored hashed; OpenAPI at /api/docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import ConfigDict, Field

from founderops.api.models import ApiToken
from founderops.api.tokens import check_token
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import Ticket


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return check_token(token)


api = NinjaAPI(
    title="FounderOps API",
    version="1",
    auth=TokenAuth(),
    docs_decorator=staff_member_required,
    urls_namespace="api",
)


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=422)


def require_scope(request: HttpRequest, scope: str) -> None:
    token = request.auth  # type: ignore[attr-defined]
    if scope not in token.scopes:
        raise HttpError(403, f"this token lacks the {scope!r} scope")


class TicketIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    body: str
    subject: str = Field("", max_length=300)
    name: str = Field("", max_length=200)
    external_id: str | None = Field(None, max_length=200)
    created_at: datetime | None = None


class TicketOut(Schema):
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
    created_at: datetime
    first_response_at: datetime | None
    messages: list[dict[str, Any]]


def ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        id=ticket.pk,
        status=ticket.status,
        subject=ticket.subject,
        channel=ticket.channel,
        intent=ticket.intent,
        confidence=ticket.confidence,
        priority=ticket.priority,
        sentiment=ticket.sentiment,
        language=ticket.language,
        external_id=ticket.external_id,
        created_at=ticket.created_at,
        first_response_at=ticket.first_response_at,
        messages=[
            {"author": m.author, "body": m.body, "created_at": m.created_at.isoformat()}
            for m in ticket.messages.all()
        ],
    )


@api.post("/tickets", response={201: TicketOut, 200: TicketOut})
def create_ticket(request: HttpRequest, payload: TicketIn) -> tuple[int, TicketOut]:
    require_scope(request, "tickets:write")
    ticket, created = services.receive_ticket(
        services.Incoming(
            email=payload.email,
            body=payload.body,
            subject=payload.subject,
            name=payload.name,
            channel=Ticket.Channel.API,
            external_id=payload.external_id,
            created_at=payload.created_at,
        )
    )
    ticket.refresh_from_db()
    return (201 if created else 200), ticket_out(ticket)


@api.get("/tickets/{ticket_id}", response=TicketOut)
def get_ticket(request: HttpRequest, ticket_id: int) -> TicketOut:
    require_scope(request, "tickets:read")
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise HttpError(404, f"no ticket {ticket_id}")
    return ticket_out(ticket)
