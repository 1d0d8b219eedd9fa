"""The Monitoring Agent: what happens after `fire` opens an incident.

`respond(incident_id)` (a job the engine queues) gathers the diagnostics, reads them (rules
over the facts; an LLM's reading too when one is configured, never required), starts the
runbooks whose trigger matches (each step under the autonomy policy), pages the founder
once with the context and the recommended plan, and drafts the first status update. Run
twice, it finds each part done and does it once: diagnostics and assessment are kept on the
incident, runbook runs are one per runbook, the page and the draft are keyed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q

from founderops.ai.llm import LLMError, Provider, make_provider
from founderops.core import audit, http
from founderops.core.audit import Decision
from founderops.incidents import paging, priority, runbooks, services
from founderops.incidents.models import Incident, RunbookRun, TimelineEntry
from founderops.monitoring import diagnostics
from founderops.monitoring.models import MaintenanceWindow

ACTOR = services.ACTOR
RULES_MODEL = "monitoring-rules"
LIKELY_DEPLOY_MINUTES = 15
LLM_PROMPT_CHARS = 8_000
_PRIORITY_LINE = re.compile(r"^\s*PRIORITY:\s*(P[0-3])\b", re.IGNORECASE | re.MULTILINE)
SYSTEM_PROMPT = (
    "You are the on-call engineer of a small software business. Read the incident and its "
    "diagnostics, then give in at most 8 short lines: the most likely cause, what to check "
    "and the first action. Start with a line 'PRIORITY: P0|P1|P2|P3' if you think the "
    "priority is wrong (P0 outage/breach/payments, P1 major feature broken or >=50% slower, "
    "P2 minor, P3 cosmetic). Do not invent facts that are not in the diagnostics."
)


def configured_provider() -> Provider | None:
    """The LLM named in settings, through the product's one HTTP seam; None offline."""
    if settings.LLM_PROVIDER == "none":
        return None
    return make_provider(
        settings.LLM_PROVIDER,
        settings.LLM_BASE_URL,
        settings.LLM_MODEL,
        settings.LLM_API_KEY,
        http.client(settings.LLM_TIMEOUT_SECONDS),
    )


@dataclass
class AgentDeps:
    """What the agent works with; tests pass fakes instead of patching."""

    provider: Callable[[], Provider | None] = configured_provider
    probes: diagnostics.Probes = field(default_factory=diagnostics.Probes)


@dataclass(frozen=True)
class Hypothesis:
    text: str
    score: float
    evidence: str = ""
    action: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": self.score,
            "evidence": self.evidence,
            "action": self.action,
        }


def respond(incident_id: int, deps: AgentDeps | None = None) -> str:
    """The job: diagnose, assess, run the runbooks, page with a plan, draft an update."""
    deps = deps or AgentDeps()
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return f"incident {incident_id} does not exist"
    if incident.state == Incident.State.RESOLVED:
        return f"incident {incident_id} is already resolved"
    if not incident.diagnostics.get("gathered_at"):
        diagnose(incident, deps.probes)
    if not incident.assessment:
        assess(incident, deps.provider())
    window = maintenance_window(incident)
    if window is not None and not incident.muted_reason:
        paging.mute(incident, f"opened during the maintenance window “{window.title}”")
    runs = [runbooks.start(runbook, incident) for runbook in runbooks.matching(incident)]
    incident.refresh_from_db()
    plan = write_plan(incident, runs)
    if plan != incident.plan:
        incident.plan = plan
        incident.save(update_fields=["plan"])
    paging.page(incident, context(incident))
    services.offer_update(incident, Incident.State.INVESTIGATING, first_update(incident))
    return (
        f"incident {incident.pk}: {len(runs)} runbook(s), plan of {plan.count(chr(10)) + 1} lines"
    )


def diagnose(incident: Incident, probes: diagnostics.Probes) -> dict[str, Any]:
    gathered = diagnostics.gather(incident, probes)
    document = {**gathered.document, "summary": gathered.summary}
    incident.diagnostics = document
    incident.save(update_fields=["diagnostics"])
    services.add_entry(
        incident,
        TimelineEntry.Kind.DIAGNOSTIC,
        "Diagnostics: " + "; ".join(gathered.summary),
        data={"findings": len(gathered.summary)},
    )
    audit.record(
        ACTOR,
        "monitoring.diagnosed",
        ("incident", incident.pk),
        details={"findings": gathered.summary[:20]},
    )
    return document


# Reading the diagnostics: rules first (always), an LLM's reading on top when configured.


def hypotheses(document: dict[str, Any]) -> list[Hypothesis]:
    """The likely causes the facts point to, most likely first."""
    found = [
        *_deploy_hypotheses(document.get("deploys", [])),
        *_host_hypotheses(document.get("hosts", [])),
        *_log_hypotheses(document.get("logs", {})),
        *_check_hypotheses(document.get("checks", [])),
        *_metric_hypotheses(document.get("anomalies", [])),
    ]
    if not found:
        found.append(
            Hypothesis(
                "no cause stands out in deploys, logs, checks, DNS, TLS or metrics",
                0.1,
                action="look at the host and the application directly",
            )
        )
    return sorted(found, key=lambda h: -h.score)


def _deploy_hypotheses(deploys: list[dict[str, Any]]) -> list[Hypothesis]:
    found = []
    for deploy in deploys:
        minutes = float(deploy.get("minutes_before") or 0)
        name = deploy.get("commit") or deploy.get("id") or "a deploy"
        when = f"{minutes:.0f} min before the first failure"
        if deploy.get("state") == "failed":
            found.append(
                Hypothesis(
                    f"the failed deploy {name} {when}",
                    0.7,
                    f"deploy {deploy.get('id')} failed",
                    f"fix or re-run the deploy {name}",
                )
            )
            continue
        if deploy.get("state") not in ("succeeded", "started"):
            continue
        score = 0.9 if minutes <= LIKELY_DEPLOY_MINUTES else 0.6 if minutes <= 60 else 0.35
        found.append(
            Hypothesis(
                f"the deploy {name} {when}",
                score,
                f"{deploy.get('hook')} deployed {name} ({deploy.get('message') or 'no message'})",
                f"roll back the deploy {name}",
            )
        )
    return found[:2]


def _host_hypotheses(hosts: list[dict[str, Any]]) -> list[Hypothesis]:
    found = []
    for host in hosts:
        name = host.get("host")
        dns_fact = host.get("dns") or {}
        if not dns_fact.get("ok", True):
            found.append(
                Hypothesis(
                    f"DNS for {name} does not resolve",
                    0.8,
                    str(dns_fact.get("error")),
                    f"check the DNS records of {name} at the DNS provider",
                )
            )
        tls = host.get("tls") or {}
        if tls.get("ok") and float(tls.get("days_left", 99)) < 0:
            found.append(
                Hypothesis(
                    f"the certificate of {name} has expired",
                    0.85,
                    f"expired {tls.get('not_after')}",
                    f"renew the certificate of {name}",
                )
            )
        elif tls.get("ok") and not tls.get("valid", True):
            found.append(
                Hypothesis(
                    f"the certificate of {name} is invalid",
                    0.75,
                    str(tls.get("error")),
                    f"install a valid certificate for {name}",
                )
            )
    return found


def _log_hypotheses(logs: dict[str, Any]) -> list[Hypothesis]:
    found = []
    for template in (logs.get("new") or [])[:2]:
        found.append(
            Hypothesis(
                f"a new error in {template.get('service')}: {template.get('template')}",
                0.65,
                f"first seen {template.get('minutes_from_start')} min from the start",
                "read the new error's stack trace and fix or roll back",
            )
        )
    for template in (logs.get("spiking") or [])[:2]:
        found.append(
            Hypothesis(
                f"errors spiking in {template.get('service')}: {template.get('template')}",
                0.55,
                f"{template.get('per_minute')}/min against {template.get('normal_per_minute')}/min",
                "read the spiking error and what changed",
            )
        )
    return found


_SYMPTOMS = (
    ("refused", "the service is not running or not listening", 0.5, "restart the service"),
    (
        "timed out",
        "the service hangs or is overloaded",
        0.45,
        "look at the host's load and the application's workers",
    ),
    ("status 5", "the application returns server errors", 0.45, "read the application's logs"),
    ("keyword", "pages lost their expected content", 0.4, "look at the page as a visitor does"),
)


def _check_hypotheses(checks: list[dict[str, Any]]) -> list[Hypothesis]:
    found = []
    for check in checks:
        errors = " ".join(str(error).lower() for error, _ in check.get("errors") or [])
        for needle, text, score, action in _SYMPTOMS:
            if needle in errors:
                found.append(
                    Hypothesis(text, score, f"{check.get('monitor')}: {errors[:200]}", action)
                )
                break
        before, during = check.get("latency_ms_before"), check.get("latency_ms_during")
        if before and during and during > 1.3 * before:
            found.append(
                Hypothesis(
                    f"{check.get('monitor')} answers {during / before - 1:.0%} slower",
                    0.4,
                    f"median {before} ms before, {during} ms during",
                    "look for a slow query, a saturated host or a slow dependency",
                )
            )
    return found[:3]


def _metric_hypotheses(series: list[dict[str, Any]]) -> list[Hypothesis]:
    return [
        Hypothesis(
            f"the metric {s.get('series')} is anomalous",
            0.3,
            f"score {s.get('score')}",
            f"look at what drives {s.get('series')}",
        )
        for s in series[:2]
        if float(s.get("score") or 0) >= 0.5
    ]


def assess(incident: Incident, provider: Provider | None) -> str:
    """The agent's reading: ranked hypotheses, plus an LLM's when one is configured."""
    ranked = hypotheses(incident.diagnostics)
    lines = [f"{i}. {h.text} ({h.score:.0%})" for i, h in enumerate(ranked[:5], 1)]
    text = "Likely causes, from the diagnostics:\n" + "\n".join(lines)
    model = RULES_MODEL
    suggested = ""
    if provider is not None:
        try:
            reply = provider.complete(SYSTEM_PROMPT, _prompt(incident, ranked)).strip()
        except LLMError as error:
            text += f"\n\n(The LLM could not be asked: {error}; the rules above stand.)"
        else:
            model = provider.name
            text += f"\n\n{provider.name} reads it as:\n{reply[:2000]}"
            match = _PRIORITY_LINE.search(reply)
            suggested = match.group(1).upper() if match else ""
    incident.diagnostics = {**incident.diagnostics, "hypotheses": [h.as_json() for h in ranked]}
    incident.assessment = text
    incident.save(update_fields=["diagnostics", "assessment"])
    services.add_entry(incident, TimelineEntry.Kind.DIAGNOSTIC, text)
    audit.record(
        ACTOR,
        "monitoring.assessed",
        ("incident", incident.pk),
        outcome=ranked[0].text[:200],
        decision=Decision(
            model=model, confidence=ranked[0].score, inputs={"hypotheses": len(ranked)}
        ),
    )
    if suggested and priority.higher(suggested, incident.priority) != incident.priority:
        services.raise_priority(incident, suggested, f"the agent's assessment ({model})", ACTOR)
    return text


def _prompt(incident: Incident, ranked: list[Hypothesis]) -> str:
    facts = json.dumps(incident.diagnostics, default=str)[:LLM_PROMPT_CHARS]
    rules = "\n".join(f"- {h.text} ({h.score:.0%})" for h in ranked[:5])
    return (
        f"Incident: {incident.title}\nPriority {incident.priority}: {incident.priority_reason}\n"
        f"Began {incident.started_at.isoformat()}\nRule-based hypotheses:\n{rules}\n\n"
        f"Diagnostics (JSON):\n{facts}"
    )


# The plan, the page, the first status update.


def write_plan(incident: Incident, runs: list[RunbookRun]) -> str:
    steps = []
    for run in runs:
        steps.append(f"Runbook “{run.runbook.name}”: {_run_state(run)}")
    ranked = [h for h in incident.diagnostics.get("hypotheses", []) if isinstance(h, dict)]
    if ranked and ranked[0].get("action"):
        steps.append(f"{str(ranked[0]['action']).capitalize()} (likely cause: {ranked[0]['text']})")
    for other in ranked[1:3]:
        if other.get("action"):
            steps.append(f"If not: {other['action']} ({other['text']})")
    steps.append("Acknowledge the incident to stop the reminders; resolve it once it is fixed")
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))


def _run_state(run: RunbookRun) -> str:
    if run.state == RunbookRun.State.WAITING:
        return "waiting for your approval in the cockpit"
    if (
        run.state == RunbookRun.State.STOPPED
        and run.steps
        and run.steps[-1].get("state") == "notified"
    ):
        return "run it by hand: " + runbooks.describe(run.steps[-1].get("spec") or {})
    if run.state == RunbookRun.State.RUNNING:
        return "running (re-checking after a wait)"
    return str(run.state)


def context(incident: Incident) -> str:
    findings = incident.diagnostics.get("summary") or []
    return "What the agent found:\n" + "\n".join(f"- {line}" for line in findings[:8])


_PROBLEMS = {
    "down": "an outage",
    "slow": "slow responses",
    "error_rate": "an increased error rate",
    "new_error": "errors",
    "tls": "a certificate problem",
    "dns": "a DNS problem",
}


def first_update(incident: Incident) -> str:
    names = [c.name for c in incident.components.filter(public=True)]
    where = f" affecting {', '.join(names)}" if names else ""
    problem = _PROBLEMS.get(incident.cause, "a problem")
    return f"We are investigating {problem}{where}. We will post an update as soon as we know more."


def maintenance_window(incident: Incident) -> MaintenanceWindow | None:
    """A window open when the incident was detected that covers it (or covers everything)."""
    at = incident.detected_at
    names = {str(a.facts.get("monitor")) for a in incident.alerts.all() if a.facts.get("monitor")}
    components = list(incident.components.values_list("pk", flat=True))
    windows = MaintenanceWindow.objects.filter(starts_at__lte=at, ends_at__gt=at)
    covering = windows.filter(
        Q(monitors__name__in=names)
        | Q(components__in=components)
        | Q(monitors__isnull=True, components__isnull=True)
    )
    return covering.distinct().first()
