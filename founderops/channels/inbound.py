"""Mail in: store every e-mail first, then turn it into a ticket message once.

`store_inbound` keeps the raw mail (headers only when it is too large), keyed by its
Message-ID, so the same mail fetched twice, or delivered by IMAP and by a webhook, is one
row; it queues `process_inbound` after commit. `process_inbound` claims the row with a
conditional update inside one transaction, so a job delivered twice, or two workers at once,
process it once, and a crash mid-way rolls back to "pending" for the retry. Processing reads
the mail, refuses loops (auto-replies, bounces, our own mail, mailing lists: ignored, never
answered), applies the per-sender limit, finds the conversation it answers, and hands the new
text to the support services.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from founderops.channels import mime, quotes
from founderops.channels.mime import MalformedMail, ParsedMail
from founderops.channels.models import Attachment, InboundEmail, Mailbox, OutboundEmail
from founderops.core import audit, clock, jobs, ratelimit
from founderops.core.errors import InvalidInput
from founderops.customers.models import Identity
from founderops.support import services
from founderops.support.models import Message, Ticket

ACTOR = "channel:email"
PROCESS_JOB = "founderops.channels.tasks.process_inbound"
EXTERNAL_ID_MAX = 200
# A Date header is believed only this far back: a mail that waited in the mailbox keeps its
# real time, a wrong or forged date cannot move a ticket into the past or the future.
DATE_TRUST = timedelta(days=1)
MAX_ATTACHMENTS = 25
BODY_ROOM = 300
_TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_UUID_LOCAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*\u202a-\u202e\u2066-\u2069\ufeff]")
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


# Storing.


def store_inbound(
    raw: bytes, source: str, mailbox: Mailbox | None = None
) -> tuple[InboundEmail, bool]:
    """Keep the mail (once per Message-ID); True when it is new and queued for processing."""
    if len(raw) > settings.MAIL_MAX_BYTES:
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        return store_oversized(mime.header_block(raw), len(raw), source, mailbox, digest)
    envelope = mime.parse_envelope(raw)
    row = InboundEmail(
        source=source,
        mailbox=mailbox or mailbox_for(envelope.recipients),
        msgid=envelope.msgid or "sha256:" + hashlib.sha256(raw).hexdigest(),
        received_at=clock.now(),
        raw=raw,
        size=len(raw),
        sender=envelope.sender,
        subject=envelope.subject,
    )
    return _store(row)


def store_oversized(
    headers: bytes, size: int, source: str, mailbox: Mailbox | None, fallback_id: str
) -> tuple[InboundEmail, bool]:
    """A mail over FOUNDEROPS_MAIL_MAX_BYTES: its headers are kept, it is refused, never read."""
    envelope = mime.parse_envelope(headers)
    row = InboundEmail(
        source=source,
        mailbox=mailbox,
        msgid=envelope.msgid or fallback_id,
        received_at=clock.now(),
        raw=headers,
        size=size,
        sender=envelope.sender,
        subject=envelope.subject,
        status=InboundEmail.Status.REJECTED,
        reason=(
            f"the mail is {megabytes(size)}; the limit is {megabytes(settings.MAIL_MAX_BYTES)} "
            "(FOUNDEROPS_MAIL_MAX_BYTES), so only its headers were kept"
        ),
    )
    return _store(row)


def _store(row: InboundEmail) -> tuple[InboundEmail, bool]:
    existing = InboundEmail.objects.filter(msgid=row.msgid).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # The same mail stored by another worker (or a webhook) between our read and write.
        return InboundEmail.objects.get(msgid=row.msgid), False
    audit.record(
        f"channel:{row.source}",
        "channels.mail_received",
        ("inbound_email", row.pk),
        outcome=row.status,
        details={"size": row.size, "reason": row.reason} if row.reason else {"size": row.size},
    )
    if row.status == InboundEmail.Status.PENDING:
        pk = row.pk
        transaction.on_commit(lambda: jobs.enqueue(PROCESS_JOB, pk))
    return row, True


def mailbox_for(recipients: tuple[str, ...]) -> Mailbox | None:
    """The mailbox a webhook's mail was sent to, so that the answer comes from there."""
    if not recipients:
        return None
    boxes = {box.address.lower(): box for box in Mailbox.objects.filter(address__in=recipients)}
    return next((boxes[address] for address in recipients if address in boxes), None)


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


# Processing.


def process_inbound(inbound_id: int) -> str:
    """Turn a stored mail into a ticket message, once; returns its status (or "skipped")."""
    with transaction.atomic():
        # The claim: on PostgreSQL a second worker waits on this row's lock and then finds
        # it no longer pending; SQLite's IMMEDIATE transaction already serialises writers.
        claimed = InboundEmail.objects.filter(
            pk=inbound_id, status=InboundEmail.Status.PENDING
        ).update(attempts=F("attempts") + 1)
        if not claimed:
            return "skipped"
        inbound = InboundEmail.objects.select_related("mailbox").get(pk=inbound_id)
        _handle(inbound)
        inbound.save(update_fields=["status", "reason", "ticket", "message", "sender", "subject"])
        audit.record(
            ACTOR,
            "channels.mail_processed",
            ("inbound_email", inbound.pk),
            outcome=inbound.status,
            details={"reason": inbound.reason, "ticket": inbound.ticket_id},
        )
    return str(inbound.status)


def _handle(inbound: InboundEmail) -> None:
    try:
        mail = mime.parse_mail(bytes(inbound.raw))
    except MalformedMail as error:
        _finish(inbound, InboundEmail.Status.REJECTED, str(error))
        return
    inbound.sender = mail.sender
    inbound.subject = mail.subject
    reason = loop_reason(mail)
    if reason:
        _finish(inbound, InboundEmail.Status.IGNORED, reason)
        return
    if not _within_sender_limit(mail.sender):
        limit = settings.MAIL_SENDER_LIMIT_PER_HOUR
        _finish(
            inbound,
            InboundEmail.Status.IGNORED,
            f"rate limited: more than {limit} mails from this sender in an hour "
            "(FOUNDEROPS_MAIL_SENDER_LIMIT_PER_HOUR); kept, not answered",
        )
        return
    try:
        with transaction.atomic():
            ticket, message = deliver(inbound, mail)
    except InvalidInput as error:
        _finish(inbound, InboundEmail.Status.REJECTED, str(error))
        return
    inbound.ticket, inbound.message = ticket, message
    _finish(inbound, InboundEmail.Status.PROCESSED, "")


def _finish(inbound: InboundEmail, status: str, reason: str) -> None:
    inbound.status = status
    inbound.reason = reason


def _within_sender_limit(sender: str) -> bool:
    key = ratelimit.key_for("mail-sender", sender)
    return ratelimit.hit(key, settings.MAIL_SENDER_LIMIT_PER_HOUR, 3600).allowed


# Loops: mail that must never be answered.


def loop_reason(mail: ParsedMail) -> str:
    """Why this mail is automatic or our own (so answering it could loop), or ""."""
    return (
        _auto_reply(mail)
        or _bounce(mail)
        or _own_mail(mail, our_addresses())
        or _mailing_list(mail)
    )


def _auto_reply(mail: ParsedMail) -> str:
    submitted = mail.header("auto-submitted").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"automatic mail (Auto-Submitted: {submitted[:40]}), not answered"
    for name in ("X-Autoreply", "X-Autorespond"):
        if mail.header(name).strip():
            return f"auto-reply ({name} header), not answered"
    precedence = mail.header("precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"bulk or automatic mail (Precedence: {precedence}), not answered"
    return ""


def _bounce(mail: ParsedMail) -> str:
    if mail.content_type == "multipart/report":
        return "a delivery or read report (multipart/report): a bounce, not answered"
    if mail.sender.partition("@")[0] in BOUNCE_SENDERS:
        return f"a bounce from {mail.sender}, not answered"
    return_paths = mime.header_values(mail.message, "return-path")
    if return_paths and all(path.strip() in {"", "<>"} for path in return_paths):
        return "empty Return-Path (<>): a bounce or automatic notice, not answered"
    return ""


def _own_mail(mail: ParsedMail, ours: set[str]) -> str:
    if mail.sender in ours:
        return f"sent from our own address {mail.sender}: a mail loop, not answered"
    if mail.msgid and _our_msgid(mail.msgid, ours):
        return "our own outgoing mail came back (its Message-ID is ours): not answered"
    return ""


def _mailing_list(mail: ParsedMail) -> str:
    if mail.header("list-id").strip():
        return "mailing-list mail (List-Id header), not answered"
    return ""


def our_addresses() -> set[str]:
    """Every address replies go out from: the mailboxes' and the default From."""
    found = {settings.SUPPORT_FROM_EMAIL, *Mailbox.objects.values_list("address", flat=True)}
    return {parseaddr(each)[1].strip().lower() for each in found if each}


def _our_msgid(msgid: str, ours: set[str]) -> bool:
    """A Message-ID we sent, or one of our shape (a UUID at one of our domains)."""
    if OutboundEmail.objects.filter(msgid__in=[msgid, f"<{msgid}>"]).exists():
        return True
    local, _, domain = msgid.lower().rpartition("@")
    domains = {address.rpartition("@")[2] for address in ours}
    return bool(_UUID_LOCAL.match(local)) and domain in domains


# Threading and delivery to support.


def deliver(inbound: InboundEmail, mail: ParsedMail) -> tuple[Ticket, Message]:
    """Add the mail to the conversation it answers, or open a ticket; attachments stored."""
    kept, notes = _attachments_to_keep(mail)
    body = compose_body(mail, notes)
    external_id = external_id_for(inbound.msgid)
    ticket = find_thread(mail)
    if ticket is not None:
        message, new = services.add_customer_message(
            ticket, body, created_at=inbound.received_at, external_id=external_id
        )
    else:
        incoming = services.Incoming(
            email=mail.sender,
            body=body,
            subject=mail.subject,
            name=mail.sender_name,
            channel=Ticket.Channel.EMAIL,
            external_id=external_id,
            created_at=written_at(mail, inbound.received_at),
        )
        ticket, new = services.receive_ticket(incoming)
        first = ticket.messages.filter(author=Message.Author.CUSTOMER).first()
        if first is None:
            raise InvalidInput(f"ticket #{ticket.pk} has no customer message to attach to")
        message = first
    if new:
        for part in kept:
            save_attachment(message, part)
    return ticket, message


def external_id_for(msgid: str) -> str:
    """The Message-ID as the ticket's external id (a digest when it does not fit one)."""
    if len(msgid) <= EXTERNAL_ID_MAX and msgid.isprintable() and " " not in msgid:
        return msgid
    return "sha256:" + hashlib.sha256(msgid.encode()).hexdigest()


def written_at(mail: ParsedMail, received_at: datetime) -> datetime:
    if mail.date is not None and received_at - DATE_TRUST <= mail.date <= received_at:
        return mail.date
    return received_at


def compose_body(mail: ParsedMail, notes: list[str]) -> str:
    """The customer's new text (quotes stripped), cut to fit, with notes on attachments."""
    text = quotes.reply_text(mail.text, mail.html).strip() or mail.subject.strip()
    if not text and mail.attachments:
        text = "(The e-mail had no text, only attachments.)"
    if not text:
        raise InvalidInput("the mail has no text: its subject and body are empty")
    room = settings.SUPPORT_MAX_BODY_CHARS - BODY_ROOM
    if len(text) > room:
        text = text[:room].rstrip() + (
            f"\n\n[The mail was {len(text):,} characters long; the rest was cut here. "
            "The full mail is kept on the Channels page.]"
        )
    return "\n\n".join([text, *notes]) if notes else text


def find_thread(mail: ParsedMail) -> Ticket | None:
    """The ticket this mail answers: by Message-ID references, else a [#id] subject token;
    only ever a ticket of the same customer (a stranger's mail opens a ticket of its own)."""
    for ticket in _referenced_tickets(mail.thread_ids):
        if belongs_to(ticket, mail.sender):
            return ticket
    token = _TICKET_TOKEN.search(mail.subject)
    named = None
    if token is not None:
        named = Ticket.objects.select_related("customer").filter(pk=int(token[1])).first()
    return named if named is not None and belongs_to(named, mail.sender) else None


def _referenced_tickets(ids: tuple[str, ...]) -> list[Ticket]:
    """Tickets whose mails (theirs or ours) carry one of these Message-IDs, newest first."""
    if not ids:
        return []
    # Stored bare by us; bracketed by anyone writing the header's own form. Both match.
    either = [*ids, *(f"<{each}>" for each in ids)]
    inbound = InboundEmail.objects.filter(msgid__in=either, ticket__isnull=False)
    outbound = OutboundEmail.objects.filter(msgid__in=either)
    opened = Ticket.objects.filter(
        channel=Ticket.Channel.EMAIL, external_id__in=[external_id_for(each) for each in ids]
    )
    pks = {
        *inbound.values_list("ticket_id", flat=True),
        *outbound.values_list("ticket_id", flat=True),
        *opened.values_list("pk", flat=True),
    }
    tickets = Ticket.objects.select_related("customer").filter(pk__in=pks)
    return list(tickets.order_by("-created_at", "-id"))


def belongs_to(ticket: Ticket, sender: str) -> bool:
    if ticket.customer.email.lower() == sender:
        return True
    return Identity.objects.filter(
        customer=ticket.customer, kind=Identity.Kind.EMAIL, value=sender
    ).exists()


# Attachments.


@dataclass(frozen=True)
class Kept:
    filename: str
    content_type: str
    data: bytes


def _attachments_to_keep(mail: ParsedMail) -> tuple[list[Kept], list[str]]:
    """The attachments that fit, and a note for each one that does not."""
    kept: list[Kept] = []
    notes: list[str] = []
    limit = settings.ATTACHMENT_MAX_BYTES
    for index, part in enumerate(mail.attachments):
        name = safe_filename(part.filename)
        if index >= MAX_ATTACHMENTS:
            notes.append(f"[Attachment not stored: {name} (only {MAX_ATTACHMENTS} are kept)]")
        elif len(part.data) > limit:
            notes.append(
                f"[Attachment not stored: {name} is {megabytes(len(part.data))}; the limit is "
                f"{megabytes(limit)} (FOUNDEROPS_ATTACHMENT_MAX_BYTES)]"
            )
        else:
            kept.append(Kept(name, safe_content_type(part.content_type), part.data))
    return kept, notes


def safe_filename(name: str) -> str:
    """A name safe to show and to offer for download: no path, no control or bidi
    characters, no leading dot, no reserved device name, at most 150 characters."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if not name:
        return "attachment"
    stem, dot, extension = name.rpartition(".")
    if (stem if dot else name).lower() in _RESERVED_NAMES:
        name = "_" + name
    if len(name) > 150:
        keep = extension[:20] if dot else ""
        name = name[: 150 - len(keep) - 1].rstrip(" .") + (f".{keep}" if keep else "")
    return name


def safe_content_type(content_type: str) -> str:
    kind = content_type.strip().lower()
    return kind if _CONTENT_TYPE.match(kind) and len(kind) <= 100 else "application/octet-stream"


def attachments_dir() -> Path:
    return settings.DATA_DIR / "attachments"


def save_attachment(message: Message, part: Kept) -> Attachment:
    """Write the file once under its SHA-256 (same content, same file) and record it."""
    digest = hashlib.sha256(part.data).hexdigest()
    relative = f"{digest[:2]}/{digest}"
    target = attachments_dir() / relative
    if not target.exists():
        _write_atomically(target, part.data)
    return Attachment.objects.create(
        message=message,
        filename=part.filename,
        content_type=part.content_type,
        size=len(part.data),
        sha256=digest,
        path=relative,
    )


def _write_atomically(target: Path, data: bytes) -> None:
    # Written beside the target, then renamed: a reader never sees half a file, and a crash
    # leaves at most a temporary file (a retry writes the same content again).
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{uuid.uuid4().hex}")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, target)
