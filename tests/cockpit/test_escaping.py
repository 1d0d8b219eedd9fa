"""Markup typed by customers (or anyone) is shown as text on every cockpit page, never run."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.core import audit
from founderops.support import services
from founderops.support.models import Message, SavedReply, Ticket
from tests.cockpit.conftest import ESCAPED, XSS, hostile_customer
from tests.web.cast import escalate_with_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile(founder: User) -> dict[str, str]:
    """Markup everywhere: a customer's name, subject and message, an article, a saved reply,
    a rating comment and an audit outcome. Returns the pages that must show it escaped."""
    customer = hostile_customer()
    ticket = Ticket.objects.get(customer=customer)
    article = services.save_article(
        "xss", XSS, "xss_intent", XSS, f"Answer {XSS}", [XSS, "ok example"]
    )
    Ticket.objects.filter(pk=ticket.pk).update(priority=1, article=article, intent="xss_intent")
    ticket.refresh_from_db()
    escalate_with_draft(ticket, article, draft=f"Draft {XSS}", intent="xss_intent")
    reply = services.send_reply(ticket, f"Reply {XSS}", Message.Author.AGENT)
    services.rate_reply(reply, "bad", "email", comment=XSS)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.ESCALATED)
    macro = services.save_macro(f"Macro {XSS}", f"Body {XSS}", "xss_intent", founder)
    audit.record("agent:support", "support.auto_reply", ("ticket", ticket.pk), outcome=XSS)
    return {
        "home": reverse("web:home"),
        "inbox": reverse("web:inbox"),
        "tickets": reverse("web:tickets"),
        "search": reverse("web:tickets") + "?q=%3Cscript%3E",
        "ticket": reverse("web:ticket", kwargs={"pk": ticket.pk}),
        "customers": reverse("web:customers"),
        "customer": reverse("web:customer", kwargs={"pk": customer.pk}),
        "knowledge": reverse("web:knowledge"),
        "article": reverse("web:article", kwargs={"pk": article.pk}),
        "article_edit": reverse("web:article_edit", kwargs={"pk": article.pk}),
        "macros": reverse("web:macros"),
        "macro_edit": reverse("web:macro_edit", kwargs={"pk": macro.pk}),
    }


PAGES = [
    "home",
    "inbox",
    "tickets",
    "search",
    "ticket",
    "customers",
    "customer",
    "knowledge",
    "article",
    "article_edit",
    "macros",
    "macro_edit",
]


@pytest.mark.parametrize("page", PAGES)
def test_it_escapes_markup_on_every_page(
    founder_client: Client, hostile: dict[str, str], page: str
) -> None:
    response = founder_client.get(hostile[page])
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert ESCAPED in html


def test_it_escapes_markup_on_the_agents_and_audit_pages(
    founder_client: Client, hostile: dict[str, str]
) -> None:
    for url in (reverse("web:agents"), reverse("web:audit")):
        assert "<script>alert" not in founder_client.get(url).content.decode()


def test_it_returns_a_saved_reply_as_plain_text_in_json(
    founder_client: Client, hostile: dict[str, str]
) -> None:
    # The script puts it in the textarea's value: text, never parsed as HTML.
    ticket = Ticket.objects.get(subject=XSS)
    macro = SavedReply.objects.get()
    response = founder_client.post(
        reverse("web:macro_use", kwargs={"pk": ticket.pk}),
        {"macro": str(macro.pk)},
        headers={"accept": "application/json"},
    )
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["body"] == f"Body {XSS}"


def test_it_drops_scripts_from_the_article_answer(
    founder_client: Client, hostile: dict[str, str]
) -> None:
    html = founder_client.get(hostile["article"]).content.decode()
    answer = html.split('id="answer-title"')[1].split("</section>")[0]
    assert "Answer" in answer
    assert "alert" not in answer
