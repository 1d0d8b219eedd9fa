"""The cockpit's monitors: the list, one monitor, the add/edit form, maintenance, export.

The list must stay fast with a thousand monitors: the database filters, sorts and pages;
the 24-hour uptime is two correlated counts evaluated only for the page's rows (the index on
results (monitor, -at) serves them), and the sparklines are one more query for the page.

Monitors the config file made (source=config) are shown read-only, "managed in
monitors.yaml"; the server refuses to edit them too. Pause, resume and check now are for
agents and owners; viewers see no buttons and the views refuse them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.incidents.models import Component
from founderops.monitoring import config, heartbeat, services
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from founderops.web import access
from founderops.web.access import agent_required, staff_required

PAGE_SIZE = 50
SPARK_POINTS = 30
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
CHART_WIDTH, CHART_HEIGHT = 640, 160
CHART_POINTS = 240
DAY = timedelta(hours=24)


# The list.


class MonitorFilters(forms.Form):
    q = forms.CharField(label="Name", required=False, max_length=100)
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any state"), *Monitor.State.choices]
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Any kind"), *Monitor.Kind.choices]
    )


def _count(since: datetime, **where: Any) -> Subquery:
    rows = (
        CheckResult.objects.filter(monitor=OuterRef("pk"), at__gte=since, **where)
        .order_by()
        .values("monitor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(rows, output_field=IntegerField())


def monitor_rows(filters: dict[str, str], now: datetime) -> QuerySet[Monitor]:
    since = now - DAY
    rows = Monitor.objects.select_related("component").annotate(
        checks_24h=_count(since), up_24h=_count(since, outcome=CheckResult.Outcome.UP)
    )
    if filters.get("q"):
        rows = rows.filter(name__icontains=filters["q"])
    if filters.get("state"):
        rows = rows.filter(state=filters["state"])
    if filters.get("kind"):
        rows = rows.filter(kind=filters["kind"])
    return rows.order_by("name")


@dataclass(frozen=True)
class Row:
    monitor: Monitor
    spark: str

    @property
    def uptime(self) -> float | None:
        checks = getattr(self.monitor, "checks_24h", None)
        up = getattr(self.monitor, "up_24h", None) or 0
        return up / checks if checks else None

    @property
    def uptime_label(self) -> str:
        share = self.uptime
        return "—" if share is None else f"{share * 100:.2f} %"


def sparklines(monitor_ids: list[int], now: datetime) -> dict[int, str]:
    """The last latencies of each monitor as SVG polyline points, in one query."""
    ranked = (
        CheckResult.objects.filter(
            monitor_id__in=monitor_ids, at__gte=now - DAY, latency_ms__isnull=False
        )
        .annotate(rank=Window(RowNumber(), partition_by=F("monitor_id"), order_by=F("at").desc()))
        .filter(rank__lte=SPARK_POINTS)
        .values_list("monitor_id", "latency_ms")
    )
    series: dict[int, list[float]] = defaultdict(list)
    for monitor_id, latency in ranked:
        series[monitor_id].append(latency or 0.0)
    return {pk: polyline(values[::-1], SPARK_WIDTH, SPARK_HEIGHT) for pk, values in series.items()}


def polyline(values: list[float], width: int, height: int) -> str:
    if not values:
        return ""
    top = max(values) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{index * step:.1f},{height - 1 - (value / top) * (height - 2):.1f}"
        for index, value in enumerate(values)
    )


@staff_required
def monitor_list(request: HttpRequest) -> HttpResponse:
    form = MonitorFilters(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    now = clock.now()
    page = Paginator(monitor_rows(filters, now), PAGE_SIZE).get_page(request.GET.get("page"))
    monitors = list(page.object_list)
    lines = sparklines([m.pk for m in monitors], now)
    context = {
        "form": form,
        "page": page,
        "rows": [Row(m, lines.get(m.pk, "")) for m in monitors],
        "can_edit": access.may(request, Role.AGENT),
        "spark_width": SPARK_WIDTH,
        "spark_height": SPARK_HEIGHT,
    }
    return render(request, "web/monitors/list.html", context)


# One monitor.


def _monitor(name: str) -> Monitor:
    return get_object_or_404(Monitor.objects.select_related("component"), name=name)


def latency_chart(monitor: Monitor, now: datetime) -> dict[str, Any]:
    """The last 24 h of latency, bucketed to at most CHART_POINTS averages."""
    rows = list(
        monitor.results.filter(at__gte=now - DAY, latency_ms__isnull=False)
        .order_by("at")
        .values_list("at", "latency_ms")
    )
    if not rows:
        return {}
    size = max(1, -(-len(rows) // CHART_POINTS))
    buckets = [rows[i : i + size] for i in range(0, len(rows), size)]
    values = [sum(v or 0.0 for _, v in bucket) / len(bucket) for bucket in buckets]
    return {
        "points": polyline(values, CHART_WIDTH, CHART_HEIGHT),
        "max_ms": round(max(values)),
        "from": rows[0][0],
        "to": rows[-1][0],
    }


def windows_for(monitor: Monitor, now: datetime) -> QuerySet[MaintenanceWindow]:
    everything = Q(monitors__isnull=True, components__isnull=True)
    mine = Q(monitors=monitor) | everything
    if monitor.component_id:
        mine |= Q(components=monitor.component_id)
    return MaintenanceWindow.objects.filter(mine, ends_at__gt=now).distinct().order_by("starts_at")


@staff_required
def monitor_detail(request: HttpRequest, name: str) -> HttpResponse:
    monitor = _monitor(name)
    return _detail(request, monitor)


def _detail(request: HttpRequest, monitor: Monitor, new_ping_url: str = "") -> HttpResponse:
    now = clock.now()
    results = Paginator(monitor.results.order_by("-at", "-pk"), PAGE_SIZE)
    context = {
        "monitor": monitor,
        "results": results.get_page(request.GET.get("page")),
        "chart": latency_chart(monitor, now),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "windows": windows_for(monitor, now),
        "can_act": access.may(request, Role.AGENT),
        "managed": monitor.source == Monitor.Source.CONFIG,
        "new_ping_url": new_ping_url,
        "ping_example": heartbeat.ping_url("<token>"),
    }
    return render(request, "web/monitors/detail.html", context)


def _actor(request: HttpRequest) -> str:
    return f"user:{access.founder(request, Role.AGENT).get_username()}"


@agent_required
@require_POST
def monitor_pause(request: HttpRequest, name: str) -> HttpResponse:
    monitor = services.pause(_monitor(name), _actor(request))
    messages.success(request, f"Paused {monitor.name}: it is not checked until resumed.")
    return redirect("web:monitor", name=monitor.name)


@agent_required
@require_POST
def monitor_resume(request: HttpRequest, name: str) -> HttpResponse:
    monitor = services.resume(_monitor(name), _actor(request))
    messages.success(request, f"Resumed {monitor.name}: checked again from now.")
    return redirect("web:monitor", name=monitor.name)


@agent_required
@require_POST
def monitor_check(request: HttpRequest, name: str) -> HttpResponse:
    monitor = _monitor(name)
    services.check_now(monitor, _actor(request))
    messages.success(request, f"{monitor.name} is checked within seconds.")
    return redirect("web:monitor", name=monitor.name)


@agent_required
@require_POST
def monitor_ping_token(request: HttpRequest, name: str) -> HttpResponse:
    """A new ping URL, shown in this answer only (the token is stored hashed)."""
    monitor = _monitor(name)
    if monitor.kind != Monitor.Kind.HEARTBEAT:
        messages.error(request, "Only heartbeat monitors have a ping URL.")
        return redirect("web:monitor", name=monitor.name)
    token = heartbeat.set_token(monitor)
    audit.record(_actor(request), "monitoring.ping_token_replaced", ("monitor", monitor.pk))
    return _detail(request, monitor, new_ping_url=heartbeat.ping_url(token))


# Adding and editing (monitors made in the cockpit).


class MonitorForm(forms.Form):
    name = forms.SlugField(label="Name", max_length=100, help_text="Letters, digits, - and _")
    kind = forms.ChoiceField(label="Kind", choices=Monitor.Kind.choices)
    target = forms.CharField(
        label="Target",
        required=False,
        max_length=2000,
        help_text="A URL (HTTP), host:port (TCP, TLS), a host name (DNS); empty for a heartbeat",
    )
    interval = forms.CharField(label="Every", initial="1m", max_length=20)
    timeout = forms.CharField(label="Timeout", initial="10s", max_length=20)
    retries = forms.IntegerField(label="Retries in a run", initial=0, min_value=0, max_value=10)
    fail_threshold = forms.IntegerField(
        label="Failures to open", initial=3, min_value=1, max_value=100
    )
    recover_threshold = forms.IntegerField(
        label="Successes to resolve", initial=2, min_value=1, max_value=100
    )
    component = forms.ChoiceField(label="Component", required=False)
    options = forms.CharField(
        label="Options (YAML)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text="e.g. expected_status: 200 and keyword: ok; for a heartbeat period: 1h, "
        "grace: 10m or cron: '0 3 * * *', tz: Europe/Paris",
    )
    secret = forms.CharField(
        label="Secret (DSN or header value)",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown; leave empty to keep the stored one",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        slugs = Component.objects.order_by("position", "name").values_list("slug", "name")
        field = self.fields["component"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— none —"), *slugs]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            options = yaml.safe_load(data.get("options") or "") or {}
        except yaml.YAMLError as error:
            self.add_error("options", f"not valid YAML: {error}")
            return data
        entry = {key: data[key] for key in ("name", "kind", "target", "interval", "timeout")}
        entry |= {k: data[k] for k in ("retries", "fail_threshold", "recover_threshold")}
        entry |= {"component": data.get("component") or "", "options": options}
        try:
            parsed = config.parse(yaml.safe_dump({"monitors": [entry]}), "form")
        except config.ConfigInvalid as error:
            for problem in error.problems:
                self.add_error(None, problem.message)
            return data
        data["spec"] = parsed.monitors[0]
        return data


def _initial(monitor: Monitor) -> dict[str, Any]:
    shown = config.export_monitor(monitor)
    options = shown.get("options")
    return {
        **{key: shown.get(key, "") for key in ("name", "kind", "target", "interval", "timeout")},
        **{key: shown[key] for key in ("retries", "fail_threshold", "recover_threshold")},
        "component": shown.get("component", ""),
        "options": yaml.safe_dump(options, sort_keys=False) if options else "",
    }


@agent_required
def monitor_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@agent_required
def monitor_edit(request: HttpRequest, name: str) -> HttpResponse:
    monitor = _monitor(name)
    if monitor.source == Monitor.Source.CONFIG:
        messages.error(request, f"{monitor.name} is managed in monitors.yaml: edit it there.")
        return redirect("web:monitor", name=monitor.name)
    return _edit(request, monitor)


def _edit(request: HttpRequest, monitor: Monitor | None) -> HttpResponse:
    initial = _initial(monitor) if monitor else None
    form = MonitorForm(request.POST or None, initial=initial)
    context = {"form": form, "monitor": monitor}
    if request.method != "POST":
        return render(request, "web/monitors/form.html", context)
    if not form.is_valid():
        return render(request, "web/monitors/form.html", context, status=400)
    try:
        saved, token = config.save_ui_monitor(
            form.cleaned_data["spec"], monitor, form.cleaned_data["secret"], _actor(request)
        )
    except InvalidInput as error:
        form.add_error(None, str(error))
        return render(request, "web/monitors/form.html", context, status=400)
    if token:
        return _detail(request, saved, new_ping_url=heartbeat.ping_url(token))
    messages.success(request, f"Saved {saved.name}.")
    return redirect("web:monitor", name=saved.name)


# Maintenance windows.


class WindowForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    starts_at = forms.DateTimeField(
        label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    monitors = forms.ModelMultipleChoiceField(
        label="Monitors",
        queryset=Monitor.objects.order_by("name"),
        required=False,
        to_field_name="name",
        help_text="None and no component: everything is in maintenance",
    )
    components = forms.ModelMultipleChoiceField(
        label="Components", queryset=Component.objects.all(), required=False, to_field_name="slug"
    )
    announce = forms.BooleanField(label="Show on the status page", required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The window must end after it starts.")
        return data


@staff_required
def maintenance(request: HttpRequest) -> HttpResponse:
    can_act = access.may(request, Role.AGENT)
    form = WindowForm(request.POST or None) if can_act else None
    if request.method == "POST":
        access.founder(request, Role.AGENT)
        assert form is not None
        if form.is_valid():
            window = _create_window(form.cleaned_data, _actor(request))
            messages.success(request, f"Planned “{window.title}”.")
            return redirect("web:maintenance")
    now = clock.now()
    windows = MaintenanceWindow.objects.prefetch_related("monitors", "components")
    context = {
        "form": form,
        "can_act": can_act,
        # The last section (past windows) has no End button.
        "sections": [
            ("Now", windows.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at")),
            ("Upcoming", windows.filter(starts_at__gt=now).order_by("starts_at")),
            ("Past", windows.filter(ends_at__lte=now).order_by("-ends_at")[:20]),
        ],
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "web/monitors/maintenance.html", context, status=status)


def _create_window(data: dict[str, Any], actor: str) -> MaintenanceWindow:
    window = MaintenanceWindow.objects.create(
        title=data["title"],
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        announce=data["announce"],
    )
    window.monitors.set(data["monitors"])
    window.components.set(data["components"])
    audit.record(actor, "monitoring.maintenance_planned", ("maintenance", window.pk))
    return window


@agent_required
@require_POST
def maintenance_end(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk)
    if window.source == Monitor.Source.CONFIG:
        messages.error(request, f"“{window.title}” is managed in monitors.yaml: change it there.")
        return redirect("web:maintenance")
    now = clock.now()
    if window.ends_at > now:
        window.ends_at = max(now, window.starts_at)
        window.save(update_fields=["ends_at"])
        audit.record(_actor(request), "monitoring.maintenance_ended", ("maintenance", window.pk))
    messages.success(request, f"Ended “{window.title}”.")
    return redirect("web:maintenance")


@staff_required
def monitors_export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(config.export(), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="monitors.yaml"'
    return response
