"""The demo's operations side: Inkwell's past incidents replayed through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction

from founderops.cli import demo_ops, inkwell
from founderops.core.models import Notification
from founderops.incidents.models import Component, Incident, StatusUpdate
from founderops.monitoring import deploys
from founderops.monitoring.models import Deploy, Monitor

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(django_db_setup: None, django_db_blocker: Any) -> Iterator[int]:
    """The stories told once for the module (a few seconds each), rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic(), time_machine.travel(NOW, tick=False):
        owner = User.objects.create_superuser("fiona", "fiona@example.com", "x")
        told = demo_ops.load(NOW, sim_port=8301, web_port=8300, owner=owner)
        yield told
        transaction.set_rollback(True)


@pytest.fixture
def history(replayed: int, db: None) -> Iterator[int]:
    with time_machine.travel(NOW, tick=False):
        yield replayed


def by_monitor(name: str) -> Incident:
    return Incident.objects.get(alerts__fingerprint__startswith=f"monitor:{name}:")


def test_it_tells_three_stories_and_opens_one_incident_each(history: int) -> None:
    assert (history, Incident.objects.count()) == (3, 3)


def test_it_classifies_each_incident_by_the_rules(history: int) -> None:
    priorities = {m: by_monitor(m).priority for m in ("website", "editor", "api-health")}
    assert priorities == {"website": "P1", "editor": "P2", "api-health": "P0"}


def test_it_rolls_back_the_bad_release_with_the_runbook(history: int) -> None:
    run = by_monitor("api-health").runbook_runs.get()
    assert (run.runbook.name, run.state, run.steps[0]["state"]) == (
        "roll-back-api",
        "succeeded",
        "succeeded",
    )
    assert inkwell.GOOD_RELEASE in run.steps[0]["output"]


def test_it_finds_the_deploy_before_the_failure(history: int) -> None:
    incident = by_monitor("api-health")
    assert Deploy.objects.filter(state="succeeded").count() == 1
    assert "deploy" in incident.plan.lower()


def test_it_records_the_live_release_after_the_replayed_one(history: int) -> None:
    # `founderops demo` ships the same release again live, 2 minutes after the start.
    body, headers = inkwell.deploy_request(
        demo_ops.deploy_secret(), inkwell.BAD_RELEASE, "succeeded", NOW.timestamp()
    )
    outcome = deploys.receive(demo_ops.HOOK, headers, body)
    assert (outcome.stored, Deploy.objects.filter(state="succeeded").count()) == (True, 2)


def test_it_pages_the_founder_once_per_incident_with_the_plan(history: int) -> None:
    for incident in Incident.objects.all():
        pages = Notification.objects.filter(key=f"incident:{incident.pk}:page")
        assert pages.count() == 1
        assert incident.plan.splitlines()[0][:40] in pages.get().body


def test_it_resolves_every_past_incident_with_a_postmortem(history: int) -> None:
    states = set(Incident.objects.values_list("state", flat=True))
    assert states == {"resolved"}
    assert all("## Timeline" in i.postmortem for i in Incident.objects.all())


def test_it_tells_customers_on_the_status_page(history: int) -> None:
    published = StatusUpdate.objects.filter(state="published")
    assert published.values("incident").distinct().count() == 3


def test_it_leaves_every_component_operational_with_its_history(history: int) -> None:
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    assert Component.objects.get(slug="api").changes.count() >= 3


def test_it_keeps_the_monitors_as_code(history: int) -> None:
    sources = set(Monitor.objects.values_list("source", flat=True))
    assert sources == {Monitor.Source.CONFIG}


def test_it_tells_no_story_twice(history: int) -> None:
    owner = User.objects.get(username="fiona")
    assert demo_ops.load(NOW, sim_port=8301, web_port=8300, owner=owner) == 0
    assert Incident.objects.count() == 3


def test_it_removes_its_incidents_and_monitors_on_reset(history: int) -> None:
    demo_ops.reset()
    assert (Incident.objects.count(), Monitor.objects.count(), Component.objects.count()) == (
        0,
        0,
        0,
    )


def test_it_lets_live_checks_learn_their_own_normal_latency(history: int) -> None:
    learned = Monitor.objects.filter(name__in=["website", "editor", "api-health"])
    assert [m.normal_latencies_ms for m in learned] == [[], [], []]
