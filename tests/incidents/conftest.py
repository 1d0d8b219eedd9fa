"""The incidents cast: an API that goes down, a dashboard that slows, and a local web server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine

from founderops.ai import policy
from founderops.core.models import Notification
from founderops.incidents import services
from founderops.incidents.alerts import Fired, Signal
from founderops.incidents.models import Component

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Time frozen at T0 (03:00 UTC); tests move it with `.move_to` or `.shift`."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api(db: None) -> Component:
    return Component.objects.create(name="API", slug="api", critical=False)


@pytest.fixture
def payments(db: None) -> Component:
    return Component.objects.create(name="Payments", slug="payments", critical=True)


def down(
    component: str = "api",
    at: datetime = T0,
    monitor: str = "api-health",
    fingerprint: str = "",
    **facts: Any,
) -> Fired:
    """A monitor of `component` stopped answering."""
    return services.fire(
        Signal(
            fingerprint=fingerprint or f"monitor:{monitor}:down",
            source="check",
            cause="down",
            title=f"{monitor} does not answer",
            at=at,
            began_at=at - timedelta(seconds=20),
            component=component,
            facts={"hard": True, "monitor": monitor, **facts},
        )
    )


def slow(slowdown: float, component: str = "api", at: datetime = T0) -> Fired:
    return services.fire(
        Signal(
            fingerprint="monitor:api-health:slow",
            source="check",
            cause="slow",
            title=f"api-health {slowdown:.0%} slower",
            at=at,
            component=component,
            facts={"slowdown": slowdown, "monitor": "api-health"},
        )
    )


def incident_notifications(incident_id: int) -> list[Notification]:
    return list(
        Notification.objects.filter(key__startswith=f"incident:{incident_id}:").order_by("id")
    )


def set_mode(action: str, mode: str) -> None:
    policy.set_policy(services.AGENT, action, mode, policy.Limits(), "user:fiona")


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with the server's `status`; remembers what it was sent."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        server: Any = self.server
        server.seen.append(
            {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
        )
        self.send_response(server.status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"rolled back to build 41 via " + self.path.encode())

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[Any]:
    """A real HTTP server on 127.0.0.1 (the runbook's rollback endpoint)."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
