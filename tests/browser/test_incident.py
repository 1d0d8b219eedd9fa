"""An outage, end to end, in Debian's Chromium: a monitored service on 127.0.0.1 fails, its
checks open an incident, the Monitoring Agent answers with a plan and a runbook step waiting
for approval; the founder approves it (the step's rollback heals the service), acknowledges,
posts the agent's draft, and a signed-out visitor reads it on the status page, which also
works with JavaScript switched off.

As everywhere in the browser suite, the ORM is used only before and after a browser session
(Playwright's sync API runs an event loop in this thread). The checks are real HTTP requests
through the real check and state machine (`services.record_results`); jobs run inline, so the
agent answers when the incident opens and an approved step runs before the page reloads.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from founderops.core import clock, jobs
from founderops.incidents.models import Component, Incident, Runbook, RunbookRun, StatusUpdate
from founderops.monitoring import checks, services
from founderops.monitoring.models import Monitor
from tests.browser.steps import shoot
from tests.channels.smtp_server import Recorder
from tests.cockpit.test_browser_cockpit import PHONE
from tests.cockpit.test_browser_ops import build
from tests.web.test_browser import CHROMIUM_ARGS, STEP_TIMEOUT_MS, chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEYWORD = "all systems go"


@dataclass
class Service:
    """The founder's API: healthy until told otherwise; POST /rollback makes it healthy."""

    url: str = ""
    healthy: bool = True
    rollbacks: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    service: Service

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.service.healthy:
            self._send(200, f"ok, {KEYWORD}")
        else:
            self._send(500, "internal error: the session store is unreachable")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.service.rollbacks.append(self.path)
        self.service.healthy = True
        self._send(200, "rolled back to build 41")

    def _send(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def service() -> Iterator[Service]:
    state = Service()
    handler = type("Handler", (_Handler,), {"service": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def monitored(db: None, service: Service) -> Monitor:
    """The API component, its HTTP monitor, and the runbook for when it goes down."""
    api = Component.objects.create(name="API", slug="api")
    Runbook.objects.create(
        name="roll back the API",
        trigger={"cause": "down", "component": "api"},
        steps=[
            {
                "name": "roll back to the previous build",
                "kind": "http",
                "method": "POST",
                "url": f"{service.url}/rollback",
                "expect": 200,
            }
        ],
    )
    return Monitor.objects.create(
        name="api-health",
        kind="http",
        target=f"{service.url}/health",
        component=api,
        options={"expected_status": 200, "keyword": KEYWORD},
        interval_s=10,
        fail_threshold=3,
        recover_threshold=2,
    )


def check(monitor: Monitor, times: int) -> None:
    """Run the monitor's real check `times` times, each through the state machine."""
    for _ in range(times):

        async def once() -> Any:
            context = checks.Context()
            try:
                return await checks.run(monitor, context)
            finally:
                await context.aclose()

        result = asyncio.run(once())
        services.record_results([services.Run(monitor.pk, clock.now(), result)])


def test_it_takes_an_outage_from_the_first_failed_check_to_the_status_page(
    live_server: LiveServer, founder: User, service: Service, monitored: Monitor
) -> None:
    with jobs.running_inline():
        check(monitored, 2)  # healthy
        service.healthy = False
        check(monitored, 3)  # three failures in a row open the incident
    incident = Incident.objects.get()
    run = RunbookRun.objects.get()
    assert (incident.priority, run.state, service.rollbacks) == ("P1", "waiting", [])
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(live_server.url + "/incidents/")
        row = page.locator(f"#incident-{incident.pk}")
        expect(row).to_contain_text("P1")
        row.get_by_role("link", name=incident.title).click()
        expect(page.locator("#incident-plan")).to_contain_text("roll back the API")
        page.locator(f"#run-{run.pk}").get_by_role("button", name="Approve and run").click()
        expect(page.get_by_role("status")).to_contain_text("Approved: the step runs now.")
        expect(page.locator(f"#run-{run.pk}")).to_contain_text("rolled back to build 41")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("status")).to_contain_text("Acknowledged")
        expect(page.locator("#incident-priority")).to_have_text("P1")
        page.get_by_role("button", name="Post to the status page").click()
        expect(page.get_by_role("status")).to_contain_text("Posted to the status page.")
        shoot(page, "incident.png")
    run.refresh_from_db()
    incident.refresh_from_db()
    published = StatusUpdate.objects.get(incident=incident, state="published")
    assert (run.state, service.rollbacks, incident.acknowledged_by) == (
        "succeeded",
        ["/rollback"],
        founder,
    )
    check(monitored, 2)  # the rollback healed it: two good checks clear the alert
    monitored.refresh_from_db()
    assert (monitored.state, incident.alerts.get().state) == ("up", "resolved")
    title = incident.public_title  # read before the browser's event loop runs
    with chromium_page() as visitor:
        visitor.goto(live_server.url + "/status/")
        # Customers read a title of their own, not the monitor's; the API answers again, so
        # its component is operational while the incident is watched.
        expect(visitor.locator("#active")).to_contain_text(title)
        expect(visitor.locator("#active")).to_contain_text(published.body)
        expect(visitor.locator("#component-api")).to_contain_text("Operational")
        shoot(visitor, "status.png")
        visitor.get_by_role("link", name=title).click()
        expect(visitor.locator(f"#update-{published.pk}")).to_contain_text(published.body)


@contextmanager
def page_without_javascript() -> Iterator[Page]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            context = browser.new_context(java_script_enabled=False, viewport=PHONE)
            page = context.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def test_it_shows_the_status_page_and_takes_a_subscription_without_javascript(
    live_server: LiveServer, founder: User, smtp: Recorder
) -> None:
    title = build(founder).incident.public_title  # read before the browser's event loop runs
    before = len(smtp.received)  # the world's pages to the founder, if any
    with page_without_javascript() as page:
        page.goto(live_server.url + "/status/")
        expect(page.locator("#banner")).to_have_text("Major outage")
        expect(page.locator("#active")).to_contain_text(title)
        api_bar = page.locator("#component-api .st-day")
        expect(api_bar).to_have_count(90)  # all in the page; the phone shows the last 30
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot(page, "status-no-js.png")
        page.get_by_role("link", name=title).click()
        expect(page.locator("#incident")).to_contain_text("We are investigating")
        page.get_by_role("link", name="Get e-mail updates").click()
        page.get_by_label("Your e-mail address").fill("grace@example.com")
        page.get_by_role("button", name="Subscribe").click()
        expect(page.locator("#sent")).to_contain_text("a confirmation link is on its way")
    assert [mail.rcpt_tos for mail in smtp.received[before:]] == [["grace@example.com"]]
