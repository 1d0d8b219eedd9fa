"""The cockpit's monitor pages: list (fast with many), detail, actions by role, form, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from founderops.accounts import services as accounts
from founderops.accounts.roles import Role
from founderops.incidents.models import Component
from founderops.monitoring import config
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # WhiteNoise warns (an error in tests) when STATIC_ROOT does not exist yet.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def member(name: str, role: str) -> Client:
    user = accounts.add_member(name, f"{name}@example.com", role, "test", "correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer() -> Client:
    return member("vera", Role.VIEWER)


@pytest.fixture
def api() -> Monitor:
    monitor = Monitor.objects.create(
        name="api", kind="http", target="https://api.example.com/", state="up"
    )
    for minute in range(10):
        CheckResult.objects.create(
            monitor=monitor,
            at=NOW - timedelta(minutes=minute),
            outcome="down" if minute == 3 else "up",
            latency_ms=100 + minute,
        )
    return monitor


@time_machine.travel(NOW, tick=False)
def test_it_lists_monitors_with_uptime_and_sparkline(founder_client: Client, api: Monitor) -> None:
    response = founder_client.get("/monitors/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "90.00 %" in page
    assert '<svg class="spark"' in page
    assert 'class="badge monitor-up"' in page


@time_machine.travel(NOW, tick=False)
def test_it_keeps_the_list_to_a_few_queries_with_a_thousand_monitors(
    founder_client: Client,
) -> None:
    Monitor.objects.bulk_create(
        Monitor(name=f"m{index:04d}", kind="tcp", target="db:5432") for index in range(1000)
    )
    ids = list(Monitor.objects.values_list("pk", flat=True)[:100])
    CheckResult.objects.bulk_create(
        CheckResult(monitor_id=pk, at=NOW - timedelta(minutes=n), outcome="up", latency_ms=5)
        for pk in ids
        for n in range(5)
    )
    with CaptureQueriesContext(connection) as queries:
        response = founder_client.get("/monitors/?page=2")
    assert response.status_code == 200
    assert "Page 2 of 20" in response.content.decode()
    monitor_queries = [q for q in queries.captured_queries if "monitoring_" in q["sql"]]
    # The page's count, its rows (uptime inside), its sparklines.
    assert len(monitor_queries) == 3


@time_machine.travel(NOW, tick=False)
def test_it_filters_in_the_url(founder_client: Client, api: Monitor) -> None:
    Monitor.objects.create(name="db", kind="tcp", target="db:5432", state="down")
    page = founder_client.get("/monitors/?state=down").content.decode()
    assert 'href="/monitors/db/"' in page
    assert 'href="/monitors/api/"' not in page


@time_machine.travel(NOW, tick=False)
def test_it_shows_a_monitors_results_and_chart(founder_client: Client, api: Monitor) -> None:
    page = founder_client.get("/monitors/api/").content.decode()
    assert '<svg class="latency-chart"' in page
    assert "peak 109 ms" in page
    assert 'id="monitor-actions"' in page


@time_machine.travel(NOW, tick=False)
def test_it_shows_viewers_no_buttons(viewer: Client, api: Monitor) -> None:
    page = viewer.get("/monitors/api/").content.decode()
    assert 'id="monitor-actions"' not in page
    assert "New monitor" not in viewer.get("/monitors/").content.decode()


@pytest.mark.parametrize("action", ["pause", "resume", "check", "ping-url", "edit"])
def test_it_refuses_viewers_actions(viewer: Client, api: Monitor, action: str) -> None:
    assert viewer.post(f"/monitors/api/{action}/").status_code == 403
    api.refresh_from_db()
    assert api.enabled


@time_machine.travel(NOW, tick=False)
def test_it_pauses_and_resumes(founder_client: Client, api: Monitor) -> None:
    founder_client.post("/monitors/api/pause/")
    api.refresh_from_db()
    assert (api.enabled, api.state) == (False, "paused")
    founder_client.post("/monitors/api/resume/")
    api.refresh_from_db()
    assert (api.enabled, api.next_check_at) == (True, NOW)


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "shop",
        "kind": "http",
        "target": "https://shop.example.com/",
        "interval": "30s",
        "timeout": "5s",
        "retries": 0,
        "fail_threshold": 3,
        "recover_threshold": 2,
        "component": "",
        "options": "expected_status: 200\nkeyword: Add to cart\n",
        "secret": "",
    }
    return data | changes


def test_it_adds_a_monitor_from_the_form(founder_client: Client) -> None:
    response = founder_client.post("/monitors/new/", form())
    assert response.status_code == 302
    shop = Monitor.objects.get(name="shop")
    assert (shop.interval_s, shop.source) == (30, "ui")
    assert shop.options == {"expected_status": 200, "keyword": "Add to cart"}


def test_it_explains_what_is_wrong_in_the_form(founder_client: Client) -> None:
    response = founder_client.post("/monitors/new/", form(interval="soon", options="keywrd: x\n"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "&#x27;soon&#x27; is not a duration like 30s, 5m or 1h" in page
    assert "unknown key &#x27;keywrd&#x27; (did you mean &#x27;keyword&#x27;?)" in page
    assert not Monitor.objects.exists()


def test_it_shows_a_new_heartbeats_ping_url_once(founder_client: Client) -> None:
    data = form(name="backup", kind="heartbeat", target="", options="period: 1d\ngrace: 1h\n")
    response = founder_client.post("/monitors/new/", data)
    assert response.status_code == 200
    assert 'id="new-ping-url"' in response.content.decode()
    again = founder_client.get("/monitors/backup/").content.decode()
    assert 'id="new-ping-url"' not in again


def test_it_keeps_file_monitors_read_only(founder_client: Client) -> None:
    Monitor.objects.create(name="filed", kind="tcp", target="db:5432", source="config")
    page = founder_client.get("/monitors/filed/").content.decode()
    assert "managed in monitors.yaml" in page
    assert "/monitors/filed/edit/" not in page
    response = founder_client.post("/monitors/filed/edit/", form(name="filed"))
    assert response.status_code == 302
    assert Monitor.objects.get(name="filed").kind == "tcp"


@time_machine.travel(NOW, tick=False)
def test_it_plans_and_ends_a_maintenance_window(founder_client: Client, api: Monitor) -> None:
    response = founder_client.post(
        "/monitors/maintenance/",
        {
            "title": "Upgrade",
            "starts_at": "2026-03-02 08:30",
            "ends_at": "2026-03-02 10:00",
            "monitors": ["api"],
            "announce": "on",
        },
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert list(window.monitors.all()) == [api]
    founder_client.post(f"/monitors/maintenance/{window.pk}/end/")
    window.refresh_from_db()
    assert window.ends_at == NOW


def test_it_refuses_a_window_that_ends_before_it_starts(founder_client: Client) -> None:
    response = founder_client.post(
        "/monitors/maintenance/",
        {"title": "Oops", "starts_at": "2026-03-02 10:00", "ends_at": "2026-03-02 09:00"},
    )
    assert response.status_code == 400
    assert "The window must end after it starts." in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_it_refuses_a_viewer_planning_maintenance(viewer: Client) -> None:
    response = viewer.post(
        "/monitors/maintenance/",
        {"title": "x", "starts_at": "2026-03-02 08:30", "ends_at": "2026-03-02 10:00"},
    )
    assert response.status_code == 403


@time_machine.travel(NOW, tick=False)
def test_it_exports_yaml_that_applies_cleanly(founder_client: Client, api: Monitor) -> None:
    Component.objects.create(name="API", slug="api")
    response = founder_client.get("/monitors/export.yaml")
    assert response["Content-Disposition"] == 'attachment; filename="monitors.yaml"'
    parsed = config.parse(response.content)
    plan = config.apply(parsed, {})
    assert {change.action for change in plan.changes} == {"adopt"}
