"""Failures are retried with backoff, then marked failed; claims make every send happen once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection

from founderops.core import clock, notifications, notify
from founderops.core.models import AuditEvent, NotificationDelivery
from tests.notifications.conftest import (
    MORNING,
    PHONE,
    Flaky,
    add_route,
    deliveries,
    dispatch,
    escalation,
    only_delivery,
)

pytestmark = pytest.mark.django_db


def test_it_waits_one_two_four_eight_and_sixteen_minutes_between_tries() -> None:
    waits = [notifications.backoff(n) for n in range(1, 6)]
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]


def test_it_schedules_a_retry_after_a_failed_send(founder: User) -> None:
    add_route(founder)
    with notify.using_backend(Flaky(failures=1)), time_machine.travel(MORNING, tick=False):
        escalation()
        dispatch()
    delivery = only_delivery()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        "pending",
        1,
        MORNING + timedelta(minutes=1),
    )


def test_it_retries_with_backoff_and_then_sends(founder: User) -> None:
    add_route(founder)
    flaky = Flaky(failures=3)
    tries_at: list[datetime] = []
    with notify.using_backend(flaky), time_machine.travel(MORNING, tick=False) as traveller:
        escalation()
        for _ in range(16):  # a dispatcher every minute for a quarter of an hour
            before = flaky.tries
            dispatch()
            if flaky.tries > before:
                tries_at.append(clock.now())
            traveller.shift(timedelta(minutes=1))
    delivery = only_delivery()
    minutes = [int((moment - MORNING).total_seconds() // 60) for moment in tries_at]
    assert (minutes, delivery.state, delivery.attempts, len(flaky.sent)) == (
        [0, 1, 3, 7],
        "sent",
        4,
        1,
    )


def fail_for_good(founder: User) -> NotificationDelivery:
    add_route(founder)
    with (
        notify.using_backend(notify.MemoryBackend(failing={PHONE})),
        time_machine.travel(MORNING, tick=False) as traveller,
    ):
        escalation()
        for _ in range(40):
            dispatch()
            traveller.shift(timedelta(minutes=1))
    return only_delivery()


def test_it_marks_a_delivery_failed_after_six_attempts(founder: User) -> None:
    delivery = fail_for_good(founder)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == ("failed", 6, None)


def test_it_keeps_the_scrubbed_error_of_a_failed_delivery(founder: User) -> None:
    delivery = fail_for_good(founder)
    assert (
        delivery.error.endswith("is configured to fail"),
        "fiona-phone-topic" in delivery.error,
    ) == (
        True,
        False,
    )


def test_it_audits_every_failed_attempt(founder: User) -> None:
    fail_for_good(founder)
    events = AuditEvent.objects.filter(action=notifications.DELIVERY_FAILED).order_by("id")
    assert [e.outcome for e in events] == ["retrying"] * 5 + ["failed"]


def test_it_retries_a_failed_delivery_now_when_asked(founder: User) -> None:
    delivery = fail_for_good(founder)
    with notify.using_backend(notify.MemoryBackend()) as memory:
        assert notifications.retry_delivery(delivery, founder)
        dispatch()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(memory.sent)) == ("sent", 7, 1)


def test_it_fails_again_after_one_more_try_when_a_retry_fails(founder: User) -> None:
    delivery = fail_for_good(founder)
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        notifications.retry_delivery(delivery, founder)
        dispatch()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 7)


def test_it_does_not_retry_a_sent_delivery(founder: User, memory: notify.MemoryBackend) -> None:
    add_route(founder)
    escalation()
    dispatch()
    assert notifications.retry_delivery(only_delivery(), founder) is False


class Reentrant:
    """While delivering, a second dispatcher runs: what it sees is what another worker sees."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.inner: list[str] = []

    def send(self, url: str, title: str, body: str) -> None:
        self.sent.append(title)
        if len(self.sent) == 1:
            self.inner.append(dispatch())


@time_machine.travel(MORNING, tick=False)
def test_it_sends_once_when_two_dispatchers_run_at_the_same_time(founder: User) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(Reentrant()) as backend:
        dispatch()
    assert (backend.sent, only_delivery().state) == (["Ticket #1 needs you"], "sent")


@time_machine.travel(MORNING, tick=False)
def test_it_lets_only_one_dispatcher_claim_a_delivery(founder: User) -> None:
    add_route(founder)
    escalation()
    notifications.route_pending(MORNING)
    pk = only_delivery().pk
    claims = [notifications.claim(pk, MORNING), notifications.claim(pk, MORNING)]
    assert (claims[0] is not None, claims[1]) == (True, None)


@time_machine.travel(MORNING, tick=False)
def test_it_sends_a_digest_once_when_two_dispatchers_run_at_the_same_time(founder: User) -> None:
    add_route(founder, digest_minutes=5)
    for number in range(4):
        escalation(f"Ticket #{number} needs you")
    with (
        time_machine.travel(MORNING + timedelta(minutes=5), tick=False),
        notify.using_backend(Reentrant()) as backend,
    ):
        dispatch()
    assert (backend.sent, {d.state for d in deliveries()}) == (
        ["FounderOps: 4 escalations"],
        {"sent"},
    )


def test_it_tries_again_when_a_sender_died_mid_send(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder)
    with time_machine.travel(MORNING, tick=False) as traveller:
        escalation()
        notifications.route_pending(MORNING)
        notifications.claim(only_delivery().pk, MORNING)  # … and the worker is killed
        dispatch()
        held_by_the_lease = list(memory.sent)
        traveller.shift(notifications.LEASE + timedelta(seconds=1))
        dispatch()
    assert (held_by_the_lease, len(memory.sent), only_delivery().state) == ([], 1, "sent")


def test_it_fails_a_delivery_whose_url_left_the_settings(
    settings: Any, memory: notify.MemoryBackend
) -> None:
    settings.NOTIFY_URLS = [PHONE]
    escalation()
    notifications.route_pending(clock.now())
    settings.NOTIFY_URLS = []
    dispatch()
    delivery = only_delivery()
    assert (delivery.state, delivery.error) == (
        "failed",
        "its URL is no longer in FOUNDEROPS_NOTIFY_URLS",
    )


def test_it_fails_a_route_whose_sealed_url_cannot_be_read(
    founder: User, settings: Any, memory: notify.MemoryBackend
) -> None:
    add_route(founder)
    settings.SECRET_KEY = "a different secret key than the one that sealed the URL"
    escalation()
    dispatch()
    delivery = only_delivery()
    assert (delivery.state, "cannot be decrypted" in delivery.error) == ("failed", True)


class Gate:
    """Holds the first send open until `release` is set: a slow service, deterministically."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.sending = threading.Event()
        self.release = threading.Event()

    def send(self, url: str, title: str, body: str) -> None:
        self.sent.append(title)
        self.sending.set()
        if not self.release.wait(timeout=30):
            raise notify.DeliveryFailed("the test never released the send")


def dispatch_in_thread() -> None:
    try:
        dispatch()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_it_sends_once_when_two_workers_dispatch_over_separate_connections(
    settings: Any,
) -> None:
    settings.NOTIFY_URLS = [PHONE]
    escalation()
    gate = Gate()
    with notify.using_backend(gate):
        first = threading.Thread(target=dispatch_in_thread)
        first.start()
        assert gate.sending.wait(timeout=30), "the first worker never started sending"
        second = threading.Thread(target=dispatch_in_thread)
        second.start()
        second.join(timeout=30)
        gate.release.set()
        first.join(timeout=30)
    assert (gate.sent, only_delivery().state) == (["Ticket #1 needs you"], "sent")
