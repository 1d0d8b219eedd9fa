"""E-mail subscribers of the status page: double opt-in, one-click unsubscribe, notices.

Subscribing stores the address unconfirmed and queues a confirmation mail; the job draws a
fresh random token for it and keeps only the token's SHA-256, so neither the database nor the
job queue holds a usable link. The link opens a page that confirms with a POST (mail scanners
fetch every link). Unsubscribe links are signed with the secret key instead (the notices are
written long after the token was drawn); they work as RFC 8058 one-click links too.

`announce(update_id)` (queued by incidents.services when an update is published) mails the
update to every confirmed subscriber through FOUNDEROPS_SMTP_URL, once each: a
SubscriberNotice row per subscriber and update is claimed before the send, so a job delivered
twice or two workers send it once; a send that failed for now is tried again by
`retry_notices` with the same Message-ID.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse

from founderops.core import audit, clock, jobs
from founderops.core.errors import InvalidInput
from founderops.core.smtp import classify, smtp_server, transmit
from founderops.incidents.models import Incident, StatusUpdate, Subscriber, SubscriberNotice

logger = logging.getLogger(__name__)

ACTOR = "system:status-page"
CONFIRM_MAX_AGE = timedelta(days=7)
UNSUBSCRIBE_SALT = "founderops.incidents.unsubscribe"
MAX_ATTEMPTS = 6
# Minutes before a notice that failed for now (or whose sender died) is tried again.
RETRY_MINUTES = 5
RETRY_BATCH = 100
ERROR_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalised(raw: str) -> str:
    """The address as stored (trimmed, lower case); InvalidInput when it is not one."""
    address = (raw or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput("enter a valid e-mail address, like you@example.com") from None
    return address


# Subscribing and confirming.


def subscribe(raw_address: str) -> Subscriber:
    """Ask for a confirmation mail; an address already confirmed is left as it is.

    The caller shows the same answer either way, so the form tells no one who subscribed.
    """
    address = normalised(raw_address)
    now = clock.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=address).first()
        if subscriber is not None and subscriber.confirmed_at and not subscriber.unsubscribed_at:
            return subscriber
        subscriber = _pending(subscriber, address, now)
    jobs.enqueue("founderops.incidents.subscribers.send_confirmation", subscriber.pk)
    audit.record(ACTOR, "incidents.subscriber_requested", ("subscriber", subscriber.pk))
    return subscriber


def _pending(subscriber: Subscriber | None, address: str, now: datetime) -> Subscriber:
    # Until the job draws the real token, the stored hash is of one nobody holds.
    placeholder = hash_token(secrets.token_urlsafe(32))
    if subscriber is None:
        try:
            with transaction.atomic():
                return Subscriber.objects.create(
                    email=address, created_at=now, token_hash=placeholder
                )
        except IntegrityError:
            # The same address sent twice at once: the other request created it.
            subscriber = Subscriber.objects.get(email=address)
    subscriber.created_at, subscriber.token_hash = now, placeholder
    subscriber.confirmed_at = subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["created_at", "token_hash", "confirmed_at", "unsubscribed_at"])
    return subscriber


def send_confirmation(subscriber_id: int) -> str:
    """The job: draw the token, keep its hash, mail the link."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, confirmed_at__isnull=True).first()
    if subscriber is None:
        return f"subscriber {subscriber_id} is confirmed or gone"
    if not settings.SMTP_URL:
        return "not sent: FOUNDEROPS_SMTP_URL is not set"
    token = secrets.token_urlsafe(32)
    Subscriber.objects.filter(pk=subscriber.pk).update(token_hash=hash_token(token))
    mail = confirmation_mail(subscriber, token)
    try:
        transmit(
            smtp_server(settings.SMTP_URL), mail, settings.SUPPORT_FROM_EMAIL, subscriber.email
        )
    except OSError as error:
        reason = scrub(classify(error).reason, subscriber.email)
        audit.record(ACTOR, "incidents.confirmation_failed", ("subscriber", subscriber.pk))
        return f"not sent: {reason}"
    audit.record(ACTOR, "incidents.confirmation_sent", ("subscriber", subscriber.pk))
    return f"confirmation sent to subscriber {subscriber.pk}"


def confirm(token: str) -> Subscriber:
    """Confirm the subscription a link names; InvalidInput when unknown or expired."""
    subscriber = by_token(token)
    if subscriber.confirmed_at is not None:
        return subscriber
    if clock.now() - subscriber.created_at > CONFIRM_MAX_AGE:
        raise InvalidInput("this confirmation link has expired; subscribe again for a new one")
    subscriber.confirmed_at = clock.now()
    subscriber.save(update_fields=["confirmed_at"])
    audit.record(ACTOR, "incidents.subscriber_confirmed", ("subscriber", subscriber.pk))
    return subscriber


def by_token(token: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(token_hash=hash_token(token or "")).first()
    if subscriber is None or subscriber.unsubscribed_at is not None:
        raise InvalidInput("this confirmation link is invalid or has been used up")
    return subscriber


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(subscriber.pk))


def by_unsubscribe_token(token: str) -> Subscriber:
    try:
        pk = int(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise InvalidInput("this unsubscribe link is invalid") from None
    subscriber = Subscriber.objects.filter(pk=pk).first()
    if subscriber is None:
        raise InvalidInput("this unsubscribe link is invalid")
    return subscriber


def unsubscribe(token: str) -> Subscriber:
    """Stop every mail to the subscriber a link names (again: nothing changes)."""
    subscriber = by_unsubscribe_token(token)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = clock.now()
        subscriber.save(update_fields=["unsubscribed_at"])
        audit.record(ACTOR, "incidents.subscriber_left", ("subscriber", subscriber.pk))
    return subscriber


def active() -> Q:
    return Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


# The mails.


def site_link(name: str, *args: object) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[str(a) for a in args])


def new_msgid() -> str:
    domain = settings.SUPPORT_FROM_EMAIL.rpartition("@")[2].strip() or "localhost"
    return f"<{uuid.uuid4()}@{domain}>"


def base_mail(subscriber: Subscriber, subject: str, msgid: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Message-ID"] = msgid
    mail["Date"] = format_datetime(clock.now())
    mail["From"] = settings.SUPPORT_FROM_EMAIL
    mail["To"] = subscriber.email
    mail["Subject"] = _CONTROL.sub(" ", subject)[:300]
    # RFC 3834: sent by a program, so autoresponders stay quiet.
    mail["Auto-Submitted"] = "auto-generated"
    return mail


def confirmation_mail(subscriber: Subscriber, token: str) -> EmailMessage:
    title = settings.STATUS_TITLE
    mail = base_mail(subscriber, f"Confirm your subscription to {title}", new_msgid())
    link = site_link("status_confirm", token)
    mail.set_content(
        f"Someone (hopefully you) asked to get {title} updates by e-mail at this address.\n\n"
        f"Confirm here: {link}\n\n"
        f"If it was not you, ignore this mail: nothing is sent unless you confirm.\n"
    )
    return mail


def notice_mail(notice: SubscriberNotice) -> EmailMessage:
    update, subscriber = notice.update, notice.subscriber
    incident = update.incident
    state = Incident.State(update.status).label
    mail = base_mail(subscriber, f"[{state}] {incident.public_title}", notice.msgid)
    leave = site_link("status_unsubscribe", unsubscribe_token(subscriber))
    # RFC 2369 and 8058: the mail client's own "unsubscribe" button, one POST, no page.
    mail["List-Unsubscribe"] = f"<{leave}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["List-Id"] = f"{_CONTROL.sub(' ', settings.STATUS_TITLE)[:80]} <status.founderops>"
    page = site_link("status_incident", incident.pk)
    published = update.published_at or update.created_at
    mail.set_content(
        f"{incident.public_title}\n{state} · {published:%Y-%m-%d %H:%M} UTC\n\n"
        f"{update.body.strip()}\n\n"
        f"Details: {page}\n\n-- \nStop these mails: {leave}\n"
    )
    return mail


def scrub(reason: str, address: str) -> str:
    if address:
        reason = re.sub(re.escape(address), "<recipient>", reason, flags=re.I)
    return reason[:ERROR_CHARS]


# Announcing an update.


@dataclass
class Round:
    sent: int = 0
    skipped: int = 0
    will_retry: int = 0
    gave_up: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.skipped} already sent or in hand, "
            f"{self.will_retry} will retry, {self.gave_up} gave up"
        )


def announce(update_id: int) -> str:
    """The job: mail a published update of a public incident to every confirmed subscriber."""
    update = (
        StatusUpdate.objects.filter(pk=update_id, state=StatusUpdate.State.PUBLISHED)
        .select_related("incident")
        .first()
    )
    if update is None or not update.incident.public:
        return f"update {update_id} is not published on the status page: nothing sent"
    if not settings.SMTP_URL:
        return "not sent: FOUNDEROPS_SMTP_URL is not set"
    result = Round()
    for subscriber in Subscriber.objects.filter(active()).order_by("pk"):
        _send(_notice(subscriber, update), result)
    audit.record(ACTOR, "incidents.update_announced", ("status_update", update.pk), str(result))
    return str(result)


def _notice(subscriber: Subscriber, update: StatusUpdate) -> SubscriberNotice:
    now = clock.now()
    try:
        with transaction.atomic():
            notice, _ = SubscriberNotice.objects.get_or_create(
                subscriber=subscriber,
                update=update,
                defaults={"msgid": new_msgid(), "claimed_at": now},
            )
    except IntegrityError:
        notice = SubscriberNotice.objects.get(subscriber=subscriber, update=update)
    return notice


def claim(notice: SubscriberNotice, now: datetime) -> bool:
    """Take the notice for one try: new, or its last try's claim has run out."""
    lapsed = now - timedelta(minutes=RETRY_MINUTES)
    due = Q(attempts=0) | Q(claimed_at__lte=lapsed)
    won = SubscriberNotice.objects.filter(
        due, pk=notice.pk, state=SubscriberNotice.State.SENDING
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    return bool(won)


def _send(notice: SubscriberNotice, result: Round) -> None:
    if not claim(notice, clock.now()):
        result.skipped += 1
        return
    notice.refresh_from_db(fields=["attempts", "claimed_at"])
    address = notice.subscriber.email
    try:
        transmit(
            smtp_server(settings.SMTP_URL),
            notice_mail(notice),
            settings.SUPPORT_FROM_EMAIL,
            address,
        )
    except OSError as error:
        failure = classify(error)
        final = failure.permanent or notice.attempts >= MAX_ATTEMPTS
        state = SubscriberNotice.State.FAILED if final else SubscriberNotice.State.SENDING
        SubscriberNotice.objects.filter(pk=notice.pk).update(
            state=state, last_error=scrub(failure.reason, address)
        )
        logger.warning("status notice %s: %s", notice.pk, scrub(failure.reason, address))
        if final:
            result.gave_up += 1
        else:
            result.will_retry += 1
        return
    SubscriberNotice.objects.filter(pk=notice.pk).update(
        state=SubscriberNotice.State.SENT, sent_at=clock.now(), last_error=""
    )
    result.sent += 1


def retry_notices() -> str:
    """Every few minutes: notices that failed for now, or whose sender died, tried again."""
    if not settings.SMTP_URL:
        return "FOUNDEROPS_SMTP_URL is not set"
    lapsed = clock.now() - timedelta(minutes=RETRY_MINUTES)
    due = SubscriberNotice.objects.filter(
        state=SubscriberNotice.State.SENDING, claimed_at__lte=lapsed
    ).filter(subscriber__in=Subscriber.objects.filter(active()))
    result = Round()
    for notice in due.select_related("update__incident", "subscriber").order_by("pk")[:RETRY_BATCH]:
        _send(notice, result)
    return str(result)
