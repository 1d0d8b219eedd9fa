"""`founderops bench email`: mails through a real IMAP server to decided tickets."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.cli import dovecot, mail_bench

TEXTS = [f"question number {n}, how do I do it?" for n in range(7)]


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_it_threads_every_tenth_mail_to_the_same_senders_earlier_mail() -> None:
    mails = [parsed(raw) for raw in mail_bench.compose_mails(TEXTS, 30).mails]
    # 30 mails from 3 senders: mail 19 answers mail 16, the same sender's previous one.
    assert (mails[19]["In-Reply-To"], mails[19]["From"], mails[19]["Subject"]) == (
        mail_bench.msgid(16),
        mails[16]["From"],
        "Re: " + mails[16]["Subject"],
    )


def test_it_quotes_the_earlier_mail_in_a_reply() -> None:
    reply = parsed(mail_bench.compose_mails(TEXTS, 30).mails[19])
    assert f"> {TEXTS[16 % len(TEXTS)]}" in reply.get_body().get_content()  # type: ignore[union-attr]


def test_it_mixes_plain_text_html_and_both() -> None:
    mails = [parsed(raw) for raw in mail_bench.compose_mails(TEXTS, 4).mails]
    assert [m.get_content_type() for m in mails] == [
        "text/plain",
        "text/html",
        "text/plain",
        "multipart/alternative",
    ]


def test_it_counts_what_it_composed() -> None:
    composed = mail_bench.compose_mails(TEXTS, 30)
    # Odd mails carry HTML, except the replies (9, 19, 29), which are plain text.
    assert (len(composed.mails), composed.html, composed.replies) == (30, 12, 3)


def test_it_asks_for_dovecot_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dovecot, "binary", lambda: None)
    with pytest.raises(CommandError, match="run `make dovecot`") as caught:
        call_command("bench", "email", "--mails", "5", "--intents", "3")
    assert caught.value.returncode == 2


def test_it_refuses_to_time_stages_that_jobs_run_inline(settings: Any) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    with pytest.raises(CommandError, match="unset FOUNDEROPS_JOBS_SYNC"):
        mail_bench.require_queued_jobs()


@pytest.mark.slow
@pytest.mark.django_db
def test_it_benchmarks_email_intake_from_a_real_mailbox() -> None:
    if dovecot.binary() is None:
        pytest.skip(dovecot.INSTALL_HINT)
    out = StringIO()
    call_command("bench", "email", "--mails", "12", "--intents", "3", stdout=out)
    report = json.loads(out.getvalue())
    # 12 mails from 2 senders; mail 9 answers mail 7, so 11 tickets, each one decided.
    assert (report["mails"], report["inbound"], report["tickets"]) == (12, {"processed": 12}, 11)
    assert report["answered_auto"] + report["escalated"] == 11
    assert set(report["stages_per_second"]) == {"fetch_store", "parse_ticket", "decide"}
