"""The cockpit's incident pages: the founder acts; a viewer sees and is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.incidents import runbooks, services
from founderops.incidents.models import Component, Incident, Runbook, RunbookRun, StatusUpdate
from tests.cockpit.conftest import member_client
from tests.incidents.conftest import down

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(clock: time_machine.Traveller, api: Component) -> Incident:
    return down().incident


@pytest.fixture
def viewer() -> Client:
    return member_client("vera", "viewer")


def test_it_lists_open_incidents_first_with_the_sla(
    founder_client: Client, incident: Incident, payments: Component
) -> None:
    old = down("payments", monitor="checkout").incident
    services.resolve(old, "user:fiona")
    page = founder_client.get(reverse("web:incidents")).content.decode()
    assert page.index("api-health does not answer") < page.index("checkout does not answer")
    assert "acknowledge within 1 h 00 min" in page


def test_it_says_it_is_the_acknowledgement_that_is_overdue(
    founder_client: Client, incident: Incident, clock: time_machine.Traveller
) -> None:
    assert incident.respond_by is not None
    clock.move_to(incident.respond_by + timedelta(minutes=4))
    page = founder_client.get(reverse("web:incidents")).content.decode()
    row = page.split(f'id="incident-{incident.pk}"')[1].split("</tr>")[0]
    assert '<span class="badge priority-1">acknowledgement overdue by 4 min</span>' in row


def test_it_acknowledges_from_the_incident_page(founder_client: Client, incident: Incident) -> None:
    response = founder_client.post(reverse("web:incident_acknowledge", args=[incident.pk]))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None


def test_it_resolves_and_shows_the_postmortem_editor(
    founder_client: Client, incident: Incident
) -> None:
    founder_client.post(reverse("web:incident_state", args=[incident.pk]), {"state": "resolved"})
    page = founder_client.get(reverse("web:incident", args=[incident.pk])).content.decode()
    assert "# Post-mortem: api-health does not answer" in page


def test_it_changes_the_priority_with_a_reason(founder_client: Client, incident: Incident) -> None:
    url = reverse("web:incident_priority", args=[incident.pk])
    founder_client.post(url, {"priority": "P2", "reason": "only the beta API"})
    incident.refresh_from_db()
    assert incident.priority == "P2"


def test_it_approves_a_waiting_runbook_step_from_the_page(
    founder_client: Client,
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    queued: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda f, *a, **_: queued.append((f, a)))
    book = Runbook.objects.create(
        name="restart",
        trigger={"cause": "down"},
        steps=[{"kind": "shell", "argv": ["true"], "name": "restart"}],
    )
    run = runbooks.start(book, incident)
    page = founder_client.get(reverse("web:incident", args=[incident.pk])).content.decode()
    assert "Approve and run" in page
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("web:runbook_decide", args=[run.pk])
        founder_client.post(url, {"decision": "approve"})
    run.refresh_from_db()
    assert run.state == RunbookRun.State.RUNNING
    assert (runbooks.ADVANCE_JOB, (run.pk,)) in queued


def test_it_posts_an_edited_status_update(founder_client: Client, incident: Incident) -> None:
    draft = StatusUpdate.objects.create(
        incident=incident,
        status="investigating",
        body="draft",
        created_at=incident.detected_at,
        author="agent:monitoring",
    )
    founder_client.post(
        reverse("web:incident_update", args=[draft.pk]),
        {"action": "publish", "body": "We are looking into errors on the API."},
    )
    draft.refresh_from_db()
    assert (draft.state, draft.body) == ("published", "We are looking into errors on the API.")


def test_it_shows_a_viewer_no_buttons(viewer: Client, incident: Incident) -> None:
    page = viewer.get(reverse("web:incident", args=[incident.pk])).content.decode()
    assert "Read-only" in page
    assert "Acknowledge</button>" not in page
    assert "Save post-mortem" not in page


@pytest.mark.parametrize(
    "name", ["incident_acknowledge", "incident_state", "incident_note", "incident_postmortem"]
)
def test_it_refuses_a_viewers_posts(viewer: Client, incident: Incident, name: str) -> None:
    response = viewer.post(reverse(f"web:{name}", args=[incident.pk]), {"state": "resolved"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert (incident.acknowledged_at, incident.state) == (None, "investigating")


def test_it_links_a_runbook_approval_from_the_inbox(
    founder_client: Client, incident: Incident
) -> None:
    book = Runbook.objects.create(
        name="restart", trigger={"cause": "down"}, steps=[{"kind": "shell", "argv": ["true"]}]
    )
    runbooks.start(book, incident)
    page = founder_client.get(reverse("web:inbox")).content.decode()
    assert f'href="/incidents/{incident.pk}/"' in page


def test_it_shows_the_plan_as_it_stands_now(founder_client: Client, incident: Incident) -> None:
    book = Runbook.objects.create(name="rollback", trigger={"cause": "down"}, steps=[])
    RunbookRun.objects.create(
        runbook=book, incident=incident, started_at=incident.started_at, state="succeeded"
    )
    incident.plan = "1. Runbook “rollback”: waiting for your approval in the cockpit"
    incident.save(update_fields=["plan"])
    page = founder_client.get(reverse("web:incident", args=[incident.pk])).content.decode()
    now, sent = page.split("The plan as it was sent to you")
    assert "Runbook “rollback”: succeeded" in now
    assert "waiting for your approval" in sent
