"""The one door into incidents: signals fire and clear alerts; alerts become incidents.

Monitoring (checks, anomalies, error logs, deploys) describes what it saw as a `Signal` and
calls `fire`; when the signal ends it calls `clear`. `fire` is idempotent per fingerprint: a
signal firing again while its alert is open bumps the alert, never a second one. A new alert
joins an open incident of the same component (or the same cause when no component is known)
that started within the correlation window; otherwise it opens one. What happens next (the
priority, the founder's page, the runbook, the status page) is `founderops.incidents.services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from founderops.incidents.models import Alert, Incident


@dataclass(frozen=True)
class Signal:
    """What a detector saw. `facts` are what the priority rules read (see priority.py):
    hard (bool, the service does not answer at all), slowdown (float, 0.3 = 30 % slower),
    monitor (name), error_rate (lines/min), security (bool), payments (bool) …"""

    fingerprint: str
    source: str  # an Alert.Source value
    cause: str  # down, slow, error_rate, new_error, tls, dns, heartbeat, deploy_failed …
    title: str
    at: datetime
    # When the fault began (first failing check), if earlier than `at` (time to detect).
    began_at: datetime | None = None
    component: str = ""  # a Component slug, "" when unknown
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fired:
    alert: Alert
    incident: Incident
    new_alert: bool
    new_incident: bool
