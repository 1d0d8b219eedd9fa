"""What one run of a check found: the common result every kind of check returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UP = "up"
DEGRADED = "degraded"
DOWN = "down"


@dataclass(frozen=True)
class ProbeResult:
    """`outcome` is up, degraded or down; `metrics` are numbers worth keeping as series
    (latency_ms, connections, replication_lag_s, ratelimit_remaining_ratio …); `facts` are
    what the incident's priority rules read (hard, slowdown, tls_invalid …)."""

    outcome: str
    latency_ms: float | None = None
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    # The cause an incident would be filed under: down, slow, keyword, tls, dns, heartbeat …
    cause: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == UP
