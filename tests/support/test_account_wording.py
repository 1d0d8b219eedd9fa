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
    assert asked("refund_request", "refund plz") == [Ask("refund", via_intent="refund_request")]


def test_it_says_a_request_in_so_many_words_was_asked_for_explicitly() -> None:
    assert [a.how for a in asked("refund_request", "Please refund the last charge.")] == [
        "asked for explicitly"
    ]


def test_it_says_a_request_taken_from_the_intent_was_read_from_it() -> None:
    assert [a.how for a in asked("refund_request", "refund plz")] == [
        "read from the ticket's intent (refund_request)"
    ]


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


def test_it_reads_a_currency_code_before_the_number() -> None:
    assert amount_in("refund USD 20 please") == (2000, "USD")


def test_it_reads_an_amount_per_month() -> None:
    assert amount_in("please refund $20/month") == (2000, "USD")


def test_it_drops_a_refund_the_customer_says_not_to_make() -> None:
    text = "Do NOT refund the last charge. Just change my email please."
    assert asked("change_email", text) == []


def test_it_drops_a_refund_intent_the_customer_negates() -> None:
    text = "Please don't refund the last charge, I want to keep my plan."
    assert asked("refund_request", text) == []


def test_it_keeps_a_cancellation_worded_as_dont_renew() -> None:
    assert asked("", "Please don't renew my plan next month.") == [Ask("cancel")]


def test_it_drops_a_cancellation_the_customer_negates() -> None:
    assert asked("cancel_subscription", "I do not want to cancel, please help me") == []


def test_it_leaves_half_a_refund_to_a_person() -> None:
    [ask] = asked("", "please refund half of my last payment")
    assert ask.unclear == "the customer asks for part of a charge without an exact amount"


def test_it_leaves_a_percentage_to_a_person() -> None:
    [ask] = asked("", "please refund 20% of my last payment")
    assert ask.unclear


def test_it_leaves_two_amounts_to_a_person() -> None:
    text = "I was charged $40 but my plan is $25, please refund the difference."
    [ask] = asked("refund_request", text)
    assert ask.unclear.startswith("several amounts are named")


def test_it_finds_amounts_it_cannot_read_exactly_unclear() -> None:
    for figure in ("$.50", "$-20", "$0.001", "$1e3", "$20.505", "$39.999", "$0"):
        [ask] = asked("", f"please refund {figure} of the last charge")
        assert ask.unclear.startswith("the amount"), figure


def test_it_refuses_decimals_in_a_zero_decimal_currency() -> None:
    [ask] = asked("", "please refund 500.50 JPY")
    assert ask.unclear


def test_it_reads_three_decimals_in_a_three_decimal_currency() -> None:
    assert amount_in("please refund 1.500 KWD") == (1500, "KWD")


def test_it_reads_a_dinar_amount_with_fewer_decimals() -> None:
    assert amount_in("refund KWD 12.5") == (12500, "KWD")


def test_it_keeps_reading_a_dot_group_as_thousands_outside_three_decimal_currencies() -> None:
    assert amount_in("refund 1.500 USD") is None
