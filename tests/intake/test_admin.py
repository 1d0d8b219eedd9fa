"""The Django admin covers every FounderOps model; records written by agents stay read-only."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai.models import TrainedModel
from founderops.api.tokens import create_token
from founderops.core import audit, clock
from founderops.support import services
from founderops.support.models import KnowledgeArticle

pytestmark = pytest.mark.django_db


def founderops_models() -> list[str]:
    return sorted(
        m._meta.label for m in apps.get_models() if m.__module__.startswith("founderops.")
    )


def test_it_registers_every_founderops_model() -> None:
    registered = {m._meta.label for m in admin.site._registry}
    assert [label for label in founderops_models() if label not in registered] == []


def test_it_shows_the_list_of_every_founderops_model(founder_client: Client) -> None:
    failing = []
    for label in founderops_models():
        meta = apps.get_model(label)._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        if founder_client.get(url).status_code != 200:
            failing.append(label)
    assert failing == []


def test_it_keeps_the_audit_trail_read_only(founder_client: Client) -> None:
    event = audit.record("system", "test.event")
    change = reverse("admin:core_auditevent_change", args=[event.pk])
    assert founder_client.get(reverse("admin:core_auditevent_add")).status_code == 403
    assert founder_client.post(change, {"actor": "someone else"}).status_code == 403


def test_it_saves_an_article_with_one_example_a_line(founder_client: Client) -> None:
    founder_client.post(
        reverse("admin:support_knowledgearticle_add"),
        {
            "title": "Refunds",
            "slug": "refunds",
            "intent": "refund_request",
            "published": "on",
            "answer": "We refund within 14 days.",
            "body": "Policy.",
            "examples": "I want a refund\n\nmoney back please\n",
        },
    )
    assert KnowledgeArticle.objects.get().examples == ["I want a refund", "money back please"]


def test_it_refuses_the_unknown_intent_for_an_article(founder_client: Client) -> None:
    response = founder_client.post(
        reverse("admin:support_knowledgearticle_add"),
        {"title": "T", "slug": "t", "intent": "oos", "answer": "A", "body": "B", "examples": ""},
    )
    assert response.status_code == 200
    assert not KnowledgeArticle.objects.exists()


def test_it_refuses_a_second_article_for_an_intent_in_the_admin(founder_client: Client) -> None:
    services.save_article("refunds", "Refunds", "refund_request", "", "We refund.", [])
    response = founder_client.post(
        reverse("admin:support_knowledgearticle_add"),
        {
            "title": "Money back",
            "slug": "money-back",
            "intent": "refund_request",
            "answer": "A",
            "body": "B",
            "examples": "",
        },
    )
    assert response.status_code == 200
    assert "intent &#x27;refund_request&#x27; is already answered by article refunds" in (
        response.content.decode()
    )
    assert KnowledgeArticle.objects.count() == 1


def test_it_shows_a_tickets_messages(founder_client: Client) -> None:
    ticket, _ = services.receive_ticket(
        services.Incoming(email="ada@example.com", body="My invoice is wrong"), triage=False
    )
    page = founder_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert b"My invoice is wrong" in page.content
    assert b"<textarea" not in page.content


def test_it_never_shows_a_tokens_digest(founder_client: Client, founder: User) -> None:
    row, _ = create_token(founder, "helpdesk", ["tickets:read"])
    page = founder_client.get(reverse("admin:api_apitoken_change", args=[row.pk]))
    assert page.status_code == 200
    assert row.digest.encode() not in page.content


def test_it_never_shows_a_trained_models_blob(founder_client: Client) -> None:
    model = TrainedModel.objects.create(
        name="support-intent", version=1, created_at=clock.now(), blob=b"SECRET-BLOB"
    )
    page = founder_client.get(reverse("admin:ai_trainedmodel_change", args=[model.pk]))
    assert page.status_code == 200
    assert b"SECRET-BLOB" not in page.content
