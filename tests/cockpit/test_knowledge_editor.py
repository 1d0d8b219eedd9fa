"""The knowledge base editor: write, preview, unpublish; what each article answered."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from founderops.core.models import AuditEvent
from founderops.support.models import KnowledgeArticle, Message
from tests.cockpit.conftest import answered, rate

pytestmark = pytest.mark.django_db

NEW = {
    "title": "Change your e-mail address",
    "intent": "change_email",
    "answer": "Open **Settings → Account** and type the new address.",
    "body": "Longer explanation.",
    "examples": "How do I change my email?\n\n  change   my e-mail  \nHow do I change my email?\n",
    "published": "on",
}


def article_page(client: Client, article: KnowledgeArticle) -> str:
    response = client.get(reverse("web:article", kwargs={"pk": article.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_it_creates_an_article_with_one_example_per_line(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:article_new"), NEW)
    article = KnowledgeArticle.objects.get(intent="change_email")
    assert response["Location"] == reverse("web:article", kwargs={"pk": article.pk})
    assert article.slug == "change-your-e-mail-address"
    assert article.examples == ["How do I change my email?", "change my e-mail"]
    assert article.published


def test_it_audits_and_retrains_after_a_save(
    founder_client: Client,
    queued: list[tuple[str, tuple[Any, ...]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        founder_client.post(reverse("web:article_new"), NEW)
    event = AuditEvent.objects.get(action="support.article_saved")
    assert (event.actor, event.outcome) == ("user:fiona", "published")
    assert queued == [("founderops.support.tasks.refresh_classifier", ())]


def test_it_edits_an_article_and_keeps_its_address(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    url = reverse("web:article_edit", kwargs={"pk": reset_article.pk})
    data = {**NEW, "intent": "reset_password", "title": "Reset it", "slug": "hijacked"}
    assert founder_client.post(url, data).status_code == 302
    reset_article.refresh_from_db()
    assert (reset_article.slug, reset_article.title) == ("reset-password", "Reset it")


def test_it_fills_the_edit_form_with_the_article(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    html = founder_client.get(reverse("web:article_edit", kwargs={"pk": reset_article.pk})).content
    assert b"I forgot my password\nhow do I reset my password</textarea>" in html
    assert b'name="published" id="id_published" checked' in html


def test_it_unpublishes_an_article_in_one_click(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    url = reverse("web:article_publish", kwargs={"pk": reset_article.pk})
    founder_client.post(url, {"published": "false"})
    reset_article.refresh_from_db()
    assert not reset_article.published
    assert "Draft: the agent does not use it" in article_page(founder_client, reset_article)
    assert AuditEvent.objects.get(action="support.article_saved").outcome == "unpublished"


def test_it_publishes_it_again(founder_client: Client, reset_article: KnowledgeArticle) -> None:
    url = reverse("web:article_publish", kwargs={"pk": reset_article.pk})
    founder_client.post(url, {"published": "false"})
    founder_client.post(url, {"published": "true"})
    reset_article.refresh_from_db()
    assert reset_article.published


def test_it_refuses_an_address_already_used(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "slug": "reset-password"})
    assert response.status_code == 400
    assert "An article already uses the address" in response.content.decode()
    reset_article.refresh_from_db()
    assert reset_article.title == "Reset your password"


def test_it_refuses_an_intent_another_article_answers(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "intent": "reset_password"})
    assert response.status_code == 400
    assert "is already answered by article reset-password" in response.content.decode()
    assert KnowledgeArticle.objects.count() == 1


@pytest.mark.parametrize("intent", ["Change Email", "oos-ish!", "_x"])
def test_it_refuses_an_intent_that_is_not_a_plain_name(founder_client: Client, intent: str) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "intent": intent})
    assert response.status_code == 400
    assert "Use lower-case letters, digits and underscores" in response.content.decode()


def test_it_refuses_the_unknown_intent(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "intent": "oos"})
    assert response.status_code == 400
    assert "needs an intent other than" in response.content.decode()


def test_it_keeps_what_was_typed_when_it_refuses(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "answer": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Change your e-mail address"' in html
    assert "This field is required." in html


def test_it_previews_the_answer_without_saving(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:article_new"), {**NEW, "preview": "1"})
    assert response.status_code == 200
    assert "<strong>Settings → Account</strong>" in response.content.decode()
    assert not KnowledgeArticle.objects.exists()


def test_it_renders_the_live_preview_sanitised(founder_client: Client) -> None:
    answer = (
        "**Hi** <script>alert(1)</script> [x](javascript:alert(1)) ![p](https://t.example/p.png)"
    )
    html = founder_client.post(reverse("web:article_preview"), {"answer": answer}).content.decode()
    assert "<strong>Hi</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<img" not in html


def test_it_counts_the_tickets_the_article_answered(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    answered("Auto one", article=reset_article, email="a@example.com")
    answered("Auto two", article=reset_article, email="b@example.com")
    answered("By Fiona", by=Message.Author.FOUNDER, article=reset_article, email="c@example.com")
    answered("Other article", email="d@example.com")
    html = article_page(founder_client, reset_article)
    assert '<dd id="article-total">3</dd>' in html
    assert '<dd id="article-automatic">2</dd>' in html
    assert '<dd id="article-founder">1</dd>' in html
    assert "Auto one" in html
    assert "Other article" not in html


def test_it_shows_the_csat_of_the_replies_it_answered(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    rate(answered("Auto one", article=reset_article, email="a@example.com"), "good")
    rate(answered("Auto two", article=reset_article, email="b@example.com"), "bad")
    founders = answered("Fiona", by=Message.Author.FOUNDER, article=reset_article, email="c@x.com")
    rate(founders, "good")
    csat = (
        article_page(founder_client, reset_article).split('id="article-csat"')[1].split("</dl>")[0]
    )
    assert "67% good" in csat
    assert "(2 of 3)" in csat
    assert '50% <span class="muted">(1 of 2)</span>' in csat
    assert '100% <span class="muted">(1 of 1)</span>' in csat


def test_it_lets_a_viewer_read_but_not_edit(
    viewer_client: Client, reset_article: KnowledgeArticle
) -> None:
    html = article_page(viewer_client, reset_article)
    assert 'id="edit-article"' not in html
    assert (
        viewer_client.get(reverse("web:article_edit", kwargs={"pk": reset_article.pk})).status_code
        == 403
    )
    assert viewer_client.post(reverse("web:article_new"), NEW).status_code == 403
    assert KnowledgeArticle.objects.count() == 1
