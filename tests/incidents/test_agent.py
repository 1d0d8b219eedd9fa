"""The Monitoring Agent's response: diagnostics, assessment, runbooks, the page, a draft."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from founderops.ai.llm import LLMError
from founderops.core.models import AuditEvent
from founderops.incidents.models import (
    Component,
    Incident,
    Runbook,
    RunbookRun,
    StatusUpdate,
)
from founderops.monitoring import agent, diagnostics
from founderops.monitoring.models import (
    CheckResult,
    Deploy,
    DeployHook,
    LogTemplate,
    MaintenanceWindow,
    Monitor,
)
from tests.incidents.conftest import T0, down, incident_notifications
from tests.monitoring.local_servers import make_pki, tls_server

pytestmark = pytest.mark.django_db

FAILED_AT = T0 - timedelta(seconds=20)  # the first failing check (down() sets began_at)


def fake_probes(resolves: bool = True, days_left: float = 60.0) -> diagnostics.Probes:
    def resolve(host: str) -> list[str]:
        if not resolves:
            raise diagnostics.ProbeFailed(f"{host} does not exist (NXDOMAIN)")
        return ["203.0.113.7"]

    def certificate(host: str, port: int) -> dict[str, Any]:
        return {"valid": True, "error": "", "days_left": days_left, "not_after": "2026-05-01"}

    return diagnostics.Probes(resolve=resolve, certificate=certificate)


def deps(provider: Any = None, **probes: Any) -> agent.AgentDeps:
    return agent.AgentDeps(provider=lambda: provider, probes=fake_probes(**probes))


@pytest.fixture
def monitored(clock: time_machine.Traveller, api: Component) -> Monitor:
    monitor = Monitor.objects.create(
        name="api-health", kind="http", target="https://api.example.com/health", component=api
    )
    for minutes in (10, 5, 2):
        CheckResult.objects.create(
            monitor=monitor, at=FAILED_AT - timedelta(minutes=minutes), outcome="up", latency_ms=80
        )
    for seconds in (0, 10, 20):
        CheckResult.objects.create(
            monitor=monitor,
            at=FAILED_AT + timedelta(seconds=seconds),
            outcome="down",
            error="status 502, expected 200-299",
        )
    return monitor


@pytest.fixture
def deployed(monitored: Monitor, api: Component) -> Deploy:
    hook = DeployHook.objects.create(
        name="vercel", provider="vercel", secret_sealed="x", component=api
    )
    return Deploy.objects.create(
        hook=hook,
        external_id="dpl_41",
        state="succeeded",
        at=FAILED_AT - timedelta(minutes=4),
        commit="abc123",
        message="Switch the session store",
    )


def test_it_names_a_deploy_four_minutes_before_the_failure_as_the_likely_cause(
    deployed: Deploy,
) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps())
    incident.refresh_from_db()
    [found] = incident.diagnostics["deploys"]
    assert (found["commit"], found["minutes_before"]) == ("abc123", 4.0)
    top = incident.diagnostics["hypotheses"][0]
    assert top["text"] == "the deploy abc123 4 min before the first failure"
    assert incident.plan.startswith(
        "1. Roll back the deploy abc123 (likely cause: the deploy abc123"
    )


def test_it_attaches_the_check_history_and_host_facts(deployed: Deploy) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps())
    incident.refresh_from_db()
    [check] = incident.diagnostics["checks"]
    assert (check["failures"], check["errors"][0][0]) == (3, "status 502, expected 200-299")
    [host] = incident.diagnostics["hosts"]
    assert host["dns"] == {"ok": True, "addresses": ["203.0.113.7"]}
    assert host["tls"]["days_left"] == 60.0
    assert incident.timeline.filter(kind="diagnostic", text__contains="Deploy abc123").exists()


def test_it_suspects_dns_when_the_host_does_not_resolve(monitored: Monitor) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps(resolves=False))
    incident.refresh_from_db()
    assert (
        incident.diagnostics["hypotheses"][0]["text"] == "DNS for api.example.com does not resolve"
    )


def test_it_finds_a_new_error_template_around_the_start(monitored: Monitor) -> None:
    LogTemplate.objects.create(
        service="api",
        cluster_id=7,
        template="KeyError: session <*>",
        is_error=True,
        first_seen_at=FAILED_AT + timedelta(seconds=5),
        last_seen_at=T0,
        count=40,
    )
    incident = down().incident
    agent.respond(incident.pk, deps())
    incident.refresh_from_db()
    [new] = incident.diagnostics["logs"]["new"]
    assert new["template"] == "KeyError: session <*>"
    texts = [h["text"] for h in incident.diagnostics["hypotheses"]]
    assert "a new error in api: KeyError: session <*>" in texts


def test_it_pages_once_with_the_plan_and_drafts_a_status_update(deployed: Deploy) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps())
    agent.respond(incident.pk, deps())  # the job ran twice
    [page] = incident_notifications(incident.pk)
    assert page.urgent
    assert "Recommended plan:\n1. Roll back the deploy abc123" in page.body
    [draft] = StatusUpdate.objects.filter(incident=incident)
    assert (draft.state, draft.status) == ("draft", "investigating")
    assert draft.body.startswith("We are investigating an outage affecting API.")


def test_it_runs_the_matching_runbook_and_puts_it_in_the_plan(deployed: Deploy) -> None:
    Runbook.objects.create(
        name="roll back api",
        trigger={"cause": "down", "component": "api"},
        steps=[{"name": "rollback", "kind": "http", "url": "https://api.vercel.com/rollback"}],
    )
    incident = down().incident
    agent.respond(incident.pk, deps())
    incident.refresh_from_db()
    run = RunbookRun.objects.get(incident=incident)
    assert run.state == RunbookRun.State.WAITING  # the policy asks by default
    assert "1. Runbook “roll back api”: waiting for your approval" in incident.plan


class FakeLLM:
    name = "fake:model"

    def __init__(self, reply: str = "", fails: bool = False) -> None:
        self.reply, self.fails = reply, fails
        self.prompts: list[str] = []

    def complete(self, system: str, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.fails:
            raise LLMError("fake:model: APITimeoutError")
        return self.reply


def test_it_adds_the_llms_reading_and_may_raise_the_priority(deployed: Deploy) -> None:
    llm = FakeLLM("PRIORITY: P0\nThe session store change broke logins for everyone.")
    incident = down().incident
    agent.respond(incident.pk, deps(provider=llm))
    incident.refresh_from_db()
    assert "fake:model reads it as:" in incident.assessment
    assert "the deploy abc123" in llm.prompts[0]
    assert (incident.priority, incident.priority_reason) == (
        "P0",
        "the agent's assessment (fake:model)",
    )


def test_it_keeps_the_rules_when_the_llm_fails(deployed: Deploy) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps(provider=FakeLLM(fails=True)))
    incident.refresh_from_db()
    assert "The LLM could not be asked" in incident.assessment
    assert incident.plan.startswith("1. Roll back the deploy abc123")


def test_it_does_not_page_inside_a_maintenance_window(monitored: Monitor) -> None:
    window = MaintenanceWindow.objects.create(
        title="Database upgrade", starts_at=T0 - timedelta(hours=1), ends_at=T0 + timedelta(hours=1)
    )
    window.monitors.add(monitored)
    incident = down().incident
    agent.respond(incident.pk, deps())
    incident.refresh_from_db()
    assert incident.muted_reason == "opened during the maintenance window “Database upgrade”"
    assert incident_notifications(incident.pk) == []


def test_it_audits_what_it_concluded(deployed: Deploy) -> None:
    incident = down().incident
    agent.respond(incident.pk, deps())
    event = AuditEvent.objects.get(action="monitoring.assessed")
    assert (event.model, event.confidence) == ("monitoring-rules", 0.9)


def test_it_leaves_a_resolved_incident_alone(deployed: Deploy) -> None:
    incident = down().incident
    Incident.objects.filter(pk=incident.pk).update(state="resolved")
    assert agent.respond(incident.pk, deps()).endswith("already resolved")


def test_it_does_not_let_a_silent_name_server_hold_up_the_page(
    monitored: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()

    def hangs(host: str) -> list[str]:
        released.wait(10)
        return []

    monkeypatch.setattr(diagnostics, "PROBE_DEADLINE", 0.2)
    probes = diagnostics.Probes(resolve=hangs, certificate=fake_probes().certificate)
    incident = down().incident
    try:
        agent.respond(incident.pk, agent.AgentDeps(provider=lambda: None, probes=probes))
    finally:
        released.set()
    incident.refresh_from_db()
    assert incident.diagnostics["hosts"][0]["dns"] == {
        "ok": False,
        "error": "no answer within 0.2 s",
    }
    assert len(incident_notifications(incident.pk)) == 1


def test_it_reads_an_expired_certificate_from_a_local_tls_server(tmp_path: Any) -> None:
    pki = make_pki(tmp_path)
    with tls_server(*pki.leaf("expired")) as port:
        facts = diagnostics.certificate("127.0.0.1", port)
    assert facts["valid"] is False
    assert facts["days_left"] < -3
    host = {"host": "127.0.0.1", "dns": {"ok": True}, "tls": {"ok": True, **facts}}
    [found] = agent.hypotheses({"hosts": [host]})[:1]
    assert found.text == "the certificate of 127.0.0.1 has expired"
