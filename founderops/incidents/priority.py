"""The priority rules, in the order they are tried; the first that matches decides.

Written to be read by the founder (the cockpit lists them): P0 is an outage, a breach or
payments down and is answered now; P1 a major feature broken or ≥ 50 % slower (1 hour); P2
something minor or < 50 % slower (4 hours); P3 cosmetic (24 hours).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

RESPOND_WITHIN = {
    "P0": timedelta(minutes=0),
    "P1": timedelta(hours=1),
    "P2": timedelta(hours=4),
    "P3": timedelta(hours=24),
}
ORDER = ("P0", "P1", "P2", "P3")
MAJOR_SLOWDOWN = 0.5


@dataclass(frozen=True)
class Rule:
    priority: str
    description: str
    matches: Callable[[dict[str, Any]], bool]


def _hard_down_critical(facts: dict[str, Any]) -> bool:
    return bool(facts.get("hard")) and (bool(facts.get("critical")) or facts.get("scope") == "all")


RULES: tuple[Rule, ...] = (
    Rule("P0", "a security breach is suspected", lambda f: bool(f.get("security"))),
    Rule("P0", "payments are failing", lambda f: bool(f.get("payments"))),
    Rule(
        "P0",
        "a critical component (or the whole service) does not answer",
        _hard_down_critical,
    ),
    Rule("P1", "a component does not answer, or returns errors", lambda f: bool(f.get("hard"))),
    Rule(
        "P1",
        "responses are at least 50 % slower than normal",
        lambda f: float(f.get("slowdown", 0.0)) >= MAJOR_SLOWDOWN,
    ),
    Rule(
        "P1",
        "a certificate has expired or is invalid",
        lambda f: bool(f.get("tls_invalid")),
    ),
    Rule(
        "P2",
        "responses are slower than normal (under 50 %)",
        lambda f: float(f.get("slowdown", 0.0)) > 0,
    ),
    Rule("P2", "errors in the logs are rising", lambda f: f.get("cause") == "error_rate"),
    Rule("P2", "a job missed its heartbeat", lambda f: f.get("cause") == "heartbeat"),
    Rule("P3", "anything else: cosmetic or early warning", lambda f: True),
)


def classify(facts: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """The highest priority any alert's facts earn, and the rule that gave it."""
    best = ("P3", RULES[-1].description)
    for one in facts:
        for rule in RULES:
            if rule.matches(one):
                if ORDER.index(rule.priority) < ORDER.index(best[0]):
                    best = (rule.priority, rule.description)
                break
    return best


def higher(a: str, b: str) -> str:
    return a if ORDER.index(a) <= ORDER.index(b) else b
