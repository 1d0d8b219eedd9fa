"""Notifications for the founder: one outbox, routed per event to apprise URLs.

`publish` stores a `Notification` in the caller's transaction (the outbox: nothing is sent
before it is stored) and queues a dispatch after commit. `dispatch_notifications` (a job: on
every publish and every minute) then

1. routes each new notification once: one `NotificationDelivery` per target that takes its
   event (the cockpit's routes, then FOUNDEROPS_NOTIFY_URLS as a default route for every
   event; one URL configured twice gets one message);
2. sends every due delivery through `core.notify`. A delivery is claimed with a conditional
   update (state and lease), so two dispatchers never send it twice; it is held while its
   route is in quiet hours (unless it is urgent and the route lets urgent events through),
   bundled with the waiting deliveries of the same event on a route with a digest window,
   retried after 1, 2, 4, 8 and 16 minutes, and failed after the sixth attempt.

Event names are plain strings, so core knows no domain. URLs are secrets: they are sealed at
rest (`core.secrets`), and only their redacted form (`notify.redact`) is stored, shown,
logged or audited.
"""

from __future__ import annotations

import re
import secrets as tokens
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from founderops.core import audit, clock, jobs, notify, secrets
from founderops.core.errors import InvalidInput
from founderops.core.models import Notification, NotificationDelivery, NotificationRoute

State = NotificationDelivery.State

ESCALATION = "escalation"
INCIDENT = "incident"
BRIEFING = "briefing"
DIGEST = "digest"
REVENUE = "revenue"
EVERY_EVENT = "*"
EVENTS: dict[str, str] = {
    ESCALATION: "Escalations: a ticket needs you",
    INCIDENT: "Incidents: something is down or broken",
    BRIEFING: "The morning briefing",
    DIGEST: "Digests and reviews",
    REVENUE: "Revenue: a drop in new MRR, a spike in failed payments or refunds",
    EVERY_EVENT: "Every event, including ones added later",
}
PLURALS = {
    ESCALATION: "escalations",
    INCIDENT: "incidents",
    BRIEFING: "briefings",
    DIGEST: "digests",
    REVENUE: "revenue alerts",
}

MAX_ATTEMPTS = 6
# Longer than any one send (apprise's own timeouts are seconds): a lease that runs out means
# the sending worker died, and the delivery is tried again (at least once, never lost).
LEASE = timedelta(minutes=5)
BATCH = 100
MAX_DIGEST_MINUTES = 24 * 60
MAX_BODY_CHARS = 50_000
MAX_URL_CHARS = 2_000
DIGEST_LINES = 20
DEFAULT_ROUTE = "Default (FOUNDEROPS_NOTIFY_URLS)"
DISPATCH_JOB = "founderops.core.notifications.dispatch_notifications"

ACTOR = "system:notifier"
ROUTE_CHANGED = "notifications.route_changed"
ROUTE_TESTED = "notifications.route_tested"
DELIVERY_FAILED = "notifications.delivery_failed"
DELIVERY_RETRIED = "notifications.delivery_retried"

_WAITING = (State.PENDING, State.HELD)
_NAME = re.compile(r"[a-z][a-z0-9_]*")


# Publishing.


def publish(
    event: str, title: str, body: str, link: str = "", urgent: bool = False, key: str = ""
) -> Notification:
    """Store a notification and dispatch it after commit; a `key` published twice stores once."""
    check_event(event)
    fields = {
        "event": event,
        "title": _one_line(title)[:300] or EVENTS.get(event, event),
        "body": body.strip()[:MAX_BODY_CHARS],
        "link": _checked_link(link),
        "urgent": urgent,
        "key": key.strip()[:200],
    }
    if fields["key"] and (first := Notification.objects.filter(key=fields["key"]).first()):
        return first
    try:
        with transaction.atomic():
            notification = Notification.objects.create(created_at=clock.now(), **fields)
    except IntegrityError:
        # Another process published the same key between our look and our insert.
        return Notification.objects.get(key=fields["key"])
    transaction.on_commit(lambda: jobs.enqueue(DISPATCH_JOB))
    return notification


def check_event(event: str) -> None:
    if event not in EVENTS or event == EVERY_EVENT:
        known = ", ".join(e for e in EVENTS if e != EVERY_EVENT)
        raise InvalidInput(f"{event!r} is not a notification event (known: {known})")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _checked_link(link: str) -> str:
    # Shown as a link in the cockpit: only web addresses, never `javascript:` and friends.
    link = link.strip()
    if link and not re.match(r"https?://|/(?!/)", link):
        raise InvalidInput("a notification link must start with http://, https:// or /")
    if len(link) > 500:
        raise InvalidInput("a notification link may be at most 500 characters")
    return link


# Dispatching: the job.


@dataclass
class Tally:
    routed: int = 0
    sent: int = 0
    held: int = 0
    failed: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return (
            f"routed {self.routed}, sent {self.sent}, held {self.held}, "
            f"failed {self.failed}, skipped {self.skipped}"
        )


def dispatch_notifications() -> str:
    """The job: route new notifications, then send what is due. Safe to run anywhere, often."""
    now = clock.now()
    tally = Tally()
    recover_stalled(now)
    tally.routed = route_pending(now)
    send_due(now, tally)
    return str(tally)


def recover_stalled(now: datetime) -> int:
    """Deliveries whose sender died mid-send (lease over): due again, or failed when spent."""
    stalled = NotificationDelivery.objects.filter(state=State.SENDING, lease_until__lt=now)
    spent = stalled.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=State.FAILED,
        claim="",
        lease_until=None,
        next_attempt_at=None,
        error="the sender stopped while delivering it, too many times",
    )
    again = stalled.filter(attempts__lt=MAX_ATTEMPTS).update(
        state=State.PENDING, claim="", lease_until=None, next_attempt_at=now
    )
    return spent + again


def route_pending(now: datetime) -> int:
    waiting = Notification.objects.filter(routed_at__isnull=True).order_by("id")
    return sum(route_notification(pk, now) for pk in waiting.values_list("pk", flat=True)[:BATCH])


def route_notification(pk: int, now: datetime) -> int:
    """Create one notification's deliveries, once (claimed by setting `routed_at`)."""
    with transaction.atomic():
        if not Notification.objects.filter(pk=pk, routed_at__isnull=True).update(routed_at=now):
            return 0
        notification = Notification.objects.get(pk=pk)
        rows = [_new_delivery(notification, target, now) for target in targets_for(notification)]
        NotificationDelivery.objects.bulk_create(rows)
    return len(rows)


@dataclass(frozen=True)
class Target:
    """Where one notification goes: a route, or (route None) a default URL from settings."""

    route: NotificationRoute | None
    target: str
    name: str


def targets_for(notification: Notification) -> list[Target]:
    found: dict[str, Target] = {}
    for route in NotificationRoute.objects.filter(enabled=True).order_by("id"):
        if takes(route, notification.event):
            found.setdefault(route.target, Target(route, route.target, route.name))
    for target in default_targets():
        found.setdefault(target, Target(None, target, DEFAULT_ROUTE))
    return list(found.values())


def takes(route: NotificationRoute, event: str) -> bool:
    return EVERY_EVENT in route.events or event in route.events


def default_targets() -> list[str]:
    return list(dict.fromkeys(notify.redact(url) for url in settings.NOTIFY_URLS))


def _new_delivery(
    notification: Notification, target: Target, now: datetime
) -> NotificationDelivery:
    route = target.route
    # On a digest route the first event opens the window; the ones that follow join it. The
    # window runs from when the event happened, however late the dispatcher routes it.
    digest = route is not None and route.digest_minutes > 0 and not notification.urgent
    opened = notification.created_at
    due = opened + timedelta(minutes=route.digest_minutes) if digest and route else now
    return NotificationDelivery(
        notification=notification,
        route=route,
        default_route=route is None,
        route_name=target.name,
        target=target.target,
        next_attempt_at=due,
        created_at=now,
    )


def send_due(now: datetime, tally: Tally | None = None, only: Notification | None = None) -> Tally:
    tally = tally or Tally()
    due = NotificationDelivery.objects.filter(state__in=_WAITING, next_attempt_at__lte=now)
    if only is not None:
        due = due.filter(notification=only)
    for pk in list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:BATCH]):
        process_delivery(pk, now, tally)
    return tally


def claim(pk: int, now: datetime) -> str | None:
    """Take one due delivery for this process; None when another process has it."""
    token = tokens.token_hex(16)
    claimed = NotificationDelivery.objects.filter(
        pk=pk, state__in=_WAITING, next_attempt_at__lte=now
    ).update(state=State.SENDING, claim=token, lease_until=now + LEASE)
    return token if claimed else None


def process_delivery(pk: int, now: datetime, tally: Tally) -> None:
    token = claim(pk, now)
    if token is None:
        return
    delivery = NotificationDelivery.objects.select_related("notification", "route").get(pk=pk)
    route = delivery.route
    if reason := _unsendable(delivery):
        _release(delivery, token, state=State.SKIPPED, error=reason, next_attempt_at=None)
        tally.skipped += 1
    elif route is not None and holds(route, delivery.notification, now):
        _release(delivery, token, state=State.HELD, next_attempt_at=quiet_ends(route, now))
        tally.held += 1
    else:
        _send(delivery, token, now, tally)


def _unsendable(delivery: NotificationDelivery) -> str:
    if delivery.route is None and not delivery.default_route:
        return "its route was deleted"
    if delivery.route is not None and not delivery.route.enabled:
        return "its route is disabled"
    return ""


def holds(route: NotificationRoute, notification: Notification, now: datetime) -> bool:
    """Whether quiet hours hold this notification on this route right now."""
    if notification.urgent and route.urgent_breaks_quiet:
        return False
    return in_quiet_hours(route, now)


def _release(delivery: NotificationDelivery, token: str, **fields: object) -> None:
    NotificationDelivery.objects.filter(pk=delivery.pk, claim=token).update(
        claim="", lease_until=None, **fields
    )


def _send(delivery: NotificationDelivery, token: str, now: datetime, tally: Tally) -> None:
    try:
        url = url_of(delivery)
    except InvalidInput as refused:
        # A URL that cannot be read (SECRET_KEY changed, removed from settings) will not
        # become readable by waiting: fail now, visibly.
        bundle = [delivery]
        _attempted(bundle, token)
        _failed(bundle, token, str(refused), now, tally, final=True)
        return
    bundle = _bundle(delivery, token, now)
    _attempted(bundle, token)
    title, body = message([row.notification for row in bundle])
    [outcome] = notify.notify(title, body, [url])
    if outcome.ok:
        NotificationDelivery.objects.filter(pk__in=[r.pk for r in bundle], claim=token).update(
            state=State.SENT,
            sent_at=clock.now(),
            error="",
            claim="",
            lease_until=None,
            next_attempt_at=None,
            bundle_size=len(bundle),
        )
        tally.sent += len(bundle)
    else:
        _failed(bundle, token, outcome.error, now, tally)


def url_of(delivery: NotificationDelivery) -> str:
    """The delivery's URL: revealed from its route, or found among the default URLs."""
    if delivery.route is not None:
        return secrets.reveal(delivery.route.url_sealed)
    for url in settings.NOTIFY_URLS:
        if notify.redact(url) == delivery.target:
            return url
    raise InvalidInput("its URL is no longer in FOUNDEROPS_NOTIFY_URLS")


def _bundle(
    delivery: NotificationDelivery, token: str, now: datetime
) -> list[NotificationDelivery]:
    """The delivery with the others waiting on its digest route for the same event."""
    route = delivery.route
    if route is None or route.digest_minutes == 0 or delivery.notification.urgent:
        return [delivery]
    waiting = NotificationDelivery.objects.filter(
        route=route,
        state__in=_WAITING,
        notification__event=delivery.notification.event,
        notification__urgent=False,
    ).exclude(pk=delivery.pk)
    ids = list(waiting.values_list("pk", flat=True))
    # The claim re-checks the state on the row itself, so another dispatcher's claim wins
    # cleanly (a filter through the join alone would not be re-checked under a row lock).
    NotificationDelivery.objects.filter(pk__in=ids, state__in=_WAITING).update(
        state=State.SENDING, claim=token, lease_until=now + LEASE
    )
    rows = NotificationDelivery.objects.filter(claim=token).select_related("notification")
    return list(rows.order_by("notification__created_at", "id"))


def _attempted(bundle: Sequence[NotificationDelivery], token: str) -> None:
    # Counted before sending: a sender that dies mid-send has used up an attempt too.
    ids = [row.pk for row in bundle]
    NotificationDelivery.objects.filter(pk__in=ids, claim=token).update(attempts=F("attempts") + 1)


def _failed(
    bundle: Sequence[NotificationDelivery],
    token: str,
    error: str,
    now: datetime,
    tally: Tally,
    final: bool = False,
) -> None:
    for row in bundle:
        row.refresh_from_db(fields=["attempts"])
        spent = final or row.attempts >= MAX_ATTEMPTS
        retry_at = None if spent else now + backoff(row.attempts)
        NotificationDelivery.objects.filter(pk=row.pk, claim=token).update(
            state=State.FAILED if spent else State.PENDING,
            error=error[: notify.MAX_ERROR_CHARS],
            claim="",
            lease_until=None,
            next_attempt_at=retry_at,
        )
        _audit_failure(row, error, spent, retry_at)
        tally.failed += 1


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 2, 4, 8, 16 … minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def _audit_failure(
    row: NotificationDelivery, error: str, spent: bool, retry_at: datetime | None
) -> None:
    audit.record(
        ACTOR,
        DELIVERY_FAILED,
        ("notification", row.notification_id),
        outcome="failed" if spent else "retrying",
        details={
            "delivery": row.pk,
            "route": row.route_name,
            "target": row.target,
            "attempts": row.attempts,
            "error": error[: notify.MAX_ERROR_CHARS],
            "next_attempt_at": retry_at.isoformat() if retry_at else None,
        },
    )


def message(notifications: Sequence[Notification]) -> tuple[str, str]:
    """Title and body: the notification itself, or one digest for several."""
    if len(notifications) == 1:
        only = notifications[0]
        title = f"Urgent · {only.title}" if only.urgent else only.title
        return title, "\n\n".join(part for part in (only.body, only.link) if part)
    event = notifications[0].event
    lines = [
        f"- {n.title}" + (f" — {n.link}" if n.link else "") for n in notifications[:DIGEST_LINES]
    ]
    if len(notifications) > DIGEST_LINES:
        lines.append(f"- … and {len(notifications) - DIGEST_LINES} more in the cockpit")
    return f"FounderOps: {len(notifications)} {PLURALS.get(event, event)}", "\n".join(lines)


# Quiet hours, in the founder's zone. Each day has one start instant and one end instant
# (a wall time skipped by DST maps to just after the gap, a repeated one to its first
# occurrence); a moment is quiet when the latest start came after the latest end. Counting
# instants instead of comparing wall times never holds anything twice across a DST change.


def founder_zone() -> ZoneInfo:
    return clock.zone(settings.BRIEFING_TIME_ZONE)


def in_quiet_hours(route: NotificationRoute, moment: datetime) -> bool:
    start, end = route.quiet_start, route.quiet_end
    if start is None or end is None or start == end:
        return False
    return _latest(start, moment) > _latest(end, moment)


def quiet_ends(route: NotificationRoute, moment: datetime) -> datetime:
    """The first instant after `moment` when the route's quiet hours end (UTC)."""
    if route.quiet_end is None:
        return moment
    later = [i for i in _instants(route.quiet_end, moment) if i > moment]
    return min(later)


def _instants(wall: time, around: datetime) -> list[datetime]:
    zone = founder_zone()
    day = around.astimezone(zone).date()
    return [_instant(day + timedelta(days=offset), wall, zone) for offset in (-2, -1, 0, 1, 2)]


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _latest(wall: time, moment: datetime) -> datetime:
    return max(i for i in _instants(wall, moment) if i <= moment)


# Delivering one notification now (the briefing, which reports what happened).


@dataclass(frozen=True)
class Sending:
    """`outcome`: delivered, queued (held or in a digest, none failed), partial, failed,
    no_targets."""

    outcome: str
    deliveries: list[notify.Delivery]


def deliver_now(notification: Notification) -> Sending:
    """Route and send one notification in this process, and say what became of it."""
    now = clock.now()
    route_notification(notification.pk, now)
    send_due(now, only=notification)
    rows = list(notification.deliveries.order_by("id"))
    return Sending(_outcome(rows), [_as_delivery(row) for row in rows])


def _as_delivery(row: NotificationDelivery) -> notify.Delivery:
    if row.state == State.SENT:
        return notify.Delivery(row.target, ok=True)
    if row.state in _WAITING and not row.error and row.next_attempt_at:
        when = row.next_attempt_at.astimezone(founder_zone())
        return notify.Delivery(row.target, ok=False, error=f"{row.state} until {when:%H:%M %Z}")
    return notify.Delivery(row.target, ok=False, error=row.error or row.state)


def _outcome(rows: Sequence[NotificationDelivery]) -> str:
    if not rows:
        return "no_targets"
    sent = sum(row.state == State.SENT for row in rows)
    if sent == len(rows):
        return "delivered"
    if all(row.state == State.SENT or (row.state in _WAITING and not row.error) for row in rows):
        return "queued"
    return "partial" if sent else "failed"


# Routes: the founder's settings (cockpit), each change audited without the URL.


@dataclass(frozen=True)
class RouteSettings:
    """A route as the founder typed it. An empty `url` keeps the stored one when editing."""

    name: str
    events: Sequence[str]
    url: str = ""
    quiet_start: time | None = None
    quiet_end: time | None = None
    urgent_breaks_quiet: bool = True
    digest_minutes: int = 0
    enabled: bool = True


def routes_for(event: str) -> list[Target]:
    """Every target an event would reach now (the CLI checks there is somewhere to send)."""
    check_event(event)
    probe = Notification(event=event)
    return targets_for(probe)


def check_url(url: str) -> str:
    """A notification URL apprise understands; the error never repeats the URL."""
    url = url.strip()
    if not url:
        raise InvalidInput("enter the service's notification URL")
    if len(url) > MAX_URL_CHARS or "://" not in url or any(c.isspace() for c in url):
        raise InvalidInput(
            "this is not a notification URL: it looks like service://… "
            "(for example ntfy://topic or slack://…)"
        )
    import apprise

    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0][:20]
        raise InvalidInput(
            f"apprise does not understand this {scheme}:// URL: check its format in the "
            "apprise documentation for that service"
        )
    return url


def check_route(values: RouteSettings, creating: bool) -> RouteSettings:
    name = _one_line(values.name)
    if not name or len(name) > 100:
        raise InvalidInput("a route needs a name of 1 to 100 characters")
    events = [e for e in EVENTS if e in set(values.events)]
    unknown = set(values.events) - set(EVENTS)
    if unknown or not events:
        raise InvalidInput("choose at least one event from the list")
    if (values.quiet_start is None) != (values.quiet_end is None):
        raise InvalidInput("quiet hours need both a start and an end (or neither)")
    if values.quiet_start is not None and values.quiet_start == values.quiet_end:
        raise InvalidInput("quiet hours cannot start and end at the same time")
    if not 0 <= values.digest_minutes <= MAX_DIGEST_MINUTES:
        raise InvalidInput(f"the digest window is 0 to {MAX_DIGEST_MINUTES} minutes")
    url = check_url(values.url) if (creating or values.url.strip()) else ""
    return RouteSettings(
        name,
        events,
        url,
        values.quiet_start,
        values.quiet_end,
        values.urgent_breaks_quiet,
        values.digest_minutes,
        values.enabled,
    )


def save_route(
    values: RouteSettings, user: AbstractBaseUser, route: NotificationRoute | None = None
) -> NotificationRoute:
    """Create a route, or change one (the URL only when a new one is given)."""
    values = check_route(values, creating=route is None)
    now = clock.now()
    change = "created" if route is None else "updated"
    route = route or NotificationRoute(created_at=now)
    url_changed = bool(values.url)
    if values.url:
        route.url_sealed = secrets.seal(values.url)
        route.target = notify.redact(values.url)
    route.name = values.name
    route.events = list(values.events)
    route.quiet_start, route.quiet_end = values.quiet_start, values.quiet_end
    route.urgent_breaks_quiet = values.urgent_breaks_quiet
    route.digest_minutes = values.digest_minutes
    route.enabled = values.enabled
    route.updated_at = now
    with transaction.atomic():
        route.save()
        _audit_route(route, user, change, url_changed=url_changed)
    return route


def delete_route(route: NotificationRoute, user: AbstractBaseUser) -> None:
    with transaction.atomic():
        _audit_route(route, user, "deleted")
        # What was waiting for this route is not sent (and says why on the page).
        route.deliveries.filter(state__in=_WAITING).update(
            state=State.SKIPPED, error="its route was deleted", next_attempt_at=None
        )
        route.delete()


def _audit_route(
    route: NotificationRoute, user: AbstractBaseUser, change: str, url_changed: bool = False
) -> None:
    audit.record(
        f"user:{user.get_username()}",
        ROUTE_CHANGED,
        ("notification_route", route.pk),
        outcome=change,
        details={
            "name": route.name,
            "target": route.target,
            "url_changed": url_changed,
            "events": list(route.events),
            "quiet_hours": quiet_label(route),
            "urgent_breaks_quiet": route.urgent_breaks_quiet,
            "digest_minutes": route.digest_minutes,
            "enabled": route.enabled,
        },
    )


def quiet_label(route: NotificationRoute) -> str:
    if route.quiet_start is None or route.quiet_end is None:
        return ""
    return f"{route.quiet_start:%H:%M}-{route.quiet_end:%H:%M}"


def send_test(route: NotificationRoute, user: AbstractBaseUser) -> notify.Delivery:
    """Send a test message to the route now (not through the outbox) and audit the outcome."""
    try:
        url = secrets.reveal(route.url_sealed)
    except InvalidInput as refused:
        outcome = notify.Delivery(route.target, ok=False, error=str(refused))
    else:
        [outcome] = notify.notify(
            "FounderOps test notification",
            f"This is a test of the route “{route.name}”. If you can read it, it works.",
            [url],
        )
    audit.record(
        f"user:{user.get_username()}",
        ROUTE_TESTED,
        ("notification_route", route.pk),
        outcome="sent" if outcome.ok else "failed",
        details={"target": route.target, "error": outcome.error},
    )
    return outcome


def retry_delivery(delivery: NotificationDelivery, user: AbstractBaseUser) -> bool:
    """Try a failed (or backing-off) delivery again at once; False when it is not waiting."""
    now = clock.now()
    retried = NotificationDelivery.objects.filter(
        Q(state=State.FAILED) | Q(state=State.PENDING, attempts__gt=0), pk=delivery.pk
    ).update(state=State.PENDING, next_attempt_at=now)
    if retried:
        audit.record(
            f"user:{user.get_username()}",
            DELIVERY_RETRIED,
            ("notification", delivery.notification_id),
            outcome="pending",
            details={"delivery": delivery.pk, "target": delivery.target},
        )
        transaction.on_commit(lambda: jobs.enqueue(DISPATCH_JOB))
    return bool(retried)


# What the cockpit shows.


def recent_notifications(limit: int = 50) -> list[Notification]:
    rows = Notification.objects.order_by("-created_at", "-id")[:limit]
    return list(rows.prefetch_related("deliveries"))
