"""Dunning: a failed payment starts reminders and retries on the founder's days, each once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from founderops.customers.services import find_or_create_customer
from founderops.revenue import dunning, webhooks
from founderops.revenue.models import Dunning, DunningStep, Invoice, StripeEvent
from founderops.settings import check_days
from tests.channels.smtp_server import Recorder
from tests.revenue import fake_stripe as fs
from tests.revenue import money_stripe as ms

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
Step = DunningStep.State


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as travelled:
        yield travelled


@pytest.fixture
def fake(settings: Any, traveller: time_machine.Traveller) -> Iterator[ms.MoneyStripe]:
    settings.STRIPE_API_KEY = ms.KEY
    settings.STRIPE_LIVEMODE = False
    settings.DUNNING_SCHEDULE_DAYS = [0, 3, 7, 14]
    settings.DUNNING_RETRY_DAYS = [3, 7, 14]
    settings.DUNNING_UPDATE_CARD_URL = ""
    settings.SUPPORT_SIGNATURE = "Fiona at Inkwell"
    yield from ms.installed()


@pytest.fixture
def failed(fake: ms.MoneyStripe) -> Invoice:
    """Ada's invoice of 20.00 USD whose payment just failed."""
    find_or_create_customer("ada@example.com", "Ada Lovelace")
    ms.billing_customer(fake)
    return ms.invoice(fake, "in_0042", NOW, status="open")


def started(invoice: Invoice) -> Dunning:
    found = dunning.start(invoice)
    assert found is not None
    return found


def steps(of: Dunning) -> list[tuple[str, int, str]]:
    return [(s.kind, s.day, s.state) for s in of.steps.order_by("kind", "number")]


def settle_at_stripe(fake: ms.MoneyStripe, status: str) -> None:
    fake.invoices["in_0042"]["status"] = status


def process(event: dict[str, Any]) -> None:
    row, _ = webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    assert webhooks.process_event(row.pk) == "processed"


def test_it_starts_when_an_invoice_payment_failed_event_is_processed(
    fake: ms.MoneyStripe, failed: Invoice
) -> None:
    process(fs.event("evt_1", "invoice.payment_failed", fake.invoices["in_0042"], NOW))
    assert steps(Dunning.objects.get(invoice=failed)) == [
        ("email", 0, "pending"),
        ("email", 3, "pending"),
        ("email", 7, "pending"),
        ("email", 14, "pending"),
        ("retry", 3, "pending"),
        ("retry", 7, "pending"),
        ("retry", 14, "pending"),
    ]


def test_it_starts_once_for_a_failure_seen_twice(failed: Invoice) -> None:
    assert started(failed).pk == started(failed).pk
    assert DunningStep.objects.count() == 7


def test_it_starts_nothing_when_both_schedules_are_empty(failed: Invoice, settings: Any) -> None:
    settings.DUNNING_SCHEDULE_DAYS, settings.DUNNING_RETRY_DAYS = [], []
    assert dunning.start(failed) is None


def test_it_leaves_a_failed_first_payment_to_the_checkout(failed: Invoice) -> None:
    Invoice.objects.filter(pk=failed.pk).update(billing_reason="subscription_create")
    failed.refresh_from_db()
    assert dunning.start(failed) is None


def test_it_sends_the_first_reminder_once(failed: Invoice, smtp: Recorder) -> None:
    started(failed)
    dunning.tick()
    dunning.tick()
    [mail] = [m.message for m in smtp.received]
    assert (mail["To"], mail["Subject"]) == (
        "ada@example.com",
        "Your payment for invoice INK-0042 didn't go through",
    )
    text = str(mail.get_content()).replace("\r\n", "\n")
    assert text.startswith("Hi Ada,\n\nWe tried to take 20.00 USD for invoice INK-0042")
    assert "pay the invoice here:\nhttps://invoice.stripe.com/i/acct_1/in_0042\n" in text


def test_it_sends_step_n_on_its_day_once(
    failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    started(failed)
    dunning.tick()
    traveller.shift(3 * DAY)
    dunning.tick()
    dunning.tick()
    subjects = [m.message["Subject"] for m in smtp.received]
    assert subjects[1:] == ["Reminder: invoice INK-0042 is still unpaid"]


def test_it_stores_the_message_id_before_sending(failed: Invoice, smtp: Recorder) -> None:
    first = started(failed).steps.get(kind="email", number=0)
    dunning.tick()
    assert smtp.received[0].message["Message-ID"] == first.msgid


def test_it_resends_the_same_mail_after_a_failed_try(
    failed: Invoice, smtp_busy_once: Recorder, traveller: time_machine.Traveller
) -> None:
    started(failed)
    dunning.tick()
    traveller.shift(dunning.LEASE + timedelta(seconds=1))
    dunning.tick()
    ids = [m.message["Message-ID"] for m in [*smtp_busy_once.refused, *smtp_busy_once.received]]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_it_retries_the_payment_with_a_key_per_attempt(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    started(failed)
    for days in (3, 4):
        traveller.shift(days * DAY)
        dunning.tick()
    assert fake.keys("/pay") == [
        "founderops-dunning-in_0042-retry-0",
        "founderops-dunning-in_0042-retry-1",
    ]


def test_it_stops_when_a_retry_pays_before_that_days_reminder(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    run = started(failed)
    dunning.tick()
    fake.payments = ["paid"]
    traveller.shift(3 * DAY)
    dunning.tick()
    run.refresh_from_db()
    assert (run.state, len(smtp.received)) == (Dunning.State.RECOVERED, 1)
    assert ("email", 3, "skipped") in steps(run)


def test_it_stops_when_the_invoice_paid_event_comes(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    run = started(failed)
    paid = {**fake.invoices["in_0042"], "status": "paid", "amount_remaining": 0}
    process(fs.event("evt_2", "invoice.paid", paid, NOW + timedelta(hours=1)))
    traveller.shift(15 * DAY)
    dunning.tick()
    run.refresh_from_db()
    assert (run.state, run.end_reason) == (Dunning.State.RECOVERED, "the invoice was paid")
    assert (smtp.received, fake.posts()) == ([], [])


def test_it_stops_when_stripe_says_paid_before_a_reminder(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder
) -> None:
    run = started(failed)
    settle_at_stripe(fake, "paid")
    dunning.tick()
    run.refresh_from_db()
    assert (run.state, smtp.received) == (Dunning.State.RECOVERED, [])


def test_it_stops_when_the_invoice_is_voided(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder
) -> None:
    run = started(failed)
    settle_at_stripe(fake, "void")
    dunning.tick()
    run.refresh_from_db()
    assert (run.state, run.end_reason) == (Dunning.State.STOPPED, "the invoice was voided")


def test_it_sends_only_the_latest_reminder_when_several_are_due(
    fake: ms.MoneyStripe, failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    started(failed)
    traveller.shift(8 * DAY)
    dunning.tick()
    assert [m.message["Subject"] for m in smtp.received] == [
        "Reminder: invoice INK-0042 is still unpaid"
    ]
    assert len(fake.keys("/pay")) == 1


def test_it_ends_unpaid_after_the_last_step(
    failed: Invoice, smtp: Recorder, traveller: time_machine.Traveller
) -> None:
    run = started(failed)
    traveller.shift(14 * DAY)
    dunning.tick()
    run.refresh_from_db()
    assert run.state == Dunning.State.EXHAUSTED
    assert smtp.received[-1].message["Subject"] == "Last reminder: invoice INK-0042 is still unpaid"


def test_it_skips_the_days_long_past_when_the_failure_is_learnt_late(failed: Invoice) -> None:
    run = dunning.start(failed, failed_at=NOW - 10 * DAY)
    assert run is not None
    assert [(kind, day) for kind, day, state in steps(run) if state == "pending"] == [
        ("email", 14),
        ("retry", 14),
    ]


def test_it_links_to_the_founders_card_page_when_set(
    failed: Invoice, smtp: Recorder, settings: Any
) -> None:
    settings.DUNNING_UPDATE_CARD_URL = "https://app.inkwell.example/billing"
    started(failed)
    dunning.tick()
    text = smtp.received[0].part("plain").replace("\r\n", "\n")
    assert "here:\nhttps://app.inkwell.example/billing\n" in text


def test_it_skips_reminders_without_an_smtp_server(failed: Invoice, settings: Any) -> None:
    settings.SMTP_URL = ""
    run = started(failed)
    dunning.tick()
    first = run.steps.get(kind="email", number=0)
    assert (first.state, first.outcome) == (
        Step.SKIPPED,
        "not sent: FOUNDEROPS_SMTP_URL is not set",
    )


def test_it_refuses_a_schedule_whose_days_do_not_increase() -> None:
    with pytest.raises(ImproperlyConfigured, match="the days must increase, like 0,3,7,14"):
        check_days(["0", "7", "3"], "DUNNING_SCHEDULE_DAYS")
