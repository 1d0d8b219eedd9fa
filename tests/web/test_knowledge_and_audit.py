"""The knowledge list and the audit log with its JSONL export."""

from __future__ import annotations

import json

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.core import audit
from founderops.support import services
from founderops.support.models import KnowledgeArticle

pytestmark = pytest.mark.django_db


def test_it_lists_the_knowledge_articles(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    html = founder_client.get(reverse("web:knowledge")).content.decode()
    assert "Reset your password" in html
    assert "2 example questions" in html


def test_it_links_each_article_to_its_editor(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    html = founder_client.get(reverse("web:knowledge")).content.decode()
    assert reverse("web:article_edit", kwargs={"pk": reset_article.pk}) in html


def test_it_renders_article_markdown_sanitised(founder_client: Client) -> None:
    answer = "**Bold** <script>alert(1)</script> [link](javascript:alert(1))"
    services.save_article("x", "X", "x_intent", "", answer, [])
    html = founder_client.get(reverse("web:knowledge")).content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)" not in html
    assert "javascript:" not in html


def test_it_filters_the_audit_log_by_actor(founder_client: Client) -> None:
    audit.record("agent:support", "support.escalate", ("ticket", 1))
    audit.record("user:fiona", "support.ticket_labelled", ("ticket", 1))
    html = founder_client.get(reverse("web:audit"), {"actor": "user:"}).content.decode()
    assert "<code>support.ticket_labelled</code>" in html
    assert "<code>support.escalate</code>" not in html


def test_it_filters_the_audit_log_by_action(founder_client: Client) -> None:
    audit.record("agent:support", "support.escalate", ("ticket", 1))
    audit.record("agent:support", "support.auto_reply", ("ticket", 2))
    html = founder_client.get(reverse("web:audit"), {"action": "support.escalate"}).content
    assert b"<code>support.escalate</code>" in html
    assert b"<code>support.auto_reply</code>" not in html


def test_it_exports_the_audit_trail_as_jsonl(founder_client: Client, escalation: Approval) -> None:
    response = founder_client.get(reverse("web:audit_export"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/jsonl"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["action"] for line in lines] == [
        "support.ticket_received",
        "support.approval_requested",
        "audit.exported",
    ]


def test_it_exports_only_the_filtered_events(founder_client: Client) -> None:
    audit.record("agent:support", "support.escalate", ("ticket", 1))
    audit.record("agent:support", "support.auto_reply", ("ticket", 2))
    response = founder_client.get(reverse("web:audit_export"), {"subject": "ticket:2"})
    assert isinstance(response, StreamingHttpResponse)
    records = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [r["action"] for r in records] == ["support.auto_reply"]


def test_it_drops_images_from_article_markdown(founder_client: Client) -> None:
    answer = 'See ![the screen](https://tracker.example/pixel.png) <img src="x"> **here**.'
    services.save_article("x", "X", "x_intent", "", answer, [])
    html = founder_client.get(reverse("web:knowledge")).content.decode()
    assert "<strong>here</strong>" in html
    assert "<img" not in html
    assert "tracker.example" not in html
