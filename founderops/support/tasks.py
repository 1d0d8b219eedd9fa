"""Thin, idempotent jobs of the support domain."""

from __future__ import annotations

from founderops.support import agents, training
from founderops.support.models import Ticket


def triage_ticket(ticket_id: int) -> str:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return "gone"
    return agents.handle_ticket(ticket).action


def refresh_classifier() -> int:
    return training.refresh_classifier().version


def run_account_action(approval_id: int) -> str:
    """The account action the founder approved (once), then the reply to the customer."""
    from founderops.support import account_actions

    return account_actions.run_approved(approval_id)
