"""The ticket page: the thread, the agent's reasoning, the context, the decision form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from founderops.ai.models import Approval
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Ticket
from tests.web.cast import escalate_with_draft, new_ticket

pytestmark = pytest.mark.django_db


def page(client: Client, ticket: Ticket) -> str:
    response = client.get(reverse("web:ticket", kwargs={"pk": ticket.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_customers_message(founder_client: Client, ticket: Ticket) -> None:
    assert "Hi, I forgot my password. Where do I reset it?" in page(founder_client, ticket)


def test_it_shows_why_the_agent_escalated(founder_client: Client, triaged: Ticket) -> None:
    html = page(founder_client, triaged)
    assert "Why escalated: no intent model is trained yet" in html
    assert "<code>none</code>" in html  # the model version: none trained


def test_it_shows_the_suggestion_an_escalation_carries(
    founder_client: Client, escalation: Approval
) -> None:
    html = page(founder_client, Ticket.objects.get(pk=escalation.subject_id))
    assert "Why escalated: not confident enough" in html
    assert "71%" in html
    assert 'refund_request <span class="muted">12%</span>' in html
    article = KnowledgeArticle.objects.get(slug="reset-password")
    assert reverse("web:article", kwargs={"pk": article.pk}) in html


def test_it_leaves_the_chosen_intent_out_of_the_alternatives(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle
) -> None:
    escalate_with_draft(ticket, reset_article, alternatives=[["reset_password", 0.71]])
    assert "Alternatives" not in page(founder_client, ticket)


def test_it_shows_similar_tickets_of_one_the_agent_answered(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle, founder: User
) -> None:
    other = new_ticket("Locked out", "I forgot my password", email="bob@example.com")
    for each in (ticket, other):
        services.relabel_ticket(each, "reset_password", founder, "correction")
    assert f"#{other.pk} Locked out" in page(founder_client, ticket)


def test_it_shows_the_founders_decision_once_made(
    founder_client: Client, escalation: Approval, founder: User
) -> None:
    services.reject_escalation(escalation, founder)
    html = page(founder_client, Ticket.objects.get(pk=escalation.subject_id))
    assert "<dt>Your decision</dt><dd>Rejected by fiona" in html


def test_it_prefills_the_draft_and_the_suggested_intent(
    founder_client: Client, escalation: Approval
) -> None:
    ticket = Ticket.objects.get(pk=escalation.subject_id)
    html = page(founder_client, ticket)
    draft = str(escalation.payload["draft"])
    assert draft.startswith("Hi Ada,\n\nOpen ")
    assert f">\n{escape(draft)}</textarea>" in html
    assert '<option value="reset_password" selected>' in html


def test_it_offers_the_published_intents_and_unknown(
    founder_client: Client, escalation: Approval, refund_article: KnowledgeArticle
) -> None:
    services.save_article("old", "Old", "legacy_intent", "", "Gone.", [], published=False)
    html = page(founder_client, Ticket.objects.get(pk=escalation.subject_id))
    assert '<option value="refund_request">' in html
    assert '<option value="oos">' in html
    assert "legacy_intent" not in html


def test_it_shows_history_and_similar_tickets_from_the_payload(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle
) -> None:
    earlier = new_ticket("Invoice for March", "Could I get the March invoice?")
    other = new_ticket("Reset mail never came", "No reset email", email="bob@example.com")
    escalate_with_draft(
        ticket,
        reset_article,
        history=[
            {"id": earlier.pk, "subject": earlier.subject, "status": "answered", "intent": ""}
        ],
        similar=[{"id": other.pk, "subject": other.subject, "status": "answered_auto"}],
    )
    html = page(founder_client, ticket)
    assert f"#{earlier.pk} Invoice for March" in html
    assert f"#{other.pk} Reset mail never came" in html


def test_it_shows_the_current_status_of_the_tickets_an_escalation_names(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle
) -> None:
    earlier = new_ticket("Invoice for March", "Could I get the March invoice?")
    other = new_ticket("Reset mail never came", "No reset email", email="bob@example.com")
    escalate_with_draft(
        ticket,
        reset_article,
        history=[{"id": earlier.pk, "subject": "Invoice for March", "status": "escalated"}],
        similar=[{"id": other.pk, "subject": "Reset mail never came", "status": "new"}],
    )
    Ticket.objects.filter(pk=earlier.pk).update(status=Ticket.Status.CLOSED)
    Ticket.objects.filter(pk=other.pk).update(status=Ticket.Status.ANSWERED_AUTO)
    html = page(founder_client, ticket)
    assert f'#{earlier.pk} Invoice for March</a> <span class="muted">Closed</span>' in html
    assert (
        f'#{other.pk} Reset mail never came</a> <span class="muted">Answered by the agent' in html
    )


def test_it_leaves_out_a_ticket_an_escalation_names_that_was_deleted(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle
) -> None:
    escalate_with_draft(
        ticket, reset_article, history=[{"id": 999, "subject": "Gone", "status": "closed"}]
    )
    html = page(founder_client, ticket)
    assert "#999 Gone" not in html
    assert "This is their first ticket." in html


def test_it_renders_a_ticket_body_escaped(founder_client: Client) -> None:
    attack = new_ticket("<img src=x onerror=alert(1)>", '<script>alert("owned")</script> hi')
    html = page(founder_client, attack)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; hi" in html


def test_it_offers_relabelling_when_nothing_is_pending(
    founder_client: Client, ticket: Ticket, reset_article: KnowledgeArticle
) -> None:
    services.send_reply(ticket, "Here is how.", "agent")
    html = page(founder_client, ticket)
    assert "Was the intent wrong?" in html
    assert "Approve and send" not in html


def test_it_answers_404_for_an_unknown_ticket(founder_client: Client) -> None:
    assert founder_client.get(reverse("web:ticket", kwargs={"pk": 999})).status_code == 404
