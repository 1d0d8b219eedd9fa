"""The post-mortem draft, written when an incident resolves: Markdown the founder edits.

Everything in it comes from what was recorded: the incident's times and priority, its
alerts, the published status updates, the timeline, the agent's diagnostics (its ranked
hypotheses) and the runbook runs. Nothing is invented; a section with nothing recorded
says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from founderops.incidents.models import Incident, RunbookRun, StatusUpdate

TIMELINE_LINES = 60


def draft(incident: Incident) -> str:
    sections = [
        f"# Post-mortem: {incident.title}",
        _summary(incident),
        _impact(incident),
        _timeline(incident),
        _hypotheses(incident),
        _runbooks(incident),
        _actions(incident),
    ]
    return "\n\n".join(sections) + "\n"


def duration(incident: Incident) -> timedelta:
    end = incident.resolved_at or incident.detected_at
    return max(end - incident.started_at, timedelta(0))


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 1:
        return f"{delta.total_seconds():.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "—"


def _summary(incident: Incident) -> str:
    components = ", ".join(c.name for c in incident.components.all()) or "no named component"
    top = _ranked(incident)[:1]
    cause = f" The most likely cause: {top[0]['text']}." if top else ""
    return (
        "## Summary\n\n"
        f"{incident.priority} incident affecting {components}, from {_at(incident.started_at)} "
        f"for {_minutes(duration(incident))}.{cause}"
    )


def _impact(incident: Incident) -> str:
    alerts = list(incident.alerts.all())
    failed = sorted({str(a.facts.get("monitor") or a.title) for a in alerts})
    updates = list(
        incident.updates.filter(state=StatusUpdate.State.PUBLISHED).order_by("published_at")
    )
    lines = [
        "## Impact",
        "",
        f"- Duration: {_minutes(duration(incident))} (began {_at(incident.started_at)}, "
        f"detected {_at(incident.detected_at)}, acknowledged {_at(incident.acknowledged_at)}, "
        f"resolved {_at(incident.resolved_at)})",
        f"- Time to detect: {_minutes(incident.detected_at - incident.started_at)}",
        f"- Components: {', '.join(c.name for c in incident.components.all()) or 'none named'}",
        f"- Priority: {incident.priority} ({incident.priority_reason})",
        f"- Failed checks and alerts: {', '.join(failed) or 'none recorded'}",
        f"- Customer-facing updates: {len(updates)} published",
    ]
    lines += [f"  - {_at(u.published_at)} ({u.status}): {u.body}" for u in updates]
    return "\n".join(lines)


def _timeline(incident: Incident) -> str:
    entries = list(incident.timeline.order_by("at", "pk"))
    lines = ["## Timeline", ""]
    shown = entries[:TIMELINE_LINES]
    lines += [f"- {e.at:%H:%M:%S} · {e.kind} · {e.actor}: {_one_line(e.text)}" for e in shown]
    if len(entries) > len(shown):
        lines.append(f"- … {len(entries) - len(shown)} more entries on the incident's page")
    if not entries:
        lines.append("- nothing recorded")
    return "\n".join(lines)


def _ranked(incident: Incident) -> list[dict[str, Any]]:
    found = (
        incident.diagnostics.get("hypotheses") if isinstance(incident.diagnostics, dict) else None
    )
    if not isinstance(found, list):
        return []
    rows = [h for h in found if isinstance(h, dict) and h.get("text")]
    return sorted(rows, key=lambda h: -float(h.get("score") or 0))


def _hypotheses(incident: Incident) -> str:
    ranked = _ranked(incident)
    lines = ["## Root-cause hypotheses", ""]
    if not ranked:
        lines.append("The diagnostics found no likely cause; fill this in.")
    for number, row in enumerate(ranked, 1):
        evidence = f" Evidence: {row['evidence']}." if row.get("evidence") else ""
        lines.append(
            f"{number}. {row['text']} (confidence {float(row.get('score') or 0):.0%}).{evidence}"
        )
    if incident.assessment.strip():
        lines += ["", "The agent's assessment:", "", _quote(incident.assessment)]
    return "\n".join(lines)


def _runbooks(incident: Incident) -> str:
    runs = list(incident.runbook_runs.select_related("runbook").order_by("started_at"))
    worked: list[str] = []
    failed: list[str] = []
    for run in runs:
        for step in run.steps:
            text = f"{run.runbook.name} · {step.get('name')}: {step.get('state')}"
            if step.get("output"):
                text += f" — {_one_line(str(step['output']))[:200]}"
            (worked if step.get("state") == "succeeded" else failed).append(text)
        if run.state == RunbookRun.State.SUCCEEDED and not run.steps:
            worked.append(f"{run.runbook.name}: nothing to run")
    lines = ["## What worked and what didn't", ""]
    if not runs:
        lines.append("No runbook matched this incident.")
    lines += [f"- Worked: {line}" for line in worked]
    lines += [f"- Did not work / not run: {line}" for line in failed]
    return "\n".join(lines)


def _actions(incident: Incident) -> str:
    lines = ["## Action items", ""]
    ranked = _ranked(incident)
    fixed = incident.runbook_runs.filter(state=RunbookRun.State.SUCCEEDED).exists()
    for row in ranked[:3]:
        if fixed and row.get("action"):
            # The runbook already did the immediate fix: what is left is the why.
            lines.append(f"- [ ] The runbook fixed it for now; find out why ({row['text']})")
        elif row.get("action"):
            lines.append(f"- [ ] {row['action']}")
    if not incident.runbook_runs.exists():
        lines.append("- [ ] Write a runbook for this kind of failure")
    if incident.detected_at - incident.started_at > timedelta(minutes=5):
        lines.append("- [ ] Detect sooner: shorten the check interval or add a check")
    if incident.acknowledged_at is None:
        lines.append("- [ ] Nobody acknowledged the page: check the notification routes")
    lines.append("- [ ] Review this post-mortem and share it")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())
