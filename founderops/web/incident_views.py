"""The cockpit's incident pages: the list (open first, SLA countdown) and one incident.

Any team member may look; agents and owners act (acknowledge, move, resolve, change the
priority, note, merge, decide runbook steps, post status updates, edit the post-mortem).
Viewers get the page without its forms, and the server refuses their posts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.core import clock
from founderops.core.errors import InvalidInput
from founderops.incidents import priority, runbooks, services
from founderops.incidents.models import Incident, RunbookRun, StatusUpdate
from founderops.monitoring import agent
from founderops.web import access
from founderops.web.access import agent_required, staff_required

PAGE_SIZE = 50
STATES = [(s.value, s.label) for s in Incident.State if s != Incident.State.RESOLVED]


@dataclass(frozen=True)
class Row:
    incident: Incident
    now: datetime

    @property
    def badge(self) -> str:
        return {"P0": "priority-1", "P1": "priority-1", "P2": "priority-2"}.get(
            self.incident.priority, ""
        )

    @property
    def sla(self) -> str:
        """ "acknowledge within 12 min", "acknowledgement overdue by 3 min", or "" once
        acknowledged: the deadline (respond_by) is the priority's time to acknowledge."""
        incident = self.incident
        if (
            incident.state == Incident.State.RESOLVED
            or incident.acknowledged_at
            or incident.respond_by is None
        ):
            return ""
        left = incident.respond_by - self.now
        if left <= timedelta(0):
            return f"acknowledgement overdue by {_span(-left)}"
        return f"acknowledge within {_span(left)}"

    @property
    def overdue(self) -> bool:
        return "overdue" in self.sla


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def incident_order() -> QuerySet[Incident]:
    """Open incidents first (worst priority, then newest), then the resolved, newest first."""
    is_open = Case(
        When(state=Incident.State.RESOLVED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        Incident.objects.filter(merged_into__isnull=True)
        .annotate(closed=is_open)
        .order_by("closed", "priority", "-started_at", "-pk")
        .prefetch_related("components")
    )


@staff_required
def incident_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(incident_order(), PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    rows = [Row(incident, now) for incident in page.object_list]
    open_count = services.open_incidents().filter(merged_into__isnull=True).count()
    context = {"page": page, "rows": rows, "open_count": open_count, "rules": priority.RULES}
    return render(request, "web/incidents/list.html", context)


@staff_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.prefetch_related("components"), pk=pk)
    runs = list(incident.runbook_runs.select_related("runbook").order_by("started_at"))
    waiting = {run.pk: runbooks.waiting_approval(run) for run in runs}
    others = services.open_incidents().exclude(pk=incident.pk).filter(merged_into__isnull=True)
    context = {
        "incident": incident,
        "row": Row(incident, clock.now()),
        "timeline": incident.timeline.order_by("at", "pk"),
        "alerts": incident.alerts.select_related("component").order_by("started_at"),
        "runs": [(run, waiting[run.pk]) for run in runs],
        "updates": incident.updates.order_by("created_at", "pk"),
        "diagnostics": incident.diagnostics,
        "diagnostics_json": json.dumps(incident.diagnostics, indent=2, default=str),
        "hypotheses": incident.diagnostics.get("hypotheses", []),
        "findings": incident.diagnostics.get("summary", []),
        "can_act": access.may(request, Role.AGENT),
        "states": STATES,
        "priorities": priority.ORDER,
        "merge_targets": others.order_by("-started_at")[:20],
        "is_open": incident.state != Incident.State.RESOLVED,
        # The plan as it stands now (runbook steps move on after the page went out).
        "plan": agent.write_plan(incident, runs) if incident.plan else "",
    }
    return render(request, "web/incidents/detail.html", context)


def _back(incident_pk: int) -> HttpResponse:
    return redirect("web:incident", pk=incident_pk)


def _get(pk: int) -> Incident:
    return get_object_or_404(Incident, pk=pk)


@agent_required
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    incident = services.acknowledge(_get(pk), access.founder(request, Role.AGENT))
    messages.success(request, f"Acknowledged: the reminders for #{incident.pk} stop.")
    return _back(pk)


@agent_required
@require_POST
def incident_state(request: HttpRequest, pk: int) -> HttpResponse:
    user = access.founder(request, Role.AGENT)
    state = request.POST.get("state", "")
    try:
        services.set_state(_get(pk), state, services.actor_of(user), request.POST.get("note", ""))
    except InvalidInput as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Incident #{pk} is now {state}.")
    return _back(pk)


@agent_required
@require_POST
def incident_priority(request: HttpRequest, pk: int) -> HttpResponse:
    user = access.founder(request, Role.AGENT)
    level = request.POST.get("priority", "")
    try:
        services.set_priority(_get(pk), level, user, request.POST.get("reason", ""))
    except InvalidInput as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Priority set to {level}.")
    return _back(pk)


@agent_required
@require_POST
def incident_note(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.add_note(_get(pk), request.POST.get("text", ""), access.founder(request))
    except InvalidInput as refused:
        messages.error(request, str(refused))
    return _back(pk)


@agent_required
@require_POST
def incident_merge(request: HttpRequest, pk: int) -> HttpResponse:
    into = request.POST.get("into", "")
    if not into.isdigit():
        messages.error(request, "choose the incident to merge this one into")
        return _back(pk)
    target = _get(int(into))
    try:
        services.merge(_get(pk), target, access.founder(request))
    except InvalidInput as refused:
        messages.error(request, str(refused))
        return _back(pk)
    messages.success(request, f"Merged into #{target.pk}.")
    return _back(target.pk)


@agent_required
@require_POST
def incident_postmortem(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.save_postmortem(_get(pk), request.POST.get("text", ""), access.founder(request))
    except InvalidInput as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Post-mortem saved.")
    return _back(pk)


@agent_required
@require_POST
def runbook_decide(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(RunbookRun, pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        runbooks.decide(run, access.founder(request), approve)
    except InvalidInput as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Approved: the step runs now." if approve else "Declined.")
    return _back(run.incident_id)


@agent_required
@require_POST
def update_new(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get(pk)
    try:
        services.write_update(
            incident,
            request.POST.get("status", incident.state),
            request.POST.get("body", ""),
            access.founder(request),
        )
    except InvalidInput as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Draft saved; post it when ready.")
    return _back(pk)


@agent_required
@require_POST
def update_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Save, post or discard a draft status update."""
    update = get_object_or_404(StatusUpdate, pk=pk)
    user = access.founder(request)
    action, body = request.POST.get("action", ""), request.POST.get("body")
    try:
        if action == "publish":
            services.publish_update(update, services.actor_of(user), body, user)
            messages.success(request, "Posted to the status page.")
        elif action == "discard":
            services.discard_update(update, user)
            messages.success(request, "Draft discarded.")
        elif action == "save" and body is not None:
            services.edit_update(update, body, user)
            messages.success(request, "Draft saved.")
        else:
            messages.error(request, "unknown action")
    except InvalidInput as refused:
        messages.error(request, str(refused))
    return _back(update.incident_id)
