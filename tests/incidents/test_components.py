"""A component's status history starts the moment it is created."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from founderops.incidents.components import save_component
from founderops.incidents.models import ComponentStatusChange

pytestmark = pytest.mark.django_db
CREATED = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@time_machine.travel(CREATED, tick=False)
def test_it_starts_a_new_component_operational_from_its_creation() -> None:
    component, created = save_component("api", {"name": "API"})
    change = ComponentStatusChange.objects.get(component=component)
    assert (created, change.status, change.at, component.status_since) == (
        True,
        "operational",
        CREATED,
        CREATED,
    )


def test_it_keeps_the_history_when_a_component_is_edited() -> None:
    save_component("api", {"name": "API"})
    component, created = save_component("api", {"name": "Public API"})
    assert (created, component.name, component.changes.count()) == (False, "Public API", 1)
