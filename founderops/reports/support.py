"""The support section of the briefings: what needs the founder, what came in, what waits.

Every number says what it is measured over. Response times count answered tickets only, so
the tickets still waiting are shown beside them. Intents count only where they are known to
be right (the agent answered confidently, or the founder labelled or approved the ticket);
guesses on escalated tickets are a line of their own. "Now" is said only of a window that
ends now; a past window reports what was known when it ended: replies, decisions and labels
made after its end are not counted, and a ticket answered later was still waiting then (its
age measured at the end). Closing has no time stored: a ticket closed since is left out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q

from founderops.ai.models import Approval
from founderops.core import clock
from founderops.support import services
from founderops.support.models import Decision, Ticket, TrainingExample

if TYPE_CHECKING:
    from founderops.reports.briefing import Window

TOP_INTENTS = 5
# Listed first, by name: the tickets that should not wait for the founder's next pass.
PRESSING = (Ticket.Priority.URGENT, Ticket.Priority.HIGH)
NEEDS_YOU_SHOWN = 10
SUBJECT_CHARS = 80
# A window ending this recently ends "now" (it was built a moment before it is rendered).
LIVE_SLACK = timedelta(minutes=5)
FOUNDER_LABELS = (TrainingExample.Source.APPROVAL, TrainingExample.Source.CORRECTION)
# Later than anything stored: a live window's bound for "happened before the end".
FAR = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Pressing:
    """An urgent or high-priority ticket waiting on the founder."""

    ticket_id: int
    subject: str
    priority: int
    waiting_s: float

    @property
    def priority_label(self) -> str:
        return Ticket.Priority(self.priority).label.lower()


@dataclass(frozen=True)
class SupportSummary:
    tickets_in: int
    resolved_automatically: int
    escalated: int
    # Approvals waiting on the founder at `waiting_at` (None: now).
    waiting: int
    waiting_at: datetime | None
    answered: int
    p50_first_response_s: float | None
    p95_first_response_s: float | None
    # Tickets of the window with no reply yet (closed ones excluded), and the oldest one's age.
    still_waiting: int
    oldest_waiting_s: float | None
    top_intents: list[tuple[str, int]]
    unclassified: int
    # Only for a window that ends now: most pressing first, then the longest waiting.
    needs_you: list[Pressing] | None

    @property
    def automatic_share(self) -> float | None:
        return self.resolved_automatically / self.tickets_in if self.tickets_in else None


def summarize(window: Window, now: datetime | None = None) -> SupportSummary:
    now = now or clock.now()
    live = window.end >= now - LIVE_SLACK
    # A past window knows what was known at its end: later replies, decisions and labels
    # did not exist yet (a live one counts everything stored).
    known = now if live else window.end
    later = FAR if live else window.end
    tickets = Ticket.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    rows = [
        (pk, wait, intent, by)
        if replied is not None and replied < later
        else (pk, None, intent, "")
        for pk, wait, intent, by, replied in tickets.values_list(
            "pk", "first_response_s", "intent", "resolved_by", "first_response_at"
        )
    ]
    decided = Decision.objects.filter(ticket__in=tickets, created_at__lt=later)
    decisions = dict(decided.values_list("ticket_id", "action"))
    labelled = set(
        TrainingExample.objects.filter(
            ticket__in=tickets, source__in=FOUNDER_LABELS, created_at__lt=later
        ).values_list("ticket_id", flat=True)
    )
    confirmed = {
        pk for pk, *_ in rows if pk in labelled or decisions.get(pk) == Decision.Action.AUTO_REPLY
    }
    # Stored by the database (Ticket.first_response_s): no datetime arithmetic per row.
    waits = [wait for _, wait, *_ in rows if wait is not None]
    unanswered = list(
        tickets.filter(Q(first_response_at__isnull=True) | Q(first_response_at__gte=later))
        .exclude(status=Ticket.Status.CLOSED)
        .values_list("created_at", flat=True)
    )
    return SupportSummary(
        tickets_in=len(rows),
        resolved_automatically=sum(1 for *_, by in rows if by == "agent"),
        escalated=sum(1 for action in decisions.values() if action == Decision.Action.ESCALATE),
        waiting=waiting_on_founder(None if live else window.end),
        waiting_at=None if live else window.end,
        answered=len(waits),
        p50_first_response_s=percentile(waits, 50),
        p95_first_response_s=percentile(waits, 95),
        still_waiting=len(unanswered),
        oldest_waiting_s=(known - min(unanswered)).total_seconds() if unanswered else None,
        top_intents=top_intents(intent for pk, _, intent, _ in rows if pk in confirmed),
        unclassified=len(rows) - len(confirmed),
        needs_you=pressing(now) if live else None,
    )


def waiting_on_founder(at: datetime | None) -> int:
    """Support approvals pending now, or (with `at`) the ones pending at that instant."""
    approvals = Approval.objects.filter(agent=services.AGENT)
    if at is None:
        return approvals.filter(status=Approval.Status.PENDING).count()
    undecided_then = Q(status=Approval.Status.PENDING) | Q(decided_at__gte=at)
    return approvals.filter(undecided_then, created_at__lt=at).count()


def pressing(now: datetime) -> list[Pressing]:
    since = dict(
        Approval.objects.filter(
            agent=services.AGENT, subject_type="ticket", status=Approval.Status.PENDING
        ).values_list("subject_id", "created_at")
    )
    ids = [int(subject_id) for subject_id in since if subject_id.isdigit()]
    found = Ticket.objects.filter(pk__in=ids, priority__in=PRESSING)
    items = [
        Pressing(t.pk, t.subject, t.priority, (now - since[str(t.pk)]).total_seconds())
        for t in found
    ]
    # Urgent before high; within each, the longest waiting first.
    return sorted(items, key=lambda item: (item.priority, -item.waiting_s, item.ticket_id))


def render(window: Window) -> str:
    return to_markdown(summarize(window), window)


def to_markdown(s: SupportSummary, window: Window) -> str:
    lines = [*needs_you_markdown(s.needs_you), ""] if s.needs_you is not None else []
    share = s.automatic_share
    automatic = f"{s.resolved_automatically} ({share:.0%})" if share is not None else "—"
    intents = ", ".join(f"{name} ({count})" for name, count in s.top_intents) or "—"
    unclassified = f"{s.unclassified}"
    if s.unclassified:
        unclassified += " (escalated or not triaged yet; label them in the inbox)"
    lines += [
        f"- **Tickets in:** {s.tickets_in}",
        f"- **Resolved automatically:** {automatic}",
        f"- **Escalated to you:** {s.escalated}",
        f"- **Waiting on you {waiting_when(s.waiting_at, window)}:** {s.waiting}",
        first_response_markdown(s),
        f"- **Top confirmed intents:** {intents}",
        f"- **Unclassified:** {unclassified}",
    ]
    return "\n".join(lines)


def needs_you_markdown(items: Sequence[Pressing]) -> list[str]:
    if not items:
        return ["**Needs you now:** nothing urgent or high-priority is waiting."]
    lines = ["**Needs you now** (urgent, then high priority; longest waiting first):", ""]
    lines += [
        f"{number}. #{item.ticket_id} {subject_line(item.subject)} · {item.priority_label}"
        f" · waiting {duration(item.waiting_s)}"
        for number, item in enumerate(items[:NEEDS_YOU_SHOWN], start=1)
    ]
    if len(items) > NEEDS_YOU_SHOWN:
        lines += ["", f"… and {len(items) - NEEDS_YOU_SHOWN} more in the inbox."]
    return lines


def first_response_markdown(s: SupportSummary) -> str:
    if not s.tickets_in:
        return "- **First response:** — (no tickets)"
    if s.answered:
        head = f"- **First response ({s.answered} answered):** "
        head += f"p50 {duration(s.p50_first_response_s)} · p95 {duration(s.p95_first_response_s)}"
    else:
        head = "- **First response:** none answered yet"
    if s.still_waiting:
        head += f"; {s.still_waiting} still waiting, oldest waiting {duration(s.oldest_waiting_s)}"
    return head


def waiting_when(at: datetime | None, window: Window) -> str:
    if at is None:
        return "now"
    local = at.astimezone(window.zone)
    if local.time() == time(0):
        day = local.date() - timedelta(days=1)
        return f"at the end of {day:%A} {day.day} {day:%B}"
    return f"at {local:%H:%M} on {local:%A} {local.day} {local:%B}"


def subject_line(subject: str) -> str:
    text = " ".join(subject.split()) or "(no subject)"
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1].rstrip() + "…"


def top_intents(intents: Iterable[str]) -> list[tuple[str, int]]:
    counts = Counter(
        "unknown" if intent == services.UNKNOWN_INTENT else intent for intent in intents if intent
    )
    # Most frequent first; ties alphabetically so the page is stable.
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_INTENTS]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: always one of the observed values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
