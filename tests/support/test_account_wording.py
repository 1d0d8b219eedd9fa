"""What account action a ticket asks for, and the amount it names."""

from __future__ import annotations

from founderops.support.account_wording import Ask, amount_in, asked


def test_it_reads_dollars_written_with_a_sign() -> None:
    assert amount_in("please refund $20 of it") == (2000, "USD")


def test_it_reads_a_currency_code_after_the_number() -> None:
    assert amount_in("a credit of 12.5 eur would be fair") == (1250, "EUR")


def test_it_reads_a_decimal_comma() -> None:
    assert amount_in("zurück bitte 12,50 €") == (1250, "EUR")


def test_it_reads_thousands_separators() -> None:
    assert amount_in("we paid $1,200 for the year") == (120000, "USD")


def test_it_keeps_zero_decimal_currencies_whole() -> None:
    assert amount_in("refund 500 JPY") == (500, "JPY")


def test_it_ignores_numbers_without_a_currency() -> None:
    assert amount_in("refund the 2 seats I added on 3 May, 14 days ago") is None


def test_it_takes_the_request_from_the_intent() -> None:
    assert asked("refund_request", "refund plz") == [Ask("refund")]


def test_it_leaves_a_how_to_question_to_the_article() -> None:
    assert asked("refund_request", "How do I get a refund?") == []


def test_it_acts_on_a_question_that_also_says_please() -> None:
    text = "Where is my March invoice? Please send me a copy of the invoice."
    assert asked("invoice_copy", text) == [Ask("invoice_copy")]


def test_it_reads_explicit_wording_without_an_intent() -> None:
    assert asked("", "Please refund the last charge, $15.") == [Ask("refund", 1500, "USD")]


def test_it_finds_every_action_asked() -> None:
    text = "Please cancel my subscription and refund me for this month."
    assert [a.kind for a in asked("", text)] == ["refund", "cancel"]


def test_it_reads_no_request_in_a_statement_about_invoices() -> None:
    assert asked("vat_tax_id", "I need my company's tax number on the invoices.") == []
