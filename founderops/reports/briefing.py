"""The morning briefing: a Markdown page of sections, printed or sent through the notifier.

Reports only read the domains. Each capability contributes a `Section` (a title and a function
from the reporting window to Markdown) and is listed once in `MORNING`; the order there is
the order on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from founderops.core import audit, clock, notifications, notify
from founderops.core.models import AuditEvent
from founderops.reports import health, revenue_section, support

# The settings' parser, so a zone is refused the same way at start-up and at use.

SENT = "reports.briefing_sent"
ACTOR = "system:briefing"


def configured_zone() -> ZoneInfo:
    return clock.zone(settings.BRIEFING_TIME_ZONE)


@dataclass(frozen=True)
class Window:
    """The span a briefing covers: [start, end) in UTC, labelled in the founder's zone.

    `key` names the window uniquely so a scheduled briefing can be sent once per window.
    """

    start: datetime
    end: datetime
    zone: ZoneInfo
    day: date
    label: str
    key: str

    @classmethod
    def last_24_hours(cls, until: datetime, zone: ZoneInfo) -> Window:
        local = until.astimezone(zone)
        label = f"the 24 hours until {local:%H:%M} {zone.key}"
        key = local.isoformat(timespec="minutes")
        return cls(until - timedelta(hours=24), until, zone, local.date(), label, key)

    @classmethod
    def whole_day(cls, day: date, zone: ZoneInfo) -> Window:
        # Midnight to midnight on the wall clock: 23 or 25 hours on a DST change day.
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        label = f"the whole day, midnight to midnight {zone.key}"
        return cls(start, end, zone, day, label, day.isoformat())


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    render: Callable[[Window], str]


@dataclass(frozen=True)
class Briefing:
    key: str
    title: str
    markdown: str


@dataclass(frozen=True)
class Sending:
    outcome: str  # delivered, queued, partial, failed, no_targets, already_sent
    deliveries: list[notify.Delivery]


# System health first: an outage overnight matters before the tickets it caused.
MORNING: tuple[Section, ...] = (
    Section("health", "System health", health.render),
    Section("support", "Support", support.render),
    Section("revenue", "Revenue", revenue_section.render),
)


def morning(window: Window, sections: Sequence[Section] = MORNING) -> Briefing:
    key = f"morning:{window.key}"
    title = f"Morning briefing · {window.day:%A} {window.day.day} {window.day:%B %Y}"
    parts = [f"# {title}", f"Covering {window.label}."]
    # A section with nothing to say (revenue before any billing data) is left out.
    rendered = [(section.title, section.render(window).strip()) for section in sections]
    parts += [f"## {name}\n\n{body}" for name, body in rendered if body]
    return Briefing(key, title, "\n\n".join(parts) + "\n")


def send(briefing: Briefing, urls: Sequence[str] | None = None, once: bool = False) -> Sending:
    """Deliver and audit the outcome. With `once`, a briefing already sent is not resent.

    Without `urls` the briefing is a `briefing` notification: it goes to the routes that take
    that event (and FOUNDEROPS_NOTIFY_URLS), respects their quiet hours, and a failed
    delivery is retried by the notifier; the outcome says what happened on the first try.
    """
    if once and already_sent(briefing.key):
        return Sending("already_sent", [])
    title = f"FounderOps {briefing.title}"
    notification_id = None
    if urls is not None:
        deliveries = notify.notify(title, briefing.markdown, urls)
        sending = Sending(_outcome(deliveries), deliveries)
    else:
        key = f"briefing:{briefing.key}" if once else ""
        notification = notifications.publish(
            notifications.BRIEFING, title, briefing.markdown, key=key
        )
        notification_id = notification.pk
        routed = notifications.deliver_now(notification)
        sending = Sending(routed.outcome, routed.deliveries)
    audit.record(
        ACTOR,
        SENT,
        ("briefing", briefing.key),
        outcome=sending.outcome,
        details={
            "deliveries": [d.as_record() for d in sending.deliveries],
            "notification": notification_id,
        },
    )
    return sending


def already_sent(key: str) -> bool:
    return AuditEvent.objects.filter(action=SENT, subject_type="briefing", subject_id=key).exists()


def _outcome(deliveries: Sequence[notify.Delivery]) -> str:
    if not deliveries:
        return "no_targets"
    delivered = sum(d.ok for d in deliveries)
    if delivered == len(deliveries):
        return "delivered"
    return "partial" if delivered else "failed"
