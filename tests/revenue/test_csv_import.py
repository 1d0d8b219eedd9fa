"""`founderops revenue import-csv`: billing history from another system, one row per invoice."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.customers.models import Customer
from founderops.revenue import csv_import, engine
from founderops.revenue.ledger import ledger_from_db
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    FxRate,
    Invoice,
    Refund,
    Subscription,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HEADER = (
    "customer_id,email,invoice_id,currency,amount,tax,period_start,period_end,plan,interval,status"
)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def rows(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def row(
    invoice: str = "inv_1",
    customer: str = "c1",
    amount: str = "49.00",
    tax: str = "9.80",
    start: str = "2026-01-01",
    end: str = "2026-02-01",
    status: str = "paid",
    currency: str = "USD",
) -> str:
    cells = [customer, "ada@example.com", invoice, currency, amount, tax, start, end]
    return ",".join([*cells, "Pro", "month", status])


def test_it_imports_a_row_as_an_invoice_with_its_line() -> None:
    report = csv_import.import_invoices(rows(row()))
    assert (report.imported, report.created, report.rejected) == (1, 1, [])
    invoice = Invoice.objects.get()
    assert (invoice.stripe_id, invoice.source, invoice.livemode) == ("csv:inv_1", "csv", True)
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.status) == (
        4900,
        980,
        5880,
        "paid",
    )
    line = invoice.lines.get()
    assert (line.amount, line.tax_exclusive, line.period_start) == (
        4900,
        980,
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert line.price is not None
    assert (line.price.interval, line.price.interval_count) == ("month", 1)


def test_it_links_the_row_to_a_founderops_customer_by_email() -> None:
    csv_import.import_invoices(rows(row()))
    billing = BillingCustomer.objects.get()
    assert billing.customer == Customer.objects.get(email="ada@example.com")
    assert billing.customer.identities.filter(kind="external", value="csv:c1").exists()


def test_it_keeps_one_subscription_per_customer_by_default() -> None:
    later = row(invoice="inv_2", start="2026-02-01", end="2026-03-01")
    csv_import.import_invoices(rows(row(), later))
    subscription = Subscription.objects.get()
    assert subscription.stripe_id == "csv:c1"
    assert subscription.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert subscription.invoices.count() == 2


def test_it_names_expected_and_found_columns_when_they_are_wrong() -> None:
    header = HEADER.replace("amount", "amt").replace(",status", "")
    with pytest.raises(csv_import.WrongColumns) as caught:
        csv_import.import_invoices(rows(row(), header=header))
    message = str(caught.value)
    assert message.startswith("wrong columns (missing amount, status; unknown amt). Expected: ")
    assert "customer_id, email, invoice_id" in message
    assert "(optional: name, quantity" in message
    assert message.endswith("Found: " + header.replace(",", ", ") + ".")
    assert Invoice.objects.count() == 0


def test_it_refuses_a_repeated_column() -> None:
    with pytest.raises(csv_import.WrongColumns, match="repeated email"):
        csv_import.import_invoices(rows(header=HEADER + ",email"))


def test_it_reads_columns_in_any_order_and_case() -> None:
    header = ",".join(reversed(HEADER.upper().split(",")))
    line = ",".join(reversed(row().split(",")))
    assert csv_import.import_invoices(rows(line, header=header)).imported == 1


def test_it_reports_bad_rows_by_line_and_keeps_the_good_ones() -> None:
    text = rows(row(), row(invoice="inv_2", amount="ten"), row(invoice="inv_3", end="2025-12-01"))
    report = csv_import.import_invoices(text)
    assert report.imported == 1
    assert report.rejected == [
        (3, "amount 'ten' is not an amount ≥ 0 with at most 2 decimals for USD"),
        (4, "period_end 2025-12-01 is not after period_start"),
    ]
    assert list(Invoice.objects.values_list("stripe_id", flat=True)) == ["csv:inv_1"]


def test_it_reports_a_row_with_the_wrong_number_of_values() -> None:
    report = csv_import.import_invoices(rows(row() + ",extra"))
    assert report.rejected == [(2, "12 values, but the header has 11")]


def test_it_refuses_a_bad_email_on_its_line() -> None:
    report = csv_import.import_invoices(rows(row().replace("ada@example.com", "ada")))
    assert report.rejected == [(2, "not an email address: 'ada'")]


def test_it_is_idempotent_by_invoice_id() -> None:
    text = rows(row(), row(invoice="inv_2", start="2026-02-01", end="2026-03-01"))
    csv_import.import_invoices(text)
    again = csv_import.import_invoices(text)
    assert (again.imported, again.created, again.unchanged) == (2, 0, 2)
    assert (Invoice.objects.count(), BillingCustomer.objects.count(), Charge.objects.count()) == (
        2,
        1,
        2,
    )
    assert Invoice.objects.get(stripe_id="csv:inv_1").lines.count() == 1


def test_it_updates_an_invoice_imported_before() -> None:
    csv_import.import_invoices(rows(row(status="open")))
    csv_import.import_invoices(rows(row(status="paid")))
    assert Invoice.objects.get().status == "paid"


def test_it_refuses_the_same_invoice_twice_in_one_file() -> None:
    report = csv_import.import_invoices(rows(row(), row()))
    assert report.rejected == [(3, "invoice inv_1 is already on line 2")]


def test_it_stores_a_partial_refund() -> None:
    header = HEADER + ",refunded"
    csv_import.import_invoices(rows(row() + ",20.00", header=header))
    refund = Refund.objects.get()
    assert (refund.amount, refund.charge.amount) == (2000, 5880)  # type: ignore[union-attr]


def test_it_refuses_a_refund_larger_than_the_invoice() -> None:
    header = HEADER + ",refunded"
    report = csv_import.import_invoices(rows(row() + ",60.00", header=header))
    assert report.rejected == [
        (2, "refunded 60.00 USD is more than the 58.80 USD the invoice charged")
    ]
    assert Refund.objects.count() == 0


def test_it_refuses_a_refund_on_an_unpaid_invoice() -> None:
    header = HEADER + ",refunded"
    report = csv_import.import_invoices(rows(row(status="open") + ",1.00", header=header))
    assert report.rejected == [(2, "refunded 1.00 USD on an invoice that is open")]


def test_it_accepts_a_zero_amount_row() -> None:
    assert csv_import.import_invoices(rows(row(amount="0", tax="0"))).imported == 1
    assert Invoice.objects.get().total == 0


def test_it_refuses_a_negative_amount() -> None:
    report = csv_import.import_invoices(rows(row(amount="-5.00")))
    assert report.rejected[0][1].startswith("amount '-5.00' is not an amount ≥ 0")


def test_it_stores_a_full_discount_with_its_duration() -> None:
    header = HEADER + ",discount,discount_duration"
    csv_import.import_invoices(rows(row(tax="0") + ",49.00,repeating", header=header))
    line = Invoice.objects.get().lines.get()
    assert (line.discount_amount, line.discounts) == (
        4900,
        [{"amount": 4900, "duration": "repeating"}],
    )
    assert Invoice.objects.get().total == 0


def test_it_refuses_a_discount_larger_than_the_amount() -> None:
    header = HEADER + ",discount"
    report = csv_import.import_invoices(rows(row() + ",50.00", header=header))
    assert report.rejected == [
        (2, "discount 50.00 is larger than amount 49.00: the invoice would have a negative MRR")
    ]


def test_it_refuses_more_decimals_than_the_currency_has() -> None:
    report = csv_import.import_invoices(rows(row(currency="JPY", amount="4900.5", tax="0")))
    assert report.rejected[0][1] == (
        "amount '4900.5' is not an amount ≥ 0 with at most 0 decimals for JPY"
    )


def test_it_ends_the_subscription_when_the_row_says_it_was_canceled() -> None:
    header = HEADER + ",canceled_at"
    csv_import.import_invoices(rows(row() + ",2026-01-20T10:00:00Z", header=header))
    subscription = Subscription.objects.get()
    assert (subscription.status, subscription.ended_at) == (
        "canceled",
        datetime(2026, 1, 20, 10, tzinfo=UTC),
    )


def test_it_imports_fx_rates_exactly() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,1.0843\n")
    assert report.imported == 1
    rate = FxRate.objects.get()
    assert (rate.currency, rate.day, rate.rate) == ("EUR", date(2026, 1, 1), "1.0843")


def test_it_refuses_a_rate_that_is_not_positive() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,0\nGBP,2026-01-01,x\n")
    assert report.rejected == [
        (2, "rate '0' must be above zero"),
        (3, "rate 'x' is not a decimal such as 1.0843"),
    ]


def test_it_prints_rejected_lines_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text(rows(row(), row(invoice="inv_2", status="draft")))
    out = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("revenue", "import-csv", str(path), stdout=out)
    assert stopped.value.code == 1
    assert out.getvalue().splitlines() == [
        f"{path}:3: rejected: status 'draft' is not one of paid, open, void, uncollectible",
        "1 row imported (1 new, 0 updated, 0 unchanged), 1 rejected",
    ]


def test_it_stops_the_command_with_one_error_for_wrong_columns(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text("email,total\nada@example.com,10\n")
    with pytest.raises(CommandError, match=r"wrong columns \(missing customer_id"):
        call_command("revenue", "import-csv", str(path))


def test_it_reads_a_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_bytes(b"\xef\xbb\xbf" + rows(row()).encode())
    out = io.StringIO()
    call_command("revenue", "import-csv", str(path), stdout=out)
    assert out.getvalue().strip() == "1 row imported (1 new, 0 updated, 0 unchanged), 0 rejected"


def test_it_rejects_a_twenty_digit_amount_by_line_and_keeps_going() -> None:
    big = "9" * 20
    report = csv_import.import_invoices(
        rows(row(), row(invoice="inv_2", amount=big), row(invoice="inv_3"))
    )
    assert report.imported == 2
    assert report.rejected == [(3, f"amount too large: '{big}' (must be below 10,000,000 USD)")]
    assert sorted(Invoice.objects.values_list("stripe_id", flat=True)) == ["csv:inv_1", "csv:inv_3"]


def test_it_rejects_a_tax_just_at_the_bound_and_accepts_one_below() -> None:
    report = csv_import.import_invoices(
        rows(row(tax="10000000"), row(invoice="inv_2", tax="9999999.99"))
    )
    assert [line for line, _ in report.rejected] == [2]
    assert "tax too large" in report.rejected[0][1]
    assert Invoice.objects.get().tax == 999_999_999


def test_it_counts_the_largest_weekly_amount_it_accepts_exactly() -> None:
    csv_import.import_rates("currency,day,rate\nEUR,2025-12-01,1.082959\n")
    weekly = _every(row(amount="9999999.99", currency="EUR", start="2026-01-25"), "week")
    assert csv_import.import_invoices(rows(weekly)).rejected == []
    result = engine.compute(ledger_from_db(True, through=date(2026, 1, 31)))
    # 9,999,999.99 EUR a week x 52/12 x 1.082959 USD: exact, with no 64-bit overflow.
    assert result.month_end(0)[0] == Fraction(999_999_999 * 52 * 1_082_959, 12 * 10**6)


def test_it_rejects_a_period_before_2000() -> None:
    report = csv_import.import_invoices(rows(row(start="0001-01-01", end="0001-02-01")))
    assert report.rejected == [(2, "period_start 0001-01-01 is before 2000")]


def test_it_rejects_a_period_starting_more_than_a_year_ahead() -> None:
    report = csv_import.import_invoices(rows(row(start="2027-04-01", end="2027-05-01")))
    assert report.rejected == [(2, "period_start 2027-04-01 is more than a year ahead")]


def test_it_rejects_an_annual_period_marked_monthly() -> None:
    report = csv_import.import_invoices(rows(row(start="2026-01-01", end="2027-01-01")))
    assert report.rejected == [
        (
            2,
            "the period 2026-01-01 to 2027-01-01 is longer than its interval (month): "
            "is the interval right?",
        )
    ]


def test_it_accepts_a_month_from_the_31st_to_the_end_of_february() -> None:
    report = csv_import.import_invoices(rows(row(start="2026-01-31", end="2026-03-01")))
    assert report.rejected == []


def test_it_accepts_a_prorated_period_shorter_than_its_interval() -> None:
    report = csv_import.import_invoices(rows(row(start="2026-01-20", end="2026-02-01")))
    assert (report.imported, report.rejected) == (1, [])


def test_it_rejects_a_week_that_lasts_a_month() -> None:
    report = csv_import.import_invoices(rows(_every(row(), "week")))
    assert report.rejected[0][1].startswith("the period 2026-01-01 to 2026-02-01 is longer")


def test_it_rounds_a_rate_with_more_than_six_decimals_and_says_so() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,1.08295862032705\n")
    assert (report.imported, report.notes) == (
        1,
        [(2, "rate 1.08295862032705 rounded to 1.082959")],
    )
    assert FxRate.objects.get().rate == "1.082959"


def test_it_writes_a_fraction_rate_in_millionths() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,100/91\n")
    assert report.notes == [(2, "rate 100/91 rounded to 1.098901")]


def test_it_keeps_a_fraction_that_is_a_short_decimal_as_written() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,11/10\n")
    assert (report.notes, FxRate.objects.get().rate) == ([], "11/10")


@pytest.mark.parametrize("rate", ["1e99999999", "1E-3", "0x10", "1.1.1"])
def test_it_refuses_a_rate_written_otherwise_than_as_a_decimal(rate: str) -> None:
    report = csv_import.import_rates(f"currency,day,rate\nEUR,2026-01-01,{rate}\n")
    assert report.rejected == [(2, f"rate {rate!r} is not a decimal such as 1.0843")]


@pytest.mark.parametrize("rate", ["-1", "-1.0843", "-100/91", "-0"])
def test_it_says_a_negative_rate_must_be_above_zero(rate: str) -> None:
    report = csv_import.import_rates(f"currency,day,rate\nEUR,2026-01-01,{rate}\n")
    assert report.rejected == [(2, f"rate {rate!r} must be above zero")]


@pytest.mark.parametrize("rate", ["--1", "-x", "-1e3"])
def test_it_still_says_a_dash_before_something_else_is_not_a_decimal(rate: str) -> None:
    report = csv_import.import_rates(f"currency,day,rate\nEUR,2026-01-01,{rate}\n")
    assert report.rejected == [(2, f"rate {rate!r} is not a decimal such as 1.0843")]


def test_it_refuses_a_rate_too_small_to_count() -> None:
    report = csv_import.import_rates("currency,day,rate\nEUR,2026-01-01,0.0000004\n")
    assert report.rejected == [(2, "rate '0.0000004' is below 0.000001, the smallest rate counted")]


def test_it_prints_what_it_rounded(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("currency,day,rate\nEUR,2026-01-01,1.0829586\n")
    out = io.StringIO()
    call_command("revenue", "import-rates", str(path), stdout=out)
    assert out.getvalue().splitlines() == [
        f"{path}:2: rate 1.0829586 rounded to 1.082959",
        "1 row imported (1 new, 0 updated, 0 unchanged, 1 rounded), 0 rejected",
    ]


def test_it_rejects_a_twenty_digit_quantity_by_line() -> None:
    header = HEADER + ",quantity"
    report = csv_import.import_invoices(
        rows(row() + "," + "9" * 20, row(invoice="inv_2") + ",3", header=header)
    )
    assert report.imported == 1
    assert report.rejected[0][0] == 2
    assert report.rejected[0][1].startswith("quantity too large: '99999")


def test_it_rejects_a_quantity_in_other_digits() -> None:
    header = HEADER + ",quantity"
    report = csv_import.import_invoices(rows(row() + ",\u00b2", header=header))
    assert report.rejected == [(2, "quantity '\u00b2' is not a whole number of at least 1")]


def test_it_reports_a_huge_amount_from_the_command_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text(rows(row(amount="9" * 20), row(invoice="inv_2")))
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("revenue", "import-csv", str(path), stdout=out)
    assert "rejected: amount too large" in out.getvalue()
    assert (
        out.getvalue().splitlines()[-1]
        == "1 row imported (1 new, 0 updated, 0 unchanged), 1 rejected"
    )


def _every(line: str, interval: str) -> str:
    return line.replace(",month,", f",{interval},")


def test_it_imports_a_weekly_row_as_a_weekly_price() -> None:
    report = csv_import.import_invoices(rows(_every(row(end="2026-01-08"), "week")))
    assert report.rejected == []
    price = Invoice.objects.get().lines.get().price
    assert price is not None
    assert (price.interval, price.interval_count) == ("week", 1)


def test_it_imports_every_n_units_as_the_count() -> None:
    text = rows(
        _every(row(end="2026-01-15"), "2 weeks"),
        _every(row(invoice="inv_2", customer="c2", end="2026-07-01"), "6 months"),
        _every(row(invoice="inv_3", customer="c3", end="2026-01-02"), "day"),
        _every(row(invoice="inv_4", customer="c4", end="2028-01-01"), "2 years"),
    )
    assert csv_import.import_invoices(text).rejected == []
    prices = Invoice.objects.order_by("stripe_id").values_list(
        "lines__price__interval", "lines__price__interval_count"
    )
    assert list(prices) == [("week", 2), ("month", 6), ("day", 1), ("year", 2)]


def test_it_refuses_an_interval_it_cannot_read_by_line() -> None:
    text = rows(_every(row(), "fortnightly"), row(invoice="inv_2", customer="c2"))
    report = csv_import.import_invoices(text)
    assert report.imported == 1
    assert report.rejected[0][0] == 2
    assert report.rejected[0][1].startswith("interval 'fortnightly' is not day, week, month")


def test_it_refuses_an_interval_longer_than_three_years() -> None:
    report = csv_import.import_invoices(rows(_every(row(), "4 years")))
    assert report.rejected == [(2, "every 4 year(s): the count must be 1 to 3 (three years)")]


def test_it_refuses_a_row_in_another_currency_than_the_customers_earlier_invoices() -> None:
    csv_import.import_invoices(rows(row()))
    later = row(invoice="inv_2", currency="EUR", start="2026-02-01", end="2026-03-01")
    report = csv_import.import_invoices(rows(later))
    assert report.rejected == [
        (2, "currency EUR: customer c1 is billed in USD (invoice inv_1); one currency per customer")
    ]
    assert list(Invoice.objects.values_list("stripe_id", flat=True)) == ["csv:inv_1"]


def test_it_refuses_a_second_currency_within_one_file_and_keeps_the_good_rows() -> None:
    text = rows(
        row(),
        row(invoice="inv_2", currency="EUR", start="2026-02-01", end="2026-03-01"),
        row(invoice="inv_3", start="2026-02-01", end="2026-03-01"),
    )
    report = csv_import.import_invoices(text)
    assert (report.imported, [line for line, _ in report.rejected]) == (2, [3])


def test_it_lets_another_customer_pay_in_another_currency() -> None:
    text = rows(row(), row(invoice="inv_2", customer="c2", currency="EUR"))
    assert csv_import.import_invoices(text).rejected == []


def test_it_lets_a_customers_only_invoice_change_currency_on_reimport() -> None:
    csv_import.import_invoices(rows(row()))
    report = csv_import.import_invoices(rows(row(currency="EUR")))
    assert (report.rejected, Invoice.objects.get().currency) == ([], "EUR")


def test_it_refuses_a_negative_amount_as_a_negative_mrr_and_keeps_the_good_rows() -> None:
    report = csv_import.import_invoices(rows(row(amount="-5.00"), row(invoice="inv_2")))
    assert report.imported == 1
    assert report.rejected == [
        (
            2,
            "amount '-5.00' is not an amount ≥ 0: it would give the invoice a negative MRR "
            "(a credit belongs in the discount of the invoice it lowers)",
        )
    ]


def test_it_exits_zero_when_every_row_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_text(rows(row()))
    call_command("revenue", "import-csv", str(path), stdout=io.StringIO())
    assert Invoice.objects.count() == 1


def test_it_rejects_a_currency_code_that_is_not_iso_4217() -> None:
    report = csv_import.import_invoices(rows(row(), row(invoice="inv_2", currency="QQQ")))
    assert (report.imported, report.rejected) == (
        1,
        [(3, "currency 'QQQ' is not an ISO 4217 currency code")],
    )


def test_it_refuses_a_rate_for_the_reporting_currency() -> None:
    report = csv_import.import_rates("currency,day,rate\nUSD,2026-01-01,2\nEUR,2026-01-01,1.1\n")
    assert (report.imported, report.rejected) == (
        1,
        [(2, "USD is the reporting currency: its rate is always 1")],
    )


def test_it_refuses_a_rate_for_an_unknown_currency() -> None:
    report = csv_import.import_rates("currency,day,rate\nQQQ,2026-01-01,1.1\n")
    assert report.rejected == [(2, "currency 'QQQ' is not an ISO 4217 currency code")]
    assert not FxRate.objects.exists()


RATES = "currency,day,rate\n"


def test_it_counts_a_reimported_invoice_that_changed_nothing_as_unchanged() -> None:
    text = rows(row(), row(invoice="inv_2", start="2026-02-01", end="2026-03-01"))
    csv_import.import_invoices(text)
    assert csv_import.import_invoices(text).summary() == (
        "2 rows imported (0 new, 0 updated, 2 unchanged), 0 rejected"
    )


def test_it_leaves_an_unchanged_invoice_as_it_was_stored() -> None:
    csv_import.import_invoices(rows(row()))
    with time_machine.travel(datetime(2026, 3, 11, tzinfo=UTC), tick=False):
        csv_import.import_invoices(rows(row()))
    assert Invoice.objects.get().synced_at == NOW


def test_it_counts_a_reimported_invoice_that_changed_as_updated() -> None:
    csv_import.import_invoices(rows(row(), row(invoice="inv_2", customer="c2")))
    report = csv_import.import_invoices(
        rows(row(status="open"), row(invoice="inv_2", customer="c2"))
    )
    assert report.summary() == "2 rows imported (0 new, 1 updated, 1 unchanged), 0 rejected"
    assert Invoice.objects.get(stripe_id="csv:inv_1").status == "open"


def test_it_writes_one_row_in_the_singular_and_none_in_the_plural() -> None:
    assert csv_import.import_invoices(rows(row())).summary().startswith("1 row imported (")
    assert csv_import.import_invoices(rows()).summary().startswith("0 rows imported (")


def test_it_says_an_empty_file_is_empty() -> None:
    with pytest.raises(
        csv_import.EmptyFile,
        match=r"^the file is empty; it needs a header row naming customer_id, email,",
    ):
        csv_import.import_invoices("")


def test_it_says_a_file_of_blank_lines_is_empty() -> None:
    with pytest.raises(
        csv_import.EmptyFile,
        match=r"^the file is empty; it needs a header row naming currency, day, rate$",
    ):
        csv_import.import_rates("\ufeff\n  \n")


def test_it_stops_the_command_on_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError) as caught:
        call_command("revenue", "import-csv", str(path))
    assert str(caught.value).startswith(f"{path}: the file is empty; it needs a header row")


def test_it_names_the_byte_that_is_not_utf8_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    path.write_bytes(rows(row(), row(invoice="inv_2").replace("ada", "ad\xe9")).encode("latin-1"))
    offset = path.read_bytes().index(b"\xe9") + 1
    with pytest.raises(CommandError) as caught:
        call_command("revenue", "import-csv", str(path))
    assert str(caught.value) == (
        f"{path}: not UTF-8 text: byte 0xe9 on line 3 (byte {offset} of the file); "
        "save the file as UTF-8"
    )


def test_it_counts_the_byte_order_mark_in_the_position_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_bytes(b"\xef\xbb\xbfcurrency,day,rate\nEUR,2026-01-01,1.1\xff\n")
    with pytest.raises(CommandError, match=r"byte 0xff on line 2 \(byte 40 of the file\)"):
        call_command("revenue", "import-rates", str(path))


def test_it_prints_rejections_and_notes_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(
        RATES + "EUR,2026-01-01,1.0829586\nGBP,2026-01-01,x\nCHF,2026-01-01,1.1234567\n"
    )
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("revenue", "import-rates", str(path), stdout=out)
    assert out.getvalue().splitlines()[:3] == [
        f"{path}:2: rate 1.0829586 rounded to 1.082959",
        f"{path}:3: rejected: rate 'x' is not a decimal such as 1.0843",
        f"{path}:4: rate 1.1234567 rounded to 1.123457",
    ]


def test_it_refuses_a_rate_above_ten_dollars_and_suggests_the_inverse() -> None:
    report = csv_import.import_rates(RATES + "JPY,2026-01-01,150\n")
    assert report.rejected == [
        (
            2,
            "rate 150 is above 10 US dollars for one JPY, more than any currency is worth: "
            "is it JPY per US dollar? The rate is US dollars per JPY, here 1/150 = 0.006667",
        )
    ]
    assert not FxRate.objects.exists()


def test_it_accepts_a_rate_of_exactly_ten_dollars() -> None:
    assert csv_import.import_rates(RATES + "KWD,2026-01-01,10\n").rejected == []


def test_it_leaves_out_the_inverse_when_it_rounds_to_nothing() -> None:
    report = csv_import.import_rates(RATES + "EUR,2026-01-01,90000000\n")
    assert report.rejected[0][1].endswith("The rate is US dollars per EUR, here 1/90000000")


def test_it_refuses_a_rate_day_before_2000() -> None:
    report = csv_import.import_rates(RATES + "EUR,1999-12-31,1.1\nEUR,2000-01-01,1.1\n")
    assert report.rejected == [(2, "day 1999-12-31 is before 2000-01-01")]


def test_it_refuses_a_rate_day_after_today() -> None:
    report = csv_import.import_rates(RATES + "EUR,2026-03-11,1.1\nEUR,2026-03-10,1.1\n")
    assert report.rejected == [
        (2, "day 2026-03-11 is after today (2026-03-10): no rate is known for it yet")
    ]


def test_it_refuses_a_rate_day_that_is_not_a_plain_date() -> None:
    report = csv_import.import_rates(RATES + "EUR,20260101,1.1\n")
    assert report.rejected == [(2, "day '20260101' is not YYYY-MM-DD")]


def test_it_refuses_the_same_currency_and_day_twice_in_one_file() -> None:
    report = csv_import.import_rates(RATES + "EUR,2026-01-01,1.1\nEUR,2026-01-01,1.2\n")
    assert report.rejected == [(3, "the EUR rate for 2026-01-01 is already on line 2")]
    assert FxRate.objects.get().rate == "1.1"


def test_it_counts_a_reimported_rate_that_changed_nothing_as_unchanged() -> None:
    text = RATES + "EUR,2026-01-01,1.1\nGBP,2026-01-01,1.27\n"
    csv_import.import_rates(text)
    report = csv_import.import_rates(text.replace("1.27", "1.28"))
    assert report.summary() == "2 rows imported (0 new, 1 updated, 1 unchanged), 0 rejected"
    assert FxRate.objects.get(currency="GBP").rate == "1.28"


def test_it_imports_more_mrr_than_64_bits_count_and_leaves_out_only_that_customer() -> None:
    csv_import.import_rates(RATES + "EUR,2025-12-01,1.082959\n")
    daily = [
        _every(
            row(
                f"big_{day}",
                "big",
                "9999999.99",
                "0",
                f"2026-01-0{day}",
                f"2026-01-0{day + 1}",
                currency="EUR",
            ),
            "day",
        )
        for day in range(1, 7)
    ]
    assert csv_import.import_invoices(rows(row(), *daily)).rejected == []
    ledger = ledger_from_db(True, through=date(2026, 1, 31))
    assert [(e.customer, e.record) for e in ledger.excluded] == [("csv:big", "invoice csv:big_1")]
    assert engine.compute(ledger).customers == ["csv:c1"]
