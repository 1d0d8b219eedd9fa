"""Who may use the cockpit, and one access helper per resource it shows.

One installation serves one business, so "access" means: a signed-in, active team member
whose role allows the view (accounts.roles). LoginRequiredMiddleware sends anonymous visitors
to the login page before any view runs; `staff_required` lets any role look,
`agent_required` lets agents and owners act, `owner_required` is for owners alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property, wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.timesince import timesince

from founderops.accounts import roles
from founderops.accounts.roles import Role
from founderops.ai.models import Approval
from founderops.core.models import AuditEvent
from founderops.support import services
from founderops.support.models import Decision, KnowledgeArticle, Message, Rating, Ticket

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def founder(request: HttpRequest, needed: str = Role.VIEWER) -> AbstractBaseUser:
    """The signed-in team member acting on this request, if their role allows `needed`."""
    user = request.user
    role = role_of(request)
    if not isinstance(user, AbstractBaseUser) or role is None:
        raise PermissionDenied("the cockpit is for the founder's team accounts")
    if not roles.allows(role, needed):
        raise PermissionDenied(f"this needs the {needed} role; your account is {role}")
    return user


def role_required(needed: str) -> Callable[[ViewFunc], ViewFunc]:
    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            founder(request, needed)
            return view(request, *args, **kwargs)

        return cast(ViewFunc, guarded)

    return decorate


# Any team member may look; agents (and owners) may act; owners alone change settings.
staff_required = role_required(Role.VIEWER)
agent_required = role_required(Role.AGENT)
owner_required = role_required(Role.OWNER)


def may(request: HttpRequest, needed: str) -> bool:
    """Whether the signed-in member's role allows `needed` (pages hide what it would refuse)."""
    return roles.allows(role_of(request), needed)


_ROLE_KEY = "_founderops_role"


def role_of(request: HttpRequest) -> str | None:
    """The signed-in member's role, read once per request (the guard and the page both ask).

    Kept on the request, not the user object: a role changed in another request is seen by
    the next one, and a request that changes a role redirects (post/redirect/get).
    """
    if _ROLE_KEY not in request.__dict__:
        request.__dict__[_ROLE_KEY] = roles.role_of(request.user)
    role: str | None = request.__dict__[_ROLE_KEY]
    return role


# Tickets and their approvals.


def get_ticket(pk: int) -> Ticket:
    return get_object_or_404(Ticket.objects.select_related("customer", "article"), pk=pk)


def ticket_approvals(ticket: Ticket) -> QuerySet[Approval]:
    return Approval.objects.filter(
        agent=services.AGENT,
        action=services.REPLY,
        subject_type="ticket",
        subject_id=str(ticket.pk),
    ).order_by("-created_at", "-id")


def pending_approval(ticket: Ticket) -> Approval | None:
    return ticket_approvals(ticket).filter(status=Approval.Status.PENDING).first()


def search_tickets(
    q: str = "",
    status: str = "",
    channel: str = "",
    priority: str = "",
    intent: str = "",
    sentiment: str = "",
    since: date | str = "",
    until: date | str = "",
    rating: str = "",
) -> QuerySet[Ticket]:
    """Tickets matching every filter given (an empty one filters nothing), newest first.

    Dates are days in the founder's time zone, both ends included.
    """
    tickets = Ticket.objects.select_related("customer")
    exact = {"status": status, "channel": channel, "priority": priority, "intent": intent}
    tickets = tickets.filter(**{name: value for name, value in exact.items() if value})
    if sentiment:
        tickets = tickets.filter(sentiment=sentiment)
    tickets = tickets.filter(**day_range("created_at", since, until))
    return _matching(_rated(tickets, rating), q.strip())


def _matching(tickets: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    if not query:
        return tickets
    if query.lstrip("#").isdigit():
        return tickets.filter(pk=int(query.lstrip("#")))
    in_thread = Message.objects.filter(ticket=OuterRef("pk"), body__icontains=query)
    return tickets.filter(
        Q(subject__icontains=query)
        | Q(customer__email__icontains=query)
        | Q(customer__name__icontains=query)
        | Exists(in_thread)
    )


RATING_FILTERS = {
    "rated": {},
    "good": {"score": Rating.Score.GOOD},
    "bad": {"score": Rating.Score.BAD},
}


def _rated(tickets: QuerySet[Ticket], rating: str) -> QuerySet[Ticket]:
    if rating == "none":
        return tickets.filter(~Exists(Rating.objects.filter(ticket=OuterRef("pk"))))
    if rating not in RATING_FILTERS:
        return tickets
    scores = RATING_FILTERS[rating]
    return tickets.filter(Exists(Rating.objects.filter(ticket=OuterRef("pk"), **scores)))


def day_range(column: str, since: date | str, until: date | str) -> dict[str, datetime]:
    """Lookups for the days since..until (inclusive) in the founder's time zone."""
    zone = timezone.get_current_timezone()
    lookups = {}
    if isinstance(since, date):
        lookups[f"{column}__gte"] = datetime.combine(since, time.min, tzinfo=zone)
    if isinstance(until, date):
        lookups[f"{column}__lt"] = datetime.combine(until + timedelta(days=1), time.min, zone)
    return lookups


def ticket_intents() -> list[str]:
    """The intents tickets carry (for the filter), from the index on the column."""
    rows = Ticket.objects.exclude(intent="").order_by("intent").values_list("intent", flat=True)
    return list(rows.distinct())


@dataclass(frozen=True)
class TicketContext:
    """What the founder sees beside a ticket: the customer's history and similar tickets."""

    history: list[dict[str, Any]] = field(default_factory=list)
    similar: list[dict[str, Any]] = field(default_factory=list)


def ticket_context(ticket: Ticket, approval: Approval | None) -> TicketContext:
    """The tickets the agent saw (the approval's payload), else live history and similar ones.

    A payload is a snapshot from the escalation; only its ids are trusted, so each ticket
    shows its status now, not the one it had then.
    """
    if approval is not None:
        payload = approval.payload
        return TicketContext(
            _current(payload.get("history"), with_intent=True),
            _current(payload.get("similar"), with_intent=False),
        )
    history = ticket.customer.tickets.exclude(pk=ticket.pk).values(
        "id", "subject", "status", "intent"
    )[:10]
    similar = (
        Ticket.objects.filter(intent=ticket.intent)
        .exclude(pk=ticket.pk)
        .values("id", "subject", "status")[:5]
        if ticket.intent
        else []
    )
    return TicketContext([dict(row) for row in history], [dict(row) for row in similar])


def _current(rows: object, with_intent: bool) -> list[dict[str, Any]]:
    """The payload's ticket references, as the tickets are now (deleted ones left out)."""
    if not isinstance(rows, list):
        return []
    ids = [row["id"] for row in rows if isinstance(row, dict) and isinstance(row.get("id"), int)]
    fields = ["id", "subject", "status", *(["intent"] if with_intent else [])]
    found = {row["id"]: row for row in Ticket.objects.filter(pk__in=ids).values(*fields)}
    return [dict(found[pk]) for pk in dict.fromkeys(ids) if pk in found]


@dataclass(frozen=True)
class Reasoning:
    """Why the agent did what it did: from its Decision, else from what its approval carried."""

    escalated: bool
    reason: str
    intent: str
    confidence: float | None
    similarity: float | None = None
    threshold: float | None = None
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    article: KnowledgeArticle | None = None
    model_version: str = ""
    writer: str = ""


def reasoning(ticket: Ticket, approval: Approval | None) -> Reasoning | None:
    decision = ticket.decisions.select_related("article").first()
    if decision is not None:
        return Reasoning(
            escalated=decision.action == Decision.Action.ESCALATE,
            reason=decision.reason,
            intent=decision.intent,
            confidence=decision.confidence,
            similarity=decision.similarity,
            threshold=decision.threshold,
            alternatives=_others(decision.details.get("alternatives"), decision.intent),
            article=decision.article,
            model_version=decision.model_version,
            writer=str(decision.details.get("writer", "")),
        )
    if approval is None:
        return None
    payload = approval.payload
    slug = payload.get("article")
    return Reasoning(
        escalated=True,
        reason=approval.reason,
        intent=str(payload.get("intent", "")),
        confidence=payload.get("confidence"),
        alternatives=_others(payload.get("alternatives"), str(payload.get("intent", ""))),
        article=KnowledgeArticle.objects.filter(slug=slug).first() if slug else None,
    )


def _others(alternatives: object, chosen: str) -> list[tuple[str, float]]:
    """The runners-up as (intent, score) pairs, without the intent the agent chose."""
    if not isinstance(alternatives, list):
        return []
    pairs = [a for a in alternatives if isinstance(a, list | tuple) and len(a) == 2]
    return [(str(intent), float(p)) for intent, p in pairs if intent != chosen]


# The approval inbox.


@dataclass(frozen=True)
class InboxRow:
    """A waiting approval and its ticket, with the row's dates and link made here: fifty rows
    of template filters and `{% url %}` tags cost more than the page's queries."""

    approval: Approval
    ticket: Ticket | None

    @cached_property
    def received(self) -> datetime:
        return timezone.localtime(self.approval.created_at)

    @property
    def received_iso(self) -> str:
        return self.received.isoformat()

    @property
    def received_label(self) -> str:
        return str(formats.localize(self.received))

    @property
    def waiting_for(self) -> str:
        return timesince(self.received)

    @property
    def ticket_url(self) -> str:
        return reverse("web:ticket", args=[self.ticket.pk]) if self.ticket is not None else ""


INBOX_PAGE_SIZE = 50


def inbox_page(number: str | None) -> Page[InboxRow]:
    """One page of pending approvals, most urgent first, then oldest first, with tickets.

    The database sorts (by each approval's ticket's priority, a subquery on the primary key)
    and pages, so only the page shown is read: its count, its rows and their tickets, three
    queries however many approvals wait.
    """
    page = Paginator(inbox_order(), INBOX_PAGE_SIZE).get_page(number)
    shown = [(approval, _ticket_pk(approval)) for approval in page.object_list]
    tickets = Ticket.objects.select_related("customer").in_bulk(
        [pk for _, pk in shown if pk is not None]
    )
    rows = [InboxRow(a, tickets.get(pk) if pk is not None else None) for a, pk in shown]
    return Page(rows, page.number, page.paginator)  # type: ignore[arg-type]


def _ticket_pk(approval: Approval) -> int | None:
    """The ticket id `inbox_order` read from the approval's subject (None: not a ticket)."""
    pk = approval.__dict__.get("ticket_pk")
    return pk if isinstance(pk, int) else None


def inbox_order() -> QuerySet[Approval]:
    """Pending approvals in the order the inbox shows them: the ticket's priority (normal for
    an approval that is not about a ticket, or whose ticket is gone), then oldest first."""
    ticket_pk = Case(
        When(subject_type="ticket", then=DigitsAsInteger("subject_id")),
        default=None,
        output_field=BigIntegerField(),
    )
    # No ordering: one row by primary key (Ticket's default order would sort it each time).
    priority = Ticket.objects.filter(pk=OuterRef("ticket_pk")).order_by().values("priority")[:1]
    return (
        Approval.objects.filter(status=Approval.Status.PENDING)
        .annotate(ticket_pk=ticket_pk)
        .annotate(
            rank=Coalesce(
                Subquery(priority), Value(Ticket.Priority.NORMAL), output_field=IntegerField()
            )
        )
        .order_by("rank", "created_at", "pk")
    )


class DigitsAsInteger(Func):
    """A text column holding a number as that number, else NULL (never an error).

    PostgreSQL refuses to cast "abc" (or a number too large) to bigint and fails the whole
    query, so the text is checked first; SQLite's CAST never fails, but it would read "12abc"
    as 12, so it is checked there too (with GLOB: a regular expression is Python on SQLite).
    """

    arity = 1
    output_field = BigIntegerField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        # At most 18 digits: every such number fits in a bigint.
        check = f"{sql} ~ '^[0-9]{{1,18}}$'"
        return f"CASE WHEN {check} THEN CAST({sql} AS bigint) END", [*params, *params]

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        check = f"{sql} <> '' AND {sql} NOT GLOB '*[^0-9]*' AND length({sql}) <= 18"
        return f"CASE WHEN {check} THEN CAST({sql} AS INTEGER) END", [*params] * 4


def pending_count() -> int:
    return Approval.objects.filter(status=Approval.Status.PENDING).count()


# Knowledge.


def knowledge_articles() -> QuerySet[KnowledgeArticle]:
    return KnowledgeArticle.objects.annotate(matched=Count("tickets")).order_by("title")


def known_intents() -> list[tuple[str, str]]:
    """The intents a founder may pick: published articles' intents, and 'unknown request'."""
    choices: dict[str, str] = {}
    rows = KnowledgeArticle.objects.filter(published=True).order_by("intent", "title")
    for intent, title in rows.values_list("intent", "title"):
        choices.setdefault(intent, f"{intent} — {title}")
    choices[services.UNKNOWN_INTENT] = f"{services.UNKNOWN_INTENT} — unknown request, never answer"
    return list(choices.items())


# The audit trail.


def audit_events(
    actor: str = "",
    action: str = "",
    subject: str = "",
    since: date | str = "",
    until: date | str = "",
) -> QuerySet[AuditEvent]:
    """Events filtered by actor prefix ("user:" or "agent:support"), exact action, subject
    ("ticket" or "ticket:42") and days (inclusive, in the founder's time zone)."""
    events = AuditEvent.objects.filter(**day_range("created_at", since, until))
    if actor:
        events = events.filter(actor__startswith=actor)
    if action:
        events = events.filter(action=action)
    if subject:
        subject_type, _, subject_id = subject.partition(":")
        events = events.filter(subject_type=subject_type)
        if subject_id:
            events = events.filter(subject_id=subject_id)
    return events


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
