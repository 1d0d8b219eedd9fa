"""The support section of the briefings: what came in, what the agent handled, what waits."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from founderops.ai.models import Approval
from founderops.support import services
from founderops.support.models import Decision, Ticket

if TYPE_CHECKING:
    from founderops.reports.briefing import Window

TOP_INTENTS = 5


@dataclass(frozen=True)
class SupportSummary:
    tickets_in: int
    resolved_automatically: int
    escalated: int
    waiting_now: int
    answered: int
    p50_first_response_s: float | None
    p95_first_response_s: float | None
    top_intents: list[tuple[str, int]]

    @property
    def automatic_share(self) -> float | None:
        return self.resolved_automatically / self.tickets_in if self.tickets_in else None


def summarize(window: Window) -> SupportSummary:
    tickets = Ticket.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
    rows = list(tickets.values_list("created_at", "first_response_at", "intent", "resolved_by"))
    waits = [(answered - created).total_seconds() for created, answered, _, _ in rows if answered]
    escalated = Decision.objects.filter(ticket__in=tickets, action=Decision.Action.ESCALATE).count()
    return SupportSummary(
        tickets_in=len(rows),
        resolved_automatically=sum(1 for *_, by in rows if by == "agent"),
        escalated=escalated,
        waiting_now=Approval.objects.filter(
            agent=services.AGENT, status=Approval.Status.PENDING
        ).count(),
        answered=len(waits),
        p50_first_response_s=percentile(waits, 50),
        p95_first_response_s=percentile(waits, 95),
        top_intents=top_intents(intent for _, _, intent, _ in rows),
    )


def render(window: Window) -> str:
    return to_markdown(summarize(window))


def to_markdown(s: SupportSummary) -> str:
    share = s.automatic_share
    automatic = f"{s.resolved_automatically} ({share:.0%})" if share is not None else "—"
    unanswered = s.tickets_in - s.answered
    response = (
        f"p50 {duration(s.p50_first_response_s)} · p95 {duration(s.p95_first_response_s)}"
        if s.answered
        else "— (no replies yet)"
    )
    if s.answered and unanswered:
        response += f" ({unanswered} still without a reply)"
    intents = ", ".join(f"{name} ({count})" for name, count in s.top_intents) or "—"
    return "\n".join(
        [
            f"- **Tickets in:** {s.tickets_in}",
            f"- **Resolved automatically:** {automatic}",
            f"- **Escalated to you:** {s.escalated}",
            f"- **Waiting on you now:** {s.waiting_now}",
            f"- **First response:** {response}",
            f"- **Top intents:** {intents}",
        ]
    )


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
