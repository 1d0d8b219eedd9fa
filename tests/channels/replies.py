"""Building blocks of the outbound tests: an e-mail ticket as inbound mail leaves it."""

from __future__ import annotations

from email.message import EmailMessage

from founderops.channels import tasks
from founderops.channels.models import InboundEmail, Mailbox, OutboundEmail
from founderops.core import clock
from founderops.support import services
from founderops.support.models import Message, Ticket

FIRST_ID = "<first-7d1c@mail.customer.example>"


def bare(msgid: str) -> str:
    """A Message-ID as the support domain stores it: without its angle brackets (which
    its text cleaning would take for a tag)."""
    return msgid.strip("<>")


def raw_mail(msgid: str, subject: str, body: str, references: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada@example.com>"
    mail["To"] = "help@inkwell.example"
    mail["Subject"] = subject
    mail["Message-ID"] = msgid
    if references:
        mail["References"] = references
        mail["In-Reply-To"] = references.split()[-1]
    mail.set_content(body)
    return mail.as_bytes()


def mailbox() -> Mailbox:
    return Mailbox.objects.create(name="Help", address="help@inkwell.example")


def email_ticket(
    subject: str = "Can't log in",
    body: str = "Hi, I forgot my password. Where do I reset it?",
    msgid: str = FIRST_ID,
    box: Mailbox | None = None,
    references: str = "",
) -> Ticket:
    """A ticket opened by a customer's e-mail, stored as inbound processing stores it."""
    incoming = services.Incoming(
        email="ada@example.com",
        name="Ada Lovelace",
        subject=subject,
        body=body,
        channel=Ticket.Channel.EMAIL,
        external_id=bare(msgid),
    )
    ticket = services.receive_ticket(incoming, triage=False)[0]
    _inbound(ticket, ticket.messages.get(), msgid, subject, body, box, references)
    return ticket


def customer_writes(ticket: Ticket, msgid: str, body: str, references: str = "") -> Message:
    message, _ = services.add_customer_message(ticket, body, external_id=bare(msgid))
    box = InboundEmail.objects.filter(ticket=ticket).first()
    _inbound(
        ticket,
        message,
        msgid,
        f"Re: {ticket.subject}",
        body,
        box.mailbox if box else None,
        references,
    )
    return message


def _inbound(
    ticket: Ticket,
    message: Message,
    msgid: str,
    subject: str,
    body: str,
    box: Mailbox | None,
    references: str,
) -> InboundEmail:
    raw = raw_mail(msgid, subject, body, references)
    return InboundEmail.objects.create(
        source=InboundEmail.Source.IMAP,
        mailbox=box,
        msgid=msgid,
        received_at=clock.now(),
        raw=raw,
        size=len(raw),
        sender="ada@example.com",
        subject=subject,
        status=InboundEmail.Status.PROCESSED,
        ticket=ticket,
        message=message,
    )


def reply(
    ticket: Ticket, body: str = "Open **Settings → Security**.", author: str = "agent"
) -> Message:
    """A reply stored the way the agent or the founder stores one, then the delivery job."""
    message = services.send_reply(ticket, body, author)
    tasks.deliver_reply(message.pk)
    return message


def outbound(message: Message) -> OutboundEmail:
    return OutboundEmail.objects.get(message=message)
