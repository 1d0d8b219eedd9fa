from __future__ import annotations

from founderops.ai.drafting import plain_text, template_reply


def test_it_joins_the_soft_line_breaks_of_a_paragraph() -> None:
    assert plain_text("Enter the email\naddress of your account.") == (
        "Enter the email address of your account."
    )


def test_it_keeps_paragraphs_apart() -> None:
    assert plain_text("One.\n\nTwo.") == "One.\n\nTwo."


def test_it_keeps_list_items_on_their_own_lines() -> None:
    assert plain_text("Steps:\n- open Settings\n- click Billing\n  and then Invoices") == (
        "Steps:\n- open Settings\n- click Billing and then Invoices"
    )


def test_it_drops_emphasis_markers() -> None:
    assert plain_text("click **Forgot password?** or `Reset`") == "click Forgot password? or Reset"


def test_it_spells_out_links() -> None:
    assert plain_text("see [the guide](https://example.com/g)") == (
        "see the guide (https://example.com/g)"
    )


def test_it_greets_by_first_name_and_signs() -> None:
    assert template_reply("Done.", "Ada Lovelace", "Fiona") == "Hi Ada,\n\nDone.\n\nFiona"


def test_it_greets_without_a_name() -> None:
    assert template_reply("Done.", " ", "Fiona").startswith("Hi,\n\n")


def test_it_drops_emphasis_that_wraps_a_line() -> None:
    assert plain_text("open **Settings →\nGeneral** now") == "open Settings → General now"
