"""`/hooks/stripe/`: Stripe's webhook (public: the signature is the credential, no CSRF)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from founderops.revenue import webhooks


@csrf_exempt
@login_not_required
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if declared.isdigit() and int(declared) > webhooks.MAX_BODY_BYTES:
            raise webhooks.TooLarge(f"the body is larger than {webhooks.MAX_BODY_BYTES} bytes")
        # Read past DATA_UPLOAD_MAX_MEMORY_SIZE on purpose: the signature covers the raw bytes.
        body = request.read(webhooks.MAX_BODY_BYTES + 1)
        receipt = webhooks.receive(body, request.headers.get("Stripe-Signature"))
    except webhooks.WebhookError as error:
        return JsonResponse({"error": error.code, "detail": str(error)}, status=error.status)
    return JsonResponse(
        {
            "received": True,
            "duplicate": not receipt.stored,
            "event": receipt.event.stripe_id,
            "status": receipt.event.status,
        }
    )
