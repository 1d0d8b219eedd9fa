"""An incident's life: acknowledged, moved, resolved (by hand or on its own), merged, noted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.incidents import services
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Alert, Component, ComponentStatusChange, Incident
from tests.incidents.conftest import T0, down, slow

pytestmark = pytest.mark.django_db


def test_it_records_who_acknowledged_and_when(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    clock.shift(timedelta(minutes=4))
    services.acknowledge(incident, founder)
    incident.refresh_from_db()
    assert (incident.acknowledged_at, incident.acknowledged_by) == (
        T0 + timedelta(minutes=4),
        founder,
    )
    assert AuditEvent.objects.filter(action="incidents.acknowledged", actor="user:fiona").exists()


def test_it_moves_through_the_states_on_the_timeline(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    services.set_state(incident, "identified", "user:fiona", "bad deploy")
    services.set_state(incident, "monitoring", "user:fiona")
    texts = list(incident.timeline.values_list("text", flat=True))
    assert "State investigating → identified: bad deploy" in texts
    assert "State identified → monitoring" in texts


def test_it_refuses_an_unknown_state(clock: time_machine.Traveller, api: Component) -> None:
    with pytest.raises(InvalidInput, match="unknown state"):
        services.set_state(down().incident, "panicking", "user:fiona")


def test_it_resolves_closing_alerts_and_restoring_the_component(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    api.refresh_from_db()
    assert api.status == Component.Status.MAJOR_OUTAGE
    clock.shift(timedelta(minutes=7))
    services.resolve(incident, "user:fiona", "restarted")
    incident.refresh_from_db()
    api.refresh_from_db()
    assert (incident.state, api.status) == ("resolved", Component.Status.OPERATIONAL)
    assert not Alert.objects.filter(state="firing").exists()
    assert incident.postmortem.startswith("# Post-mortem")
    statuses = list(ComponentStatusChange.objects.values_list("status", flat=True))
    assert statuses == ["major_outage", "operational"]


def test_it_auto_resolves_once_every_alert_stayed_clear_long_enough(
    clock: time_machine.Traveller, api: Component, settings: object
) -> None:
    fired = down()
    services.clear(fired.alert.fingerprint, T0 + timedelta(minutes=2))
    assert services.auto_resolve_due(T0 + timedelta(minutes=11)) == 0
    assert services.auto_resolve_due(T0 + timedelta(minutes=12)) == 1
    incident = Incident.objects.get()
    assert incident.state == "resolved"
    assert incident.timeline.filter(text__startswith="Resolved automatically").exists()
    assert AuditEvent.objects.get(action="incidents.resolved").outcome == "auto"


def test_it_does_not_auto_resolve_while_an_alert_fires(
    clock: time_machine.Traveller, api: Component
) -> None:
    down(monitor="api-health")
    other = down(monitor="api-login")
    services.clear(other.alert.fingerprint, T0)
    assert services.auto_resolve_due(T0 + timedelta(hours=2)) == 0


def test_it_sets_the_priority_by_hand_with_a_reason_in_the_audit(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    services.set_priority(incident, "P3", founder, "staging only")
    incident.refresh_from_db()
    assert (incident.priority, incident.priority_reason) == ("P3", "set by fiona: staging only")
    event = AuditEvent.objects.get(action="incidents.priority_set")
    assert event.details == {"before": "P1", "reason": "staging only"}


def test_it_refuses_a_priority_change_without_a_reason(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    with pytest.raises(InvalidInput, match="say why"):
        services.set_priority(down().incident, "P3", founder, "  ")


def test_it_merges_a_duplicate_into_the_other_incident(
    clock: time_machine.Traveller, api: Component, payments: Component, founder: User
) -> None:
    target = down("api").incident
    source = down("payments", monitor="checkout").incident
    services.merge(source, target, founder)
    target.refresh_from_db()
    source.refresh_from_db()
    assert (source.state, source.merged_into) == ("resolved", target)
    assert (target.alerts.count(), target.priority) == (2, "P0")
    assert set(target.components.values_list("slug", flat=True)) == {"api", "payments"}


def test_it_adds_a_note_to_the_timeline(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    services.add_note(incident, "Called the host provider", founder)
    assert incident.timeline.filter(kind="note", actor="user:fiona").count() == 1


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda: slow(0.3), Component.Status.DEGRADED),
        (lambda: slow(2.0), Component.Status.PARTIAL_OUTAGE),
        (lambda: down(), Component.Status.MAJOR_OUTAGE),
    ],
)
def test_it_gives_the_component_the_status_the_incident_earns(
    clock: time_machine.Traveller, api: Component, make: object, status: str
) -> None:
    make()  # type: ignore[operator]
    api.refresh_from_db()
    assert api.status == status


def test_it_leaves_the_component_alone_for_a_p3(
    clock: time_machine.Traveller, api: Component
) -> None:
    fired = services.fire(
        Signal("monitor:api-docs:keyword", "check", "keyword", "Docs lost a link", T0, None, "api")
    )
    assert fired.incident.priority == "P3"
    api.refresh_from_db()
    assert api.status == Component.Status.OPERATIONAL
