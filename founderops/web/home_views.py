"""Home: today at a glance. What needs the founder, what the agents did, the key figures.

Every number is one aggregate query, whatever the number of tickets: the page is loaded
often (by a founder and by load tests with 10,000 tickets), so nothing here runs per row.
Percentiles are read from the database too (one `ORDER BY … OFFSET` each), so no list of
waits is ever fetched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from founderops.ai.models import Approval
from founderops.core import audit_words, clock
from founderops.core.audit_words import Described, describe
from founderops.core.models import AuditEvent
from founderops.incidents import slo, statuspage
from founderops.incidents.models import Incident
from founderops.reports.support import PRESSING, duration
from founderops.support.models import Decision, Rating, Ticket
from founderops.web.access import staff_required

PRESSING_SHOWN = 5
AGENT_EVENTS_SHOWN = 8
FIGURES_DAYS = 7
CSAT_DAYS = 30


@dataclass(frozen=True)
class NeedsYou:
    pending: int
    pressing: list[Ticket]
    pressing_total: int
    oldest: Approval | None


@dataclass(frozen=True)
class AgentEvent:
    """An agent's audit event and the words the founder reads for it."""

    event: AuditEvent
    words: Described
    actor: str


@dataclass(frozen=True)
class AgentsToday:
    answered: int
    escalated: int
    events: list[AgentEvent]


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str
    hint: str = ""


@dataclass(frozen=True)
class Card:
    """One domain's block of figures on the home page."""

    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    link: str = ""
    link_label: str = ""


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    waiting = needs_you()
    context = {
        "needs_you": waiting,
        "pending_total": waiting.pending,
        "agents": agents_today(start_of_day(now)),
        "cards": cards(now),
    }
    return render(request, "web/home.html", context)


def start_of_day(now: datetime) -> datetime:
    """Midnight today in the founder's time zone (FOUNDEROPS_TIME_ZONE)."""
    zone = timezone.get_current_timezone()
    return datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)


def needs_you() -> NeedsYou:
    pressing = Ticket.objects.filter(status=Ticket.Status.ESCALATED, priority__in=PRESSING)
    oldest = (
        Approval.objects.filter(status=Approval.Status.PENDING)
        .only("created_at", "summary", "subject_type", "subject_id", "agent", "action")
        .order_by("created_at", "id")
        .first()
    )
    return NeedsYou(
        pending=Approval.objects.filter(status=Approval.Status.PENDING).count(),
        pressing=list(
            pressing.select_related("customer").order_by("priority", "created_at", "id")[
                :PRESSING_SHOWN
            ]
        ),
        pressing_total=pressing.count(),
        oldest=oldest,
    )


def agents_today(midnight: datetime) -> AgentsToday:
    counts = Decision.objects.filter(created_at__gte=midnight).aggregate(
        answered=Count("pk", filter=Q(action=Decision.Action.AUTO_REPLY)),
        escalated=Count("pk", filter=Q(action=Decision.Action.ESCALATE)),
    )
    events = (
        AuditEvent.objects.filter(actor__startswith="agent:")
        .only("created_at", "actor", "action", "subject_type", "subject_id", "outcome")
        .order_by("-id")[:AGENT_EVENTS_SHOWN]
    )
    described = [AgentEvent(e, describe(e), audit_words.actor(e.actor)) for e in events]
    return AgentsToday(counts["answered"], counts["escalated"], described)


def cards(now: datetime) -> list[Card]:
    """Every domain's card, in the order shown. Incidents and revenue add theirs here."""
    return [health_card(now), support_card(now)]


def health_card(now: datetime) -> Card:
    """Open incidents, and uptime and error budgets over 30 days (slo.py's rule)."""
    open_now = Incident.objects.exclude(state=Incident.State.RESOLVED)
    worst = open_now.order_by("priority").values_list("priority", flat=True).first()
    budgets = slo.budgets(slo.tracked_components(), now)
    measured = [b for b in budgets if b.uptime is not None]
    lowest = min(measured, key=lambda b: b.uptime or 0.0, default=None)
    low = [b.component.name for b in budgets if b.warning]
    figures = [
        Figure(
            "open-incidents",
            "Open incidents",
            str(open_now.count()),
            f"highest {worst}" if worst else "none open",
        ),
        Figure(
            "lowest-uptime",
            f"Lowest uptime, {slo.BUDGET_DAYS} days",
            lowest.uptime_text if lowest else "—",
            lowest.component.name if lowest else "no component measured yet",
        ),
        Figure(
            "budget-warnings",
            f"Error budget under {slo.WARN_REMAINING:.0%}",
            str(len(low)),
            ", ".join(low) or f"all within {statuspage.percent(slo.TARGET)}",
        ),
    ]
    return Card("health", "System health", figures, reverse("web:slo"), "SLOs")


def support_card(now: datetime) -> Card:
    week = now - timedelta(days=FIGURES_DAYS)
    counts = Ticket.objects.filter(created_at__gte=week).aggregate(
        total=Count("pk"),
        today=Count("pk", filter=Q(created_at__gte=start_of_day(now))),
        automatic=Count("pk", filter=Q(resolved_by="agent")),
        answered=Count("pk", filter=Q(first_response_at__isnull=False)),
    )
    p50, p95 = first_response_percentiles(week, counts["answered"])
    share = counts["automatic"] / counts["total"] if counts["total"] else None
    figures = [
        Figure("tickets-today", "Tickets today", str(counts["today"])),
        Figure("tickets-week", f"Tickets, {FIGURES_DAYS} days", str(counts["total"])),
        Figure(
            "automatic-share",
            "Answered by the agent",
            f"{share:.0%}" if share is not None else "—",
            f"{counts['automatic']} of {counts['total']}, {FIGURES_DAYS} days",
        ),
        Figure(
            "first-response",
            "First response p50 / p95",
            f"{duration(p50)} / {duration(p95)}",
            f"{counts['answered']} answered, {FIGURES_DAYS} days",
        ),
        csat_figure(now - timedelta(days=CSAT_DAYS)),
    ]
    return Card("support", "Support", figures, reverse("web:tickets"), "All tickets")


def first_response_percentiles(since: datetime, answered: int) -> tuple[float | None, ...]:
    """Nearest-rank p50 and p95 of the first-response time, in seconds, in the database."""
    if not answered:
        return None, None
    waits = _waits(since)
    return tuple(_nth(waits, max(1, math.ceil(p / 100 * answered)) - 1) for p in (50, 95))


def _waits(since: datetime) -> QuerySet[Ticket, float]:
    # The stored column, read from its index: no datetime arithmetic per row.
    answered = Ticket.objects.filter(created_at__gte=since, first_response_s__isnull=False)
    return answered.order_by("first_response_s").values_list("first_response_s", flat=True)


def _nth(waits: QuerySet[Ticket, float], index: int) -> float | None:
    return next(iter(waits[index : index + 1]), None)


def csat_figure(since: datetime) -> Figure:
    counts = Rating.objects.filter(created_at__gte=since).aggregate(
        total=Count("pk"), good=Count("pk", filter=Q(score=Rating.Score.GOOD))
    )
    total = counts["total"]
    if not total:
        return Figure("csat", "CSAT", "—", f"no ratings in {CSAT_DAYS} days")
    hint = f"{counts['good']} of {total} rating{'s' if total != 1 else ''} good, {CSAT_DAYS} days"
    return Figure("csat", "CSAT", f"{counts['good'] / total:.0%}", hint)
