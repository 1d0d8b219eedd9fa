"""Every cockpit form needs its CSRF token: without it nothing changes (403)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai.models import AgentPolicy, AgentSwitch, Approval
from founderops.support import services
from founderops.support.models import KnowledgeArticle, SavedReply
from tests.cockpit.conftest import csrf_token

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Form:
    page: str  # where the form is
    action: str  # where it posts
    data: dict[str, str]
    done: Callable[[], bool]  # whether the post changed what it should


@pytest.fixture
def forms(founder: User, escalation: Approval, reset_article: KnowledgeArticle) -> dict[str, Form]:
    macro = services.save_macro("Thanks", "Thanks {name}!", "", founder)
    article = reverse("web:article", kwargs={"pk": reset_article.pk})
    edit = reverse("web:article_edit", kwargs={"pk": reset_article.pk})
    ticket = reverse("web:ticket", kwargs={"pk": escalation.subject_id})
    article_fields = {
        "title": "Reset",
        "intent": "reset_password",
        "answer": "Use the link.",
        "examples": "",
    }
    return {
        "article_new": Form(
            reverse("web:article_new"),
            reverse("web:article_new"),
            {**article_fields, "title": "New one", "intent": "new_one"},
            lambda: KnowledgeArticle.objects.filter(intent="new_one").exists(),
        ),
        "article_edit": Form(
            edit,
            edit,
            article_fields,
            lambda: KnowledgeArticle.objects.filter(title="Reset").exists(),
        ),
        "article_publish": Form(
            article,
            reverse("web:article_publish", kwargs={"pk": reset_article.pk}),
            {"published": "false"},
            lambda: not KnowledgeArticle.objects.get(pk=reset_article.pk).published,
        ),
        "macro_new": Form(
            reverse("web:macro_new"),
            reverse("web:macro_new"),
            {"title": "Bye", "body": "Bye!", "intent": ""},
            lambda: SavedReply.objects.filter(title="Bye").exists(),
        ),
        "macro_edit": Form(
            reverse("web:macro_edit", kwargs={"pk": macro.pk}),
            reverse("web:macro_edit", kwargs={"pk": macro.pk}),
            {"title": "Thanks!", "body": "Thanks.", "intent": ""},
            lambda: SavedReply.objects.filter(title="Thanks!").exists(),
        ),
        "macro_delete": Form(
            reverse("web:macros"),
            reverse("web:macro_delete", kwargs={"pk": macro.pk}),
            {},
            lambda: not SavedReply.objects.filter(pk=macro.pk).exists(),
        ),
        "macro_use": Form(
            ticket,
            reverse("web:macro_use", kwargs={"pk": escalation.subject_id}),
            {"macro": str(macro.pk)},
            lambda: SavedReply.objects.get(pk=macro.pk).uses == 1,
        ),
        "agent_switch": Form(
            reverse("web:agents"),
            reverse("web:agent_switch", kwargs={"agent": "support"}),
            {"enabled": "off"},
            lambda: AgentSwitch.objects.filter(agent="support", enabled=False).exists(),
        ),
        "agent_precision": Form(
            reverse("web:agents"),
            reverse("web:agent_precision", kwargs={"agent": "support"}),
            {"support-target_precision": "90"},
            lambda: AgentSwitch.objects.filter(target_precision=0.9).exists(),
        ),
        "agent_policy": Form(
            reverse("web:agents"),
            reverse("web:agent_policy", kwargs={"agent": "support", "action": "reply"}),
            {"support-reply-mode": "approval"},
            lambda: AgentPolicy.objects.filter(mode="approval").exists(),
        ),
    }


NAMES = [
    "article_new",
    "article_edit",
    "article_publish",
    "macro_new",
    "macro_edit",
    "macro_delete",
    "macro_use",
    "agent_switch",
    "agent_precision",
    "agent_policy",
]


@pytest.mark.parametrize("name", NAMES)
def test_it_refuses_a_form_without_its_token(
    csrf_client: Client, forms: dict[str, Form], name: str
) -> None:
    form = forms[name]
    assert csrf_client.post(form.action, form.data).status_code == 403
    assert not form.done()


@pytest.mark.parametrize("name", NAMES)
def test_it_accepts_the_form_with_the_token_its_page_gave(
    csrf_client: Client, forms: dict[str, Form], name: str
) -> None:
    form = forms[name]
    token = csrf_token(csrf_client.get(form.page).content.decode())
    response = csrf_client.post(form.action, {**form.data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert form.done()


def test_it_refuses_the_live_preview_without_the_htmx_token_header(csrf_client: Client) -> None:
    url = reverse("web:article_preview")
    assert csrf_client.post(url, {"answer": "**hi**"}).status_code == 403
    page = csrf_client.get(reverse("web:article_new")).content.decode()
    token = page.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0]
    response = csrf_client.post(url, {"answer": "**hi**"}, headers={"X-CSRFToken": token})
    assert b"<strong>hi</strong>" in response.content
