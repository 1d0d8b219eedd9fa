"""What the customer wrote this time: quoted history and signatures taken off a reply."""

from __future__ import annotations

import pytest

from founderops.channels.quotes import reply_text, strip_quotes

QUOTE = "> Open Settings and choose Reset password.\n> The support team"


def test_it_drops_quoted_lines() -> None:
    assert strip_quotes(f"It worked, thanks!\n\n{QUOTE}") == "It worked, thanks!"


def test_it_cuts_at_an_on_wrote_header() -> None:
    text = (
        "It worked, thanks!\n\nOn Mon, Jan 5, 2026 at 10:00 AM Inkwell <help@inkwell.example> "
        f"wrote:\n{QUOTE}"
    )
    assert strip_quotes(text) == "It worked, thanks!"


def test_it_cuts_at_an_on_wrote_header_wrapped_over_two_lines() -> None:
    text = (
        "It worked!\n\nOn Mon, Jan 5, 2026 at 10:00 AM Inkwell Support <\n"
        f"help@inkwell.example> wrote:\n\n{QUOTE}"
    )
    assert strip_quotes(text) == "It worked!"


@pytest.mark.parametrize(
    ("reply", "header"),
    [
        ("Merci !", "Le lun. 5 janv. 2026 à 10:00, Inkwell <help@inkwell.example> a écrit :"),
        ("Danke!", "Am 05.01.2026 um 10:00 schrieb Inkwell <help@inkwell.example>:"),
        ("¡Gracias!", "El lun, 5 ene 2026 a las 10:00, Inkwell (<help@inkwell.example>) escribió:"),
        ("Grazie!", "Il giorno lun 5 gen 2026 alle ore 10:00 Inkwell ha scritto:"),
        ("Obrigada!", "Em seg., 5 de jan. de 2026 às 10:00, Inkwell escreveu:"),
        ("Bedankt!", "Op ma 5 jan. 2026 om 10:00 schreef Inkwell <help@inkwell.example>:"),
        ("Tack!", "Den mån 5 jan. 2026 kl 10:00 skrev Inkwell <help@inkwell.example>:"),
        ("Dzięki!", "W dniu 5.01.2026 o 10:00 Inkwell <help@inkwell.example> pisze:"),
        ("Спасибо!", "5 янв. 2026, в 10:00, Inkwell <help@inkwell.example> пишет:"),
        # The full-width colon of Chinese text.
        ("谢谢", "Inkwell <help@inkwell.example> 于2026年1月5日周一 10:00写道\uff1a"),
        ("ありがとう", "2026/01/05 10:00、Inkwell <help@inkwell.example> さんが書きました:"),
        ("감사합니다", "2026년 1월 5일 (월) 오전 10:00, Inkwell <help@inkwell.example>님이 작성:"),
    ],
)
def test_it_cuts_at_a_reply_header_in_other_languages(reply: str, header: str) -> None:
    assert strip_quotes(f"{reply}\n\n{header}\n{QUOTE}") == reply


def test_it_keeps_a_sentence_that_merely_ends_in_wrote() -> None:
    text = "On reflection, here is what my colleague wrote:\nthe export is empty."
    assert strip_quotes(text) == text


def test_it_keeps_a_reply_written_below_the_quote() -> None:
    text = f"On Mon, Jan 5, 2026 Inkwell <help@inkwell.example> wrote:\n{QUOTE}\n\nStill broken."
    assert strip_quotes(text) == "Still broken."


def test_it_cuts_at_outlooks_original_message_line() -> None:
    text = "Still broken.\n\n-----Original Message-----\nFrom: Inkwell\nSent: Monday\n\nold text"
    assert strip_quotes(text) == "Still broken."


@pytest.mark.parametrize(
    "separator", ["-----Ursprüngliche Nachricht-----", "-----Message d'origine-----"]
)
def test_it_cuts_at_a_translated_original_message_line(separator: str) -> None:
    assert strip_quotes(f"Toujours cassé.\n{separator}\nVon: x\nold") == "Toujours cassé."


def test_it_cuts_at_outlooks_from_and_sent_block() -> None:
    text = (
        "Still broken.\n\n________________________________\n"
        "From: Inkwell Support <help@inkwell.example>\nSent: Monday, January 5, 2026 10:00\n"
        "To: Ada Lovelace\nSubject: Re: Can't log in\n\nOpen Settings."
    )
    assert strip_quotes(text) == "Still broken."


def test_it_cuts_at_a_german_outlook_block() -> None:
    text = "Geht nicht.\n\nVon: Inkwell <help@inkwell.example>\nGesendet: Montag\nAn: Ada\n\nalt"
    assert strip_quotes(text) == "Geht nicht."


def test_it_keeps_a_from_line_that_starts_no_header_block() -> None:
    text = "From: my phone, sorry for typos.\nThe export button does nothing."
    assert strip_quotes(text) == text


def test_it_drops_the_signature_after_dash_dash_space() -> None:
    text = "The export is empty.\n\n-- \nAda Lovelace\nAnalytical Engines Ltd"
    assert strip_quotes(text) == "The export is empty."


def test_it_drops_a_phones_sent_from_footer() -> None:
    assert strip_quotes("The export is empty.\n\nSent from my iPhone") == "The export is empty."


def test_it_keeps_everything_when_the_mail_is_all_quote() -> None:
    assert strip_quotes(QUOTE) == QUOTE


def test_it_keeps_a_forwarded_message() -> None:
    text = "See below.\n\n---------- Forwarded message ---------\nFrom: Bob\nthe error text"
    assert strip_quotes(text) == text


def test_it_reads_windows_line_endings() -> None:
    assert strip_quotes("Thanks!\r\n\r\n> old\r\n") == "Thanks!"


def test_it_drops_gmails_quote_from_an_html_mail() -> None:
    html = (
        '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Mon, Jan 5, 2026 Inkwell wrote:<br></div>'
        '<blockquote class="gmail_quote">Open Settings.</blockquote></div>'
    )
    assert reply_text(None, html) == "Works now, thanks!"


def test_it_drops_an_apple_mail_cite_blockquote() -> None:
    html = '<div>Still broken.</div><blockquote type="cite">Open Settings.</blockquote>'
    assert reply_text(None, html) == "Still broken."


def test_it_drops_thunderbirds_cite_prefix_and_quote() -> None:
    html = (
        "<p>Still broken.</p>"
        '<div class="moz-cite-prefix">On 05/01/2026 10:00, Inkwell wrote:<br></div>'
        '<blockquote type="cite">Open Settings.</blockquote>'
    )
    assert reply_text(None, html) == "Still broken."


def test_it_cuts_outlooks_html_history_by_its_header_block() -> None:
    html = (
        "<div>Still broken.</div><hr><div id='divRplyFwdMsg'><b>From:</b> Inkwell<br>"
        "<b>Sent:</b> Monday<br><b>To:</b> Ada</div><div>Open Settings.</div>"
    )
    assert reply_text(None, html) == "Still broken."


def test_it_keeps_an_html_mail_that_is_only_a_quote() -> None:
    html = '<blockquote type="cite">Please forward this to billing.</blockquote>'
    assert reply_text(None, html) == "Please forward this to billing."


def test_it_prefers_the_plain_text_when_there_is_one() -> None:
    assert reply_text("plain words\n> old", "<p>html words</p>") == "plain words"
