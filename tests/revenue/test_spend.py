"""Acquisition spend: recorded by the founder, converted to US cents, fed to CAC and payback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command

from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.revenue import spend
from founderops.revenue.models import AcquisitionSpend, FxRate

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_records_a_months_spend() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli")
    assert spend.spend_by_month() == [(MARCH, 125_000)]


def test_it_replaces_the_same_month_and_channel() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli")
    spend.record_spend(MARCH, 90_000, "USD", "ads", "cli")
    assert spend.spend_by_month() == [(MARCH, 90_000)]


def test_it_keeps_channels_apart() -> None:
    spend.record_spend(MARCH, 1_000, "USD", "ads", "cli")
    spend.record_spend(MARCH, 2_000, "USD", "sponsorships", "cli")
    assert sorted(amount for _, amount in spend.spend_by_month()) == [1_000, 2_000]


def test_it_audits_what_a_record_replaced() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli")
    spend.record_spend(MARCH, 90_000, "USD", "ads", "cli")
    last = AuditEvent.objects.filter(action="revenue.spend_recorded").order_by("-id").first()
    assert last is not None
    assert (last.outcome, last.details["before"]) == ("900.00 USD", "1,250.00 USD")


def test_it_converts_other_currencies_at_the_months_rate() -> None:
    FxRate.objects.create(currency="EUR", day=date(2026, 2, 20), rate="1.10")
    spend.record_spend(MARCH, 100_000, "EUR", "ads", "cli")
    assert spend.spend_by_month() == [(MARCH, 110_000)]


def test_it_refuses_a_currency_without_a_rate() -> None:
    spend.record_spend(MARCH, 100_000, "EUR", "ads", "cli")
    with pytest.raises(InvalidInput, match="no EURUSD rate on or before 2026-03-01"):
        spend.spend_by_month()


def test_it_refuses_a_currency_that_is_not_iso_4217() -> None:
    with pytest.raises(InvalidInput, match="currency 'QQQ' is not an ISO 4217 currency code"):
        spend.record_spend(MARCH, 1_000, "qqq", "ads", "cli")
    assert not AcquisitionSpend.objects.exists()


def test_it_refuses_a_negative_amount() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        spend.record_spend(MARCH, -1, "USD", "ads", "cli")


def test_it_refuses_a_malformed_channel() -> None:
    with pytest.raises(InvalidInput, match="channel"):
        spend.record_spend(MARCH, 1, "USD", "<script>", "cli")


def test_it_parses_a_month() -> None:
    assert spend.parse_month("2026-03") == MARCH


def test_it_refuses_a_month_that_is_not_one() -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        spend.parse_month("2026-13")


def test_it_parses_an_amount_in_major_units() -> None:
    assert spend.parse_amount("1,250.50", "USD") == 125_050


def test_it_refuses_more_decimals_than_the_currency_has() -> None:
    with pytest.raises(InvalidInput, match="decimals"):
        spend.parse_amount("100.5", "JPY")


def test_it_records_from_the_command_line() -> None:
    out = io.StringIO()
    call_command("revenue", "spend", "2026-03", "1250", "--channel", "ads", stdout=out)
    assert out.getvalue() == "recorded 1,250.00 USD of ads spend for 2026-03\n"
    assert AcquisitionSpend.objects.get().amount == 125_000


def test_it_says_what_a_recording_replaced_on_the_command_line() -> None:
    FxRate.objects.create(currency="JPY", day=date(2026, 2, 1), rate="0.0067")
    call_command("revenue", "spend", "2026-03", "1250.00", stdout=io.StringIO())
    out = io.StringIO()
    call_command("revenue", "spend", "2026-03", "5", "--currency", "JPY", stdout=out)
    assert out.getvalue() == (
        "recorded 5 JPY of spend (all channels) for 2026-03, replacing 1,250.00 USD\n"
    )
    assert AcquisitionSpend.objects.get().currency == "JPY"


def test_it_says_when_a_recording_is_the_same_as_before() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli")
    out = io.StringIO()
    call_command("revenue", "spend", "2026-03", "1,250", "--channel", "ads", stdout=out)
    assert out.getvalue() == "recorded 1,250.00 USD of ads spend for 2026-03, as before\n"


def test_it_replaces_only_the_same_channels_figure() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli")
    recorded = spend.record_spend(MARCH, 9_000, "USD", "all", "cli")
    assert recorded.replaced is None
    assert str(recorded) == "recorded 90.00 USD of spend (all channels) for 2026-03"


def test_it_lists_what_is_recorded() -> None:
    spend.record_spend(MARCH, 125_000, "USD", "ads", "cli", note="launch")
    out = io.StringIO()
    call_command("revenue", "spend", stdout=out)
    assert out.getvalue().split() == ["2026-03", "ads", "1,250.00", "USD", "launch"]


def test_it_names_a_bad_amount_on_the_command_line() -> None:
    with pytest.raises(CommandError, match="amount must be a number"):
        call_command("revenue", "spend", "2026-03", "lots")


def test_it_names_a_huge_amount_on_the_command_line() -> None:
    with pytest.raises(CommandError, match="amount too large"):
        call_command("revenue", "spend", "2026-05", "99999999999999999999999")
    assert AcquisitionSpend.objects.count() == 0


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "sNaN"])
def test_it_refuses_an_amount_that_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidInput, match="must be a number"):
        spend.parse_amount(text, "USD")


def test_it_refuses_a_month_before_2000_or_more_than_a_year_ahead() -> None:
    assert spend.parse_month("2000-01") == date(2000, 1, 1)
    assert spend.parse_month("2027-04") == date(2027, 4, 1)
    for text in ("1999-12", "2027-05", "9999-12"):
        with pytest.raises(InvalidInput, match="from 2000-01 to 2027-04"):
            spend.parse_month(text)


def test_it_reads_a_spend_in_thousandths_for_a_three_decimal_currency() -> None:
    assert spend.parse_amount("12.345", "KWD") == 12_345


@pytest.mark.parametrize("text", ["1.250,00", "1,5", "12,50", "1,25,000"])
def test_it_refuses_a_comma_that_is_not_a_thousands_separator(text: str) -> None:
    with pytest.raises(InvalidInput, match="a dot for decimals"):
        spend.parse_amount(text, "USD")


def test_it_reads_thousands_groups_without_decimals() -> None:
    assert spend.parse_amount("12,500", "USD") == 1_250_000


def test_it_names_the_missing_rate_and_how_to_import_it() -> None:
    spend.record_spend(MARCH, 100_000, "EUR", "ads", "cli")
    with pytest.raises(InvalidInput) as caught:
        spend.spend_by_month()
    assert str(caught.value) == (
        "no EURUSD rate on or before 2026-03-01 for the 2026-03 ads spend: CAC and payback "
        "cannot be computed until one is imported "
        "(`founderops revenue import-rates FILE`, columns currency,day,rate)"
    )


def test_it_records_a_spend_without_a_rate_and_warns_on_the_command_line() -> None:
    out = io.StringIO()
    call_command("revenue", "spend", "--currency", "KWD", "2026-03", "100", stdout=out)
    assert out.getvalue().splitlines() == [
        "recorded 100.000 KWD of spend (all channels) for 2026-03",
        "warning: no KWDUSD rate on or before 2026-03-01 for the 2026-03 spend (all channels): "
        "CAC and payback cannot be computed until one is imported "
        "(`founderops revenue import-rates FILE`, columns currency,day,rate)",
    ]
    assert AcquisitionSpend.objects.get().currency == "KWD"


def test_it_does_not_warn_when_the_months_rate_is_known() -> None:
    FxRate.objects.create(currency="KWD", day=date(2026, 2, 1), rate="3.25")
    out = io.StringIO()
    call_command("revenue", "spend", "--currency", "KWD", "2026-03", "100", stdout=out)
    assert out.getvalue() == "recorded 100.000 KWD of spend (all channels) for 2026-03\n"


@pytest.mark.parametrize("channel", ["", "   "])
def test_it_refuses_an_empty_channel(channel: str) -> None:
    spend.record_spend(MARCH, 1_000, "USD", "all", "cli")
    with pytest.raises(InvalidInput, match=r"^channel is empty: name it"):
        spend.record_spend(MARCH, 2_000, "USD", channel, "cli")
    assert AcquisitionSpend.objects.get().amount == 1_000


def test_it_refuses_an_empty_channel_on_the_command_line() -> None:
    with pytest.raises(CommandError, match="leave --channel out for all"):
        call_command("revenue", "spend", "2026-03", "1250", "--channel", " ")
    assert not AcquisitionSpend.objects.exists()


def test_it_says_when_no_spend_is_recorded_yet() -> None:
    out = io.StringIO()
    call_command("revenue", "spend", stdout=out)
    assert out.getvalue() == (
        "No acquisition spend recorded yet (`founderops revenue spend 2026-03 1250.00`).\n"
    )
