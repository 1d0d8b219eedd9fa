"""The daily revenue watch: unusual days in the billing records reach the founder at once.

Once a day (and on demand, `founderops revenue watch`) yesterday is checked against each
series' own robust baseline (`insights.alerts`): a sudden drop in new MRR, a spike in failed
payments, a spike in refunds. A finding is published to the notifications outbox with a key
per rule and day, so a job delivered twice, or run again by hand, notifies once; each one is
audited with the figures behind it. The morning briefing repeats them; this is the page.

A day is judged on what was known at its close (`known.close_of`): a refund, failure or
payment stored afterwards does not change it, so `revenue watch --day D` run a week later
finds what the run on the morning after D found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction

from founderops.core import audit, clock, notifications
from founderops.core.models import Notification
from founderops.revenue import insights, known
from founderops.revenue.billing import Ledger
from founderops.revenue.ledger import ledger_from_db

ACTOR = "agent:revenue"
RULES = (insights.NEW_MRR_DROP, insights.FAILED_PAYMENTS_SPIKE, insights.REFUNDS_SPIKE)
LINK = "/revenue/"


@dataclass(frozen=True)
class Finding:
    alert: insights.Alert
    livemode: bool
    # Customers the series are without (`quarantine`), each "key: reason (record)".
    left_out: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        mode = "live" if self.livemode else "test"
        return f"revenue:{mode}:{self.alert.metric}:{self.alert.direction}:{self.alert.day}"


def findings(ledger: Ledger, day: date) -> list[insights.Alert]:
    """What each rule finds on `day` alone (earlier days were the earlier runs' business)."""
    series = insights.daily_series_from_ledger(ledger)
    found = (insights.alert_on(series[rule.metric], rule, day) for rule in RULES)
    return [alert for alert in found if alert is not None]


def watch(day: date | None = None, livemode: bool | None = None) -> list[Finding]:
    """Check `day` (default: yesterday in UTC) and publish what it finds, once per key."""
    day = day or clock.now().date() - timedelta(days=1)
    mode = settings.STRIPE_LIVEMODE if livemode is None else livemode
    ledger = day_ledger(day, mode)
    left_out = tuple(f"{e.customer}: {e}" for e in ledger.excluded)
    found = [Finding(alert, mode, left_out) for alert in findings(ledger, day)]
    for finding in found:
        _publish(finding)
    return found


def day_ledger(day: date, livemode: bool) -> Ledger:
    """The records through `day` as they stood at its close (UTC)."""
    return ledger_from_db(livemode, through=day, known_at=known.capped(known.close_of(day)))


def _publish(finding: Finding) -> None:
    if Notification.objects.filter(key=finding.key).exists():
        return  # published (and audited) by an earlier run
    text = insights.describe(finding.alert)
    with transaction.atomic():
        published = notifications.publish(
            notifications.REVENUE,
            f"Revenue: {text}",
            _body(finding.alert, finding.left_out),
            link=LINK,
            key=finding.key,
        )
        audit.record(
            ACTOR,
            "revenue.alert",
            ("notification", published.pk),
            outcome=f"{finding.alert.metric} {finding.alert.direction}",
            details={
                "day": finding.alert.day.isoformat(),
                "value": finding.alert.value,
                "usual": finding.alert.usual,
                "score": finding.alert.score,
                "livemode": finding.livemode,
            },
        )


def _body(alert: insights.Alert, left_out: tuple[str, ...] = ()) -> str:
    body = (
        f"{insights.describe(alert)}. The usual figure is the median of the previous periods; "
        f"this one is {abs(alert.score):g} robust deviations "
        f"{'below' if alert.direction == 'drop' else 'above'} it."
    )
    if left_out:
        body += f" Left out of these figures: {'; '.join(left_out)}."
    return body


def run_daily() -> str:
    """The scheduled job: yesterday, in the configured mode."""
    found = watch()
    return f"{len(found)} revenue alerts" if found else "no revenue alerts"
