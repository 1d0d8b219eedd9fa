"""Public endpoints where mail providers post inbound mail (no login, no CSRF: each
provider proves itself instead, see `webhooks`). Every answer is JSON: 200 stored (or
already stored), 400 a malformed body naming what is wrong, 401/403 no or wrong proof,
404 a provider that is not configured, 413 a body too large even for a mail."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from founderops.channels import inbound, webhooks
from founderops.channels.models import InboundEmail
from founderops.core import clock

# A mail of MAIL_MAX_BYTES grows by a third in base64 and more in JSON; beyond this the
# request is refused before it is read (a larger mail is still kept, headers only).
OVERHEAD_BYTES = 1024 * 1024


def body_limit() -> int:
    return 2 * settings.MAIL_MAX_BYTES + OVERHEAD_BYTES


@csrf_exempt
@login_not_required
@require_POST
def postmark(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: _postmark(request))


@csrf_exempt
@login_not_required
@require_POST
def mailgun(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: _mailgun(request))


@csrf_exempt
@login_not_required
@require_POST
def sendgrid(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: _sendgrid(request))


def _postmark(request: HttpRequest) -> JsonResponse:
    secret = _configured(settings.POSTMARK_INBOUND_SECRET, "Postmark", "POSTMARK_INBOUND_SECRET")
    webhooks.check_basic_auth(request.headers.get("Authorization", ""), secret)
    raw = webhooks.postmark_mime(webhooks.json_object(read_body(request)))
    return _stored(raw, InboundEmail.Source.POSTMARK)


def _mailgun(request: HttpRequest) -> JsonResponse:
    key = _configured(settings.MAILGUN_SIGNING_KEY, "Mailgun", "MAILGUN_SIGNING_KEY")
    form = webhooks.parse_form(_content_type(request), read_body(request))
    timestamp = webhooks.check_mailgun(
        form.text("timestamp"), form.text("token"), form.text("signature"), key, clock.now()
    )
    raw = webhooks.mailgun_mime(form)
    # The token is spent with the mail stored: a request that fails leaves it for a retry.
    with transaction.atomic():
        webhooks.remember_token(form.text("token"), timestamp)
        return _stored(raw, InboundEmail.Source.MAILGUN)


def _sendgrid(request: HttpRequest) -> JsonResponse:
    secret = _configured(settings.SENDGRID_INBOUND_SECRET, "SendGrid", "SENDGRID_INBOUND_SECRET")
    webhooks.check_basic_auth(request.headers.get("Authorization", ""), secret)
    body = read_body(request)
    if settings.SENDGRID_PUBLIC_KEY:
        webhooks.check_sendgrid_signature(
            settings.SENDGRID_PUBLIC_KEY,
            request.headers.get(webhooks.SENDGRID_SIGNATURE, ""),
            request.headers.get(webhooks.SENDGRID_TIMESTAMP, ""),
            body,
            clock.now(),
        )
    raw = webhooks.sendgrid_mime(webhooks.parse_form(_content_type(request), body))
    return _stored(raw, InboundEmail.Source.SENDGRID)


def _content_type(request: HttpRequest) -> str:
    # The whole header: `request.content_type` drops the multipart boundary.
    return str(request.META.get("CONTENT_TYPE", ""))


def _configured(value: str, provider: str, setting: str) -> str:
    if not value:
        raise webhooks.NotConfigured(
            f"the {provider} inbound webhook is not configured (set FOUNDEROPS_{setting})"
        )
    return value


def read_body(request: HttpRequest) -> bytes:
    """The raw body, read from the stream: Django's 2.5 MB form cap is for people, not mail."""
    limit = body_limit()
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise webhooks.TooLarge(f"the request is {declared} bytes; the limit is {limit}")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise webhooks.TooLarge(f"the request is larger than {limit} bytes")
    if not body.strip():
        raise webhooks.Malformed("the request has no body")
    return body


def _stored(raw: bytes, source: str) -> JsonResponse:
    row, new = inbound.store_inbound(raw, source)
    return JsonResponse(
        {"stored": new, "duplicate": not new, "id": row.pk, "status": row.status}, status=200
    )


def _answer(handler: Callable[[], JsonResponse]) -> JsonResponse:
    try:
        return handler()
    except webhooks.WebhookError as error:
        response = JsonResponse({"error": error.code, "detail": str(error)}, status=error.status)
        if isinstance(error, webhooks.Unauthenticated):
            response["WWW-Authenticate"] = 'Basic realm="founderops-inbound"'
        return response
