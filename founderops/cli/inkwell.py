"""Inkwell, the demo's pretend product: a website, an API, an editor and its hosting platform.

The demo's monitors watch it for real over loopback while `founderops demo` runs, and its
script breaks it once: a bad release goes out (announced to FounderOps by a signed deploy
webhook, as a hosting platform would), the API starts failing, and the runbook's rollback
call to the platform endpoint heals it. The same request handler also answers, through the
HTTP seam's injectable transport, while the demo replays its history at past times.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import Request, urlopen

import httpx

GOOD_RELEASE = "v2.14.0"
BAD_RELEASE = "v2.15.0"
EDITOR_MS = 60.0


@dataclass
class Platform:
    """What is deployed and whether it works; every route reads it under one lock."""

    release: str = GOOD_RELEASE
    broken: bool = False
    slow_factor: float = 1.0
    website_down: bool = False
    rollbacks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ship(self, release: str, broken: bool) -> None:
        with self.lock:
            self.release, self.broken = release, broken

    def roll_back(self) -> str:
        with self.lock:
            self.release, self.broken, self.rollbacks = GOOD_RELEASE, False, self.rollbacks + 1
            return self.release


Reply = tuple[int, str, bytes]


def respond(platform: Platform, method: str, path: str) -> Reply:
    """One request to Inkwell: (status, content type, body)."""
    path = path.split("?", 1)[0]
    if method == "POST" and path == "/platform/rollback":
        return _json(200, {"rolled_back_to": platform.roll_back()})
    if method == "POST" and path == "/platform/purge-cache":
        return _json(200, {"purged": True})
    if method not in {"GET", "HEAD"}:
        return _json(405, {"error": "method not allowed"})
    if path == "/":
        if platform.website_down:
            return 503, "text/html; charset=utf-8", b"<html><h1>503 Service Unavailable</h1></html>"
        page = "<html><title>Inkwell</title><h1>Inkwell: write together</h1></html>"
        return 200, "text/html; charset=utf-8", page.encode()
    if path == "/api/health":
        if platform.broken:
            return _json(500, {"status": "error", "release": platform.release})
        return _json(200, {"status": "ok", "release": platform.release})
    if path == "/editor/":
        time.sleep(EDITOR_MS * platform.slow_factor / 1000)
        return 200, "text/html; charset=utf-8", b"<html><h1>Inkwell editor</h1></html>"
    return _json(404, {"error": "not found"})


def _json(status: int, data: dict[str, object]) -> Reply:
    return status, "application/json", json.dumps(data).encode()


def transport(platform: Platform) -> httpx.MockTransport:
    """Inkwell behind the HTTP seam, for the demo's replay of its past."""

    def handle(request: httpx.Request) -> httpx.Response:
        status, kind, body = respond(platform, request.method, request.url.raw_path.decode())
        return httpx.Response(status, headers={"content-type": kind}, content=body)

    return httpx.MockTransport(handle)


def serve(platform: Platform, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            status, kind, body = respond(platform, self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the demo's terminal belongs to FounderOps

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def deploy_request(
    secret: str, release: str, state: str, at: float
) -> tuple[bytes, dict[str, str]]:
    """A release announced the way a hosting platform does: a signed generic deploy webhook.
    The id names the moment too: the live break ships the release the replayed story shipped,
    and the same id would be taken for a retried delivery of that one (and not recorded)."""
    body = json.dumps(
        {
            "id": f"inkwell-{release}-{int(at)}",
            "state": state,
            "environment": "production",
            "commit": hashlib.sha256(release.encode()).hexdigest()[:12],
            "message": f"Release {release}: faster document export",
            "at": at,
        }
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature-256": f"sha256={signature}"}
    return body, headers


def signed_deploy(hook_url: str, secret: str, release: str, state: str) -> None:
    body, headers = deploy_request(secret, release, state, time.time())
    # A loopback URL the demo built itself.
    request = Request(hook_url, data=body, method="POST", headers=headers)  # noqa: S310
    with urlopen(request, timeout=10):  # noqa: S310
        pass


def run_script(platform: Platform, hook_url: str, secret: str, break_after: float) -> None:
    """The live story: after `break_after` seconds a bad release breaks the API."""
    time.sleep(break_after)
    for attempt in range(30):  # FounderOps may still be starting
        try:
            signed_deploy(hook_url, secret, BAD_RELEASE, "succeeded")
            break
        except OSError:
            time.sleep(2 + attempt)
    platform.ship(BAD_RELEASE, broken=True)


def _watch_parent(server: ThreadingHTTPServer, parent: int) -> None:
    """`founderops demo` becomes `founderops up` in place (same pid): when it ends, so do we."""
    while os.getppid() == parent:
        time.sleep(1)
    server.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Inkwell, the demo's pretend product")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hook-url", default="")
    parser.add_argument("--secret-file", default="")
    parser.add_argument("--break-after", type=float, default=120.0)
    parser.add_argument("--parent", type=int, default=0, help="stop when this process ends")
    options = parser.parse_args(argv)
    platform = Platform()
    server = serve(platform, "127.0.0.1", options.port)
    if options.hook_url and options.secret_file:
        with open(options.secret_file) as file:
            secret = file.read().strip()
        script = threading.Thread(
            target=run_script,
            args=(platform, options.hook_url, secret, options.break_after),
            daemon=True,
        )
        script.start()
    if options.parent:
        threading.Thread(target=_watch_parent, args=(server, options.parent), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
