"""A fixed cast of tickets around one briefing: 07:30 Paris on Tuesday 10 March 2026."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from founderops.ai.models import Approval
from founderops.core import notify
from founderops.customers.models import Customer
from founderops.reports.briefing import Window
from founderops.support.models import Decision, Ticket, TrainingExample

PARIS = ZoneInfo("Europe/Paris")
# 07:30 in Paris (CET, UTC+1) is 06:30 UTC; the window starts 24 hours earlier.
BRIEFING_AT = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


@pytest.fixture
def window() -> Window:
    return Window.last_24_hours(BRIEFING_AT, PARIS)


@pytest.fixture
def backend() -> Iterator[notify.MemoryBackend]:
    with notify.using_backend(notify.MemoryBackend()) as memory:
        yield memory


def ticket(
    customer: Customer,
    created: str,
    intent: str,
    replied_after_s: int | None = None,
    by: str = "agent",
    escalated: bool = False,
    pending: bool = False,
    labelled: bool = False,
    priority: int = Ticket.Priority.NORMAL,
) -> Ticket:
    """A ticket, its decision and (`pending`) its approval; `labelled`: the founder approved it."""
    created_at = datetime.fromisoformat(created)
    row = Ticket.objects.create(
        customer=customer,
        channel=Ticket.Channel.EMAIL,
        subject=f"about {intent}",
        intent=intent,
        priority=priority,
        created_at=created_at,
        first_response_at=(
            created_at + timedelta(seconds=replied_after_s) if replied_after_s else None
        ),
        resolved_by=by if replied_after_s else "",
        status=Ticket.Status.ESCALATED if pending else Ticket.Status.ANSWERED,
    )
    if labelled:
        TrainingExample.objects.create(
            text=row.subject,
            intent=intent,
            source=TrainingExample.Source.APPROVAL,
            ticket=row,
            created_at=created_at,
        )
    Decision.objects.create(
        ticket=row,
        created_at=created_at,
        action=Decision.Action.ESCALATE if escalated else Decision.Action.AUTO_REPLY,
        intent=intent,
        confidence=0.5 if escalated else 0.99,
        reason="fixed cast",
        model_version="fake:v1",
    )
    if pending:
        Approval.objects.create(
            created_at=created_at,
            agent="support",
            action="reply",
            subject_type="ticket",
            subject_id=str(row.pk),
            summary=f"about {intent}",
        )
    return row


@pytest.fixture
def cast(db: None) -> list[Ticket]:
    """Six tickets in the window, one just before it and one at its (excluded) end.

    In the window: four answered by the agent, one escalated and approved by the founder,
    one escalated with a guessed intent and still waiting.
    """
    ada = Customer.objects.create(email="ada@example.com", created_at=BRIEFING_AT)
    return [
        ticket(ada, "2026-03-09T06:00:00+00:00", "refund", 5),  # before the window
        ticket(ada, "2026-03-09T08:00:00+00:00", "reset_password", 30),
        ticket(ada, "2026-03-09T09:00:00+00:00", "reset_password", 60),
        ticket(ada, "2026-03-09T10:00:00+00:00", "refund", 120),
        ticket(
            ada,
            "2026-03-09T11:00:00+00:00",
            "refund",
            7200,
            by="founder",
            escalated=True,
            labelled=True,
        ),
        ticket(ada, "2026-03-09T12:00:00+00:00", "oos", escalated=True, pending=True),
        ticket(ada, "2026-03-10T06:00:00+00:00", "reset_password", 10),
        ticket(ada, "2026-03-10T06:30:00+00:00", "invoice", escalated=True, pending=True),
    ]
