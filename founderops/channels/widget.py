"""The chat widget: a visitor's question becomes a chat ticket, answered in the same request.

Spam resistance without a CAPTCHA, cheapest check first: a per-address rate limit (counted on
every attempt, valid or not), a honeypot field, a signed form token that must be at least a
couple of seconds old (bots post at once) and at most a day, the question's size, links and
repetition, the same text sent again, then a per-conversation limit. Only then is anything
stored. The browser holds three signed values and nothing else: the form token, the
conversation (a ticket id) and, per answer, a rating token; no cookie, so no CSRF to forge.

A visitor who gave no e-mail address writes as a placeholder customer on the reserved
`.invalid` domain (so no mail can ever go to it); before a handoff the widget asks for the
address and the ticket moves to the customer known by it.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.templatetags.static import static

from founderops.core import clock, ratelimit
from founderops.core.errors import InvalidInput, NotFound
from founderops.customers import services as customer_services
from founderops.customers.services import normalise_email
from founderops.support import agents, services
from founderops.support.models import Message, Rating, Ticket

FORM_SALT = "founderops.channels.widget.form"
CONVERSATION_SALT = "founderops.channels.widget.conversation"
RATING_SALT = "founderops.channels.widget.rating"

MIN_FORM_AGE_SECONDS = 2
MAX_FORM_AGE_SECONDS = 24 * 3600
CONVERSATION_MAX_AGE_SECONDS = 30 * 24 * 3600
RATING_MAX_AGE_SECONDS = 30 * 24 * 3600

# A chat question is short; a request body this big is refused before it is parsed (JSON may
# spell one character in 12 bytes, hence the room).
QUESTION_MAX_CHARS = 2000
NAME_MAX_CHARS = 200
MAX_BODY_BYTES = 32 * 1024
MAX_LINKS = 2
# Keyword stuffing: a long text made of a handful of words said over and over.
REPETITIVE_MIN_WORDS = 30
REPETITIVE_DISTINCT_SHARE = 0.25
# One address may send the same text twice an hour (a resend); a third time is a flood.
SAME_TEXT_PER_HOUR = 2
CONVERSATION_MESSAGES_PER_HOUR = 10
RATINGS_PER_HOUR = 60
HOUR = 3600

PLACEHOLDER_DOMAIN = customer_services.VISITOR_DOMAIN
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
_WORD = re.compile(r"\w+")

ANSWERED = "answered"
HANDOFF = "handoff"
NEED_EMAIL = "need_email"
EMAIL_NOTED = "email_noted"
RATED = "rated"


class Refused(InvalidInput):
    """A widget request turned down; `code` lets the script react, the message says why."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Throttled(Refused):
    """Too many, or too soon: try again after `retry_after` seconds."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = max(int(retry_after), 1)


class TooLarge(Refused):
    status = 413


@dataclass(frozen=True)
class Question:
    """What the widget posts to /widget/v1/ask."""

    token: str
    text: str = ""
    email: str = ""
    name: str = ""
    conversation: str = ""
    # The browser's id for this send: a resend after a lost response is stored once.
    request_id: str = ""
    # The honeypot: a field people never see, so only a bot fills it in.
    website: str = ""


@dataclass(frozen=True)
class Reply:
    """What the visitor sees: an answer, a handoff, or a request for their e-mail."""

    status: str
    text: str
    conversation: str
    message_id: int | None = None
    rating_token: str = ""
    email: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "text": self.text,
            "conversation": self.conversation,
        }
        if self.message_id is not None:
            data["message_id"] = self.message_id
            data["rating_token"] = self.rating_token
        if self.email:
            data["email"] = self.email
        return data


# The form token.


def open_session() -> dict[str, Any]:
    """A fresh form token, and the limits the widget shows to the visitor."""
    return {
        "token": issue_form_token(),
        "min_wait_seconds": MIN_FORM_AGE_SECONDS,
        "max_question_chars": QUESTION_MAX_CHARS,
    }


def issue_form_token() -> str:
    # `sid` makes each token unique: the stored messages' ids are derived from it.
    payload = {"iat": int(clock.now().timestamp()), "sid": secrets.token_urlsafe(9)}
    return signing.dumps(payload, salt=FORM_SALT)


def check_form_token(token: str) -> str:
    """The token's session id, once it is genuine, old enough and not too old."""
    if not token:
        raise Refused("token_missing", "the form token is missing: get one from /widget/v1/session")
    try:
        payload = signing.loads(token, salt=FORM_SALT)
        issued, sid = int(payload["iat"]), str(payload["sid"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Refused(
            "token_invalid", "the form token is not valid: get a new one from /widget/v1/session"
        ) from None
    age = clock.now().timestamp() - issued
    if age < MIN_FORM_AGE_SECONDS:
        wait = math.ceil(MIN_FORM_AGE_SECONDS - age)
        raise Throttled("too_fast", "sent too fast after the form opened: send it again", wait)
    if age > MAX_FORM_AGE_SECONDS:
        raise Refused(
            "token_expired",
            "the form is more than a day old: get a new one from /widget/v1/session",
        )
    return sid


def check_honeypot(value: str) -> None:
    if value.strip():
        raise Refused("honeypot", "refused: a hidden field meant to catch bots was filled in")


# What the visitor wrote.


def check_text(text: str) -> str:
    text = text.strip()
    if len(text) > QUESTION_MAX_CHARS:
        raise Refused(
            "question_too_long",
            f"the question has {len(text):,} characters; the limit is {QUESTION_MAX_CHARS:,}",
        )
    links = len(_LINK.findall(text))
    if links > MAX_LINKS:
        raise Refused("too_many_links", f"the question holds {links} links; at most {MAX_LINKS}")
    if repetitive(text):
        raise Refused("repetitive", "the question repeats the same few words over and over")
    return text


def repetitive(text: str) -> bool:
    words = _WORD.findall(text.lower())
    if len(words) < REPETITIVE_MIN_WORDS:
        return False
    return len(set(words)) / len(words) < REPETITIVE_DISTINCT_SHARE


def check_email(email: str) -> str:
    return normalise_email(email) if email.strip() else ""


def check_name(name: str) -> str:
    if len(name) > NAME_MAX_CHARS:
        raise Refused("name_too_long", f"the name is longer than {NAME_MAX_CHARS} characters")
    return name.strip()


def request_id_of(question: Question) -> str:
    if not question.request_id:
        return secrets.token_urlsafe(12)
    if not _REQUEST_ID.fullmatch(question.request_id):
        raise Refused("request_id_invalid", "request_id must be 8 to 64 letters, digits, - or _")
    return question.request_id


# Rate limits.


def limit_visitor(ip: str) -> None:
    verdict = ratelimit.hit(
        ratelimit.key_for("widget-ip", ip), settings.WIDGET_QUESTIONS_PER_HOUR, HOUR
    )
    if not verdict.allowed:
        raise Throttled(
            "rate_limited",
            f"too many questions from your address ({verdict.limit} an hour): try again later",
            verdict.retry_after_seconds,
        )


def limit_same_text(ip: str, text: str) -> None:
    fingerprint = " ".join(_WORD.findall(text.lower()))
    verdict = ratelimit.hit(
        ratelimit.key_for("widget-text", f"{ip}\n{fingerprint}"), SAME_TEXT_PER_HOUR, HOUR
    )
    if not verdict.allowed:
        raise Throttled(
            "repeated", "you already sent this same text: we have it", verdict.retry_after_seconds
        )


def limit_conversation(ticket: Ticket) -> None:
    verdict = ratelimit.hit(
        ratelimit.key_for("widget-conversation", str(ticket.pk)),
        CONVERSATION_MESSAGES_PER_HOUR,
        HOUR,
    )
    if not verdict.allowed:
        raise Throttled(
            "conversation_rate_limited",
            f"too many messages in this conversation ({verdict.limit} an hour): try again later",
            verdict.retry_after_seconds,
        )


# Conversations and ratings: signed ids the browser keeps.


def conversation_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk}, salt=CONVERSATION_SALT)


def open_conversation(token: str) -> Ticket | None:
    """The chat ticket a conversation token names; None when there is no token."""
    if not token:
        return None
    try:
        payload = signing.loads(token, salt=CONVERSATION_SALT, max_age=CONVERSATION_MAX_AGE_SECONDS)
        pk = int(payload["t"])
    except signing.SignatureExpired:
        raise Refused(
            "conversation_expired", "this conversation has expired: start a new one"
        ) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Refused("conversation_invalid", "the conversation id is not valid") from None
    ticket = Ticket.objects.filter(pk=pk, channel=Ticket.Channel.CHAT).first()
    if ticket is None:
        raise Refused("conversation_invalid", "this conversation no longer exists: start a new one")
    return ticket


def rating_token(message: Message) -> str:
    return signing.dumps({"m": message.pk}, salt=RATING_SALT)


def rated_message(token: str) -> Message:
    try:
        payload = signing.loads(token, salt=RATING_SALT, max_age=RATING_MAX_AGE_SECONDS)
        pk = int(payload["m"])
    except signing.SignatureExpired:
        raise Refused("rating_expired", "this answer is too old to be rated") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Refused("rating_invalid", "the rating token is not valid") from None
    message = Message.objects.filter(pk=pk).select_related("ticket").first()
    if message is None:
        raise NotFound("this answer no longer exists")
    return message


# Asking.


def is_placeholder(email: str) -> bool:
    return customer_services.is_visitor(email)


def placeholder_email() -> str:
    return customer_services.visitor_email()


def ask_question(question: Question, ip: str, deps: agents.SupportDeps | None = None) -> Reply:
    """Check the question, store it, let the Support Agent answer it now, say what happened."""
    limit_visitor(ip)
    check_honeypot(question.website)
    sid = check_form_token(question.token)
    ticket = open_conversation(question.conversation)
    text, email = check_text(question.text), check_email(question.email)
    name = check_name(question.name)
    if not text and not (ticket and email):
        raise Refused("question_missing", "the question is empty: type what you need help with")
    if text:
        limit_same_text(ip, text)
    if ticket is not None:
        limit_conversation(ticket)
    external_id = f"widget:{sid}:{request_id_of(question)}"
    if ticket is None:
        ticket, message = start_conversation(text, email, name, external_id)
    else:
        if email:
            services.assign_customer(ticket, email, name)
        if not text:
            return email_noted(ticket)
        message, _ = services.add_customer_message(ticket, text, external_id=external_id)
    # Idempotent: a resend, or a follow-up, finds the decision made the first time.
    agents.handle_ticket(ticket, deps)
    return reply_to(ticket, message)


def start_conversation(
    text: str, email: str, name: str, external_id: str
) -> tuple[Ticket, Message]:
    incoming = services.Incoming(
        email=email or placeholder_email(),
        name=name,
        body=text,
        channel=Ticket.Channel.CHAT,
        external_id=external_id,
    )
    ticket, _ = services.receive_ticket(incoming, triage=False)
    message = ticket.messages.filter(author=Message.Author.CUSTOMER).order_by("pk").first()
    if message is None:  # receive_ticket stores the first message with the ticket
        raise NotFound(f"ticket #{ticket.pk} has no message")
    return ticket, message


def reply_to(ticket: Ticket, message: Message) -> Reply:
    """The agent's answer to `message` if it gave one, else the handoff."""
    ticket.refresh_from_db()
    conversation = conversation_token(ticket)
    answer = (
        ticket.messages.filter(author=Message.Author.AGENT, pk__gt=message.pk)
        .order_by("pk")
        .first()
    )
    if answer is None:
        return handoff(ticket, conversation)
    return Reply(ANSWERED, answer.body, conversation, answer.pk, rating_token(answer))


def handoff(ticket: Ticket, conversation: str) -> Reply:
    email = ticket.customer.email
    if is_placeholder(email):
        return Reply(
            NEED_EMAIL,
            "A person from our team will answer this. Leave your e-mail address and we'll "
            "reply there.",
            conversation,
        )
    return Reply(
        HANDOFF,
        f"Thanks! A person from our team will answer this. We'll reply by e-mail to {email}.",
        conversation,
        email=email,
    )


def email_noted(ticket: Ticket) -> Reply:
    """The visitor gave their address without a question: usually the one a handoff asked for."""
    if ticket.status == Ticket.Status.ESCALATED:
        return handoff(ticket, conversation_token(ticket))
    email = ticket.customer.email
    text = f"Thanks! If we need to reach you, we'll write to {email}."
    return Reply(EMAIL_NOTED, text, conversation_token(ticket), email=email)


# Rating an answer.


def rate_answer(token: str, score: str, ip: str, comment: str = "") -> Rating:
    verdict = ratelimit.hit(ratelimit.key_for("widget-rate", ip), RATINGS_PER_HOUR, HOUR)
    if not verdict.allowed:
        raise Throttled(
            "rate_limited", "too many ratings from your address", verdict.retry_after_seconds
        )
    message = rated_message(token)
    return services.rate_reply(message, score, Ticket.Channel.CHAT, comment)


# What the cockpit shows.


@dataclass(frozen=True)
class Summary:
    snippet: str
    script_url: str
    origins: list[str]
    conversations_today: int


def script_url() -> str:
    return settings.SITE_URL.rstrip("/") + static("channels/widget.js")


def snippet() -> str:
    return f'<script src="{script_url()}" data-founderops async></script>'


def allowed_origins() -> list[str]:
    return [origin.rstrip("/").lower() for origin in settings.WIDGET_ORIGINS]


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight in the founder's time zone, the day the cockpit calls "today"."""
    local = (now or clock.now()).astimezone(clock.zone(settings.TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def conversations_today() -> int:
    return Ticket.objects.filter(
        channel=Ticket.Channel.CHAT, created_at__gte=start_of_today()
    ).count()


def summary() -> Summary:
    return Summary(snippet(), script_url(), allowed_origins(), conversations_today())
