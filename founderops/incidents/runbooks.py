"""Runbooks: a trigger and steps for a known issue, each step under the autonomy policy.

Step kinds:

- `http`: {method, url, headers, body, expect, timeout}, sent through founderops.core.http;
  `${NAME}` in the url, headers or body is the environment variable NAME (secrets stay out
  of the database, and out of what is recorded: their values are masked back to `${NAME}`).
- `shell`: {argv (or command, split like a shell would but never run by one), timeout, cwd,
  env}: a program with its arguments; a minimal environment (PATH, LANG and the `env`
  given); output capped.
- `wait`: {seconds}: park the run, then re-check; if the alerts cleared, stop: recovered.
- `check`: succeed when every alert of the incident cleared, fail otherwise.

Each http/shell step asks ai.policy (runbook_http, runbook_shell; a step's own `mode` can
only make it stricter): *auto* runs it; *approval*
opens an approval and stops until the founder decides; *notify* (or the agent switched off)
tells the founder what to run and stops. A failed step is reported and ends the run: nothing
is retried blindly. A step is marked started (committed) before it runs, so one that was cut
off by a crash is found half-done on the next attempt and reported, never run again.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from founderops.ai import approvals, policy
from founderops.ai.models import Approval
from founderops.core import audit, clock, http, jobs
from founderops.core.errors import InvalidInput
from founderops.incidents import paging, services
from founderops.incidents.models import Incident, Runbook, RunbookRun, TimelineEntry

ACTOR = services.ACTOR
KINDS = ("http", "shell", "wait", "check")
TRIGGER_KEYS = ("cause", "component", "monitor", "priority", "source")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
OUTPUT_CAP = 4_000
MAX_WAIT_SECONDS = 3_600
DEFAULT_HTTP_TIMEOUT = 15.0
SHELL_PATH = "/usr/local/bin:/usr/bin:/bin"
ADVANCE_JOB = "founderops.incidents.runbooks.advance_job"
# From least to most careful: a step's own mode may move it right, never left.
MODES = ("auto", "approval", "notify")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Headers whose values are credentials; they must come from the environment.
SECRET_HEADER = re.compile(r"authorization|token|secret|api[-_]?key|cookie|password", re.I)
ENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")

# Step states recorded in RunbookRun.steps.
STARTED, SUCCEEDED, FAILED = "started", "succeeded", "failed"
WAITING, AWAITING_APPROVAL, APPROVED = "waiting", "awaiting_approval", "approved"
DECLINED, NOTIFIED, INTERRUPTED = "declined", "notified", "interrupted"


# Checking what the founder wrote (the YAML sync and the cockpit call this).


def validate(trigger: object, steps: object) -> None:
    """Raise InvalidInput naming the first thing wrong with a runbook's trigger or steps."""
    if not isinstance(trigger, dict) or not trigger:
        raise InvalidInput("a runbook needs a trigger, e.g. {cause: down, component: api}")
    unknown = set(trigger) - set(TRIGGER_KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown trigger key {sorted(unknown)[0]!r}; use {', '.join(TRIGGER_KEYS)}"
        )
    if not isinstance(steps, list) or not steps:
        raise InvalidInput("a runbook needs at least one step")
    for number, step in enumerate(steps, 1):
        _validate_step(number, step)


def _validate_step(number: int, step: object) -> None:
    if not isinstance(step, dict):
        raise InvalidInput(f"step {number} must be a mapping with a kind")
    where = f"step {number} ({step.get('name') or step.get('kind')})"
    kind = step.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"{where}: kind must be one of {', '.join(KINDS)}")
    if kind == "http":
        if not str(step.get("url") or "").startswith(("http://", "https://", "${")):
            raise InvalidInput(f"{where}: url must start with http:// or https://")
        if str(step.get("method") or "POST").upper() not in METHODS:
            raise InvalidInput(f"{where}: method must be one of {', '.join(METHODS)}")
        headers = step.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise InvalidInput(f"{where}: headers must map names to text")
        _no_secret_in_clear(where, headers)
        _expected(step, where)
    if step.get("mode", "auto") not in MODES:
        raise InvalidInput(f"{where}: mode must be one of {', '.join(MODES)}")
    if kind == "shell":
        try:
            argv_of(step)
        except InvalidInput as refused:
            raise InvalidInput(f"{where}: {refused}") from None
        env = step.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise InvalidInput(f"{where}: env must map names to text")
    if kind == "wait":
        seconds = step.get("seconds")
        if not isinstance(seconds, int | float) or not 0 < seconds <= MAX_WAIT_SECONDS:
            raise InvalidInput(f"{where}: seconds must be between 1 and {MAX_WAIT_SECONDS}")
    timeout = step.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise InvalidInput(f"{where}: timeout must be a positive number of seconds")


def _no_secret_in_clear(where: str, headers: Mapping[str, str]) -> None:
    """A token typed into a runbook would end up in git and the database: refer to it."""
    for name, value in headers.items():
        if SECRET_HEADER.search(name) and not ENV_REFERENCE.search(value):
            raise InvalidInput(
                f"{where}: header {name!r} holds a secret in clear; write it as "
                f"${{VARIABLE}} and set the variable in the environment"
            )


def argv_of(step: Mapping[str, Any]) -> list[str]:
    """The program and its arguments: `argv` as given, or `command` split (never a shell)."""
    argv, command = step.get("argv"), step.get("command")
    if argv is None and isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as error:
            raise InvalidInput(f"command cannot be split into arguments: {error}") from None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise InvalidInput("give argv (a list of strings) or command (no shell is used)")
    return argv


def _expected(step: Mapping[str, Any], where: str = "") -> set[int]:
    raw = step.get("expect", step.get("expected_status"))
    if raw is None:
        return set(range(200, 300))
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, int) and 100 <= v <= 599 for v in values):
        raise InvalidInput(f"{where}: expect must be an HTTP status or a list of them")
    return set(values)


# Which runbooks answer an incident.


def matches(runbook: Runbook, incident: Incident) -> bool:
    """Every key of the trigger must match (values may be lists; monitor takes wildcards)."""
    trigger = runbook.trigger if isinstance(runbook.trigger, dict) else {}
    if not runbook.enabled or not trigger or set(trigger) - set(TRIGGER_KEYS):
        return False
    alerts = list(incident.alerts.all())
    seen: dict[str, set[str]] = {
        "cause": {incident.cause, *(a.cause for a in alerts)},
        "component": set(incident.components.values_list("slug", flat=True)),
        "monitor": {str(a.facts.get("monitor")) for a in alerts if a.facts.get("monitor")},
        "priority": {incident.priority},
        "source": {a.source for a in alerts},
    }
    for key, wanted in trigger.items():
        patterns = [str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        if not any(fnmatch.fnmatchcase(value, p) for value in seen[key] for p in patterns):
            return False
    return True


def matching(incident: Incident) -> list[Runbook]:
    return [rb for rb in Runbook.objects.filter(enabled=True) if matches(rb, incident)]


# Running.


@dataclass(frozen=True)
class Outcome:
    ok: bool
    output: str
    # A wait step: resume then (the run is parked).
    resume_at: datetime | None = None


def start(runbook: Runbook, incident: Incident) -> RunbookRun:
    """The one run of this runbook on this incident (a second call returns the first)."""
    try:
        with transaction.atomic():
            run = RunbookRun.objects.create(
                runbook=runbook, incident=incident, started_at=clock.now()
            )
            services.add_entry(
                incident,
                TimelineEntry.Kind.ACTION,
                f"Runbook “{runbook.name}” started",
                data={"run": run.pk},
            )
            audit.record(
                ACTOR,
                "incidents.runbook_started",
                ("incident", incident.pk),
                details={"run": run.pk, "runbook": runbook.name},
            )
    except IntegrityError:
        return RunbookRun.objects.get(runbook=runbook, incident=incident)
    return advance(run)


def advance_job(run_id: int) -> str:
    """The job: carry a run on (after an approval, or a wait)."""
    run = advance(RunbookRun.objects.get(pk=run_id))
    return f"run {run.pk}: {run.state}"


def resume_due(now: datetime | None = None) -> int:
    """The tick: carry on every run whose wait is over."""
    now = now or clock.now()
    due = list(RunbookRun.objects.filter(state=RunbookRun.State.RUNNING, resume_at__lte=now))
    for run in due:
        advance(run)
    return len(due)


def advance(run: RunbookRun) -> RunbookRun:
    """Run steps until the runbook ends, fails, waits, or needs the founder."""
    while True:
        step = _next(run)
        if step is None:
            run.refresh_from_db()
            return run
        index, spec = step
        outcome = execute(spec, run.incident)
        _finish_step(run, index, spec, outcome)


def _next(run: RunbookRun) -> tuple[int, dict[str, Any]] | None:
    """Under the run's lock: decide the next step and mark it started, or settle the run."""
    with transaction.atomic():
        run = (
            RunbookRun.objects.select_for_update()
            .select_related("runbook", "incident")
            .get(pk=run.pk)
        )
        if run.state != RunbookRun.State.RUNNING:
            return None
        last = run.steps[-1] if run.steps else None
        approved = last is not None and last.get("state") == APPROVED
        if last is not None and last.get("state") == STARTED:
            _interrupted(run, last)
            return None
        waiting = last is not None and last.get("state") == WAITING
        if waiting and last is not None and not _wait_over(run, last):
            return None
        steps = run.runbook.steps if isinstance(run.runbook.steps, list) else []
        if run.next_step >= len(steps):
            _end(run, RunbookRun.State.SUCCEEDED, "every step done")
            return None
        index = run.next_step
        spec = dict(last["spec"]) if approved and last else dict(steps[index])
        if not approved:
            mode, reason = mode_of(spec)
            if mode == policy.Mode.APPROVAL:
                _ask(run, index, spec, reason)
                return None
            if mode != policy.Mode.AUTO:
                _tell(run, index, spec, reason)
                return None
        entry = {**last} if approved and last else _entry_for(index, spec, "auto")
        entry.update(state=STARTED, started_at=clock.now().isoformat())
        run.steps = [*run.steps[:-1], entry] if approved else [*run.steps, entry]
        run.save(update_fields=["steps"])
    return index, spec


def mode_of(spec: Mapping[str, Any]) -> tuple[str, str]:
    """The policy's mode for one step: wait and check always run; off means tell."""
    kind = spec.get("kind")
    if kind in ("wait", "check"):
        return policy.Mode.AUTO, "waiting and checking change nothing"
    action = services.RUNBOOK_HTTP if kind == "http" else services.RUNBOOK_SHELL
    verdict = policy.verdict(services.AGENT, action)
    if verdict.mode == policy.OFF:
        return policy.Mode.NOTIFY, verdict.reason
    own = str(spec.get("mode") or "auto")
    if own in MODES and MODES.index(own) > MODES.index(verdict.mode):
        return own, f"the runbook asks for '{own}' on this step"
    return verdict.mode, verdict.reason


def _entry_for(index: int, spec: Mapping[str, Any], mode: str) -> dict[str, Any]:
    return {
        "index": index,
        "name": str(spec.get("name") or f"step {index + 1}"),
        "kind": spec.get("kind"),
        "mode": mode,
        "spec": dict(spec),
        "output": "",
    }


def _finish_step(run: RunbookRun, index: int, spec: Mapping[str, Any], outcome: Outcome) -> None:
    with transaction.atomic():
        run = (
            RunbookRun.objects.select_for_update()
            .select_related("incident", "runbook")
            .get(pk=run.pk)
        )
        entry = dict(run.steps[-1])
        entry["output"] = outcome.output[:OUTPUT_CAP]
        entry["finished_at"] = clock.now().isoformat()
        if outcome.resume_at is not None:
            entry.update(state=WAITING, until=outcome.resume_at.isoformat())
            run.resume_at = outcome.resume_at
        else:
            entry["state"] = SUCCEEDED if outcome.ok else FAILED
            run.next_step = index + 1
        run.steps = [*run.steps[:-1], entry]
        run.save(update_fields=["steps", "resume_at", "next_step"])
        name = entry["name"]
        if outcome.resume_at is not None:
            text = (
                f"Runbook “{run.runbook.name}”: {name}, re-checking at {outcome.resume_at:%H:%M:%S}"
            )
        else:
            text = f"Runbook “{run.runbook.name}”: {name} {entry['state']}: {outcome.output[:300]}"
        services.add_entry(run.incident, TimelineEntry.Kind.ACTION, text, data={"run": run.pk})
        audit.record(
            ACTOR,
            "incidents.runbook_step",
            ("incident", run.incident_id),
            outcome=entry["state"],
            details={"run": run.pk, "step": index, "name": name, "kind": entry["kind"]},
        )
        if entry["state"] == FAILED:
            _end(run, RunbookRun.State.FAILED, f"step “{name}” failed: {outcome.output[:500]}")


def _wait_over(run: RunbookRun, last: dict[str, Any]) -> bool:
    """After a wait: recovered ends the run; otherwise the next step is due. False: not yet."""
    until = datetime.fromisoformat(str(last.get("until")))
    if clock.now() < until:
        return False
    recovered = services.alerts_clear(run.incident)
    entry = {**last, "state": SUCCEEDED, "output": "recovered" if recovered else "still failing"}
    run.steps = [*run.steps[:-1], entry]
    run.next_step, run.resume_at = int(last["index"]) + 1, None
    run.save(update_fields=["steps", "next_step", "resume_at"])
    if recovered:
        _end(run, RunbookRun.State.SUCCEEDED, f"the alerts cleared after “{last['name']}”")
        return False
    return True


def _interrupted(run: RunbookRun, last: dict[str, Any]) -> None:
    entry = {**last, "state": INTERRUPTED, "finished_at": clock.now().isoformat()}
    entry["output"] = "cut off while running (the worker stopped); not run again automatically"
    run.steps = [*run.steps[:-1], entry]
    run.save(update_fields=["steps"])
    _end(
        run,
        RunbookRun.State.FAILED,
        f"step “{last['name']}” was cut off mid-way; check what it did before running it by hand",
    )


def _ask(run: RunbookRun, index: int, spec: dict[str, Any], reason: str) -> None:
    summary = f"Runbook “{run.runbook.name}” wants to run: {describe(spec)}"
    approval = approvals.request(
        services.AGENT,
        services.RUNBOOK_HTTP if spec.get("kind") == "http" else services.RUNBOOK_SHELL,
        ("runbook_run", run.pk),
        summary,
        reason,
        {
            "incident": run.incident_id,
            "run": run.pk,
            "step": index,
            "spec": spec,
            "link": paging.incident_link(run.incident),
        },
    )
    entry = _entry_for(index, spec, "approval") | {"state": AWAITING_APPROVAL}
    entry["approval"] = approval.pk
    run.steps = [*run.steps, entry]
    run.state = RunbookRun.State.WAITING
    run.save(update_fields=["steps", "state"])
    text = f"Runbook “{run.runbook.name}” waits for approval: {describe(spec)} ({reason})"
    services.add_entry(run.incident, TimelineEntry.Kind.ACTION, text, data={"run": run.pk})
    paging.update(run.incident, f"runbook:{run.pk}:ask:{index}", "a runbook step needs you", text)


def _tell(run: RunbookRun, index: int, spec: dict[str, Any], reason: str) -> None:
    entry = _entry_for(index, spec, "notify") | {"state": NOTIFIED}
    run.steps = [*run.steps, entry]
    run.save(update_fields=["steps"])
    text = f"Run by hand if you agree: {describe(spec)} ({reason})"
    _end(run, RunbookRun.State.STOPPED, text)


def _end(run: RunbookRun, state: str, why: str) -> None:
    run.state, run.finished_at, run.resume_at = state, clock.now(), None
    run.save(update_fields=["state", "finished_at", "resume_at"])
    text = f"Runbook “{run.runbook.name}” {state}: {why}"
    services.add_entry(run.incident, TimelineEntry.Kind.ACTION, text, data={"run": run.pk})
    audit.record(
        ACTOR,
        "incidents.runbook_finished",
        ("incident", run.incident_id),
        outcome=state,
        details={"run": run.pk, "runbook": run.runbook.name, "why": why},
    )
    urgent = None if state == RunbookRun.State.FAILED else False
    paging.update(run.incident, f"runbook:{run.pk}:{state}", f"runbook {state}", text, urgent)


def describe(spec: Mapping[str, Any]) -> str:
    """What a step does, in one line (secrets stay as ${NAME})."""
    kind = spec.get("kind")
    name = spec.get("name") or kind
    if kind == "http":
        return f"{name}: {str(spec.get('method') or 'POST').upper()} {spec.get('url')}"
    if kind == "shell":
        try:
            return f"{name}: {shlex.join(argv_of(spec))}"
        except InvalidInput as refused:
            return f"{name}: {refused}"
    if kind == "wait":
        return f"{name}: wait {spec.get('seconds')} s, then re-check"
    return f"{name}: check whether the alerts cleared"


# Deciding a step that waits for approval (the cockpit).


def waiting_approval(run: RunbookRun) -> Approval | None:
    return Approval.objects.filter(
        agent=services.AGENT,
        subject_type="runbook_run",
        subject_id=str(run.pk),
        status=Approval.Status.PENDING,
    ).first()


def decide(run: RunbookRun, user: AbstractBaseUser, approve: bool) -> RunbookRun:
    """Approve (the step runs, in a job) or decline (the run stops) the waiting step."""
    with transaction.atomic():
        run = (
            RunbookRun.objects.select_for_update()
            .select_related("runbook", "incident")
            .get(pk=run.pk)
        )
        pending = waiting_approval(run)
        if run.state != RunbookRun.State.WAITING or pending is None:
            raise InvalidInput("no step of this runbook is waiting for a decision")
        status = Approval.Status.APPROVED if approve else Approval.Status.REJECTED
        approvals.decide(pending, user, status, {"run": run.pk, "step": run.next_step})
        last = dict(run.steps[-1])
        last["state"] = APPROVED if approve else DECLINED
        last["decided_by"] = user.get_username()
        run.steps = [*run.steps[:-1], last]
        run.save(update_fields=["steps"])
        who = user.get_username()
        if not approve:
            _end(run, RunbookRun.State.STOPPED, f"{who} declined “{last['name']}”")
            return run
        run.state = RunbookRun.State.RUNNING
        run.save(update_fields=["state"])
        services.add_entry(
            run.incident,
            TimelineEntry.Kind.ACTION,
            f"{who} approved “{last['name']}” of runbook “{run.runbook.name}”",
            actor=services.actor_of(user),
            data={"run": run.pk},
        )
        pk = run.pk
        transaction.on_commit(lambda: jobs.enqueue(ADVANCE_JOB, pk))
    return run


# The steps themselves.


def execute(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    kind = spec.get("kind")
    runner: Callable[[Mapping[str, Any], Incident], Outcome] = {
        "http": _http_step,
        "shell": _shell_step,
        "wait": _wait_step,
        "check": _check_step,
    }.get(str(kind), _unknown_step)
    try:
        return runner(spec, incident)
    except InvalidInput as refused:
        return Outcome(False, str(refused))


def _unknown_step(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    return Outcome(False, f"unknown step kind {spec.get('kind')!r}")


class Secrets:
    """`${NAME}` from the environment, and the values used, to mask them in what is kept."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.used: dict[str, str] = {}

    def expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.environ:
                raise InvalidInput(f"the environment variable {name} is not set")
            self.used[name] = self.environ[name]
            return self.environ[name]

        return _ENV.sub(value, text)

    def mask(self, text: str) -> str:
        for name, secret in self.used.items():
            if len(secret) >= 3:
                text = text.replace(secret, f"${{{name}}}")
        return text


def _http_step(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    secrets = Secrets()
    method = str(spec.get("method") or "POST").upper()
    url = secrets.expand(str(spec.get("url") or ""))
    headers = {str(k): secrets.expand(str(v)) for k, v in (spec.get("headers") or {}).items()}
    body = spec.get("body")
    content = secrets.expand(body if isinstance(body, str) else "") if body is not None else None
    json_body = body if isinstance(body, dict | list) else None
    expected = _expected(spec)
    timeout = float(spec.get("timeout") or DEFAULT_HTTP_TIMEOUT)
    shown = f"{method} {spec.get('url')}"
    try:
        with http.client(timeout) as client:
            response = client.request(method, url, headers=headers, content=content, json=json_body)
    except httpx.HTTPError as error:
        return Outcome(False, secrets.mask(f"{shown}: {type(error).__name__}: {error}"))
    text = response.text[:OUTPUT_CAP]
    ok = response.status_code in expected
    verdict = "" if ok else f" (expected {', '.join(map(str, sorted(expected)))})"
    return Outcome(ok, secrets.mask(f"{shown} → {response.status_code}{verdict}\n{text}"))


def _shell_step(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    secrets = Secrets()
    raw = argv_of(spec)
    argv = [secrets.expand(a) for a in raw]
    env = {"PATH": SHELL_PATH, "LANG": "C.UTF-8"}
    env.update({str(k): secrets.expand(str(v)) for k, v in (spec.get("env") or {}).items()})
    timeout = min(float(spec.get("timeout") or 60), float(settings.RUNBOOK_SHELL_MAX_SECONDS))
    cwd = str(spec["cwd"]) if spec.get("cwd") else None
    shown = shlex.join(raw)
    # Output goes to a file, read back capped: a chatty command cannot fill the memory.
    with tempfile.TemporaryFile() as out:
        try:
            done = subprocess.run(  # noqa: S603 - argv from the founder's runbook, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                timeout=timeout,
                check=False,
                shell=False,
            )
        except subprocess.TimeoutExpired:
            return Outcome(False, secrets.mask(f"$ {shown}\ntimed out after {timeout:.0f} s"))
        except OSError as error:
            return Outcome(False, secrets.mask(f"$ {shown}\ncould not start: {error.strerror}"))
        out.seek(0)
        output = out.read(OUTPUT_CAP).decode("utf-8", "replace")
    status = f"exit {done.returncode}"
    return Outcome(done.returncode == 0, secrets.mask(f"$ {shown} → {status}\n{output}"))


def _wait_step(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    seconds = float(spec.get("seconds") or 0)
    if not 0 < seconds <= MAX_WAIT_SECONDS:
        return Outcome(False, f"seconds must be between 1 and {MAX_WAIT_SECONDS}")
    return Outcome(True, f"waiting {seconds:.0f} s", clock.now() + timedelta(seconds=seconds))


def _check_step(spec: Mapping[str, Any], incident: Incident) -> Outcome:
    if services.alerts_clear(incident):
        return Outcome(True, "every alert has cleared")
    firing = [a.title for a in incident.alerts.filter(state="firing")]
    return Outcome(False, "still firing: " + "; ".join(firing))
