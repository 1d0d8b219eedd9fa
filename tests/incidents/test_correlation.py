"""Alerts are deduplicated by fingerprint and correlated into incidents."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from founderops.incidents import services
from founderops.incidents.models import Alert, Component, Incident
from tests.incidents.conftest import T0, down

pytestmark = pytest.mark.django_db


def test_it_bumps_the_open_alert_when_the_same_signal_fires_again(
    clock: time_machine.Traveller, api: Component
) -> None:
    first = down()
    again = down(at=T0 + timedelta(seconds=30))
    assert (again.alert.pk, again.new_alert, again.new_incident) == (first.alert.pk, False, False)
    assert Alert.objects.get().occurrences == 2


def test_it_folds_alerts_of_one_component_into_one_incident(
    clock: time_machine.Traveller, api: Component
) -> None:
    down(monitor="api-health")
    other = down(monitor="api-login", at=T0 + timedelta(minutes=3))
    assert (other.new_alert, other.new_incident) == (True, False)
    assert Incident.objects.count() == 1


def test_it_opens_separate_incidents_for_separate_components(
    clock: time_machine.Traveller, api: Component, payments: Component
) -> None:
    down("api")
    down("payments", monitor="checkout")
    assert Incident.objects.count() == 2


def test_it_opens_a_new_incident_outside_the_correlation_window(
    clock: time_machine.Traveller, api: Component
) -> None:
    down(monitor="api-health")
    later = down(monitor="api-login", at=T0 + services.CORRELATION_WINDOW + timedelta(minutes=1))
    assert later.new_incident


def test_it_opens_a_new_incident_when_a_signal_fires_after_a_resolve(
    clock: time_machine.Traveller, api: Component, founder: object
) -> None:
    first = down()
    services.resolve(first.incident, "user:fiona")
    again = down(at=T0 + timedelta(minutes=5))
    assert again.new_incident
    assert again.incident.pk != first.incident.pk
