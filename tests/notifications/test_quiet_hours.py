"""Quiet hours, on the founder's wall clock: held until they end; urgent events may pass."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core import notify
from tests.notifications.conftest import QUIET_NIGHT, add_route, dispatch, escalation, only_delivery

pytestmark = pytest.mark.django_db

# 23:30 in Paris on a winter Tuesday (CET, UTC+1); quiet hours end at 07:00 CET, 06:00 UTC.
LATE_EVENING = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)


def test_it_holds_a_notification_during_quiet_hours(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, **QUIET_NIGHT)
    with time_machine.travel(LATE_EVENING, tick=False):
        escalation()
        dispatch()
    delivery = only_delivery()
    assert (memory.sent, delivery.state, delivery.next_attempt_at) == ([], "held", NEXT_MORNING)


def test_it_releases_a_held_notification_when_quiet_hours_end(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, **QUIET_NIGHT)
    with time_machine.travel(LATE_EVENING, tick=False) as traveller:
        escalation()
        dispatch()
        traveller.move_to(datetime(2026, 3, 11, 5, 59, tzinfo=UTC))
        dispatch()
        still_held = list(memory.sent)
        traveller.move_to(NEXT_MORNING)
        dispatch()
    assert (still_held, [s.title for s in memory.sent], only_delivery().state) == (
        [],
        ["Ticket #1 needs you"],
        "sent",
    )


@pytest.mark.parametrize(
    ("evening", "release"),
    [
        # Spring forward (29 March 2026): 07:00 is summer time, CEST, 05:00 UTC.
        (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        # Fall back (25 October 2026): 07:00 is winter time again, CET, 06:00 UTC.
        (datetime(2026, 10, 24, 21, 30, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_it_ends_quiet_hours_at_the_local_time_across_a_dst_change(
    founder: User, evening: datetime, release: datetime
) -> None:
    add_route(founder, **QUIET_NIGHT)
    with time_machine.travel(evening, tick=False):
        escalation()
        dispatch()
    assert only_delivery().next_attempt_at == release


def test_it_does_not_hold_again_in_the_hour_a_dst_change_repeats(
    founder: User, memory: notify.MemoryBackend
) -> None:
    # Quiet 01:00-02:30. On 25 October 2026 the clock shows 02:00-03:00 twice; 02:15 on the
    # second pass (CET, 01:15 UTC) comes after quiet hours ended at the first 02:30 (CEST).
    add_route(founder, quiet_start=time(1, 0), quiet_end=time(2, 30))
    with time_machine.travel(datetime(2026, 10, 25, 1, 15, tzinfo=UTC), tick=False):
        escalation()
        dispatch()
    assert [s.title for s in memory.sent] == ["Ticket #1 needs you"]


def test_it_holds_within_quiet_hours_that_do_not_cross_midnight(founder: User) -> None:
    add_route(founder, quiet_start=time(12, 0), quiet_end=time(14, 0))
    # 12:30 in Paris.
    with time_machine.travel(datetime(2026, 3, 10, 11, 30, tzinfo=UTC), tick=False):
        escalation()
        dispatch()
    delivery = only_delivery()
    assert (delivery.state, delivery.next_attempt_at) == (
        "held",
        datetime(2026, 3, 10, 13, 0, tzinfo=UTC),
    )


def test_it_sends_outside_quiet_hours_at_once(founder: User, memory: notify.MemoryBackend) -> None:
    add_route(founder, **QUIET_NIGHT)
    # 21:59 in Paris, one minute before quiet hours.
    with time_machine.travel(datetime(2026, 3, 10, 20, 59, tzinfo=UTC), tick=False):
        escalation()
        dispatch()
    assert len(memory.sent) == 1


def test_it_lets_an_urgent_event_through_quiet_hours(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, urgent_breaks_quiet=True, **QUIET_NIGHT)
    with time_machine.travel(LATE_EVENING, tick=False):
        escalation("P0: checkout is down", urgent=True)
        dispatch()
    assert [s.title for s in memory.sent] == ["Urgent · P0: checkout is down"]


def test_it_holds_an_urgent_event_on_a_route_that_keeps_quiet_hours(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, urgent_breaks_quiet=False, **QUIET_NIGHT)
    with time_machine.travel(LATE_EVENING, tick=False):
        escalation("P0: checkout is down", urgent=True)
        dispatch()
    assert (memory.sent, only_delivery().state) == ([], "held")


def test_it_holds_only_on_the_route_with_quiet_hours(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, name="Phone", **QUIET_NIGHT)
    add_route(founder, "json://hooks.example.com/founderops-inbox", name="Webhook")
    with time_machine.travel(LATE_EVENING, tick=False):
        escalation()
        dispatch()
    assert [s.url for s in memory.sent] == ["json://hooks.example.com/founderops-inbox"]
