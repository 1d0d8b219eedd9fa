"""The rules that rewind a stored billing row to what it was at an earlier moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

from founderops.revenue import known
from founderops.revenue.known import InvoiceTimes, invoice_status, subscription_state

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return MAR + timedelta(days=n - 1)


def times(status: str, **moments: datetime | None) -> InvoiceTimes:
    fields = {
        "created": day(1),
        "finalized_at": day(1),
        "paid_at": None,
        "voided_at": None,
        "marked_uncollectible_at": None,
    }
    return InvoiceTimes(status, **(fields | moments))


def test_it_gives_the_stored_status_without_a_moment() -> None:
    assert invoice_status(times("void", voided_at=day(9)), None) == "void"


def test_it_gives_no_status_before_the_invoice_was_created() -> None:
    assert invoice_status(times("paid", created=day(5), paid_at=day(5)), day(4)) == ""


def test_it_gives_a_draft_before_the_invoice_was_finalized() -> None:
    assert invoice_status(times("open", finalized_at=day(3)), day(2)) == "draft"


def test_it_gives_open_before_the_invoice_was_paid() -> None:
    assert invoice_status(times("paid", paid_at=day(5)), day(5)) == "open"


def test_it_gives_paid_once_the_payment_happened() -> None:
    assert invoice_status(times("paid", paid_at=day(5)), day(6)) == "paid"


def test_it_counts_a_paid_invoice_without_a_payment_time_as_paid() -> None:
    assert invoice_status(times("paid"), day(2)) == "paid"


def test_it_gives_open_before_the_invoice_was_voided() -> None:
    assert invoice_status(times("void", voided_at=day(8)), day(7)) == "open"


def test_it_gives_void_once_voided() -> None:
    assert invoice_status(times("void", voided_at=day(8)), day(9)) == "void"


def test_it_gives_open_before_the_invoice_was_written_off() -> None:
    written_off = times("uncollectible", marked_uncollectible_at=day(8))
    assert invoice_status(written_off, day(7)) == "open"


def test_it_gives_uncollectible_between_the_write_off_and_a_late_payment() -> None:
    late = times("paid", marked_uncollectible_at=day(8), paid_at=day(12))
    assert invoice_status(late, day(10)) == "uncollectible"


def test_it_keeps_a_write_off_without_a_time_as_it_stands() -> None:
    assert invoice_status(times("uncollectible"), day(2)) == "uncollectible"


def test_it_keeps_an_open_invoice_open() -> None:
    assert invoice_status(times("open"), day(2)) == "open"


def test_it_keeps_a_subscription_ended_later_running() -> None:
    state = subscription_state(day(9), day(2), False, day(5))
    assert state == known.SubscriptionState(None, day(2), True)


def test_it_keeps_a_subscription_canceled_later_uncanceled() -> None:
    assert subscription_state(None, day(9), True, day(5)) == known.SubscriptionState(
        None, None, False
    )


def test_it_gives_a_subscription_ended_before_as_ended() -> None:
    assert subscription_state(day(3), day(3), False, day(5)) == known.SubscriptionState(
        day(3), day(3), False
    )


def test_it_gives_leaving_as_stored_without_a_moment() -> None:
    assert subscription_state(None, day(2), True, None).leaving


def test_it_counts_an_event_at_the_moment_itself_as_not_yet_happened() -> None:
    assert not known.happened(day(5), day(5))


def test_it_falls_back_to_when_a_row_was_stored_without_a_creation_time() -> None:
    assert not known.existed(None, day(6), day(5))


def test_it_closes_a_day_at_the_next_midnight_utc() -> None:
    assert known.close_of(date(2026, 3, 9)) == datetime(2026, 3, 10, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_it_reads_a_moment_not_in_the_past_as_everything_stored() -> None:
    assert known.capped(NOW) is None


@time_machine.travel(NOW, tick=False)
def test_it_keeps_a_moment_in_the_past() -> None:
    assert known.capped(day(5)) == day(5)
