"""`/hooks/stripe/`: signed, stored before processing, idempotent, order-proof."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from founderops.core.models import AuditEvent
from founderops.revenue import stripe_api, stripe_store, webhooks
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Invoice,
    Refund,
    StripeEvent,
)
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _configured(settings: Any) -> Iterator[None]:
    settings.STRIPE_WEBHOOK_SECRET = [fs.SECRET]
    # The events here are test-mode ones: a bare secret signs FOUNDEROPS_STRIPE_LIVEMODE's.
    settings.STRIPE_LIVEMODE = False
    settings.STRIPE_API_KEY = ""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    with time_machine.travel(NOW, tick=False):
        yield


def deliver(
    client: Client,
    capture: Any,
    event: dict[str, Any],
    at: datetime = NOW,
    secret: str = fs.SECRET,
) -> Any:
    body = json.dumps(event)
    return post(client, capture, body, fs.signed(body, at, secret))


def post(client: Client, capture: Any, body: str, signature: str | None) -> Any:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    with capture(execute=True):
        return client.post(
            "/hooks/stripe/", data=body, content_type="application/json", headers=headers
        )


def paid_invoice(created: datetime = MARCH, status: str = "paid") -> dict[str, Any]:
    lines = [fs.line("il_1", 2000, MARCH, APRIL)]
    return fs.invoice("in_1", "cus_ada", lines, created, status=status)


def test_it_stores_and_processes_a_signed_event(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    stored = StripeEvent.objects.get()
    assert (stored.stripe_id, stored.status, stored.attempts) == ("evt_1", "processed", 1)
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.total, invoice.livemode) == ("paid", 2000, False)
    assert invoice.lines.get().period_start == MARCH


def test_it_keeps_the_raw_body_exactly_as_signed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH), indent=1)
    post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert StripeEvent.objects.get().body == body


def test_it_refuses_a_bad_signature(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event, secret="whsec_other")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    assert "does not match" in response.json()["detail"]
    assert StripeEvent.objects.count() == 0


def test_it_names_both_places_a_signing_secret_comes_from(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event, secret="whsec_other")
    assert response.json()["detail"].endswith(
        "(check the endpoint's signing secret: FOUNDEROPS_STRIPE_WEBHOOK_SECRET or "
        "`founderops stripe webhook-secret`)"
    )


def test_it_refuses_a_body_changed_after_signing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH))
    signature = fs.signed(body, NOW)
    response = post(client, django_capture_on_commit_callbacks, body + " ", signature)
    assert response.json()["error"] == "bad_signature"


def test_it_refuses_a_missing_signature_header(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH))
    response = post(client, django_capture_on_commit_callbacks, body, None)
    assert response.status_code == 400
    assert "no timestamp" in response.json()["detail"]


def test_it_refuses_a_stale_timestamp(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    late = NOW - timedelta(seconds=301)
    response = deliver(client, django_capture_on_commit_callbacks, event, at=late)
    assert response.status_code == 400
    assert response.json()["error"] == "stale_timestamp"
    assert StripeEvent.objects.count() == 0


def test_it_accepts_a_timestamp_within_the_tolerance(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    recent = NOW - timedelta(seconds=299)
    response = deliver(client, django_capture_on_commit_callbacks, event, at=recent)
    assert response.status_code == 200


def test_it_refuses_a_timestamp_in_the_future(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    ahead = NOW + timedelta(minutes=5)
    response = deliver(client, django_capture_on_commit_callbacks, event, at=ahead)
    assert response.status_code == 400
    assert response.json()["error"] == "future_timestamp"


def test_it_accepts_any_of_the_configured_secrets(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_old", fs.SECRET]
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    assert deliver(client, django_capture_on_commit_callbacks, event).status_code == 200


def test_it_answers_404_without_a_webhook_secret(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = []
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 404
    assert "FOUNDEROPS_STRIPE_WEBHOOK_SECRET" in response.json()["detail"]


def test_it_refuses_malformed_json_with_a_clear_message(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = '{"id": "evt_1", "object": "event",'
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert response.json()["detail"].startswith("the body is not JSON")


def test_it_names_what_an_event_lacks(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps({"object": "event", "id": "evt_1", "type": "invoice.paid"})
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.json()["detail"] == (
        "the event is malformed: created is missing; livemode is missing; data is missing"
    )


def test_it_says_an_event_id_must_be_a_string(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = {**fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH), "id": 1}
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.json()["detail"] == (
        "the event is malformed: id must be a non-empty string, got 1"
    )


def test_it_says_a_body_without_object_event_is_not_an_event(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = '{"id":1}'
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert (response.status_code, response.json()["detail"]) == (
        400,
        'the body is not a Stripe event: "object": "event" is missing',
    )


def test_it_says_a_json_array_is_not_an_event(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = "[1]"
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.json()["detail"] == "the body is not a Stripe event: JSON array, not an object"


def test_it_refuses_an_event_id_longer_than_its_column(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_" + "a" * 252, "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "malformed",
            "detail": "the event is malformed: id is 256 characters long, longer than the 255 "
            "the database holds",
        },
    )
    assert StripeEvent.objects.count() == 0


def test_it_keeps_two_long_event_ids_that_share_a_prefix_apart(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    prefix = "evt_" + "a" * 250
    for last in ("x", "y"):
        event = fs.event(prefix + last, "invoice.paid", paid_invoice(), MARCH)
        assert deliver(client, django_capture_on_commit_callbacks, event).status_code == 200
    assert sorted(StripeEvent.objects.values_list("stripe_id", flat=True)) == [
        prefix + "x",
        prefix + "y",
    ]


def test_it_refuses_an_event_type_longer_than_its_column(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice." + "x" * 100, paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.json()["detail"] == (
        "the event is malformed: type is 108 characters long, longer than the 100 the database "
        "holds"
    )


def test_it_refuses_a_body_that_is_not_an_event(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(paid_invoice())
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.json()["detail"] == (
        'the body is not a Stripe event: its "object" is \'invoice\', not "event"'
    )


def test_it_refuses_a_body_too_large(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = " " * (webhooks.MAX_BODY_BYTES + 1)
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.status_code == 413


def test_it_answers_a_replay_with_200_and_does_nothing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    deliver(client, django_capture_on_commit_callbacks, event)
    Invoice.objects.update(total=1)  # so that a second processing would show
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert StripeEvent.objects.get().attempts == 1
    assert Invoice.objects.get().total == 1


def test_it_processes_an_event_once_however_often_the_job_runs(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH),
    )
    event = StripeEvent.objects.get()
    assert webhooks.process_event(event.pk) == "skipped"
    assert StripeEvent.objects.get().attempts == 1


def test_it_keeps_the_newer_state_when_an_older_event_arrives_late(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    paid = fs.event("evt_2", "invoice.paid", paid_invoice(), MARCH + timedelta(minutes=5))
    finalized = fs.event(
        "evt_1", "invoice.finalized", paid_invoice(status="open"), MARCH + timedelta(minutes=1)
    )
    deliver(client, django_capture_on_commit_callbacks, paid)
    deliver(client, django_capture_on_commit_callbacks, finalized)
    assert Invoice.objects.get().status == "paid"
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_it_applies_a_newer_event_over_an_older_state(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    finalized = fs.event("evt_1", "invoice.finalized", paid_invoice(status="open"), MARCH)
    paid = fs.event("evt_2", "invoice.paid", paid_invoice(), MARCH + timedelta(minutes=5))
    deliver(client, django_capture_on_commit_callbacks, finalized)
    deliver(client, django_capture_on_commit_callbacks, paid)
    assert Invoice.objects.get().status == "paid"


def test_it_lets_the_later_state_win_within_the_same_second(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    paid = fs.event("evt_2", "invoice.paid", paid_invoice(), MARCH)
    finalized = fs.event("evt_1", "invoice.finalized", paid_invoice(status="open"), MARCH)
    deliver(client, django_capture_on_commit_callbacks, paid)
    deliver(client, django_capture_on_commit_callbacks, finalized)
    assert Invoice.objects.get().status == "paid"


def test_it_stores_a_stub_for_an_object_it_does_not_know(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    deliver(client, django_capture_on_commit_callbacks, event)
    stub = BillingCustomer.objects.get(stripe_id="cus_ada")
    assert (stub.needs_fetch, stub.version, stub.email) == (True, 0, "")
    assert Invoice.objects.get().customer == stub


def test_it_fills_a_stub_when_the_object_arrives(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH),
    )
    customer = fs.customer("cus_ada", created=fs.ts(MARCH))
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_2", "customer.updated", customer, MARCH),
    )
    row = BillingCustomer.objects.get()
    assert (row.needs_fetch, row.email) == (False, "ada@example.com")


def test_it_links_a_stripe_customer_to_the_founderops_customer(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    customer = fs.customer("cus_ada", email="Ada@Example.com")
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "customer.created", customer, MARCH),
    )
    linked = BillingCustomer.objects.get().customer
    assert linked is not None
    assert linked.email == "ada@example.com"
    assert linked.identities.filter(kind="stripe", value="cus_ada").exists()


def test_it_marks_a_deleted_customer(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    customer = fs.customer("cus_ada")
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "customer.created", customer, MARCH),
    )
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_2", "customer.deleted", customer, NOW),
    )
    assert BillingCustomer.objects.get().deleted is True


def test_it_ignores_events_for_objects_it_does_not_store(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    intent = fs.shape("payment_intent", id="pi_1")
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "payment_intent.succeeded", intent, MARCH),
    )
    assert StripeEvent.objects.get().status == "ignored"


def test_it_marks_an_event_carrying_another_kind_of_object_failed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", fs.customer("cus_ada"), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.error) == (
        "failed",
        "the event's type invoice.paid names a Stripe invoice, but it carries a Stripe customer: "
        "refused",
    )
    assert BillingCustomer.objects.count() == 0


def test_it_marks_an_event_of_a_type_it_does_not_store_carrying_a_stored_kind_failed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "payment_intent.succeeded", fs.customer("cus_ada"), MARCH)
    deliver(client, django_capture_on_commit_callbacks, event)
    assert StripeEvent.objects.get().error == (
        "the event's type payment_intent.succeeded names none of the objects FounderOps stores, "
        "but it carries a Stripe customer: refused"
    )
    assert BillingCustomer.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "carried"),
    [
        ("charge.refund.updated", "refund"),
        ("charge.refunded", "charge"),
        ("charge.dispute.closed", "dispute"),
        ("customer.subscription.updated", "subscription"),
        ("customer.discount.deleted", "discount"),
        ("customer.updated", "customer"),
        ("invoice_payment.paid", "invoice_payment"),
        ("plan.created", "plan"),
        ("customer.source.created", "card"),
    ],
)
def test_it_reads_the_kind_of_object_an_event_type_names(kind: str, carried: str) -> None:
    webhooks.check_object(kind, carried)


def test_it_knows_an_event_type_for_every_kind_it_stores() -> None:
    assert sorted(set(webhooks.EVENT_OBJECTS.values())) == sorted(stripe_store.HANDLERS)


def test_it_marks_an_event_carrying_an_object_of_no_kind_failed() -> None:
    with pytest.raises(webhooks.WrongObject, match="but it carries an object of no kind"):
        webhooks.check_object("invoice.paid", None)


def test_it_marks_a_test_event_carrying_a_live_object_failed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    invoice = {**paid_invoice(), "livemode": True}
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "invoice.paid", invoice, MARCH, livemode=False),
    )
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.error) == (
        "failed",
        "invoice in_1: a live-mode object among test-mode data: refused, so that test and live "
        "data never mix",
    )
    assert Invoice.objects.count() == 0


def test_it_keeps_a_failed_event_with_its_error_for_a_retry(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    charge = fs.charge("ch_1", 1000, created=MARCH)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", charge, MARCH),
    )
    too_much = fs.refund("re_1", "ch_1", 1500)
    response = deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_2", "charge.refund.updated", too_much, NOW),
    )
    assert response.status_code == 200
    failed = StripeEvent.objects.get(stripe_id="evt_2")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error == (
        "refund re_1 of 15.00 USD would bring the refunds on charge ch_1 to 15.00 USD, "
        "more than the 10.00 USD charged: refused"
    )
    assert json.loads(failed.body)["data"]["object"]["id"] == "re_1"
    assert Refund.objects.count() == 0
    assert AuditEvent.objects.filter(action="revenue.stripe_event_failed").count() == 1


def test_it_refuses_partial_refunds_that_add_up_to_more_than_the_charge(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", 1000), MARCH),
    )
    first = fs.refund("re_1", "ch_1", 600)
    second = fs.refund("re_2", "ch_1", 600)
    deliver(
        client, django_capture_on_commit_callbacks, fs.event("evt_2", "refund.created", first, NOW)
    )
    deliver(
        client, django_capture_on_commit_callbacks, fs.event("evt_3", "refund.created", second, NOW)
    )
    assert list(Refund.objects.values_list("stripe_id", flat=True)) == ["re_1"]
    assert StripeEvent.objects.get(stripe_id="evt_3").status == "failed"


def test_it_accepts_partial_refunds_up_to_the_charge(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", 1000), MARCH),
    )
    for number, refunded in ((2, 600), (3, 400)):
        refund = fs.refund(f"re_{number}", "ch_1", refunded)
        deliver(
            client,
            django_capture_on_commit_callbacks,
            fs.event(f"evt_{number}", "refund.created", refund, NOW),
        )
    assert Refund.objects.count() == 2
    assert Charge.objects.get().refunds.count() == 2


def test_it_processes_a_failed_event_again_once_the_cause_is_gone(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", 1000), MARCH),
    )
    refund = fs.refund("re_1", "ch_1", 1500)
    deliver(
        client, django_capture_on_commit_callbacks, fs.event("evt_2", "refund.created", refund, NOW)
    )
    Charge.objects.update(amount=2000)  # e.g. the charge's newer state arrived
    failed = StripeEvent.objects.get(stripe_id="evt_2")
    assert webhooks.process_event(failed.pk) == "processed"
    assert StripeEvent.objects.get(stripe_id="evt_2").attempts == 2


def test_it_refuses_a_signature_timestamp_too_large_for_a_date(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH))
    signature = "t=1000000000000000000000000000000,v1=abc"
    response = post(client, django_capture_on_commit_callbacks, body, signature)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    assert "not a time in seconds since 1970" in response.json()["detail"]
    assert StripeEvent.objects.count() == 0


def test_it_refuses_a_signature_timestamp_in_other_digits(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH))
    response = post(client, django_capture_on_commit_callbacks, body, "t=\u00b2,v1=abc")
    assert (response.status_code, response.json()["error"]) == (400, "bad_signature")


def test_it_refuses_a_signed_event_created_beyond_any_date(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH)
    event["created"] = 10**20
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 400
    assert response.json() == {
        "error": "malformed",
        "detail": "the event is malformed: created must be a Unix time in seconds from 1970 "
        "to 9999, got 1e20",
    }
    assert StripeEvent.objects.count() == 0


def test_it_refuses_a_signed_body_nested_too_deeply(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "nested too deeply" in response.json()["detail"]


def test_it_refuses_a_signed_body_with_an_integer_too_long(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = '{"object": "event", "created": ' + "9" * 5000 + "}"
    response = post(client, django_capture_on_commit_callbacks, body, fs.signed(body, NOW))
    assert (response.status_code, response.json()["error"]) == (400, "malformed")


def _delivered(client: Client, capture: Any, *events: dict[str, Any]) -> None:
    for event in events:
        assert deliver(client, capture, event).status_code == 200


def test_it_refuses_a_refund_with_a_negative_amount(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _delivered(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", 1000), MARCH),
        fs.event("evt_2", "refund.created", fs.refund("re_1", "ch_1", -500), NOW),
    )
    failed = StripeEvent.objects.get(stripe_id="evt_2")
    assert (failed.status, failed.error) == (
        "failed",
        "refund re_1 has a negative amount (-500 minor units): refused",
    )
    assert Refund.objects.count() == 0


def test_it_refuses_a_charge_with_a_negative_amount(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _delivered(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", -1000), MARCH),
    )
    failed = StripeEvent.objects.get()
    assert (failed.status, failed.error) == (
        "failed",
        "charge ch_1 has a negative amount (-1000 minor units): refused",
    )
    assert Charge.objects.count() == 0


def test_it_refuses_a_charge_refunded_beyond_its_amount(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    too_much = fs.charge("ch_1", 1000, amount_refunded=1500, refunded=True)
    _delivered(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.succeeded", fs.charge("ch_1", 1000), MARCH),
        fs.event("evt_2", "charge.refunded", too_much, NOW),
    )
    failed = StripeEvent.objects.get(stripe_id="evt_2")
    assert (failed.status, failed.error) == (
        "failed",
        "charge ch_1 says 15.00 USD refunded, more than the 10.00 USD charged: refused",
    )
    assert Charge.objects.get().amount_refunded == 0


def test_it_accepts_a_charge_refunded_in_full(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    refunded = fs.charge("ch_1", 1000, amount_refunded=1000, refunded=True)
    _delivered(
        client,
        django_capture_on_commit_callbacks,
        fs.event("evt_1", "charge.refunded", refunded, NOW),
    )
    assert StripeEvent.objects.get().status == "processed"
    assert Charge.objects.get().amount_refunded == 1000


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([1], "data must be an object, got [1]"),
        ("s", "data must be an object, got 's'"),
        ({"object": [1]}, "data.object must be a Stripe object, got [1]"),
        ({"object": "x"}, "data.object must be a Stripe object, got 'x'"),
        ({}, "data.object is missing"),
    ],
    ids=["list", "text", "[..]", "x", "none"],
)
def test_it_refuses_an_event_whose_data_is_not_an_object(
    client: Client, django_capture_on_commit_callbacks: Any, data: object, reason: str
) -> None:
    event = {**fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH), "data": data}
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "malformed", "detail": f"the event is malformed: {reason}"},
    )
    assert StripeEvent.objects.count() == 0


def _secret_stored(livemode: bool, secret: str) -> None:
    """As `founderops stripe webhook-secret --live|--test` stores it."""
    stripe_api.store_webhook_secret(secret, livemode, "cli")


def test_it_refuses_a_live_event_signed_with_the_test_secret(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = []
    _secret_stored(False, "whsec_TestEndpoint0123456789")
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH, livemode=True)
    response = deliver(
        client, django_capture_on_commit_callbacks, event, secret="whsec_TestEndpoint0123456789"
    )
    assert (response.status_code, response.json()["error"]) == (400, "wrong_mode")
    assert response.json()["detail"].startswith(
        "a live-mode event signed with a test-mode webhook secret: refused"
    )
    assert StripeEvent.objects.count() == 0


def test_it_refuses_a_test_event_signed_with_the_live_secret(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = []
    _secret_stored(True, "whsec_LiveEndpoint0123456789")
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH, livemode=False)
    response = deliver(
        client, django_capture_on_commit_callbacks, event, secret="whsec_LiveEndpoint0123456789"
    )
    assert (response.status_code, response.json()["error"]) == (400, "wrong_mode")
    assert "`founderops stripe webhook-secret --test`" in response.json()["detail"]


def test_it_accepts_each_mode_signed_with_its_own_stored_secret(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = []
    _secret_stored(True, "whsec_LiveEndpoint0123456789")
    _secret_stored(False, "whsec_TestEndpoint0123456789")
    live_invoice = {**paid_invoice(), "livemode": True}
    live = fs.event("evt_1", "invoice.paid", live_invoice, MARCH, livemode=True)
    test = fs.event("evt_2", "invoice.paid", paid_invoice(), MARCH, livemode=False)
    deliver(client, django_capture_on_commit_callbacks, live, secret="whsec_LiveEndpoint0123456789")
    deliver(client, django_capture_on_commit_callbacks, test, secret="whsec_TestEndpoint0123456789")
    assert sorted(StripeEvent.objects.values_list("stripe_id", "livemode")) == [
        ("evt_1", True),
        ("evt_2", False),
    ]


def test_it_takes_a_bare_setting_secret_for_the_mode_the_numbers_use(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = True
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH, livemode=False)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert (response.status_code, response.json()["error"]) == (400, "wrong_mode")
    assert "test:whsec_… in FOUNDEROPS_STRIPE_WEBHOOK_SECRET" in response.json()["detail"]


def test_it_reads_the_mode_a_setting_secret_names(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = True
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_LiveEndpoint0123456789", f"test:{fs.SECRET}"]
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH, livemode=False)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.status_code == 200
    assert StripeEvent.objects.get().livemode is False


def test_it_takes_a_setting_secret_of_the_other_mode_for_that_mode_only(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = [f"live:{fs.SECRET}"]
    event = fs.event("evt_1", "invoice.paid", paid_invoice(), MARCH, livemode=False)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert response.json()["error"] == "wrong_mode"


def test_it_refuses_an_event_whose_id_holds_a_nul_character(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = fs.event("evt_\x00", "invoice.paid", paid_invoice(), MARCH)
    response = deliver(client, django_capture_on_commit_callbacks, event)
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "the event's id holds a NUL character",
    )
