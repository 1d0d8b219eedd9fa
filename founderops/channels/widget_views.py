"""The widget's public JSON endpoints under /widget/v1/, and its demo page.

No login and no cookie: the endpoints are `login_not_required` and CSRF-exempt because
nothing ambient authenticates a request (the signed tokens in the body are the only proof).
CORS: a browser may call them from the founder's sites (FOUNDEROPS_WIDGET_ORIGINS, exact
match) and from this app's own pages; any other Origin is refused with 403 before anything
runs. A request without an Origin (not a browser, or a same-origin GET) is served: CORS
stops other sites' pages, not scripts, which the rate limits and the form token are for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from founderops.channels import widget
from founderops.core.errors import Conflict, InvalidInput, NotFound

View = Callable[[HttpRequest], HttpResponse]
# JSON that is safe even where a browser might sniff it as HTML.
_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
PREFLIGHT_MAX_AGE = "600"


def json_response(data: dict[str, Any], status: int = 200) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False).translate(_UNSAFE)
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def error(status: int, code: str, detail: str, retry_after: int | None = None) -> HttpResponse:
    data: dict[str, Any] = {"detail": detail, "code": code}
    if retry_after is not None:
        data["retry_after"] = retry_after
    response = json_response(data, status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def own_origins(request: HttpRequest) -> set[str]:
    """This app's own origin, as the request reached it and as the public URL names it."""
    return {f"{request.scheme}://{request.get_host()}".lower(), origin_of(settings.SITE_URL)}


def cross_origin(request: HttpRequest) -> str | None:
    """The Origin to allow in the response, "" for same origin or none, None when refused."""
    origin = request.headers.get("Origin", "")
    if not origin:
        return ""
    if origin.rstrip("/").lower() in own_origins(request):
        return ""
    if origin.rstrip("/").lower() in widget.allowed_origins():
        return origin
    return None


def with_cors(response: HttpResponse, origin: str) -> HttpResponse:
    patch_vary_headers(response, ["Origin"])
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    return response


def preflight(methods: list[str]) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = ", ".join([*methods, "OPTIONS"])
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def widget_endpoint(*methods: str) -> Callable[[View], View]:
    """Public, CSRF-exempt, CORS-checked; a refusal or bad input becomes a JSON error."""

    def wrap(view: View) -> View:
        def endpoint(request: HttpRequest) -> HttpResponse:
            origin = cross_origin(request)
            if origin is None:
                return with_cors(refused_origin(request), "")
            if request.method == "OPTIONS":
                return with_cors(preflight(list(methods)), origin)
            if request.method not in methods:
                allowed = ", ".join(methods)
                response = error(405, "method_not_allowed", f"use {allowed}")
                response["Allow"] = allowed
                return with_cors(response, origin)
            return with_cors(answer_errors(view, request), origin)

        endpoint.__name__ = view.__name__
        endpoint.__doc__ = view.__doc__
        return login_not_required(csrf_exempt(endpoint))

    return wrap


def refused_origin(request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    return error(
        403,
        "origin_not_allowed",
        f"the chat widget may not be used from {origin[:200]}: add it to FOUNDEROPS_WIDGET_ORIGINS",
    )


def answer_errors(view: View, request: HttpRequest) -> HttpResponse:
    try:
        return view(request)
    except widget.Throttled as refused:
        return error(refused.status, refused.code, str(refused), refused.retry_after)
    except widget.Refused as refused:
        return error(refused.status, refused.code, str(refused))
    except Conflict as conflict:
        return error(409, "conflict", str(conflict))
    except InvalidInput as invalid:
        return error(400, "invalid", str(invalid))
    except NotFound as missing:
        return error(404, "not_found", str(missing))


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object, refused with a reason when it is too big or not one."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > widget.MAX_BODY_BYTES:
        raise widget.TooLarge(
            "too_large", f"the request is larger than {widget.MAX_BODY_BYTES} bytes"
        )
    try:
        raw = request.body
    except RequestDataTooBig:
        raise widget.TooLarge("too_large", "the request is too large") from None
    if len(raw) > widget.MAX_BODY_BYTES:
        raise widget.TooLarge(
            "too_large", f"the request is larger than {widget.MAX_BODY_BYTES} bytes"
        )
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise widget.Refused("bad_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise widget.Refused("bad_json", "the request body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise widget.Refused("bad_field", f"{name} must be a string")
    return value


def client_ip(request: HttpRequest) -> str:
    # The address the connection came from. Behind a reverse proxy, the proxy must pass the
    # visitor's address as REMOTE_ADDR (e.g. waitress' trusted_proxy); a header a visitor can
    # set (X-Forwarded-For) would let a flood pick a new address per request.
    return str(request.META.get("REMOTE_ADDR", ""))


@widget_endpoint("GET")
def session(request: HttpRequest) -> HttpResponse:
    """A form token for the questions to come."""
    return json_response(widget.open_session())


@widget_endpoint("POST")
def ask(request: HttpRequest) -> HttpResponse:
    """A visitor's question (or the e-mail address the widget asked for)."""
    data = read_json(request)
    question = widget.Question(
        token=text_field(data, "token"),
        text=text_field(data, "question"),
        email=text_field(data, "email"),
        name=text_field(data, "name"),
        conversation=text_field(data, "conversation"),
        request_id=text_field(data, "request_id"),
        website=text_field(data, "website"),
    )
    reply = widget.ask_question(question, client_ip(request))
    return json_response(reply.as_json())


@widget_endpoint("POST")
def rate(request: HttpRequest) -> HttpResponse:
    """A 👍 or 👎 on an answer."""
    data = read_json(request)
    rating = widget.rate_answer(
        text_field(data, "rating_token"),
        text_field(data, "score"),
        client_ip(request),
        text_field(data, "comment"),
    )
    return json_response(
        {"status": widget.RATED, "score": rating.score, "text": "Thanks for your feedback!"}
    )


@login_not_required
def demo(request: HttpRequest) -> HttpResponse:
    """A pretend product page with the widget on it, served by this app (so same origin)."""
    return render(request, "channels/widget_demo.html")
