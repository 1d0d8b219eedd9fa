"""Building blocks of the cockpit's tests, made through the real services."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from founderops.ai.drafting import template_reply
from founderops.ai.models import Approval
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Ticket

PASSWORD = "correct horse battery"
RESET_ANSWER = "Open **Settings → Security** and choose *Reset password*. The link lasts 1 hour."


def new_ticket(subject: str, body: str, email: str = "ada@example.com") -> Ticket:
    incoming = services.Incoming(email=email, name="Ada Lovelace", subject=subject, body=body)
    return services.receive_ticket(incoming, triage=False)[0]


def escalate_with_draft(ticket: Ticket, article: KnowledgeArticle, **payload: Any) -> Approval:
    """Escalate as the agent does, with a draft from the article (deterministic, no model)."""
    draft = template_reply(article.answer, ticket.customer.name, settings.SUPPORT_SIGNATURE)
    context: dict[str, object] = {
        "draft": draft,
        "intent": article.intent,
        "confidence": 0.71,
        "alternatives": [["refund_request", 0.12]],
        "article": article.slug,
        "history": [],
        "similar": [],
    }
    context.update(payload)
    return services.escalate(
        ticket, f"Reply to {ticket.customer}: {ticket.subject}", "not confident enough", context
    )


def decision_post(approval: Approval, **fields: str) -> dict[str, str]:
    """The decision form as the ticket page posts it, unchanged unless told."""
    data = {
        "approval": str(approval.pk),
        "body": str(approval.payload["draft"]),
        "intent": str(approval.payload["intent"]),
    }
    data.update(fields)
    return data
