"""The REST API (django-ninja). Header tokens, stored hashed; OpenAPI at /api/docs.

Every error is JSON `{"detail": "what is wrong"}`: 400 unreadable JSON, 401 no valid token,
403 missing scope or failed CSRF check, 404 unknown ticket, 409 an `external_id` reused for a
different request, 413 request too large, 422 input that cannot be accepted (validation
errors also list `errors` with each field's location).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from founderops.accounts import roles
from founderops.api import ingest, schemas
from founderops.api.auth import StaffSession, TokenAuth, require_scope
from founderops.core import audit
from founderops.core.errors import Conflict, InvalidInput
from founderops.core.models import AuditEvent
from founderops.support import services
from founderops.support.models import Ticket

# The schema and its browsable page keep the staff login; every operation authenticates itself.
_DOCS_VIEWS = {"openapi-json", "openapi-view", "api-root"}
_ERRORS = {code: schemas.ErrorOut for code in (400, 401, 403, 413, 422)}


class FounderOpsAPI(NinjaAPI):
    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        # LoginRequiredMiddleware would send a token call to the login page; operations
        # check their own token or session instead.
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and pattern.name not in _DOCS_VIEWS:
                login_not_required(pattern.callback)
        return patterns, app_name, namespace


def staff_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and its page are for staff: others sign in on the product's login page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if roles.role_of(user) is None:
            raise PermissionDenied("the API documentation is for the team's accounts")
        return view(request, *args, **kwargs)

    return guarded


api = FounderOpsAPI(
    title="FounderOps API",
    version="1",
    description="Send tickets, logs and metrics in, read tickets and the audit trail. "
    "Authenticate with `Authorization: Bearer fo_…` (see `founderops tokens create`).",
    auth=[TokenAuth(), StaffSession()],
    docs_decorator=staff_docs,
    urls_namespace="api",
)


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=422)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, error: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=409)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    detail = "missing or invalid API token: send the header 'Authorization: Bearer fo_…'"
    response = api.create_response(request, {"detail": detail}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    # Ninja wraps a body it cannot parse; say what the parser said.
    if isinstance(error.__cause__, RecursionError):
        detail = "the request body is not valid JSON: it is nested too deeply, or malformed"
        return api.create_response(request, {"detail": detail}, status=400)
    if isinstance(error.__cause__, ValueError):
        detail = f"the request body is not valid JSON: {error.__cause__}"
        return api.create_response(request, {"detail": detail}, status=400)
    return api.create_response(request, {"detail": str(error)}, status=error.status_code)


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = f"the request is larger than {limit:,} bytes (FOUNDEROPS_MAX_REQUEST_BYTES)"
    return api.create_response(request, {"detail": detail}, status=413)


@api.exception_handler(ValidationError)
def invalid_fields(request: HttpRequest, error: ValidationError) -> HttpResponse:
    problems = [_problem(e) for e in error.errors]
    body = {"detail": "; ".join(str(p["msg"]) for p in problems), "errors": problems}
    return api.create_response(request, body, status=422)


def _problem(error: dict[str, object]) -> dict[str, object]:
    where = error.get("loc")
    loc = [str(part) for part in where] if isinstance(where, list | tuple) else []
    # ["body", "payload", "email"] names the field "email"; ["query", "limit"] names "limit".
    field = ".".join(loc[2:] if loc[:1] == ["body"] else loc[1:])
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        msg = f"unknown field {field!r}"
    elif kind == "missing" and not field:
        msg = "the request body is empty: send a JSON object"
    elif kind == "missing":
        msg = f"missing field {field!r}"
    else:
        msg = f"{field or 'the request body'}: {error.get('msg', 'invalid')}"
    return {"loc": loc, "type": kind, "msg": msg}


@api.post(
    "/tickets",
    response={201: schemas.TicketOut, 200: schemas.TicketOut, 409: schemas.ErrorOut, **_ERRORS},
)
def create_ticket(request: HttpRequest, payload: schemas.TicketIn) -> Status[schemas.TicketOut]:
    """A customer's request. The same `external_id` (per channel) with the same body again
    returns the first ticket with 200; with a different body it is refused with 409."""
    require_scope(request, "tickets:write")
    ticket, created = services.receive_ticket(
        services.Incoming(
            email=payload.email,
            body=payload.body,
            subject=payload.subject,
            name=payload.name,
            channel=payload.channel,
            external_id=payload.external_id,
            created_at=payload.created_at,
        )
    )
    ticket.refresh_from_db()
    return Status(201 if created else 200, schemas.ticket_out(ticket))


@api.get("/tickets", response={200: schemas.TicketPage, **_ERRORS})
def list_tickets(request: HttpRequest, filters: Query[schemas.TicketFilters]) -> object:
    """Newest first; filter by status and intent; `limit` (at most 100) and `offset`."""
    require_scope(request, "tickets:read")
    tickets = Ticket.objects.select_related("customer")
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.intent:
        tickets = tickets.filter(intent=filters.intent)
    page = tickets[filters.offset : filters.offset + filters.limit]
    return {"count": tickets.count(), "items": [schemas.ticket_summary(t) for t in page]}


@api.get(
    "/tickets/{ticket_id}", response={200: schemas.TicketOut, 404: schemas.ErrorOut, **_ERRORS}
)
def get_ticket(request: HttpRequest, ticket_id: int) -> object:
    require_scope(request, "tickets:read")
    return schemas.ticket_out(_ticket(ticket_id))


@api.post(
    "/tickets/{ticket_id}/messages",
    response={
        201: schemas.TicketOut,
        200: schemas.TicketOut,
        404: schemas.ErrorOut,
        409: schemas.ErrorOut,
        **_ERRORS,
    },
)
def add_message(
    request: HttpRequest, ticket_id: int, payload: schemas.MessageIn
) -> Status[schemas.TicketOut]:
    """The customer's follow-up (201); an answered ticket goes back to the founder. A retry
    with an `external_id` already stored returns the ticket unchanged with 200."""
    require_scope(request, "tickets:write")
    ticket = _ticket(ticket_id)
    _, created = services.add_customer_message(
        ticket, payload.body, payload.created_at, payload.external_id
    )
    ticket.refresh_from_db()
    return Status(201 if created else 200, schemas.ticket_out(ticket))


def _ticket(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        raise HttpError(404, f"no ticket {ticket_id}")
    return ticket


@api.get("/audit", response={200: schemas.AuditPage, **_ERRORS})
def list_audit(request: HttpRequest, filters: Query[schemas.AuditFilters]) -> object:
    """The audit trail, newest first; `limit` (at most 100) and `offset`."""
    require_scope(request, "audit:read")
    events = _audit_events(filters)
    page = events[filters.offset : filters.offset + filters.limit]
    return {"count": events.count(), "items": [e.as_record() for e in page]}


@api.get("/audit/export", response={200: None, **_ERRORS})
def export_audit(
    request: HttpRequest, filters: Query[schemas.AuditFilters]
) -> StreamingHttpResponse:
    """The whole (filtered) trail as JSON Lines, oldest first; limit and offset are ignored."""
    require_scope(request, "audit:read")
    lines = audit.export_jsonl(_audit_events(filters).order_by("id"))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
    response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
    return response


def _audit_events(filters: schemas.AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    for name in ("action", "subject_type", "subject_id"):
        value = getattr(filters, name)
        if value:
            events = events.filter(**{name: value})
    return events


# Logs and metrics in (founderops.api.ingest): their own body format, JSON Lines or an array.
api.add_router("", ingest.router)
