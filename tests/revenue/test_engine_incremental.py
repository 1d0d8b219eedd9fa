"""The incremental update equals a full computation of the extended book."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from founderops.revenue import engine
from founderops.revenue.billing import FxRate, Ledger, RevenueInputError
from founderops.revenue.book import (
    NEVER,
    OPEN,
    PAID,
    VOID,
    Book,
    StatusChanges,
    day_number,
    from_ledger,
    ints,
    split,
)
from founderops.revenue.engine import Result, Settings
from tests.revenue.ledgers import Books, column
from tests.revenue.test_bridge_property import PROPERTY, SETTINGS, histories


def _same(updated: Result, computed: Result) -> dict[str, bool]:
    return {
        f.name: getattr(updated.block, f.name).tolist() == getattr(computed.block, f.name).tolist()
        for f in fields(updated.block)
    }


@PROPERTY
@given(histories(), SETTINGS, st.floats(0, 1))
def test_it_equals_a_full_computation_wherever_the_day_falls(
    ledger: Ledger, chosen: Settings, where: float
) -> None:
    book = from_ledger(ledger)
    day = book.first + 1 + int(where * (book.days - 1))
    base, batch = split(book, day)
    updated = engine.update(engine.compute(base, chosen), batch)
    assert all(_same(updated, engine.compute(book, chosen)).values())


@st.composite
def _earlier_states(draw: st.DrawFn, base: Book, batch: Book) -> tuple[Book, Book]:
    """`base` with some invoices and subscriptions as they might have stood before (another
    status, a void or none, a later or no end, cancel_at_period_end flipped), and `batch`
    carrying them back to where they stand now."""
    invoices, subscriptions = base.invoices, base.subscriptions
    drawn = draw(st.sets(st.integers(0, max(len(invoices.customer) - 1, 0))))
    rows = sorted(row for row in drawn if row < len(invoices.customer))
    status, voided = invoices.status.copy(), invoices.voided.copy()
    for row in rows:
        status[row] = draw(st.sampled_from([PAID, OPEN, VOID]))
        voided[row] = draw(st.sampled_from([NEVER, int(invoices.start[row]) + 9]))
    end, cancel = subscriptions.end.copy(), subscriptions.cancel_at_period_end.copy()
    for sub in draw(st.sets(st.integers(0, len(end) - 1))):
        end[sub] = draw(st.sampled_from([NEVER, base.first + 20, base.first + base.days]))
        cancel[sub] = not cancel[sub]
    # Where the drawn invoices stand now: split's base with split's own changes applied.
    changed = batch.changes
    status_now, voided_now = invoices.status.copy(), invoices.voided.copy()
    status_now[changed.invoice], voided_now[changed.invoice] = changed.status, changed.voided
    # The drawn rows come last, so they win over split's changes to the same invoices.
    changes = StatusChanges(
        np.concatenate((changed.invoice, ints(rows))),
        np.concatenate((changed.status, status_now[rows])),
        np.concatenate((changed.voided, voided_now[rows])),
    )
    earlier = replace(
        base,
        invoices=replace(invoices, status=status, voided=voided),
        subscriptions=replace(subscriptions, end=end, cancel_at_period_end=cancel),
    )
    return earlier, replace(batch, changes=changes)


@PROPERTY
@given(histories(), SETTINGS, st.floats(0, 1), st.booleans(), st.data())
def test_it_equals_a_full_computation_after_earlier_invoices_and_subscriptions_change(
    ledger: Ledger, chosen: Settings, where: float, backfill: bool, data: st.DataObject
) -> None:
    book = from_ledger(ledger)
    day = book.first + 1 + int(where * (book.days - 1))
    base, batch = data.draw(_earlier_states(*split(book, day)))
    # A batch that adds no day touches customers by their changes alone (no span ends on a
    # new day to touch them anyway).
    days = base.days if backfill else book.days
    updated = engine.update(engine.compute(base, chosen), replace(batch, days=days))
    assert all(_same(updated, engine.compute(replace(book, days=days), chosen)).values())


def _two_customers() -> Books:
    # A pays 100.00 monthly from January and stops after February; B joins on March 10.
    books = Books("2025-01", "2025-03")
    books.bill("A", "2025-01-01", 10000, count=2)
    books.bill("B", "2025-03-10", 5000)
    return books


def _update_on(books: Books, day: str) -> Result:
    book = from_ledger(books.ledger)
    base, batch = split(book, day_number(date.fromisoformat(day)))
    return engine.update(engine.compute(base), batch)


def test_it_adds_a_new_customer_invoiced_on_the_new_day() -> None:
    result = _update_on(_two_customers(), "2025-03-10")
    assert column(result, "new") == ["100.00", "0.00", "50.00"]


def test_it_recognises_a_churn_on_the_new_day_for_a_customer_without_new_invoices() -> None:
    # A's last period ends on 03-01: the update to 03-01 must see it although A has no invoice.
    result = _update_on(_two_customers(), "2025-03-02")
    assert column(result, "churn") == ["0.00", "0.00", "100.00"]


def test_it_opens_a_month_the_new_day_starts() -> None:
    result = _update_on(_two_customers(), "2025-03-01")
    assert [m.month for m in result.months] == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]


def test_it_recomputes_everything_when_a_new_rate_changes_the_unit() -> None:
    books = Books("2025-01", "2025-02")
    books.bill("H", "2025-01-01", 10000, count=2, currency="EUR")
    books.rate("EUR", "2024-12-31", "1.1")
    book = from_ledger(books.ledger)
    base, batch = split(book, book.first + 31)
    finer = FxRate("EUR", date(2025, 2, 1), Fraction("1.0834"))
    batch = replace(batch, rates=(*batch.rates, finer))
    updated = engine.update(engine.compute(base), batch)
    # 1.0834 = 5417/5000: the unit becomes 1/(12 x 5000) of a cent.
    assert (updated.scale, column(updated, "fx")) == (12 * 5000, ["0.00", "-1.66"])


def test_it_keeps_the_range_when_the_batch_only_backfills() -> None:
    books = _two_customers()
    book = from_ledger(books.ledger)
    base, batch = split(book, book.first + 40)
    updated = engine.update(engine.compute(base), replace(batch, days=base.days))
    assert (updated.calendar.days, column(updated, "new")) == (base.days, ["100.00", "0.00"])


def _dunned() -> Books:
    # C's February payment fails on 02-10 and is retried later; D's February invoice is never
    # paid and is voided on 02-10.
    books = Books("2025-01", "2025-03")
    _, late, _ = books.bill("C", "2025-01-01", 10000, count=3)
    books.fail(late, "2025-02-10")
    (lost,) = books.bill("D", "2025-02-01", 5000, status="open")
    books.void(lost, "2025-02-10")
    return books


def _split_on_the_tenth() -> tuple[Book, Book]:
    return split(from_ledger(_dunned().ledger), day_number(date(2025, 2, 10)))


def test_it_keeps_an_invoice_paid_on_the_new_day_under_exclude_unpaid() -> None:
    base, batch = _split_on_the_tenth()
    unpaid_only = Settings(past_due="exclude_unpaid")
    updated = engine.update(engine.compute(base, unpaid_only), batch)
    assert (column(updated, "new"), column(updated, "churn")) == (
        ["100.00", "0.00", "0.00"],
        ["0.00", "0.00", "0.00"],
    )


def test_it_churns_an_open_invoice_voided_on_the_new_day() -> None:
    base, batch = _split_on_the_tenth()
    updated = engine.update(engine.compute(base), batch)
    assert column(updated, "churn") == ["0.00", "50.00", "0.00"]


def test_it_hands_the_base_a_later_void_and_a_later_payment_as_they_stood() -> None:
    base, batch = _split_on_the_tenth()
    changes = batch.changes
    assert (base.invoices.status.tolist(), changes.invoice.tolist(), changes.status.tolist()) == (
        [PAID, OPEN, OPEN],
        [1, 2],
        [PAID, VOID],
    )


def _one_invoice() -> tuple[Result, Book]:
    books = Books("2025-01", "2025-01")
    books.bill("A", "2025-01-01", 10000, status="open")
    book = from_ledger(books.ledger)
    base, batch = split(book, book.first + 20)
    return engine.compute(base), batch


def _change(batch: Book, rows: list[int], statuses: list[int], voided: list[int]) -> Book:
    return replace(batch, changes=StatusChanges(ints(rows), ints(statuses), ints(voided)))


def test_it_keeps_the_last_of_two_changes_to_one_invoice() -> None:
    result, batch = _one_invoice()
    day = result.book.first + 25
    updated = engine.update(result, _change(batch, [0, 0], [PAID, VOID], [NEVER, day]))
    assert (updated.book.invoices.status.tolist(), column(updated, "churn")) == (
        [VOID],
        ["100.00"],
    )


def test_it_refuses_a_status_change_of_an_invoice_the_book_does_not_have() -> None:
    result, batch = _one_invoice()
    with pytest.raises(RevenueInputError, match="names invoice row 3, but the book has 1"):
        engine.update(result, _change(batch, [3], [PAID], [NEVER]))


def test_it_refuses_a_status_change_to_an_unknown_status() -> None:
    result, batch = _one_invoice()
    with pytest.raises(RevenueInputError, match="has status 7; the statuses are 0"):
        engine.update(result, _change(batch, [0], [7], [NEVER]))


def test_it_carries_a_subscription_set_to_cancel_at_period_end_into_the_book() -> None:
    result, batch = _one_invoice()
    subscriptions = replace(batch.subscriptions, cancel_at_period_end=np.array([True]))
    updated = engine.update(result, replace(batch, subscriptions=subscriptions))
    assert updated.book.subscriptions.cancel_at_period_end.tolist() == [True]
