"""Replies leave by SMTP, threaded into the customer's conversation.

Each reply message gets one OutboundEmail, its Message-ID fixed before the first try. A worker
sends only after claiming the row with a conditional update that moves `next_attempt_at`
past the job timeout (a lease): a job delivered twice, two racing workers or the retry job
cannot send it at the same time, and a worker that died mid-send leaves a lease that expires.
Should a worker die after the server took the mail but before it was marked sent, the retry
carries the same Message-ID, which mail clients thread and de-duplicate on.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime

import markdown as md
import nh3
from django.conf import settings
from django.core import signing
from django.db.models import F, Q
from django.urls import reverse
from django.utils.html import format_html

from founderops.channels.models import InboundEmail, OutboundEmail
from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.core.smtp import Failure, classify, smtp_server, transmit
from founderops.customers.services import is_visitor
from founderops.support.models import Message, Ticket

logger = logging.getLogger(__name__)

ACTOR = "channel:email"
MAX_ATTEMPTS = 8
# Minutes to wait after the n-th failed try (the last value repeats): about 8 hours in all,
# long enough for a relay's outage or a full mailbox, short enough to stay a reply.
BACKOFF_MINUTES = (1, 5, 15, 30, 60, 120, 240)
RETRY_BATCH = 25
REFERENCES_CAP = 20
ERROR_CHARS = 500
OPEN = (OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED)

RATING_SALT = "founderops.channels.rating"
RATING_MAX_AGE = timedelta(days=30)

_MSGID = re.compile(r"<[^<>\s]+>")
# Reply prefixes of common mail clients (English, German, Nordic, Dutch, Polish, Finnish).
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw|odp|vs)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# What to send, and where from.


def emailed(message: Message) -> bool:
    """E-mail tickets get every reply; a handed-off chat gets the founder's (the widget
    shows the agent's answers itself)."""
    channel = message.ticket.channel
    if message.author == Message.Author.CUSTOMER:
        return False
    if is_visitor(message.ticket.customer.email):
        return False  # a chat visitor who never gave an address: the reply stays on the ticket
    if channel == Ticket.Channel.EMAIL:
        return True
    return channel == Ticket.Channel.CHAT and message.author == Message.Author.FOUNDER


def kept_in_cockpit(ticket: Ticket) -> bool:
    """True when replies to this ticket would go by e-mail but no SMTP server is set."""
    return not settings.SMTP_URL and ticket.channel == Ticket.Channel.EMAIL


def as_msgid(value: str | None) -> str | None:
    """A stored id as a Message-ID header value (`<…>`), or None if it is not one."""
    if not value or value.startswith("sha256:"):
        return None
    text = value.strip()
    if not text.startswith("<") and "@" in text and " " not in text:
        text = f"<{text}>"
    return text if _MSGID.fullmatch(text) else None


def customer_msgids(ticket: Ticket) -> list[str]:
    """The customer's Message-IDs on this ticket, oldest first."""
    ids = [as_msgid(ticket.external_id)] if ticket.channel == Ticket.Channel.EMAIL else []
    customer = ticket.messages.filter(author=Message.Author.CUSTOMER).exclude(external_id=None)
    ids += [as_msgid(m.external_id) for m in customer]
    found = [each for each in ids if each]
    if not found:
        inbound = latest_inbound(ticket)
        found = [each for each in [as_msgid(inbound.msgid if inbound else None)] if each]
    return found


def latest_inbound(ticket: Ticket) -> InboundEmail | None:
    processed = InboundEmail.objects.filter(ticket=ticket, status=InboundEmail.Status.PROCESSED)
    return processed.select_related("mailbox").order_by("-received_at", "-id").first()


def from_address(ticket: Ticket) -> str:
    """The mailbox the customer last wrote to, so the answer comes from where they wrote."""
    inbound = latest_inbound(ticket)
    if inbound is not None and inbound.mailbox is not None and inbound.mailbox.address:
        return inbound.mailbox.address
    return settings.SUPPORT_FROM_EMAIL


def new_msgid(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip() or "localhost"
    return f"<{uuid.uuid4()}@{domain}>"


def reply_subject(ticket: Ticket) -> str:
    """'Re: <subject> [#id]': one Re:, and a token that threads even without headers."""
    token = f"[#{ticket.pk}]"
    base = _CONTROL.sub(" ", ticket.subject or "").replace(token, " ")
    base = " ".join(_REPLY_PREFIX.sub("", base).split()) or "Your message"
    room = 300 - len("Re:  ") - len(token)
    if len(base) > room:
        base = base[: room - 1].rstrip() + "…"
    return f"Re: {base} {token}"


def inbound_references(inbound: InboundEmail | None) -> list[str]:
    """The References the customer's mail carried (their client's view of the thread)."""
    if inbound is None or not inbound.raw:
        return []
    headers = BytesHeaderParser().parsebytes(bytes(inbound.raw))
    return _MSGID.findall(str(headers.get("References", "")))


def references_for(ticket: Ticket, parent: str | None) -> list[str]:
    """Earlier References plus every id of this conversation, oldest first, parent last."""
    earlier = OutboundEmail.objects.filter(ticket=ticket).order_by("-created_at", "-id").first()
    ids = _MSGID.findall(earlier.references) if earlier else []
    ids += inbound_references(latest_inbound(ticket))
    ids += chain(ticket)
    if parent:
        ids.append(parent)
    return cap(unique_keep_last(ids, parent))


def chain(ticket: Ticket) -> list[str]:
    """The customer's ids and ours on this ticket, in the order they were written."""
    written: list[tuple[datetime, str | None]] = [
        (email.message.created_at, email.msgid)
        for email in OutboundEmail.objects.filter(ticket=ticket).select_related("message")
    ]
    if ticket.channel == Ticket.Channel.EMAIL:
        # An e-mail ticket's own id is the Message-ID of the mail that opened it.
        written.append((ticket.created_at, as_msgid(ticket.external_id)))
    customer = ticket.messages.filter(author=Message.Author.CUSTOMER).exclude(external_id=None)
    written += [(m.created_at, as_msgid(m.external_id)) for m in customer]
    return [msgid for _, msgid in sorted(written, key=lambda pair: pair[0]) if msgid]


def unique_keep_last(ids: Iterable[str], parent: str | None) -> list[str]:
    """Each id once, at its first place; the parent at the end, where References wants it."""
    kept: list[str] = []
    for each in ids:
        if each != parent and each not in kept:
            kept.append(each)
    return [*kept, parent] if parent else kept


def cap(ids: list[str]) -> list[str]:
    """The root and the newest ids: what RFC 5322 suggests when a thread grows long."""
    if len(ids) <= REFERENCES_CAP:
        return ids
    return [ids[0], *ids[-(REFERENCES_CAP - 1) :]]


def prepare_email(message: Message) -> OutboundEmail:
    """The one OutboundEmail of this reply, created with its Message-ID on the first call."""
    existing = OutboundEmail.objects.filter(message=message).first()
    if existing is not None:
        return existing
    ticket = message.ticket
    sender = from_address(ticket)
    ids = customer_msgids(ticket)
    parent = ids[-1] if ids else None
    now = clock.now()
    email, _ = OutboundEmail.objects.get_or_create(
        message=message,
        defaults={
            "ticket": ticket,
            "msgid": new_msgid(sender),
            "in_reply_to": parent or "",
            "references": " ".join(references_for(ticket, parent)),
            "from_address": sender,
            "to_address": ticket.customer.email,
            "subject": reply_subject(ticket),
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    return email


# The e-mail itself.

# Images (and the maps that need them) would load from wherever the text points when the
# customer opens the mail: a tracking pixel. nh3's other tags load nothing.
_REMOTE = {"img", "map", "area"}
_TAGS = nh3.ALLOWED_TAGS - _REMOTE
_ATTRIBUTES = {tag: names for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag not in _REMOTE}


def markdown_html(text: str) -> str:
    """A reply's Markdown as HTML, sanitised: a draft's <script> never reaches the customer."""
    html = md.markdown(text or "", extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, link_rel="noopener noreferrer nofollow"
    )


def rating_token(message: Message) -> str:
    return signing.TimestampSigner(salt=RATING_SALT).sign(str(message.pk))


def rated_message_id(token: str) -> int:
    """The message a rating link names; InvalidInput when tampered with or over 30 days old."""
    try:
        value = signing.TimestampSigner(salt=RATING_SALT).unsign(token, max_age=RATING_MAX_AGE)
    except signing.BadSignature:
        raise InvalidInput("this rating link is invalid or has expired") from None
    return int(value)


@dataclass(frozen=True)
class RatingLinks:
    good: str
    bad: str


def rating_links(message: Message) -> RatingLinks:
    """The one-click CSAT links of a reply: one signed token, a URL per score."""
    token, base = rating_token(message), settings.SITE_URL.rstrip("/")
    good, bad = (reverse("csat_rate", args=[token, score]) for score in ("good", "bad"))
    return RatingLinks(base + good, base + bad)


def text_body(message: Message, links: RatingLinks) -> str:
    # After "-- " (the signature separator) so that clients leave the links out of quotes.
    return (
        f"{message.body.rstrip()}\n\n-- \nHow was this answer?\n"
        f"Good: {links.good}\nNot good: {links.bad}\n"
    )


def html_body(message: Message, links: RatingLinks) -> str:
    rating = format_html(
        '<p style="color:#666;font-size:90%">How was this answer? '
        '<a href="{}">Good</a> · <a href="{}">Not good</a></p>',
        links.good,
        links.bad,
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
        f"{markdown_html(message.body)}{rating}</body></html>"
    )


def address(name: str, addr: str) -> Address:
    """A header address; ValueError for one that is not a single plain address."""
    local, at, domain = addr.strip().rpartition("@")
    if not at or not local or not domain or _CONTROL.search(addr) or " " in addr.strip():
        raise ValueError("not a valid e-mail address")
    return Address(display_name=_CONTROL.sub(" ", name).strip(), username=local, domain=domain)


def build_message(email: OutboundEmail) -> EmailMessage:
    message = email.message
    mail = EmailMessage()
    mail["Message-ID"] = email.msgid
    mail["Date"] = format_datetime(clock.now())
    mail["From"] = address(sender_name(), email.from_address)
    mail["To"] = address(message.ticket.customer.name, email.to_address)
    mail["Subject"] = email.subject
    if email.in_reply_to:
        mail["In-Reply-To"] = email.in_reply_to
    if email.references:
        mail["References"] = email.references
    if message.author == Message.Author.AGENT:
        # RFC 3834: an automatic answer, so autoresponders do not answer it (no mail loops);
        # the second header asks Exchange to hold back its out-of-office replies too.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    links = rating_links(message)
    mail.set_content(text_body(message, links))
    mail.add_alternative(html_body(message, links), subtype="html")
    return mail


def sender_name() -> str:
    signature = settings.SUPPORT_SIGNATURE.strip()
    return signature if signature and "\n" not in signature and len(signature) <= 80 else ""


# SMTP: the connection and the send are founderops.core.smtp's, shared with status notices.


def scrub(reason: str, email: OutboundEmail) -> str:
    """The error as stored and shown: without the customer's address, never the password."""
    if email.to_address:
        escaped = re.escape(email.to_address)
        reason = re.sub(f"<{escaped}>|{escaped}", "<recipient>", reason, flags=re.I)
    return reason[:ERROR_CHARS]


# Sending: claim, try, record.


@dataclass(frozen=True)
class Attempt:
    outcome: str  # sent, will_retry, gave_up, skipped
    detail: str = ""
    reached: bool = True

    def __str__(self) -> str:
        return f"{self.outcome}: {self.detail}" if self.detail else self.outcome


def claim(email: OutboundEmail, now: datetime) -> bool:
    """Take the e-mail for one try, if it is due and no other worker holds it."""
    lease = now + timedelta(seconds=settings.JOB_TIMEOUT_SECONDS + 60)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    won = OutboundEmail.objects.filter(due, pk=email.pk, status__in=OPEN).update(
        attempts=F("attempts") + 1, next_attempt_at=lease
    )
    if won:
        email.refresh_from_db(fields=["attempts", "next_attempt_at", "status"])
    return bool(won)


def send_email(email: OutboundEmail) -> Attempt:
    """One try at sending, by whichever worker claims it first."""
    if not claim(email, clock.now()):
        return Attempt("skipped", f"e-mail {email.pk} is {email.status} or not due yet")
    try:
        mail = build_message(email)
    except ValueError as error:
        return record_failure(email, Failure(f"cannot be sent: {error}", permanent=True))
    try:
        transmit(smtp_server(settings.SMTP_URL), mail, email.from_address, email.to_address)
    except OSError as error:
        return record_failure(email, classify(error))
    return record_sent(email)


def record_sent(email: OutboundEmail) -> Attempt:
    now = clock.now()
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.SENT, sent_at=now, last_error="", next_attempt_at=None
    )
    audit.record(
        ACTOR,
        "channels.email_sent",
        ("ticket", email.ticket_id),
        outcome="sent",
        details={"email": email.pk, "attempt": email.attempts, "threaded": bool(email.in_reply_to)},
    )
    return Attempt("sent", f"e-mail {email.pk}")


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def record_failure(email: OutboundEmail, failure: Failure) -> Attempt:
    reason = scrub(failure.reason, email)
    final = failure.permanent or email.attempts >= MAX_ATTEMPTS
    status = OutboundEmail.Status.GAVE_UP if final else OutboundEmail.Status.FAILED
    next_at = None if final else clock.now() + backoff(email.attempts)
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=status, last_error=reason, next_attempt_at=next_at
    )
    outcome = "gave_up" if final else "will_retry"
    audit.record(
        ACTOR,
        "channels.email_failed",
        ("ticket", email.ticket_id),
        outcome=outcome,
        details={"email": email.pk, "attempt": email.attempts, "code": failure.code},
    )
    logger.warning(
        "reply e-mail %s, attempt %s: %s (%s)", email.pk, email.attempts, reason, outcome
    )
    return Attempt(outcome, reason, failure.reached)


# The jobs.


def deliver_reply(message_id: int) -> str:
    """Send a stored reply by e-mail when its ticket's channel wants one; once."""
    message = Message.objects.select_related("ticket__customer").filter(pk=message_id).first()
    if message is None:
        return f"message {message_id} no longer exists"
    if not emailed(message):
        return "not sent by e-mail: its channel shows the reply"
    if not message.ticket.customer.email:
        return "not sent: the customer has no e-mail address"
    if not settings.SMTP_URL:
        return "kept in the cockpit: FOUNDEROPS_SMTP_URL is not set"
    return str(send_email(prepare_email(message)))


def retry_outbound() -> str:
    """Try again every e-mail whose backoff or lease has passed (oldest first, a batch)."""
    if not settings.SMTP_URL:
        return "FOUNDEROPS_SMTP_URL is not set"
    now = clock.now()
    due = (
        OutboundEmail.objects.filter(status__in=OPEN)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at", "id")[:RETRY_BATCH]
    )
    outcomes: list[str] = []
    for email in due:
        attempt = send_email(email)
        outcomes.append(attempt.outcome)
        if not attempt.reached:
            # The server is unreachable: the others would time out the same way.
            break
    return summary(outcomes)


def summary(outcomes: list[str]) -> str:
    if not outcomes:
        return "nothing to retry"
    counts = {each: outcomes.count(each) for each in dict.fromkeys(outcomes)}
    return ", ".join(f"{count} {outcome}" for outcome, count in counts.items())


def send_test(to_address: str) -> Attempt:
    """A test mail through FOUNDEROPS_SMTP_URL (`founderops sendtest`): does the relay work?"""
    if not settings.SMTP_URL:
        raise InvalidInput("FOUNDEROPS_SMTP_URL is not set: replies stay in the cockpit")
    sender = settings.SUPPORT_FROM_EMAIL
    mail = EmailMessage()
    mail["Message-ID"] = new_msgid(sender)
    mail["Date"] = format_datetime(clock.now())
    mail["From"] = address(sender_name(), sender)
    mail["To"] = address("", to_address)
    mail["Subject"] = "FounderOps test e-mail"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("Replies to your customers will leave through this server.\n")
    try:
        transmit(smtp_server(settings.SMTP_URL), mail, sender, to_address)
    except OSError as error:
        failure = classify(error)
        reason = failure.reason.replace(to_address, "<recipient>")[:ERROR_CHARS]
        audit.record("cli", "channels.email_test", outcome="failed", details={"code": failure.code})
        return Attempt("gave_up" if failure.permanent else "will_retry", reason, failure.reached)
    audit.record("cli", "channels.email_test", outcome="sent")
    return Attempt("sent", f"from {sender}")
