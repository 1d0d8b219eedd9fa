"""CSAT: one-click links under replies; a fetched link records nothing, a confirmed one does."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.channels import outbound
from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.support import services
from founderops.support.models import Message, Rating, Ticket
from tests.channels.replies import email_ticket, reply
from tests.channels.smtp_server import Recorder

pytestmark = pytest.mark.django_db

SENT = "2026-03-02T12:00:00Z"


def links(text: str) -> dict[str, str]:
    """The rating links of a mail part, by label, as paths on this site."""
    found = re.findall(r"(Good|Not good): (\S+)", text)
    return {label: urlsplit(url).path for label, url in found}


def rate_path(message: Message, score: str) -> str:
    return reverse("csat_rate", args=[outbound.rating_token(message), score])


@pytest.fixture
def answer(db: None) -> Message:
    """The agent's automatic answer on an e-mail ticket (stored; sending is not needed)."""
    return services.send_reply(email_ticket(), "Use the reset link.", Message.Author.AGENT)


@time_machine.travel(SENT, tick=False)  # a token holds its time: the same second, the same token
def test_it_puts_good_and_not_good_links_under_an_automatic_answer(smtp: Recorder) -> None:
    message = reply(email_ticket())

    mail = smtp.received[0]
    assert links(mail.part("plain")) == {
        "Good": rate_path(message, "good"),
        "Not good": rate_path(message, "bad"),
    }
    html = mail.part("html")
    assert f'href="http://127.0.0.1:8000{rate_path(message, "good")}">Good</a>' in html
    assert f'href="http://127.0.0.1:8000{rate_path(message, "bad")}">Not good</a>' in html


def test_it_records_nothing_when_a_link_is_only_fetched(client: Client, answer: Message) -> None:
    page = client.get(rate_path(answer, "good"))

    assert page.status_code == 200
    assert not Rating.objects.exists()
    html = page.content.decode()
    assert '<form method="post"' in html
    assert "Confirm: Good" in html


def test_it_serves_the_rating_page_without_a_login(client: Client, answer: Message) -> None:
    page = client.get(rate_path(answer, "bad"))

    assert page.status_code == 200
    assert "Confirm: Not good" in page.content.decode()


def test_it_records_the_rating_when_the_customer_confirms(client: Client, answer: Message) -> None:
    token = outbound.rating_token(answer)

    done = client.post(reverse("csat_rate", args=[token, "good"]))

    assert done.status_code == 302
    assert done["Location"] == reverse("csat_thanks", args=[token])
    rating = Rating.objects.get()
    assert (rating.message, rating.ticket, rating.score, rating.channel) == (
        answer,
        answer.ticket,
        "good",
        "email",
    )
    assert "Good" in client.get(done["Location"]).content.decode()


def test_it_keeps_the_customers_comment(client: Client, answer: Message) -> None:
    client.post(rate_path(answer, "bad"), {"comment": "The link had expired."})

    assert Rating.objects.get().comment == "The link had expired."


def test_it_counts_the_latest_click(client: Client, answer: Message) -> None:
    client.post(rate_path(answer, "good"))
    client.post(rate_path(answer, "bad"))

    assert list(Rating.objects.values_list("score", flat=True)) == ["bad"]


def test_it_audits_each_rating_without_the_comment(client: Client, answer: Message) -> None:
    client.post(rate_path(answer, "bad"), {"comment": "Rather unhelpful."})

    [event] = AuditEvent.objects.filter(action="support.reply_rated")
    assert (event.outcome, event.subject_id) == ("bad", str(answer.ticket_id))
    assert "unhelpful" not in str(event.as_record())


def test_it_needs_the_csrf_token_to_record(answer: Message) -> None:
    strict = Client(enforce_csrf_checks=True)

    refused = strict.post(rate_path(answer, "good"))

    assert refused.status_code == 403
    assert not Rating.objects.exists()


def test_it_records_with_the_token_of_the_page_it_served(answer: Message) -> None:
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(rate_path(answer, "good")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None

    strict.post(rate_path(answer, "good"), {"csrfmiddlewaretoken": token[1]})

    assert Rating.objects.get().score == "good"


def test_it_refuses_a_tampered_link(client: Client, answer: Message) -> None:
    token = outbound.rating_token(answer)
    other_id = str(answer.pk + 1)
    forged = other_id + token[len(str(answer.pk)) :]

    page = client.get(reverse("csat_rate", args=[forged, "good"]))
    posted = client.post(reverse("csat_rate", args=[forged, "good"]))

    assert page.status_code == posted.status_code == 400
    assert "This link is invalid" in page.content.decode()
    assert not Rating.objects.exists()


def test_it_refuses_a_link_older_than_thirty_days(client: Client, answer: Message) -> None:
    with time_machine.travel(SENT, tick=False):
        path = rate_path(answer, "good")
    with time_machine.travel(datetime.fromisoformat(SENT) + timedelta(days=30, seconds=1)):
        refused = client.post(path)

    assert refused.status_code == 400
    assert not Rating.objects.exists()


def test_it_accepts_a_link_within_thirty_days(client: Client, answer: Message) -> None:
    with time_machine.travel(SENT, tick=False):
        path = rate_path(answer, "good")
    with time_machine.travel(datetime.fromisoformat(SENT) + timedelta(days=29)):
        client.post(path)

    assert Rating.objects.get().score == "good"


def test_it_refuses_an_unknown_score(client: Client, answer: Message) -> None:
    refused = client.post(rate_path(answer, "meh"))

    assert refused.status_code == 400
    assert not Rating.objects.exists()


def test_it_refuses_a_link_to_a_customers_message(client: Client, answer: Message) -> None:
    theirs = answer.ticket.messages.get(author=Message.Author.CUSTOMER)

    refused = client.post(rate_path(theirs, "good"))

    assert refused.status_code == 400
    assert not Rating.objects.exists()


def test_it_refuses_a_comment_that_is_too_long(client: Client, answer: Message) -> None:
    too_long = "x" * (services.RATING_COMMENT_CHARS + 1)

    refused = client.post(rate_path(answer, "bad"), {"comment": too_long})

    assert refused.status_code == 400
    assert not Rating.objects.exists()


def test_it_never_records_a_rating_on_get_even_with_a_comment(
    client: Client, answer: Message
) -> None:
    client.get(rate_path(answer, "good"), {"comment": "prefetched"})

    assert not Rating.objects.exists()


# The service the widget calls too.


def test_it_rates_a_reply_through_the_service(answer: Message) -> None:
    rating = services.rate_reply(answer, "good", Ticket.Channel.CHAT, "Thanks!")

    assert (rating.score, rating.channel, rating.comment) == ("good", "chat", "Thanks!")


def test_it_refuses_to_rate_a_customers_message(answer: Message) -> None:
    theirs = answer.ticket.messages.get(author=Message.Author.CUSTOMER)

    with pytest.raises(InvalidInput, match="only a reply"):
        services.rate_reply(theirs, "good", Ticket.Channel.EMAIL)


def test_it_refuses_an_unknown_score_in_the_service(answer: Message) -> None:
    with pytest.raises(InvalidInput, match="unknown score 'great'"):
        services.rate_reply(answer, "great", Ticket.Channel.EMAIL)


def test_it_refuses_an_unknown_channel_in_the_service(answer: Message) -> None:
    with pytest.raises(InvalidInput, match="unknown channel"):
        services.rate_reply(answer, "good", "pigeon")


# The cockpit.


def test_it_shows_the_rating_escaped_on_the_ticket_page(
    answer: Message, founder_client: Any
) -> None:
    services.rate_reply(answer, "bad", Ticket.Channel.EMAIL, "<script>alert(1)</script> meh")

    page = founder_client.get(reverse("web:ticket", args=[answer.ticket_id])).content.decode()

    assert "rated Not good by the customer" in page
    assert "“&lt;script&gt;alert(1)&lt;/script&gt; meh”" in page
    assert "<script>alert(1)</script>" not in page
