"""Thin, idempotent jobs of revenue: process a stored Stripe event, reconcile from the API."""

from __future__ import annotations


def process_event(event_pk: int) -> str:
    """Store what one Stripe event carries (once, however often the job is delivered)."""
    from founderops.revenue import stripe_api, webhooks
    from founderops.revenue.models import StripeEvent

    event = StripeEvent.objects.filter(pk=event_pk).only("livemode").first()
    if event is None:
        return "skipped"
    try:
        api = stripe_api.client(event.livemode)
    except stripe_api.StripeNotConfigured:
        # Without a key the event is still stored; truncated lists wait for reconciliation.
        api = None
    return webhooks.process_event(event_pk, api)


def reconcile() -> str:
    """Every FOUNDEROPS_STRIPE_RECONCILE_MINUTES: events since the last one seen, then stubs."""
    from founderops.revenue import sync

    return sync.reconcile_configured()
