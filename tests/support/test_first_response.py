"""Ticket.first_response_s: the wait for the first reply, kept by the database itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from founderops.support import services
from founderops.support.models import Message, Ticket
from tests.web.cast import new_ticket

# The last migration before the column: the test fills a ticket in, then adds the column.
BEFORE = ("support", "0004_savedreply_rating")


def wait_of(ticket: Ticket) -> float | None:
    wait: float | None = Ticket.objects.values_list("first_response_s", flat=True).get(pk=ticket.pk)
    return wait


@pytest.mark.django_db
def test_it_stores_the_wait_when_the_first_reply_is_sent() -> None:
    with time_machine.travel("2026-03-10T12:00:00Z", tick=False):
        ticket = new_ticket("Reset", "How do I reset my password?")
    with time_machine.travel("2026-03-10T12:01:30Z", tick=False):
        services.send_reply(ticket, "Open Settings.", Message.Author.AGENT)
    assert wait_of(ticket) == 90.0
    assert ticket.first_response_seconds == 90.0


@pytest.mark.django_db
def test_it_keeps_the_first_wait_when_more_replies_follow() -> None:
    with time_machine.travel("2026-03-10T12:00:00Z", tick=False):
        ticket = new_ticket("Reset", "How do I reset my password?")
    with time_machine.travel("2026-03-10T12:00:20Z", tick=False):
        services.send_reply(ticket, "Open Settings.", Message.Author.AGENT)
    with time_machine.travel("2026-03-10T15:00:00Z", tick=False):
        services.send_reply(ticket, "Did that work?", Message.Author.FOUNDER)
    assert wait_of(ticket) == 20.0


@pytest.mark.django_db
def test_it_has_no_wait_for_a_ticket_not_answered_yet() -> None:
    ticket = new_ticket("Reset", "How do I reset my password?")
    assert wait_of(ticket) is None


@pytest.mark.django_db
def test_it_follows_a_corrected_arrival_time() -> None:
    with time_machine.travel("2026-03-10T12:00:00Z", tick=False):
        ticket = new_ticket("Reset", "How do I reset my password?")
        services.send_reply(ticket, "Open Settings.", Message.Author.AGENT)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=ticket.created_at - timedelta(hours=2))
    assert wait_of(ticket) == 7200.0


@pytest.mark.django_db
def test_it_is_set_for_tickets_written_in_bulk() -> None:
    customer = new_ticket("Seed", "Hello").customer
    arrived = Ticket.objects.get(subject="Seed").created_at
    Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customer,
                channel=Ticket.Channel.IMPORT,
                subject=f"Imported {n}",
                created_at=arrived,
                first_response_at=arrived + timedelta(minutes=n),
            )
            for n in (1, 2)
        ]
    )
    waits = Ticket.objects.filter(subject__startswith="Imported").order_by("subject")
    assert list(waits.values_list("first_response_s", flat=True)) == [60.0, 120.0]


@pytest.mark.django_db(transaction=True)
def test_it_fills_the_wait_of_tickets_answered_before_the_column_existed() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    customer = old.get_model("customers", "Customer").objects.create(
        name="Ada", email="ada@example.com", created_at="2026-03-10T12:00:00Z"
    )
    tickets = old.get_model("support", "Ticket").objects
    answered = tickets.create(
        customer=customer,
        channel="email",
        created_at="2026-03-10T12:00:00Z",
        first_response_at="2026-03-10T12:05:00Z",
    )
    waiting = tickets.create(customer=customer, channel="email", created_at="2026-03-10T12:00:00Z")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert wait_of(Ticket.objects.get(pk=answered.pk)) == 300.0
    assert wait_of(Ticket.objects.get(pk=waiting.pk)) is None
