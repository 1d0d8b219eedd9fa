"""Status-page subscribers: double opt-in by a hashed token, one-click unsubscribe, and each
published update mailed once per subscriber through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from founderops.core import jobs
from founderops.core.errors import InvalidInput
from founderops.incidents import subscribers
from founderops.incidents.models import Incident, StatusUpdate, Subscriber, SubscriberNotice
from tests.channels.smtp_server import Recorder

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LINK = re.compile(r"https?://\S+/status/confirm/(\S+)/")


def confirmed(email: str) -> Subscriber:
    return Subscriber.objects.create(
        email=email, created_at=NOW, confirmed_at=NOW, token_hash=subscribers.hash_token(email)
    )


def published_update(
    public: bool = True, state: str = StatusUpdate.State.PUBLISHED
) -> StatusUpdate:
    incident = Incident.objects.create(
        title="API errors", priority="P1", started_at=NOW, detected_at=NOW, public=public
    )
    return StatusUpdate.objects.create(
        incident=incident,
        status=Incident.State.INVESTIGATING,
        body="We are looking into errors on the API.",
        created_at=NOW,
        published_at=NOW if state == StatusUpdate.State.PUBLISHED else None,
        state=state,
        author="agent:monitoring",
    )


def confirmation_token(smtp: Recorder) -> str:
    match = LINK.search(smtp.received[-1].part("plain"))
    assert match is not None
    return match.group(1)


@time_machine.travel(NOW, tick=False)
def test_it_mails_a_confirmation_link_and_stores_only_its_hash(smtp: Recorder) -> None:
    with jobs.running_inline():
        subscriber = subscribers.subscribe("  Ada@Example.com ")
    token = confirmation_token(smtp)
    subscriber.refresh_from_db()
    assert subscriber.email == "ada@example.com"
    assert subscriber.confirmed_at is None
    assert subscriber.token_hash == subscribers.hash_token(token)
    assert token not in subscriber.token_hash


@time_machine.travel(NOW, tick=False)
def test_it_confirms_with_the_mailed_token(smtp: Recorder) -> None:
    with jobs.running_inline():
        subscribers.subscribe("ada@example.com")
    assert subscribers.confirm(confirmation_token(smtp)).confirmed_at == NOW


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_unknown_token() -> None:
    with pytest.raises(InvalidInput):
        subscribers.confirm("not-a-token")


def test_it_refuses_a_confirmation_link_older_than_a_week(smtp: Recorder) -> None:
    with time_machine.travel(NOW, tick=False), jobs.running_inline():
        subscribers.subscribe("ada@example.com")
    token = confirmation_token(smtp)
    with time_machine.travel(NOW + timedelta(days=8), tick=False), pytest.raises(InvalidInput):
        subscribers.confirm(token)


@time_machine.travel(NOW, tick=False)
def test_it_sends_no_second_confirmation_to_a_confirmed_address(smtp: Recorder) -> None:
    confirmed("ada@example.com")
    with jobs.running_inline():
        subscribers.subscribe("ada@example.com")
    assert smtp.received == []


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_address_that_is_not_one() -> None:
    with pytest.raises(InvalidInput, match="valid e-mail"):
        subscribers.subscribe("not an address")
    assert not Subscriber.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_unsubscribes_with_the_signed_link() -> None:
    ada = confirmed("ada@example.com")
    subscribers.unsubscribe(subscribers.unsubscribe_token(ada))
    ada.refresh_from_db()
    assert ada.unsubscribed_at == NOW


def test_it_refuses_a_tampered_unsubscribe_link() -> None:
    ada = confirmed("ada@example.com")
    with pytest.raises(InvalidInput):
        subscribers.unsubscribe(subscribers.unsubscribe_token(ada) + "x")


@time_machine.travel(NOW, tick=False)
def test_it_mails_a_published_update_to_each_confirmed_subscriber(smtp: Recorder) -> None:
    confirmed("ada@example.com")
    confirmed("bea@example.com")
    Subscriber.objects.create(email="cy@example.com", created_at=NOW, token_hash="x" * 64)
    subscribers.announce(published_update().pk)
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == [
        "ada@example.com",
        "bea@example.com",
    ]
    mail = smtp.received[0].message
    assert mail["Subject"] == "[Investigating] API errors"
    assert "We are looking into errors on the API." in smtp.received[0].part("plain")


@time_machine.travel(NOW, tick=False)
def test_it_puts_a_one_click_unsubscribe_in_the_headers(smtp: Recorder) -> None:
    ada = confirmed("ada@example.com")
    subscribers.announce(published_update().pk)
    mail = smtp.received[0].message
    token = subscribers.unsubscribe_token(ada)
    assert mail["List-Unsubscribe"].endswith(f"/status/unsubscribe/{token}/>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@time_machine.travel(NOW, tick=False)
def test_it_sends_an_update_once_however_often_it_is_announced(smtp: Recorder) -> None:
    confirmed("ada@example.com")
    update = published_update()
    subscribers.announce(update.pk)
    subscribers.announce(update.pk)
    assert len(smtp.received) == 1
    assert SubscriberNotice.objects.get().state == SubscriberNotice.State.SENT


@time_machine.travel(NOW, tick=False)
def test_it_never_mails_a_draft(smtp: Recorder) -> None:
    confirmed("ada@example.com")
    subscribers.announce(published_update(state=StatusUpdate.State.DRAFT).pk)
    assert smtp.received == []


@time_machine.travel(NOW, tick=False)
def test_it_never_mails_an_update_of_a_private_incident(smtp: Recorder) -> None:
    confirmed("ada@example.com")
    subscribers.announce(published_update(public=False).pk)
    assert smtp.received == []


@time_machine.travel(NOW, tick=False)
def test_it_skips_unsubscribed_people(smtp: Recorder) -> None:
    ada = confirmed("ada@example.com")
    subscribers.unsubscribe(subscribers.unsubscribe_token(ada))
    subscribers.announce(published_update().pk)
    assert smtp.received == []


def test_it_retries_a_notice_the_server_deferred_with_the_same_message_id(
    smtp_busy_once: Recorder,
) -> None:
    confirmed("ada@example.com")
    with time_machine.travel(NOW, tick=False):
        assert "1 will retry" in subscribers.announce(published_update().pk)
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        assert subscribers.retry_notices().startswith("1 sent")
    [refused], [accepted] = smtp_busy_once.refused, smtp_busy_once.received
    assert refused.message["Message-ID"] == accepted.message["Message-ID"]


@time_machine.travel(NOW, tick=False)
def test_it_gives_up_on_a_refused_address_and_keeps_it_out_of_the_error(
    smtp_rejecting: Recorder,
) -> None:
    confirmed("ada@example.com")
    subscribers.announce(published_update().pk)
    notice = SubscriberNotice.objects.get()
    assert notice.state == SubscriberNotice.State.FAILED
    assert "ada@example.com" not in notice.last_error


@time_machine.travel(NOW, tick=False)
def test_it_says_so_when_no_smtp_server_is_set(settings: Any) -> None:
    settings.SMTP_URL = ""
    confirmed("ada@example.com")
    assert "FOUNDEROPS_SMTP_URL" in subscribers.announce(published_update().pk)
    assert not SubscriberNotice.objects.exists()
