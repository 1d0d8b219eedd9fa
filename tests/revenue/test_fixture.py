"""events.csv input: a clear error naming the line, or the number the format documents."""

from __future__ import annotations

import pytest

from founderops.revenue import engine, fixture
from founderops.revenue.billing import Ledger
from founderops.revenue.engine import PROFILES
from founderops.revenue.fixture import FixtureError
from tests.revenue.ledgers import column, dollars

HEADER = (
    "customer,currency,timestamp_utc,event,plan,interval,list_price,quantity,discount,"
    "invoice_amount_ex_tax,tax,note\n"
)
C100 = "C,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,50.00,1,100% repeating 1 months,0.00,0.00,\n"
A = "A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,\n"


def _load(*rows: str) -> Ledger:
    return fixture.build(fixture.parse(HEADER + "".join(rows)))


def _error(*rows: str) -> FixtureError:
    with pytest.raises(FixtureError) as caught:
        _load(*rows)
    return caught.value


def test_it_names_the_line_of_an_unknown_event() -> None:
    error = _error(A, "A,USD,2025-02-01T00:00:00Z,upgrade,Pro,month,100.00,1,,100.00,0.00,\n")
    assert (error.line, "unknown event 'upgrade'" in error.reason) == (3, True)


def test_it_refuses_wrong_columns_on_line_one() -> None:
    with pytest.raises(FixtureError, match="line 1: columns are"):
        fixture.parse("customer,currency,when\n" + A)


def test_it_refuses_a_row_with_a_missing_field() -> None:
    error = _error(A, "B,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00\n")
    assert (error.line, error.reason) == (3, "10 fields, expected 12")


def test_it_refuses_an_amount_with_three_decimals() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.005,1,,100.00,0.00,\n")
    assert (error.line, "list_price '100.005'" in error.reason) == (2, True)


def test_it_refuses_an_amount_that_is_not_a_number() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,1OO.00,0.00,\n")
    assert "invoice_amount_ex_tax '1OO.00'" in error.reason


def test_it_refuses_an_invoice_amount_that_does_not_follow_from_price_and_discount() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,2,,100.00,0.00,\n")
    assert "does not follow from list_price x quantity - discount = 200.00" in error.reason


def test_it_refuses_a_date_that_does_not_exist() -> None:
    error = _error("A,USD,2025-02-30T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,\n")
    assert (error.line, error.reason) == (
        2,
        "timestamp_utc '2025-02-30T00:00:00Z' is not a real date",
    )


def test_it_names_the_line_billing_a_currency_without_a_rate() -> None:
    error = _error(A, "H,EUR,2025-02-01T00:00:00Z,subscribe,EU,month,100.00,1,,100.00,0.00,\n")
    assert (error.line, "no EURUSD rate is given on or before" in error.reason) == (3, True)


def test_it_refuses_a_refund_other_than_the_whole_invoice() -> None:
    error = _error(
        "F,USD,2025-03-01T00:00:00Z,subscribe,Plus,month,60.00,1,,60.00,0.00,\n",
        "F,USD,2025-03-05T00:00:00Z,cancel_immediately_full_refund,Plus,month,,,,-70.00,0.00,\n",
    )
    assert (error.line, error.reason.startswith("refund 70.00")) == (3, True)


def test_it_refuses_a_zero_list_price_as_a_zero_amount_line() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Free,month,0.00,1,,0.00,0.00,\n")
    assert "zero or negative line" in error.reason


def test_it_refuses_a_negative_list_price() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,-10.00,1,,-10.00,0.00,\n")
    assert (error.line, "zero or negative line" in error.reason) == (2, True)


def test_it_refuses_a_negative_invoice_amount_outside_a_refund() -> None:
    error = _error(
        A, "A,USD,2025-02-01T00:00:00Z,renewal_discount_expired,Pro,month,100.00,1,,-5.00,0.00,\n"
    )
    assert "negative outside a refund" in error.reason


def test_it_gives_a_100_percent_off_forever_coupon_no_mrr() -> None:
    ledger = _load(
        "C,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,50.00,1,100% forever,0.00,0.00,\n"
    )
    result = engine.compute(ledger)
    assert (dollars(result, "C"), result.months[0].paying_end) == (["0.00"], 0)


def test_it_counts_the_end_of_a_100_percent_coupon_as_new_business() -> None:
    ledger = _load(
        C100,
        "C,USD,2025-02-01T00:00:00Z,renewal_discount_expired,Pro,month,50.00,1,,50.00,0.00,\n",
    )
    assert column(engine.compute(ledger), "new") == ["0.00", "50.00"]


def test_it_counts_a_100_percent_repeating_coupon_at_list_price_under_the_stripe_profile() -> None:
    ledger = _load(C100)
    assert dollars(engine.compute(ledger, PROFILES["stripe"]), "C") == ["50.00"]


def test_it_refuses_a_second_subscribe_while_one_is_active() -> None:
    error = _error(A, "A,USD,2025-01-15T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,\n")
    assert (error.line, "use add_second_subscription" in error.reason) == (3, True)


def test_it_renews_implied_periods_up_to_the_last_month() -> None:
    ledger = _load(A, "B,USD,2025-03-01T00:00:00Z,subscribe,Pro,month,10.00,1,,10.00,0.00,\n")
    assert [i.period_start.month for i in ledger.invoices if i.customer == "A"] == [1, 2, 3]


def test_it_refuses_a_timestamp_beyond_the_years_it_counts() -> None:
    error = _error("A,USD,9999-12-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,\n")
    assert (error.line, error.reason) == (
        2,
        "timestamp_utc '9999-12-01T00:00:00Z' is not in 1970-2999",
    )


def test_it_refuses_a_quantity_too_large_to_count() -> None:
    quantity = "9" * 20
    error = _error(
        f"A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,{quantity},,100.00,0.00,\n"
    )
    assert (error.line, error.reason) == (
        2,
        f"quantity '{quantity}' is too large (below 1,000,000,000)",
    )


def test_it_refuses_an_amount_too_large_to_count() -> None:
    error = _error("A,USD,2025-01-01T00:00:00Z,subscribe,Pro,month,10000000.00,1,,1.00,0.00,\n")
    assert (error.line, error.reason) == (
        2,
        "list_price '10000000.00' is too large (below 10,000,000)",
    )


def test_it_refuses_an_fx_rate_with_more_than_six_decimals() -> None:
    note = "EURUSD at service-period start: 01-01 1.1234567"
    error = _error(f"H,EUR,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,{note}\n")
    assert (error.line, error.reason) == (
        2,
        "FX rate '01-01 1.1234567' is not 'MM-DD rate' (at most 6 decimals)",
    )


def test_it_names_the_line_giving_a_second_rate_for_a_day() -> None:
    first = "EURUSD at service-period start: 01-01 1.10"
    second = "EURUSD at service-period start: 01-01 1.20"
    error = _error(
        f"H,EUR,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,{first}\n",
        f"J,EUR,2025-01-01T00:00:00Z,subscribe,Pro,month,100.00,1,,100.00,0.00,{second}\n",
    )
    assert (error.line, error.reason) == (3, "a second EUR rate for 2025-01-01 (1.2, earlier 1.1)")
