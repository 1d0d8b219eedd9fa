"""Thin, idempotent jobs of the channels: deliver replies, poll mailboxes, process mail."""

from __future__ import annotations


def deliver_reply(message_id: int) -> str:
    """Send a stored reply through its ticket's channel (e-mail by SMTP; others show it)."""
    from founderops.channels import outbound

    return outbound.deliver_reply(message_id)
