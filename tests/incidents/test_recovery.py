"""When every alert clears, the incident watches the recovery before it resolves."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from founderops.incidents import services
from founderops.incidents.models import Component, Incident, StatusUpdate
from tests.incidents.conftest import T0, down

pytestmark = pytest.mark.django_db


def test_it_moves_to_monitoring_when_every_alert_clears(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    services.clear("monitor:api-health:down", T0 + timedelta(minutes=2))
    incident.refresh_from_db()
    assert incident.state == Incident.State.MONITORING


def test_it_shows_the_recovered_component_operational_while_monitoring(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    services.sync_components(incident, T0)
    services.clear("monitor:api-health:down", T0 + timedelta(minutes=2))
    api.refresh_from_db()
    assert (api.status, api.changes.order_by("-at").first().at) == (  # type: ignore[union-attr]
        Component.Status.OPERATIONAL,
        T0 + timedelta(minutes=2),
    )


def test_it_stays_investigating_while_one_alert_still_fires(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    down(monitor="api-latency")
    services.clear("monitor:api-health:down", T0 + timedelta(minutes=2))
    incident.refresh_from_db()
    assert incident.state == Incident.State.INVESTIGATING


def test_it_goes_back_to_investigating_when_it_fails_again(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    services.clear("monitor:api-health:down", T0 + timedelta(minutes=2))
    down(at=T0 + timedelta(minutes=4))
    incident.refresh_from_db()
    assert incident.state == Incident.State.INVESTIGATING


def test_it_drafts_a_monitoring_update_for_customers(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    services.clear("monitor:api-health:down", T0 + timedelta(minutes=2))
    update = StatusUpdate.objects.get(incident=incident, status=Incident.State.MONITORING)
    assert update.body.startswith("A fix is in place and API is working again.")
