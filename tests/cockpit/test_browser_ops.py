"""The operations pages on a phone (375 px, Debian's Chromium): no page scrolls sideways.

The data is what a real bad night leaves behind, made by the real pipeline where it can be:
twenty monitors (long URL targets, a heartbeat, long errors), a critical component with 90
days of status changes, an open P0 whose alert has a long title, the agent's diagnostics and
plan, a runbook step waiting for approval, a published update and a draft, notes with long
URLs, a resolved incident and an announced maintenance window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from founderops.core import clock
from founderops.incidents import services
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Component, ComponentStatusChange, Incident, Runbook
from founderops.monitoring import agent, diagnostics
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from tests.browser.steps import shoot
from tests.cockpit.test_browser_cockpit import PHONE, WIDEST
from tests.monitoring.local_servers import closed_port
from tests.web.test_browser import chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = Component.Status
# Text that runs past the right edge (a long URL in a paragraph widens the page without any
# element sticking out), outside containers that scroll or clip on their own.
TEXT_PAST_EDGE = """(() => {
  const edge = document.documentElement.clientWidth + 1, found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    if (range.getBoundingClientRect().right <= edge) continue;
    let contained = false;
    for (let p = node.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') { contained = true; break; }
    }
    const owner = node.parentElement, text = node.textContent.trim().slice(0, 40);
    if (!contained) found.push(`${owner.tagName}.${owner.className}: ${text}`);
  }
  return found.slice(0, 4);
})()"""
LONG_HOST = "api-gateway-primary.eu-west-1.internal.inkwell-production.example.com"
LONG_URL = (
    f"https://{LONG_HOST}/v2/health/deep-check?include=database,cache,queue,search,billing"
    "&token=0123456789abcdef0123456789abcdef0123456789abcdef"
)
LONG_ERROR = (
    f"ConnectError: [Errno 111] Connection refused while connecting to {LONG_URL} "
    "(after 3 retries with backoff 0.5 s, 1 s, 2 s)"
)
LONG_TITLE = (
    "api-gateway-primary-eu-west-1 is down: ConnectError: connection refused on "
    f"{LONG_HOST}/v2/health/deep-check"
)
# A day's worst status, cycled over 90 days: mostly fine, with the odd bad day.
PATTERN = (S.OPERATIONAL,) * 5 + (S.DEGRADED, S.OPERATIONAL, S.PARTIAL_OUTAGE, S.MAJOR_OUTAGE)


@dataclass(frozen=True)
class World:
    incident: Incident
    resolved: Incident
    http_monitor: str
    heartbeat: str


def fake_probes() -> diagnostics.Probes:
    """No look-up leaves the machine (the hosts are made up)."""

    def resolve(host: str) -> list[str]:
        raise diagnostics.ProbeFailed(f"{host} does not exist (NXDOMAIN)")

    def certificate(host: str, port: int) -> dict[str, object]:
        return {"valid": True, "error": "", "days_left": 12.0, "not_after": "2026-05-01"}

    return diagnostics.Probes(resolve=resolve, certificate=certificate)


def components(now: datetime) -> tuple[Component, Component]:
    api = Component.objects.create(
        name="Public API and webhooks delivery", slug="api", critical=True, position=1
    )
    website = Component.objects.create(name="Website", slug="website", position=2)
    Component.objects.create(name="Dashboard", slug="dashboard", position=3)
    changes = [
        ComponentStatusChange(
            component=api, at=now - timedelta(days=day, hours=3), status=PATTERN[day % 9]
        )
        for day in range(91, 0, -1)
    ]
    changes += [
        ComponentStatusChange(
            component=api, at=now - timedelta(days=day, hours=1), status=S.OPERATIONAL
        )
        for day in range(91, 0, -1)
    ]
    ComponentStatusChange.objects.bulk_create(changes)
    return api, website


def monitors(api: Component, website: Component, now: datetime) -> tuple[Monitor, Monitor]:
    http = Monitor.objects.create(
        name="api-gateway-primary-eu-west-1",
        kind="http",
        target=LONG_URL,
        component=api,
        options={"expected_status": 200, "keyword": "all systems go"},
        interval_s=10,
        state="down",
        last_error=LONG_ERROR,
        last_checked_at=now,
        last_latency_ms=10_000,
    )
    heartbeat = Monitor.objects.create(
        name="nightly-invoice-export-and-backup-job",
        kind="heartbeat",
        options={"cron": "0 3 * * *", "tz": "Europe/Paris", "grace": "10m"},
        component=website,
        state="up",
        last_ping_at=now - timedelta(hours=9),
    )
    kinds = ("http", "tcp", "tls", "dns")
    Monitor.objects.bulk_create(
        Monitor(
            name=f"check-{number:02d}-{kinds[number % 4]}",
            kind=kinds[number % 4],
            target=f"https://{LONG_HOST}/service-{number}/status?verbose=true"
            if number % 4 == 0
            else f"{LONG_HOST}:{5400 + number}",
            component=website if number % 2 else api,
            state="up",
            last_checked_at=now,
            last_latency_ms=40 + number,
        )
        for number in range(18)
    )
    results = [
        CheckResult(
            monitor=monitor,
            at=now - timedelta(minutes=minute),
            outcome="down" if minute < 3 and monitor == http else "up",
            latency_ms=None if minute < 3 and monitor == http else 80 + minute % 7 * 9,
            error=LONG_ERROR[:500] if minute < 3 and monitor == http else "",
            detail={"body": "<html>" + "x" * 300 + "</html>"} if minute == 1 else {},
        )
        for monitor in Monitor.objects.all()
        for minute in range(40)
    ]
    CheckResult.objects.bulk_create(results)
    return http, heartbeat


def open_p0(api: Component, now: datetime, founder: User) -> Incident:
    Runbook.objects.create(
        name="roll back the last deploy of the public API gateway",
        trigger={"cause": "down", "component": "api"},
        steps=[
            {
                "name": "roll back to the previous release",
                "kind": "http",
                "method": "POST",
                "url": f"http://127.0.0.1:{closed_port()}/hooks/rollback/{'x' * 60}",
            }
        ],
    )
    fired = services.fire(
        Signal(
            fingerprint="monitor:api-gateway-primary-eu-west-1:down",
            source="check",
            cause="down",
            title=LONG_TITLE,
            at=now - timedelta(minutes=2),
            began_at=now - timedelta(minutes=3),
            component="api",
            facts={"hard": True, "monitor": "api-gateway-primary-eu-west-1", "error": LONG_ERROR},
        )
    )
    incident = fired.incident
    agent.respond(incident.pk, agent.AgentDeps(provider=lambda: None, probes=fake_probes()))
    draft = incident.updates.get()
    services.publish_update(draft, "user:fiona", user=founder)
    services.write_update(
        incident, Incident.State.IDENTIFIED, f"We rolled back. Details: {LONG_URL}", founder
    )
    services.add_note(incident, f"Customer report, see {LONG_URL}#comment-{'9' * 40}", founder)
    incident.refresh_from_db()
    assert incident.priority == "P0"
    return incident


def resolved_incident(website: Component, now: datetime, founder: User) -> Incident:
    fired = services.fire(
        Signal(
            fingerprint="monitor:check-01-tcp:down",
            source="check",
            cause="down",
            title="check-01-tcp is down: " + "a-very-long-unbroken-error-token-" * 4,
            at=now - timedelta(days=3),
            component="website",
            facts={"hard": True, "monitor": "check-01-tcp"},
        )
    )
    incident = fired.incident
    services.write_update(incident, Incident.State.INVESTIGATING, "Looking into it.", founder)
    services.publish_update(incident.updates.get(), "user:fiona", user=founder)
    services.resolve(incident, "user:fiona", at=now - timedelta(days=3) + timedelta(minutes=20))
    return incident


def build(founder: User) -> World:
    now = clock.now()
    api, website = components(now)
    http, heartbeat = monitors(api, website, now)
    MaintenanceWindow.objects.create(
        title="Database upgrade to PostgreSQL 17 with a failover of the primary cluster",
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=2),
    )
    incident = open_p0(api, now, founder)
    resolved = resolved_incident(website, now, founder)
    return World(incident, resolved, http.name, heartbeat.name)


def test_it_fits_a_phone_screen_on_every_operations_page(
    live_server: LiveServer, founder: User
) -> None:
    world = build(founder)
    cockpit = [
        "/monitors/",
        f"/monitors/{world.http_monitor}/",
        f"/monitors/{world.heartbeat}/",
        f"/monitors/{world.http_monitor}/edit/",
        "/monitors/new/",
        "/monitors/maintenance/",
        "/incidents/",
        f"/incidents/{world.incident.pk}/",
        f"/incidents/{world.resolved.pk}/",
        "/slo/",
    ]
    public = [
        "/status/",
        f"/status/incidents/{world.incident.pk}/",
        f"/status/incidents/{world.resolved.pk}/",
        "/status/subscribe/",
    ]
    too_wide: dict[str, list[object]] = {}
    with chromium_page() as page:
        page.set_viewport_size(PHONE)
        for path in public:
            page.goto(live_server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = [width, *page.evaluate(WIDEST), *page.evaluate(TEXT_PAST_EDGE)]
            if path == "/status/":
                shoot(page, "status-phone.png")
        sign_in(page, live_server.url)
        for path in cockpit:
            page.goto(live_server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = [width, *page.evaluate(WIDEST), *page.evaluate(TEXT_PAST_EDGE)]
            if path == f"/incidents/{world.incident.pk}/":
                shoot(page, "incident-phone.png")
    assert too_wide == {}, json.dumps(too_wide, indent=1)
