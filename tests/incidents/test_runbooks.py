"""Runbooks: steps under the policy, failures reported and never retried, one run each."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.ai.models import Approval
from founderops.core.errors import InvalidInput
from founderops.incidents import paging, runbooks, services
from founderops.incidents.models import Component, Incident, Runbook, RunbookRun
from tests.incidents.conftest import T0, down, incident_notifications, set_mode

pytestmark = pytest.mark.django_db


def rollback(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "roll back", "kind": "http", "method": "POST", "url": url, **extra}


def runbook(*steps: dict[str, Any], trigger: dict[str, Any] | None = None) -> Runbook:
    return Runbook.objects.create(
        name="api down", trigger=trigger or {"cause": "down", "component": "api"}, steps=list(steps)
    )


@pytest.fixture
def incident(clock: time_machine.Traveller, api: Component) -> Incident:
    return down().incident


def test_it_calls_the_rollback_endpoint_with_the_secret_from_the_environment(
    incident: Incident, web_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "tok-8f2a")
    set_mode(services.RUNBOOK_HTTP, "auto")
    book = runbook(
        rollback(
            f"{web_server.url}/rollback?key=${{DEPLOY_TOKEN}}",
            headers={"Authorization": "Bearer ${DEPLOY_TOKEN}"},
            body='{"to": "previous"}',
            expect=200,
        )
    )
    run = runbooks.start(book, incident)
    assert run.state == RunbookRun.State.SUCCEEDED
    [seen] = web_server.seen
    assert (seen["path"], seen["headers"]["Authorization"], seen["body"]) == (
        "/rollback?key=tok-8f2a",
        "Bearer tok-8f2a",
        b'{"to": "previous"}',
    )
    output = run.steps[0]["output"]
    assert "→ 200" in output
    assert "tok-8f2a" not in output
    assert "key=${DEPLOY_TOKEN}" in output


def test_it_runs_a_shell_step_without_a_shell_in_a_minimal_environment(
    incident: Incident, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_NOT_PASSED", "x")
    set_mode(services.RUNBOOK_SHELL, "auto")
    script = "import os; print('restarted;', sorted(os.environ))"
    book = runbook({"name": "restart", "kind": "shell", "argv": [sys.executable, "-c", script]})
    run = runbooks.start(book, incident)
    assert run.state == RunbookRun.State.SUCCEEDED
    assert "restarted; ['LANG', 'PATH']" in run.steps[0]["output"]


def test_it_stops_a_shell_step_at_its_timeout(incident: Incident) -> None:
    set_mode(services.RUNBOOK_SHELL, "auto")
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    run = runbooks.start(runbook({"kind": "shell", "argv": sleeper, "timeout": 0.3}), incident)
    assert run.state == RunbookRun.State.FAILED
    assert "timed out after" in run.steps[0]["output"]


def test_it_stops_at_a_failed_step_and_reports_it(
    incident: Incident, web_server: Any, tmp_path: Any
) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    set_mode(services.RUNBOOK_SHELL, "auto")
    paging.page(incident)
    web_server.status = 500
    marker = tmp_path / "ran"
    book = runbook(
        rollback(f"{web_server.url}/rollback"),
        {"kind": "shell", "argv": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]},
    )
    run = runbooks.start(book, incident)
    assert run.state == RunbookRun.State.FAILED
    assert [s["state"] for s in run.steps] == ["failed"]
    assert not marker.exists()
    assert incident.timeline.filter(text__contains="failed: step “roll back” failed").exists()
    titles = [n.title for n in incident_notifications(incident.pk)]
    assert titles[-1] == "P1 update: runbook failed"


def test_it_never_retries_a_failed_run(incident: Incident, web_server: Any) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    web_server.status = 503
    book = runbook(rollback(f"{web_server.url}/rollback"))
    runbooks.start(book, incident)
    again = runbooks.start(book, incident)
    runbooks.advance(again)
    assert len(web_server.seen) == 1


def test_it_waits_for_approval_then_runs_the_approved_step(
    incident: Incident, web_server: Any, founder: User
) -> None:
    run = runbooks.start(runbook(rollback(f"{web_server.url}/rollback")), incident)
    assert run.state == RunbookRun.State.WAITING
    assert web_server.seen == []
    approval = Approval.objects.get(subject_type="runbook_run", subject_id=str(run.pk))
    assert approval.summary.startswith("Runbook “api down” wants to run: roll back: POST")
    runbooks.decide(run, founder, approve=True)
    run = runbooks.advance(run)  # the job decide queues
    assert run.state == RunbookRun.State.SUCCEEDED
    assert len(web_server.seen) == 1
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED


def test_it_stops_when_the_founder_declines(
    incident: Incident, web_server: Any, founder: User
) -> None:
    run = runbooks.start(runbook(rollback(f"{web_server.url}/rollback")), incident)
    run = runbooks.decide(run, founder, approve=False)
    runbooks.advance(run)
    run.refresh_from_db()
    assert (run.state, run.steps[0]["state"]) == (RunbookRun.State.STOPPED, "declined")
    assert web_server.seen == []


def test_it_tells_the_founder_what_to_run_under_notify(incident: Incident, web_server: Any) -> None:
    set_mode(services.RUNBOOK_HTTP, "notify")
    run = runbooks.start(runbook(rollback(f"{web_server.url}/rollback")), incident)
    assert (run.state, run.steps[0]["state"]) == (RunbookRun.State.STOPPED, "notified")
    assert incident.timeline.filter(text__contains="Run by hand if you agree").exists()
    assert web_server.seen == []


def test_it_stops_after_a_wait_when_the_alerts_cleared(
    clock: time_machine.Traveller, incident: Incident, web_server: Any
) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    book = runbook({"kind": "wait", "seconds": 60}, rollback(f"{web_server.url}/rollback"))
    run = runbooks.start(book, incident)
    assert (run.state, run.resume_at) == (RunbookRun.State.RUNNING, T0 + timedelta(seconds=60))
    assert runbooks.resume_due(T0 + timedelta(seconds=30)) == 0
    services.clear(incident.alerts.get().fingerprint, T0 + timedelta(seconds=40))
    clock.move_to(T0 + timedelta(seconds=60))
    assert runbooks.resume_due() == 1
    run.refresh_from_db()
    assert (run.state, run.steps[0]["output"]) == (RunbookRun.State.SUCCEEDED, "recovered")
    assert web_server.seen == []


def test_it_goes_on_after_a_wait_when_still_failing(
    clock: time_machine.Traveller, incident: Incident, web_server: Any
) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    book = runbook({"kind": "wait", "seconds": 60}, rollback(f"{web_server.url}/rollback"))
    run = runbooks.start(book, incident)
    clock.move_to(T0 + timedelta(seconds=61))
    runbooks.resume_due()
    run.refresh_from_db()
    assert [s["state"] for s in run.steps] == ["succeeded", "succeeded"]
    assert len(web_server.seen) == 1


def test_it_fails_a_check_step_while_alerts_fire(incident: Incident) -> None:
    run = runbooks.start(runbook({"kind": "check"}), incident)
    assert run.state == RunbookRun.State.FAILED
    assert run.steps[0]["output"].startswith("still firing: api-health")


def test_it_does_not_rerun_a_step_cut_off_by_a_crash(incident: Incident, web_server: Any) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    step = rollback(f"{web_server.url}/rollback")
    book = runbook(step)
    crashed = RunbookRun.objects.create(
        runbook=book,
        incident=incident,
        started_at=T0,
        steps=[{"index": 0, "name": "roll back", "kind": "http", "state": "started", "spec": step}],
    )
    run = runbooks.advance(crashed)
    assert (run.state, run.steps[0]["state"]) == (RunbookRun.State.FAILED, "interrupted")
    assert web_server.seen == []


def test_it_fails_a_step_whose_secret_is_not_set(incident: Incident) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    run = runbooks.start(runbook(rollback("https://example.invalid/${NOT_SET_ANYWHERE}")), incident)
    assert run.steps[0]["output"] == "the environment variable NOT_SET_ANYWHERE is not set"


@pytest.mark.parametrize(
    ("trigger", "steps", "message"),
    [
        ({}, [{"kind": "check"}], "needs a trigger"),
        ({"colour": "red"}, [{"kind": "check"}], "unknown trigger key 'colour'"),
        ({"cause": "down"}, [], "at least one step"),
        ({"cause": "down"}, [{"kind": "ssh"}], "step 1 (ssh): kind must be one of"),
        ({"cause": "down"}, [{"kind": "shell", "argv": "rm -rf /"}], "a list of strings"),
        ({"cause": "down"}, [{"kind": "http", "url": "ftp://x"}], "url must start with"),
        ({"cause": "down"}, [{"kind": "wait", "seconds": 0}], "seconds must be between"),
        (
            {"cause": "down"},
            [{"kind": "http", "url": "https://x", "headers": {"Authorization": "Bearer abc"}}],
            "header 'Authorization' holds a secret in clear",
        ),
    ],
)
def test_it_explains_what_is_wrong_with_a_runbook(
    trigger: dict[str, Any], steps: list[Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        runbooks.validate(trigger, steps)


def test_it_matches_triggers_on_cause_component_and_monitor_wildcards(
    incident: Incident,
) -> None:
    assert runbooks.matches(runbook({"kind": "check"}), incident)
    wildcard = Runbook(name="w", trigger={"monitor": "api-*", "priority": ["P0", "P1"]}, steps=[])
    assert runbooks.matches(wildcard, incident)
    other = Runbook(name="o", trigger={"cause": "down", "component": "payments"}, steps=[])
    assert not runbooks.matches(other, incident)


def test_it_splits_a_command_without_running_a_shell(incident: Incident, tmp_path: Any) -> None:
    set_mode(services.RUNBOOK_SHELL, "auto")
    command = f"{sys.executable} -c 'import sys; print(sys.argv[1:])' 'a b' '$HOME;rm'"
    run = runbooks.start(runbook({"kind": "shell", "command": command}), incident)
    assert "['a b', '$HOME;rm']" in run.steps[0]["output"]


def test_it_lets_a_step_be_stricter_than_the_policy(incident: Incident, web_server: Any) -> None:
    set_mode(services.RUNBOOK_HTTP, "auto")
    run = runbooks.start(runbook(rollback(f"{web_server.url}/rollback", mode="approval")), incident)
    assert run.state == RunbookRun.State.WAITING
    assert web_server.seen == []


def test_it_never_lets_a_step_loosen_the_policy(incident: Incident, web_server: Any) -> None:
    run = runbooks.start(runbook(rollback(f"{web_server.url}/rollback", mode="auto")), incident)
    assert run.state == RunbookRun.State.WAITING
