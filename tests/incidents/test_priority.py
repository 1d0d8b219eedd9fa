"""Priority rules P0-P3, as the founder reads them, applied to what fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from founderops.incidents import priority
from founderops.incidents.models import Component, Incident
from tests.incidents.conftest import T0, down, slow

pytestmark = pytest.mark.django_db


def test_it_makes_a_critical_component_that_does_not_answer_a_p0(
    clock: time_machine.Traveller, payments: Component
) -> None:
    fired = down("payments", monitor="checkout")
    assert fired.incident.priority == "P0"
    assert "critical component" in fired.incident.priority_reason


def test_it_makes_an_ordinary_component_that_does_not_answer_a_p1(
    clock: time_machine.Traveller, api: Component
) -> None:
    assert down().incident.priority == "P1"


def test_it_makes_a_30_percent_slowdown_a_p2(clock: time_machine.Traveller, api: Component) -> None:
    fired = slow(0.3)
    assert (fired.incident.priority, fired.incident.priority_reason) == (
        "P2",
        "responses are slower than normal (under 50 %)",
    )


def test_it_makes_a_200_percent_slowdown_a_p1(
    clock: time_machine.Traveller, api: Component
) -> None:
    assert slow(2.0).incident.priority == "P1"


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"security": True}, "P0"),
        ({"payments": True}, "P0"),
        ({"hard": True, "scope": "all"}, "P0"),
        ({"tls_invalid": True}, "P1"),
        ({"cause": "error_rate"}, "P2"),
        ({"cause": "heartbeat"}, "P2"),
        ({"cause": "keyword_typo"}, "P3"),
    ],
)
def test_it_classifies_by_the_first_matching_rule(facts: dict[str, object], expected: str) -> None:
    assert priority.classify([facts])[0] == expected


def test_it_raises_the_priority_when_a_worse_alert_joins(
    clock: time_machine.Traveller, api: Component
) -> None:
    first = slow(0.3)
    joined = down(at=T0 + timedelta(minutes=2))
    assert joined.incident.pk == first.incident.pk
    incident = Incident.objects.get(pk=first.incident.pk)
    assert incident.priority == "P1"
    assert incident.timeline.filter(kind="priority", text__contains="P2 → P1").exists()
