"""Thin, idempotent jobs of the channels: deliver replies, poll mailboxes, process mail."""

from __future__ import annotations


def deliver_reply(message_id: int) -> str:
    """Send a stored reply through its ticket's channel (e-mail by SMTP; others show it)."""
    from founderops.channels import outbound

    return outbound.deliver_reply(message_id)


def retry_outbound() -> str:
    """Every minute: try again the e-mails whose backoff has passed (or whose sender died)."""
    from founderops.channels import outbound

    return outbound.retry_outbound()


def poll_mailboxes() -> str:
    """Every FOUNDEROPS_IMAP_POLL_MINUTES: fetch new mail from each enabled mailbox."""
    from founderops.channels import imap

    results = imap.poll_mailboxes()
    return "; ".join(str(result) for result in results) or "no mailbox to poll"


def process_inbound(inbound_id: int) -> str:
    """Turn one stored e-mail into a ticket message (once, however often it is delivered)."""
    from founderops.channels import inbound

    return inbound.process_inbound(inbound_id)
