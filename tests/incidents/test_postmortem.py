"""The post-mortem draft: summary, impact, timeline, hypotheses, runbooks, action items."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.incidents import postmortem, services
from founderops.incidents.models import Component, Incident, Runbook, RunbookRun, StatusUpdate
from tests.incidents.conftest import T0, down

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(clock: time_machine.Traveller, api: Component, founder: User) -> Incident:
    incident = down().incident
    incident.diagnostics = {
        "hypotheses": [
            {"text": "a new error in api", "score": 0.65, "action": "read the error"},
            {
                "text": "the deploy abc123 4 min before the first failure",
                "score": 0.9,
                "evidence": "vercel deployed abc123",
                "action": "roll back the deploy abc123",
            },
        ]
    }
    incident.save()
    book = Runbook.objects.create(name="rollback", trigger={"cause": "down"}, steps=[])
    RunbookRun.objects.create(
        runbook=book,
        incident=incident,
        started_at=T0,
        state="succeeded",
        steps=[{"name": "roll back", "state": "succeeded", "output": "POST /rollback → 200"}],
    )
    StatusUpdate.objects.create(
        incident=incident,
        status="investigating",
        body="We are investigating an outage of the API.",
        state="published",
        created_at=T0,
        published_at=T0 + timedelta(minutes=1),
        author="agent:monitoring",
    )
    clock.shift(timedelta(minutes=2))
    services.acknowledge(incident, founder)
    clock.shift(timedelta(minutes=12))
    return services.resolve(incident, "user:fiona")


def test_it_summarises_with_the_most_likely_cause_first(resolved: Incident) -> None:
    assert "The most likely cause: the deploy abc123 4 min before the first failure." in (
        resolved.postmortem
    )


def test_it_states_the_impact(resolved: Incident) -> None:
    text = resolved.postmortem
    assert "- Duration: 14 min" in text
    assert "- Components: API" in text
    assert "- Failed checks and alerts: api-health" in text
    assert "- Customer-facing updates: 1 published" in text


def test_it_ranks_the_hypotheses(resolved: Incident) -> None:
    text = resolved.postmortem
    first = text.index("1. the deploy abc123")
    assert first < text.index("2. a new error in api")


def test_it_lists_the_timeline_and_what_the_runbook_did(resolved: Incident) -> None:
    text = resolved.postmortem
    assert "## Timeline" in text
    assert "api-health does not answer" in text
    assert "- Worked: rollback · roll back: succeeded — POST /rollback → 200" in text


def test_it_asks_why_when_the_runbook_already_fixed_it(resolved: Incident) -> None:
    assert (
        "- [ ] The runbook fixed it for now; find out why "
        "(the deploy abc123 4 min before the first failure)"
    ) in resolved.postmortem


def test_it_turns_the_actions_into_items_when_no_runbook_fixed_it(resolved: Incident) -> None:
    resolved.runbook_runs.update(state="failed")
    assert "- [ ] roll back the deploy abc123" in postmortem.draft(resolved)


def test_it_keeps_the_founders_edits(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    services.save_postmortem(incident, "My own words", founder)
    services.resolve(incident, "user:fiona")
    incident.refresh_from_db()
    assert incident.postmortem == "My own words"
