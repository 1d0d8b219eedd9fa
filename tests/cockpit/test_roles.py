"""Roles on the cockpit pages: viewers see everything and change nothing; agents act;
owners alone change agent settings; anonymous visitors meet the login page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai.models import AgentPolicy, AgentSwitch, Approval
from founderops.support import services
from founderops.support.models import KnowledgeArticle, SavedReply, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(founder: User, escalation: Approval, reset_article: KnowledgeArticle) -> list[str]:
    macro = services.save_macro("Thanks", "Thanks {name}!", "", founder)
    customer = Ticket.objects.get(pk=escalation.subject_id).customer_id
    return [
        reverse("web:home"),
        reverse("web:inbox"),
        reverse("web:tickets"),
        reverse("web:ticket", kwargs={"pk": escalation.subject_id}),
        reverse("web:customers"),
        reverse("web:customer", kwargs={"pk": customer}),
        reverse("web:knowledge"),
        reverse("web:article", kwargs={"pk": reset_article.pk}),
        reverse("web:macros"),
        reverse("web:agents"),
        reverse("web:audit"),
        f"{reverse('web:macro_edit', kwargs={'pk': macro.pk})}",
    ]


def posts(escalation: Approval, article: KnowledgeArticle) -> list[tuple[str, dict[str, str]]]:
    macro = SavedReply.objects.get()
    return [
        (reverse("web:article_new"), {"title": "X", "intent": "x", "answer": "x"}),
        (reverse("web:article_edit", kwargs={"pk": article.pk}), {"title": "X"}),
        (reverse("web:article_publish", kwargs={"pk": article.pk}), {"published": "false"}),
        (reverse("web:article_preview"), {"answer": "x"}),
        (reverse("web:macro_new"), {"title": "X", "body": "x"}),
        (reverse("web:macro_edit", kwargs={"pk": macro.pk}), {"title": "X", "body": "x"}),
        (reverse("web:macro_delete", kwargs={"pk": macro.pk}), {}),
        (reverse("web:macro_use", kwargs={"pk": escalation.subject_id}), {"macro": str(macro.pk)}),
        *owner_posts(),
    ]


def owner_posts() -> list[tuple[str, dict[str, str]]]:
    return [
        (reverse("web:agent_switch", kwargs={"agent": "support"}), {"enabled": "off"}),
        (
            reverse("web:agent_precision", kwargs={"agent": "support"}),
            {"support-target_precision": "90"},
        ),
        (
            reverse("web:agent_policy", kwargs={"agent": "support", "action": "reply"}),
            {"support-reply-mode": "approval"},
        ),
    ]


def test_a_viewer_sees_every_page(viewer_client: Client, pages: list[str]) -> None:
    assert {url: viewer_client.get(url).status_code for url in pages} == {
        url: 403 if "/saved-replies/" in url and url != reverse("web:macros") else 200
        for url in pages
    }


def test_a_viewer_changes_nothing(
    viewer_client: Client, pages: list[str], escalation: Approval, reset_article: KnowledgeArticle
) -> None:
    codes = {
        url: viewer_client.post(url, data).status_code
        for url, data in posts(escalation, reset_article)
    }
    assert set(codes.values()) == {403}
    assert SavedReply.objects.get().uses == 0
    assert KnowledgeArticle.objects.get().published
    assert not AgentSwitch.objects.exists()
    assert not AgentPolicy.objects.exists()


def test_it_tells_a_viewer_which_role_an_action_needs(
    viewer_client: Client, escalation: Approval, reset_article: KnowledgeArticle
) -> None:
    response = viewer_client.post(reverse("web:article_new"), {"title": "X"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "This needs the agent role; your account is viewer." in page
    assert "Ask the owner for a staff account" not in page


def test_a_viewer_is_shown_no_forms_to_change_things(
    viewer_client: Client, pages: list[str], escalation: Approval
) -> None:
    ticket = viewer_client.get(reverse("web:ticket", kwargs={"pk": escalation.subject_id}))
    assert b'id="macro-picker"' not in ticket.content
    assert b'id="new-article"' not in viewer_client.get(reverse("web:knowledge")).content
    switch = reverse("web:agent_switch", kwargs={"agent": "support"}).encode()
    assert switch not in viewer_client.get(reverse("web:agents")).content


def test_an_agent_may_not_change_agent_settings(agent_client: Client, pages: list[str]) -> None:
    assert {agent_client.post(url, data).status_code for url, data in owner_posts()} == {403}
    assert not AgentSwitch.objects.exists()
    assert not AgentPolicy.objects.exists()


def test_an_agent_may_write_knowledge_and_saved_replies(agent_client: Client) -> None:
    agent_client.post(reverse("web:macro_new"), {"title": "Hi", "body": "Hello {name}"})
    agent_client.post(
        reverse("web:article_new"), {"title": "Hi", "intent": "greeting", "answer": "Hello"}
    )
    assert SavedReply.objects.filter(title="Hi").exists()
    assert KnowledgeArticle.objects.filter(intent="greeting").exists()


@pytest.mark.parametrize(
    "name", ["web:home", "web:customers", "web:macros", "web:agents", "web:article_new"]
)
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
