"""The cockpit's cast: Ada writes in, the agent escalates, Fiona (the founder) decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from founderops.ai.models import Approval
from founderops.support import agents, services
from founderops.support.models import KnowledgeArticle, Ticket
from tests.web.cast import RESET_ANSWER, escalate_with_draft, new_ticket


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # WhiteNoise warns (an error under our filterwarnings) when STATIC_ROOT does not exist
    # yet; session-scoped so that it runs before the live server starts.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def reset_article(db: None) -> KnowledgeArticle:
    return services.save_article(
        "reset-password",
        "Reset your password",
        "reset_password",
        "How to reset a forgotten password.",
        RESET_ANSWER,
        ["I forgot my password", "how do I reset my password"],
    )


@pytest.fixture
def refund_article(db: None) -> KnowledgeArticle:
    return services.save_article(
        "refunds",
        "Refunds",
        "refund_request",
        "Our refund policy.",
        "We refund any payment made in the last 14 days.",
        ["I want my money back", "please refund my last invoice"],
    )


@pytest.fixture
def ticket(db: None) -> Ticket:
    return new_ticket("Can't find the reset link", "Hi, I forgot my password. Where do I reset it?")


@pytest.fixture
def escalation(ticket: Ticket, reset_article: KnowledgeArticle) -> Approval:
    return escalate_with_draft(ticket, reset_article)


@pytest.fixture
def triaged(ticket: Ticket) -> Ticket:
    """The real agent on a fresh install: no model is trained yet, so it escalates."""
    agents.handle_ticket(ticket)
    ticket.refresh_from_db()
    return ticket
