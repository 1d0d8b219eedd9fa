"""The audit viewer: filters by actor, action, subject and days; exports the filtered set."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from founderops.core import audit

pytestmark = pytest.mark.django_db


def on(day: str, action: str, actor: str = "agent:support", subject: object = 1) -> None:
    with time_machine.travel(f"2026-03-{day}T12:00:00Z", tick=False):
        audit.record(actor, action, ("ticket", subject))


def exported(client: Client, **params: str) -> list[dict[str, Any]]:
    response = client.get(reverse("web:audit_export"), params)
    assert isinstance(response, StreamingHttpResponse)
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_it_filters_by_days_both_ends_included(founder_client: Client) -> None:
    for day, action in (("05", "a.fifth"), ("06", "a.sixth"), ("07", "a.seventh")):
        on(day, action)
    html = founder_client.get(reverse("web:audit"), {"since": "2026-03-06"}).content.decode()
    assert "<code>a.sixth</code>" in html
    assert "<code>a.seventh</code>" in html
    assert "<code>a.fifth</code>" not in html
    html = founder_client.get(reverse("web:audit"), {"until": "2026-03-06"}).content.decode()
    assert "<code>a.sixth</code>" in html
    assert "<code>a.seventh</code>" not in html


def test_it_combines_actor_action_subject_and_days(founder_client: Client) -> None:
    on("05", "support.escalate", subject=1)
    on("06", "support.escalate", subject=1)
    on("06", "support.escalate", subject=2)
    on("06", "support.escalate", actor="user:fiona", subject=1)
    on("06", "support.auto_reply", subject=1)
    params = {
        "actor": "agent:",
        "action": "support.escalate",
        "subject": "ticket:1",
        "since": "2026-03-06",
    }
    html = founder_client.get(reverse("web:audit"), params).content.decode()
    assert '<p class="muted count-line" id="audit-count">1 event</p>' in html


def test_it_exports_exactly_the_filtered_events(founder_client: Client) -> None:
    on("05", "support.escalate")
    on("06", "support.escalate")
    on("06", "support.auto_reply")
    records = exported(founder_client, action="support.escalate", since="2026-03-06")
    assert [(r["action"], r["created_at"][:10]) for r in records] == [
        ("support.escalate", "2026-03-06")
    ]


def test_it_records_the_export_with_its_filters(founder_client: Client) -> None:
    exported(founder_client, action="support.escalate", since="2026-03-06")
    records = exported(founder_client, action="audit.exported")
    assert records[0]["details"] == {
        "filters": {"action": "support.escalate", "since": "2026-03-06"}
    }


def test_it_links_the_export_to_the_filters_shown(founder_client: Client) -> None:
    html = founder_client.get(
        reverse("web:audit"), {"actor": "agent:", "since": "2026-03-06", "page": "2"}
    ).content.decode()
    assert 'href="/audit/export.jsonl?actor=agent%3A&amp;since=2026-03-06"' in html


def test_it_ignores_a_date_it_cannot_read(founder_client: Client) -> None:
    on("05", "support.escalate")
    html = founder_client.get(reverse("web:audit"), {"since": "last week"}).content.decode()
    assert "<code>support.escalate</code>" in html


def test_it_links_an_article_subject_to_its_page(founder_client: Client) -> None:
    audit.record("user:fiona", "support.article_saved", ("article", 3))
    html = founder_client.get(reverse("web:audit")).content.decode()
    assert f'href="{reverse("web:article", kwargs={"pk": 3})}">article #3</a>' in html
