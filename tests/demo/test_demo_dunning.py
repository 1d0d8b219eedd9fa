"""The demo's dunning: the invoices still unpaid after a failed charge get the
`invoice.payment_failed` event Stripe would have sent, processed by the webhook code at the
failure's time, and every step whose day has come is done at its own time against the demo's
Stripe (never the real one); the rest wait for their day. Loaded once for the module with a
real SMTP relay on 127.0.0.1, so the reminders go out."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings

from founderops.cli import demo, demo_billing
from founderops.core import http
from founderops.customers.models import Customer
from founderops.reports import revenue_detail
from founderops.revenue import dunning, stripe_api
from founderops.revenue.models import Dunning, DunningStep, Invoice, StripeEvent
from tests.channels.smtp_server import Recorder, running
from tests.conftest import _local_only
from tests.revenue_world import NOW, demo_customers

Step = DunningStep.State
JONAS = "jonas@lund-fieldnotes.example.com"
AISHA = "aisha.rahman@example.org"


@pytest.fixture(scope="module")
def relay(django_db_setup: None, django_db_blocker: Any) -> Iterator[Recorder]:
    """The demo's billing loaded once, mail going to a local relay, no other network."""
    recorder = Recorder()
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        running(recorder) as port,
        override_settings(SMTP_URL=f"smtp+plain://127.0.0.1:{port}"),
        time_machine.travel(NOW, tick=False),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(socket.socket, "connect", _local_only)
        demo.load_customers(demo.read_customers())
        demo_billing.load(NOW, demo_customers())
        yield recorder
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def world(relay: Recorder, db: None) -> Iterator[Recorder]:
    with time_machine.travel(NOW, tick=False):
        yield relay


def steps(email: str, kind: str) -> list[DunningStep]:
    return list(
        DunningStep.objects.filter(dunning__invoice__customer__email=email, kind=kind).order_by(
            "number"
        )
    )


def test_it_starts_dunning_from_the_payment_failed_event() -> None:
    event = StripeEvent.objects.get(
        type="invoice.payment_failed",
        object_id=Dunning.objects.get(invoice__customer__email=JONAS).invoice.stripe_id,
    )
    assert (event.status, event.via) == ("processed", "webhook")


def test_it_processes_the_event_seconds_after_the_first_failed_charge() -> None:
    dunning = Dunning.objects.get(invoice__customer__email=JONAS)
    first = dunning.invoice.charges.filter(status="failed").order_by("created").first()
    assert first is not None
    assert first.created is not None
    assert dunning.started_at - first.created == demo_billing.EVENT_DELAY


def test_it_keeps_jonass_dunning_running_eight_days_in() -> None:
    dunning = Dunning.objects.get(invoice__customer__email=JONAS)
    assert (dunning.state, dunning.invoice.status) == ("active", "open")


def test_it_sends_the_reminders_whose_day_has_come() -> None:
    assert [(s.day, s.state, s.outcome) for s in steps(JONAS, "email")] == [
        (0, Step.DONE, "sent"),
        (3, Step.DONE, "sent"),
        (7, Step.DONE, "sent"),
        (14, Step.PENDING, ""),
    ]


def test_it_mails_the_reminders_to_the_customer(world: Recorder) -> None:
    to_jonas = [m for m in world.received if m.rcpt_tos == [JONAS]]
    subjects = [str(m.message["Subject"]) for m in to_jonas]
    assert len(subjects) == 3
    assert subjects[0].startswith("Your payment for invoice INK-")
    assert subjects[1].startswith("Reminder: invoice INK-")


def test_it_retries_the_payment_against_the_demos_stripe_and_records_the_decline() -> None:
    assert [(s.day, s.state, s.outcome) for s in steps(JONAS, "retry")] == [
        (3, Step.DONE, "declined: Your card was declined."),
        (7, Step.DONE, "declined: Your card was declined."),
        (14, Step.PENDING, ""),
    ]


def test_it_does_each_past_step_at_its_own_time() -> None:
    done = [s for s in DunningStep.objects.all() if s.state != Step.PENDING]
    assert done
    assert all(s.done_at == s.due_at for s in done)


def test_it_leaves_the_steps_still_ahead_for_their_day() -> None:
    waiting = DunningStep.objects.filter(state=Step.PENDING)
    assert waiting.exists()
    assert all(step.due_at > NOW for step in waiting)


def test_it_starts_aishas_dunning_from_last_nights_failure() -> None:
    emails = steps(AISHA, "email")
    assert [(s.day, s.state) for s in emails] == [
        (0, Step.DONE),
        (3, Step.PENDING),
        (7, Step.PENDING),
        (14, Step.PENDING),
    ]
    assert NOW - timedelta(hours=24) < emails[0].due_at < NOW - timedelta(hours=12)


def test_it_dunns_only_invoices_still_unpaid() -> None:
    dunned = Invoice.objects.filter(dunning__isnull=False)
    assert set(dunned.values_list("status", flat=True)) == {"open"}
    assert not Dunning.objects.filter(invoice__customer__email="ana.souza@example.com").exists()


def test_it_leaves_no_stripe_key_or_transport_behind() -> None:
    assert stripe_api.configured_modes() == []
    assert http._transport is None


def test_it_writes_nothing_on_a_second_load() -> None:
    tables = (Dunning, DunningStep, StripeEvent)
    before = [model.objects.count() for model in tables]
    assert demo_billing.load(NOW, demo_customers()) == 0
    assert [model.objects.count() for model in tables] == before


def test_it_removes_the_dunning_and_its_events_on_reset() -> None:
    demo_billing.reset()
    assert [m.objects.count() for m in (Dunning, DunningStep, StripeEvent)] == [0, 0, 0]


# Where the founder sees it: the customer's timeline.


def jonas_page(client: Client) -> str:
    jonas = Customer.objects.get(email=JONAS)
    response = client.get(f"/customers/{jonas.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_dunning_and_its_next_step_on_the_customers_page(
    founder_client: Client, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = True
    html = jonas_page(founder_client)
    assert "Dunning started" in html
    assert "next, a payment retry on " in html


def test_it_shows_each_step_done_with_its_outcome(founder_client: Client, settings: Any) -> None:
    settings.STRIPE_LIVEMODE = True
    html = jonas_page(founder_client)
    assert html.count("Payment reminder done") == 3
    # Each retry once, with the charge the demo's Stripe dated an hour after it.
    assert html.count("Payment retry declined: $") == 2
    assert html.count("Payment failed: $") == 1
    assert "Your card was declined." in html


def test_it_lists_the_dunning_moments_newest_first() -> None:
    jonas = Customer.objects.get(email=JONAS)
    moments = revenue_detail.dunning(jonas.pk, True, 50)
    assert [m.at for m in moments] == sorted((m.at for m in moments), reverse=True)
    assert moments[-1].title == "Dunning started"


def test_it_says_how_a_dunning_ended() -> None:
    aisha = Dunning.objects.get(invoice__customer__email=AISHA)
    dunning.finish(aisha, Dunning.State.RECOVERED, "the invoice was paid")
    customer = Customer.objects.get(email=AISHA)
    first = revenue_detail.dunning(customer.pk, True, 50)[0]
    assert (first.title, first.detail) == ("Dunning ended: paid", "the invoice was paid")
