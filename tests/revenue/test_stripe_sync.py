"""Backfill from the list endpoints and reconciliation from the Events API, on a fake Stripe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
import time_machine

from founderops.core.errors import FounderOpsError
from founderops.revenue import stripe_api, sync, tasks, webhooks
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Discount,
    Invoice,
    Price,
    StripeAccount,
    StripeEvent,
    Subscription,
)
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(settings: Any) -> Iterator[None]:
    settings.STRIPE_API_KEY = fs.KEY
    settings.STRIPE_LIVEMODE = False
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def fake() -> Iterator[fs.FakeStripe]:
    yield from fs.installed()


def api() -> stripe.StripeClient:
    return stripe_api.client(livemode=False)


def received(event: dict[str, Any]) -> StripeEvent:
    row, _ = webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    return row


def an_invoice(stripe_id: str = "in_1", lines: int = 1) -> dict[str, Any]:
    data = [fs.line(f"il_{n}", 2000, MARCH, APRIL) for n in range(lines)]
    return fs.invoice(stripe_id, "cus_ada", data, MARCH)


def test_it_backfills_a_list_page_after_page(fake: fs.FakeStripe) -> None:
    fake.add("customers", *(fs.customer(f"cus_{n}", email=f"c{n}@example.com") for n in range(250)))
    report = sync.backfill(api(), livemode=False, only=["customers"])
    assert report.stored == {"customers": 250}
    assert BillingCustomer.objects.count() == 250
    assert fake.paths().count("/v1/customers") == 3


def test_it_backfills_every_list_in_order(fake: fs.FakeStripe) -> None:
    sync.backfill(api(), livemode=False)
    assert [p.removeprefix("/v1/") for p in fake.paths()] == list(stripe_api.LIST_NAMES)


def test_it_backfills_idempotently(fake: fs.FakeStripe) -> None:
    fake.add("customers", fs.customer("cus_ada"))
    fake.add("invoices", an_invoice())
    sync.backfill(api(), livemode=False)
    sync.backfill(api(), livemode=False)
    assert (BillingCustomer.objects.count(), Invoice.objects.count()) == (1, 1)
    assert Invoice.objects.get().lines.count() == 1


def test_it_resolves_references_between_backfilled_objects(fake: fs.FakeStripe) -> None:
    fake.add("products", fs.product())
    fake.add("prices", fs.price())
    fake.add("customers", fs.customer("cus_ada"))
    sub = fs.subscription("sub_1", "cus_ada", [("si_1", fs.price(), 3)], MARCH)
    fake.add("subscriptions", sub)
    sync.backfill(api(), livemode=False)
    stored = Subscription.objects.get()
    assert stored.customer == BillingCustomer.objects.get()
    item = stored.items.get()
    assert (item.quantity, item.price, item.current_period_start) == (3, Price.objects.get(), MARCH)
    assert Price.objects.get().product.name == "Pro"  # type: ignore[union-attr]
    assert not BillingCustomer.objects.filter(needs_fetch=True).exists()


def test_it_marks_the_account_backfilled_and_sets_the_events_cursor(fake: fs.FakeStripe) -> None:
    sync.backfill(api(), livemode=False)
    account = StripeAccount.objects.get(livemode=False)
    assert account.backfilled_at == NOW
    assert account.events_cursor == fs.ts(NOW)


def test_it_keeps_an_event_newer_than_the_backfill(fake: fs.FakeStripe) -> None:
    voided = {**an_invoice(), "status": "void"}
    newer = fs.event("evt_1", "invoice.voided", voided, NOW + timedelta(seconds=5))
    webhooks.process_event(received(newer).pk)
    fake.add("invoices", an_invoice())
    report = sync.backfill(api(), livemode=False, only=["invoices"])
    assert report.kept_newer == 1
    assert Invoice.objects.get().status == "void"


def test_it_refuses_objects_of_the_other_mode(fake: fs.FakeStripe) -> None:
    fake.add("customers", fs.customer("cus_ada", livemode=True))
    with pytest.raises(FounderOpsError, match="live-mode customer to a test-mode sync"):
        sync.backfill(api(), livemode=False, only=["customers"])


def test_it_fetches_the_rest_of_an_invoice_with_many_lines(fake: fs.FakeStripe) -> None:
    fake.add("invoices", an_invoice(lines=12))
    sync.backfill(api(), livemode=False, only=["invoices"])
    stored = Invoice.objects.get()
    assert stored.lines.count() == 12
    assert stored.needs_fetch is False
    assert "/v1/invoices/in_1/lines" in fake.paths()


def test_it_marks_truncated_lines_for_a_fetch_when_no_api_is_at_hand() -> None:
    invoice = an_invoice(lines=10)
    invoice["lines"]["has_more"] = True
    webhooks.process_event(received(fs.event("evt_1", "invoice.paid", invoice, MARCH)).pk)
    assert Invoice.objects.get().needs_fetch is True


def test_it_reconciles_events_the_webhooks_missed(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW - timedelta(hours=1)))
    report = sync.reconcile(api(), livemode=False)
    assert (report.listed, report.new, report.processed) == (1, 1, 1)
    event = StripeEvent.objects.get()
    assert (event.via, event.status) == ("events_api", "processed")
    assert Invoice.objects.get().status == "paid"


def test_it_reconciles_from_the_last_event_seen(fake: fs.FakeStripe) -> None:
    StripeAccount.objects.create(livemode=False, events_cursor=fs.ts(NOW) - 1000)
    sync.reconcile(api(), livemode=False)
    events = next(r for r in fake.requests if r.url.path == "/v1/events")
    assert events.url.params["created[gte]"] == str(fs.ts(NOW) - 1000 - sync.OVERLAP_SECONDS)


def test_it_moves_the_cursor_to_the_newest_event(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW - timedelta(hours=1)))
    sync.reconcile(api(), livemode=False)
    assert StripeAccount.objects.get().events_cursor == fs.ts(NOW - timedelta(hours=1))


def test_it_starts_thirty_days_back_without_a_cursor(fake: fs.FakeStripe) -> None:
    sync.reconcile(api(), livemode=False)
    events = next(r for r in fake.requests if r.url.path == "/v1/events")
    assert events.url.params["created[gte]"] == str(fs.ts(NOW - timedelta(days=30)))


def test_it_does_not_store_an_event_twice_when_the_webhook_had_it(fake: fs.FakeStripe) -> None:
    event = fs.event("evt_1", "invoice.paid", an_invoice(), NOW - timedelta(hours=1))
    webhooks.process_event(received(event).pk)
    fake.add("events", event)
    report = sync.reconcile(api(), livemode=False)
    assert (report.new, report.processed) == (0, 0)
    assert StripeEvent.objects.get().attempts == 1


def test_it_skips_event_types_it_does_not_store(fake: fs.FakeStripe) -> None:
    intent = fs.shape("payment_intent", id="pi_1")
    fake.add("events", fs.event("evt_1", "payment_intent.created", intent, NOW))
    report = sync.reconcile(api(), livemode=False)
    assert (report.listed, report.new) == (1, 0)


def test_it_retries_failed_events_when_reconciling(fake: fs.FakeStripe) -> None:
    broken = fs.event("evt_1", "invoice.paid", {**an_invoice(), "total": "lots"}, NOW)
    row = received(broken)
    assert webhooks.process_event(row.pk) == "failed"
    fixed = fs.event("evt_1", "invoice.paid", an_invoice(), NOW)
    StripeEvent.objects.filter(pk=row.pk).update(body=json.dumps(fixed))
    report = sync.reconcile(api(), livemode=False)
    assert report.processed == 1
    assert StripeEvent.objects.get().status == "processed"


def test_it_gives_up_on_an_event_after_the_last_attempt(fake: fs.FakeStripe) -> None:
    received(fs.event("evt_1", "invoice.paid", {**an_invoice(), "total": "lots"}, NOW))
    StripeEvent.objects.update(status="failed", attempts=webhooks.MAX_ATTEMPTS)
    assert sync.reconcile(api(), livemode=False).processed == 0


def test_it_fills_stubs_when_reconciling(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW))
    fake.add("customers", fs.customer("cus_ada"))
    report = sync.reconcile(api(), livemode=False)
    assert report.fetched >= 1
    customer = BillingCustomer.objects.get()
    assert (customer.needs_fetch, customer.email) == (False, "ada@example.com")


def test_it_leaves_a_stub_unfilled_when_stripe_answers_an_object_of_the_other_mode(
    fake: fs.FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW))
    fake.add("customers", fs.customer("cus_ada", livemode=True))
    sync.reconcile(api(), livemode=False)
    customer = BillingCustomer.objects.get()
    assert (customer.needs_fetch, customer.email) == (True, "")
    assert "customer cus_ada: a live-mode object among test-mode data" in caplog.text


def test_it_keeps_a_stubs_error_for_stripe_status(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW))
    fake.add("customers", fs.customer("cus_ada", livemode=True))
    sync.reconcile(api(), livemode=False)
    assert "customer cus_ada: a live-mode object" in StripeAccount.objects.get().last_error


def test_it_clears_the_last_error_when_a_reconciliation_goes_well(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW))
    fake.add("customers", fs.customer("cus_ada", livemode=True))
    sync.reconcile(api(), livemode=False)
    fake.objects["customers"] = [fs.customer("cus_ada")]
    sync.reconcile(api(), livemode=False)
    assert StripeAccount.objects.get().last_error == ""


def test_it_marks_a_stub_stripe_does_not_have_as_deleted(fake: fs.FakeStripe) -> None:
    fake.add("events", fs.event("evt_1", "invoice.paid", an_invoice(), NOW))
    sync.reconcile(api(), livemode=False)
    customer = BillingCustomer.objects.get()
    assert (customer.needs_fetch, customer.deleted) == (False, True)


def test_it_says_when_stripe_is_not_configured(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    assert tasks.reconcile() == "Stripe is not configured"


def test_it_reconciles_each_configured_mode_from_the_job(fake: fs.FakeStripe) -> None:
    assert tasks.reconcile() == (
        "Stripe test mode: 0 events listed, 0 new, 0 processed, 0 failed, 0 objects fetched"
    )


def test_it_remembers_an_api_error_for_the_status(fake: fs.FakeStripe, settings: Any) -> None:
    fake.failure = (401, "api_key_invalid", "Invalid API Key")
    outcome = tasks.reconcile()
    assert outcome.startswith("Stripe test mode failed: ")
    assert "Invalid API Key" in StripeAccount.objects.get().last_error


def test_it_links_a_charge_to_its_invoice_through_an_invoice_payment(
    fake: fs.FakeStripe,
) -> None:
    fake.add("invoices", an_invoice())
    fake.add("invoice_payments", fs.invoice_payment("inpay_1", "in_1", "pi_1", 2000))
    fake.add("charges", fs.charge("ch_1", 2000, payment_intent="pi_1"))
    sync.backfill(api(), livemode=False)
    assert Charge.objects.get().invoice == Invoice.objects.get()


def test_it_links_a_charge_stored_before_its_invoice_payment(fake: fs.FakeStripe) -> None:
    fake.add("charges", fs.charge("ch_1", 2000, payment_intent="pi_1"))
    sync.backfill(api(), livemode=False, only=["charges"])
    fake.add("invoices", an_invoice())
    fake.add("invoice_payments", fs.invoice_payment("inpay_1", "in_1", "pi_1", 2000))
    sync.backfill(api(), livemode=False, only=["invoices", "invoice_payments"])
    assert Charge.objects.get().invoice == Invoice.objects.get()


def test_it_links_a_charge_to_its_invoice_in_the_older_api_shape(fake: fs.FakeStripe) -> None:
    fake.add("charges", fs.charge("ch_1", 2000, invoice="in_1"))
    sync.backfill(api(), livemode=False, only=["charges"])
    assert Charge.objects.get().invoice.stripe_id == "in_1"  # type: ignore[union-attr]


def test_it_stores_the_discounts_expanded_on_an_invoice(fake: fs.FakeStripe) -> None:
    half = fs.coupon("HALF", 50, "repeating", months=3)
    expanded = fs.discount("di_1", "HALF") | {"source": {"coupon": half, "type": "coupon"}}
    lines = [fs.line("il_1", 2000, MARCH, APRIL, discounts=[("di_1", 1000)])]
    fake.add("invoices", fs.invoice("in_1", "cus_ada", lines, MARCH, discounts=[expanded]))
    sync.backfill(api(), livemode=False, only=["invoices"])
    stored = Discount.objects.get()
    assert stored.coupon is not None
    assert (stored.coupon.duration, stored.coupon.duration_in_months) == ("repeating", 3)
    assert Invoice.objects.get().needs_fetch is False


def test_it_asks_for_the_invoice_again_when_a_discount_is_unknown(fake: fs.FakeStripe) -> None:
    lines = [fs.line("il_1", 2000, MARCH, APRIL, discounts=[("di_1", 1000)])]
    fake.add("invoices", fs.invoice("in_1", "cus_ada", lines, MARCH, discounts=["di_1"]))
    sync.backfill(api(), livemode=False, only=["invoices"])
    assert Invoice.objects.get().needs_fetch is True


def test_it_warns_when_the_last_event_seen_is_older_than_stripe_keeps(
    fake: fs.FakeStripe,
) -> None:
    StripeAccount.objects.create(livemode=False, events_cursor=fs.ts(NOW - timedelta(days=31)))
    report = sync.reconcile(api(), livemode=False)
    assert report.summary().endswith("are missing; run `founderops stripe sync`")
    assert "older than the 30 days" in StripeAccount.objects.get().last_error


def test_it_remembers_a_stored_key_it_cannot_read(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    StripeAccount.objects.create(livemode=False, api_key_sealed="not-a-sealed-key")
    assert tasks.reconcile().startswith("Stripe test mode failed: a stored secret cannot be")
    assert "FOUNDEROPS_SECRET_KEY" in StripeAccount.objects.get().last_error
