"""Reading raw mail: what the parser finds, and that broken mail is refused with a reason."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from founderops.channels import mime
from founderops.channels.mime import MalformedMail
from tests.channels.mails import mail

MULTIPART = (
    b"From: Ada <ada@example.com>\r\n"
    b"Subject: Invoice\r\n"
    b"Message-ID: <m1@mail.example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The plain words\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>The <b>html</b> words</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b'Content-Type: application/pdf; name="invoice.pdf"\r\n'
    b'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQ=\r\n"
    b"--outer--\r\n"
)


def test_it_reads_the_sender_in_lower_case_with_the_display_name() -> None:
    parsed = mime.parse_mail(mail(sender='"Ada Lovelace" <Ada@Example.COM>'))
    assert (parsed.sender, parsed.sender_name) == ("ada@example.com", "Ada Lovelace")


def test_it_decodes_an_encoded_subject_and_name() -> None:
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9e?= <renee@example.com>\r\n"
        b"Subject: =?utf-8?b?Q2Fmw6kgb3VibGnDqQ==?=\r\n\r\nBonjour\r\n"
    )
    parsed = mime.parse_mail(raw)
    assert (parsed.sender_name, parsed.subject) == ("Renée", "Café oublié")


def test_it_reads_the_date_in_utc() -> None:
    parsed = mime.parse_mail(mail(headers={}))
    assert parsed.date == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_it_reads_the_message_id_without_brackets() -> None:
    assert mime.parse_mail(mail(msgid="<a1b2@mail.example.com>")).msgid == "a1b2@mail.example.com"


def test_it_reads_in_reply_to_and_references_nearest_first() -> None:
    headers = {"In-Reply-To": "<c@x>", "References": "<a@x> <b@x> <c@x>"}
    parsed = mime.parse_mail(mail(headers=headers))
    assert (parsed.in_reply_to, parsed.references, parsed.thread_ids) == (
        ("c@x",),
        ("a@x", "b@x", "c@x"),
        ("c@x", "b@x", "a@x"),
    )


def test_it_prefers_the_plain_text_part_and_keeps_the_html() -> None:
    parsed = mime.parse_mail(MULTIPART)
    assert (parsed.text, "<b>html</b>" in (parsed.html or "")) == ("The plain words", True)


def test_it_lists_an_attachment_with_its_decoded_bytes() -> None:
    parsed = mime.parse_mail(MULTIPART)
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4")
    ]


def test_it_keeps_a_forwarded_mail_as_an_eml_attachment() -> None:
    raw = (
        b'From: ada@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee below\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: bob@example.com\r\nSubject: old\r\n\r\nthe forwarded words\r\n"
        b"--b--\r\n"
    )
    parsed = mime.parse_mail(raw)
    forwarded = parsed.attachments[0]
    assert (forwarded.filename.endswith(".eml"), b"the forwarded words" in forwarded.data) == (
        True,
        True,
    )


def test_it_reads_an_html_only_mail() -> None:
    parsed = mime.parse_mail(mail(None, html="<p>Only <i>html</i></p>"))
    assert (parsed.text, (parsed.html or "").strip()) == (None, "<p>Only <i>html</i></p>")


def test_it_turns_html_into_lines_of_text() -> None:
    html = "<p>Hi&nbsp;there &amp; you</p><ul><li>one<li>two</ul>end<br>line"
    assert mime.html_to_text(html) == "Hi there & you\n\n- one\n- two\nend\nline"


def test_it_leaves_scripts_styles_and_the_head_out_of_the_text() -> None:
    html = "<head><title>T</title><style>p{}</style></head><script>alert(1)</script><p>Body</p>"
    assert mime.html_to_text(html) == "Body"


def test_it_keeps_words_apart_across_inline_tags() -> None:
    assert mime.html_to_text("<p>Hello <b>dear</b> customer</p>") == "Hello dear customer"


def test_it_drops_the_elements_the_caller_names() -> None:
    html = '<div>New</div><div class="q">old <p>older</p></div><p>after</p>'
    text = mime.html_to_text(html, drop=lambda tag, attrs: attrs.get("class") == "q")
    assert text == "New\n\nafter"


def test_it_reads_a_body_in_an_unknown_charset() -> None:
    raw = b"From: ada@example.com\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\nhello\r\n"
    assert mime.parse_mail(raw).text == "hello\r\n"


def test_it_reads_broken_base64_leniently() -> None:
    raw = (
        b"From: ada@example.com\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ\r\n"
    )
    parsed = mime.parse_mail(raw)
    assert (parsed.text is not None, "InvalidBase64PaddingDefect" in parsed.defects) == (
        True,
        True,
    )


def test_it_reads_a_multipart_without_boundary_as_its_text() -> None:
    raw = b"From: ada@example.com\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n"
    assert mime.parse_mail(raw).text == "no boundary here\r\n"


def test_it_refuses_an_empty_mail() -> None:
    with pytest.raises(MalformedMail, match="empty"):
        mime.parse_mail(b"  \r\n")


def test_it_refuses_text_without_headers() -> None:
    with pytest.raises(MalformedMail, match="no header block"):
        mime.parse_mail(b"just some words\r\nand more\r\n")


@pytest.mark.parametrize(
    "sender", [None, "undisclosed", "<>", "ada@", "Ada <ada at example.com>", "a@b@c.com"]
)
def test_it_refuses_a_mail_without_a_usable_sender(sender: str | None) -> None:
    raw = (f"From: {sender}\r\n" if sender is not None else "").encode() + b"Subject: x\r\n\r\nhi"
    with pytest.raises(MalformedMail, match="no readable sender"):
        mime.parse_mail(raw)


def test_it_refuses_parts_nested_absurdly_deep() -> None:
    depth = 30
    head = b"From: ada@example.com\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    raw = head + opening + b"Content-Type: text/plain\r\n\r\ndeep" + closing
    with pytest.raises(MalformedMail, match="levels deep"):
        mime.parse_mail(raw)


def test_it_refuses_a_mail_of_too_many_parts() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(600))
    raw = b'From: ada@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    with pytest.raises(MalformedMail, match="more than 500 MIME parts"):
        mime.parse_mail(raw + parts + b"--b--\r\n")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_it_raises_nothing_but_malformed_mail_on_random_bytes(raw: bytes) -> None:
    with contextlib.suppress(MalformedMail):
        mime.parse_mail(raw)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(MULTIPART) - 1), st.binary(min_size=1, max_size=40))
def test_it_raises_nothing_but_malformed_mail_on_a_damaged_mail(at: int, junk: bytes) -> None:
    with contextlib.suppress(MalformedMail):
        mime.parse_mail(MULTIPART[:at] + junk + MULTIPART[at:])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("<abc@example.com>", "abc@example.com"),
        ("  <abc@example.com>  (comment)", "abc@example.com"),
        ("abc@example.com", "abc@example.com"),
        ("", ""),
        ("<" + "x" * 600 + "@example.com>", ""),
    ],
)
def test_it_normalises_message_ids(header: str, expected: str) -> None:
    assert mime.normalise_msgid(header) == expected


def test_it_reads_the_envelope_from_the_headers_alone() -> None:
    envelope = mime.parse_envelope(mime.header_block(MULTIPART))
    assert envelope == mime.Envelope("m1@mail.example.com", "ada@example.com", "Invoice")


def test_it_reads_where_a_mail_was_delivered_delivery_headers_first() -> None:
    raw = mail(headers={"Delivered-To": "Help@Inkwell.example", "Cc": "Bob <bob@example.com>"})
    assert mime.parse_envelope(raw).recipients == ("help@inkwell.example", "bob@example.com")


def test_it_reads_an_empty_envelope_from_garbage() -> None:
    assert mime.parse_envelope(b"\x00\xff garbage") == mime.Envelope("", "", "")
