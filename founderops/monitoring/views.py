"""Public endpoints of monitoring (no login, no CSRF: each proves itself another way).

- `/ping/<token>/[start|fail]`: heartbeats. The secret token in the URL is the credential;
  it is looked up by its SHA-256, so an unknown token costs the same as a known one and
  answers 404. Rate-limited per client address and per token.
- `/hooks/deploy/<name>/`: deploy webhooks, signed with the hook's secret (see deploys.py).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from founderops.core import clock, ratelimit
from founderops.monitoring import deploys, heartbeat

PINGS_PER_MINUTE_PER_ADDRESS = 600
PINGS_PER_MINUTE_PER_TOKEN = 60
MINUTE = 60


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request: HttpRequest, token: str, kind: str = heartbeat.SUCCESS) -> HttpResponse:
    limited = _limited(request, token)
    if limited is not None:
        return limited
    monitor = heartbeat.find(token)
    if monitor is None:
        return _text("not found: no heartbeat has this token\n", 404)
    body = request.read(heartbeat.BODY_READ_BYTES) if request.method == "POST" else b""
    heartbeat.record_ping(
        monitor,
        heartbeat.Ping(
            kind=kind,
            at=clock.now(),
            body=body.decode("utf-8", errors="replace"),
            remote=str(request.META.get("REMOTE_ADDR", "")),
            method=request.method or "GET",
        ),
    )
    return _text("OK\n", 200)


def _limited(request: HttpRequest, token: str) -> HttpResponse | None:
    address = str(request.META.get("REMOTE_ADDR", ""))
    checks = [
        (ratelimit.key_for("ping-ip", address), PINGS_PER_MINUTE_PER_ADDRESS),
        (ratelimit.key_for("ping-token", heartbeat.hash_token(token)), PINGS_PER_MINUTE_PER_TOKEN),
    ]
    for key, limit in checks:
        verdict = ratelimit.hit(key, limit, MINUTE)
        if not verdict.allowed:
            response = _text(f"too many pings: at most {limit} a minute\n", 429)
            response["Retry-After"] = str(verdict.retry_after_seconds)
            return response
    return None


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@login_not_required
@require_POST
def deploy_hook(request: HttpRequest, name: str) -> JsonResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if declared.isdigit() and int(declared) > deploys.MAX_BODY_BYTES:
            raise deploys.TooLarge(f"the body is larger than {deploys.MAX_BODY_BYTES} bytes")
        body = request.read(deploys.MAX_BODY_BYTES + 1)
        outcome = deploys.receive(name, dict(request.headers), body)
    except deploys.HookError as error:
        return JsonResponse({"error": error.code, "detail": str(error)}, status=error.status)
    if outcome.deploy is None:
        return JsonResponse({"stored": False, "ignored": outcome.ignored})
    return JsonResponse(
        {
            "stored": outcome.stored,
            "duplicate": not outcome.stored,
            "deploy": outcome.deploy.pk,
            "state": outcome.deploy.state,
        }
    )
