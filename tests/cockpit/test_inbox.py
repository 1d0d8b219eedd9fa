"""The approval inbox at /inbox/: most urgent first, paged, with keyboard shortcuts."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.support.models import KnowledgeArticle, Ticket
from founderops.web import access
from tests.web.cast import escalate_with_draft, new_ticket

pytestmark = pytest.mark.django_db


def inbox(client: Client, **params: str) -> str:
    response = client.get(reverse("web:inbox"), params)
    assert response.status_code == 200
    return response.content.decode()


def waiting(subject: str, article: KnowledgeArticle, priority: int = 3, at: str = "") -> Ticket:
    with time_machine.travel(at or "2026-03-01T09:00:00Z", tick=False):
        ticket = new_ticket(subject, f"About {subject}", f"{subject.replace(' ', '')}@example.com")
        Ticket.objects.filter(pk=ticket.pk).update(priority=priority)
        escalate_with_draft(ticket, article)
    return ticket


def test_it_lives_at_its_own_address(founder_client: Client, escalation: Approval) -> None:
    assert reverse("web:inbox") == "/inbox/"
    assert "Can&#x27;t find the reset link" in inbox(founder_client)


def test_it_shows_urgent_before_older_normal_ones(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    waiting("Old question", reset_article, at="2026-03-01T08:00:00Z")
    waiting("Site down", reset_article, priority=1, at="2026-03-01T10:00:00Z")
    html = inbox(founder_client)
    assert html.index("Site down") < html.index("Old question")


def test_it_pages_in_the_same_order(
    founder_client: Client, reset_article: KnowledgeArticle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "INBOX_PAGE_SIZE", 2)
    waiting("Normal one", reset_article, at="2026-03-01T08:00:00Z")
    waiting("Normal two", reset_article, at="2026-03-01T08:30:00Z")
    waiting("Urgent one", reset_article, priority=1, at="2026-03-01T11:00:00Z")
    first, second = inbox(founder_client), inbox(founder_client, page="2")
    assert "Urgent one" in first
    assert "Normal one" in first
    assert "Normal two" in second
    assert "Normal two" not in first
    assert "3 waiting for you" in first
    assert 'href="?page=2" rel="next">Next →</a>' in first


def test_it_shows_an_approval_of_another_agent_without_a_ticket(
    founder_client: Client, escalation: Approval
) -> None:
    Approval.objects.create(
        created_at=escalation.created_at,
        agent="billing",
        action="refund",
        subject_type="payment",
        subject_id="pi_123",
        summary="Refund 80.00 USD to Ada",
        reason="over the 50.00 USD limit",
    )
    html = inbox(founder_client)
    assert "billing · refund" in html
    assert "Refund 80.00 USD to Ada" in html


def test_it_documents_its_keyboard_shortcuts(founder_client: Client, escalation: Approval) -> None:
    html = inbox(founder_client)
    assert '<dialog id="shortcuts-help"' in html
    for key in ("j", "k", "Enter", "o", "a", "e", "r", "/", "?"):
        assert f"<kbd>{key}</kbd>" in html


def test_it_marks_each_item_for_the_keyboard(founder_client: Client, escalation: Approval) -> None:
    html = inbox(founder_client)
    assert '<ol class="inbox" id="inbox-list" data-nav-list' in html
    assert f'id="approval-{escalation.pk}"' in html
    assert 'class="inbox-link" href="/tickets/' in html
    assert "data-nav-open" in html


def test_it_offers_a_search_the_slash_key_focuses(founder_client: Client) -> None:
    html = inbox(founder_client)
    assert f'action="{reverse("web:tickets")}"' in html
    assert 'id="inbox-search" placeholder="Search tickets" data-shortcut="search"' in html


def test_it_binds_the_ticket_page_buttons_to_their_keys(
    founder_client: Client, escalation: Approval
) -> None:
    html = founder_client.get(reverse("web:ticket", kwargs={"pk": escalation.subject_id})).content
    assert b'id="approve-button" data-shortcut="approve"' in html
    assert b'id="reject-button" data-shortcut="reject"' in html
    assert b'<dialog id="shortcuts-help"' in html


def other_approval(subject_type: str, subject_id: str, at: str) -> Approval:
    return Approval.objects.create(
        created_at=at,
        agent="billing",
        action="refund",
        subject_type=subject_type,
        subject_id=subject_id,
        summary=f"About {subject_type} {subject_id}",
        reason="over the limit",
    )


def order() -> list[str]:
    return [a.summary for a in access.inbox_order()]


def test_it_orders_every_pending_approval_by_priority_then_age(
    reset_article: KnowledgeArticle,
) -> None:
    waiting("Low oldest", reset_article, priority=4, at="2026-03-01T07:00:00Z")
    waiting("Normal old", reset_article, priority=3, at="2026-03-01T08:00:00Z")
    waiting("High older", reset_article, priority=2, at="2026-03-01T08:30:00Z")
    waiting("Urgent newest", reset_article, priority=1, at="2026-03-01T12:00:00Z")
    waiting("High newer", reset_article, priority=2, at="2026-03-01T11:00:00Z")
    other_approval("payment", "pi_1", at="2026-03-01T09:00:00Z")
    summaries = order()
    subjects = ["Urgent newest", "High older", "High newer", "Normal old", "payment", "Low oldest"]
    assert [next(s for s in summaries if subject in s) for subject in subjects] == summaries


def test_it_ranks_approvals_whose_subject_is_no_ticket_id_as_normal(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    waiting("Low", reset_article, priority=4, at="2026-03-01T07:00:00Z")
    other_approval("ticket", "not-a-number", at="2026-03-01T08:00:00Z")
    other_approval("ticket", "12abc", at="2026-03-01T08:10:00Z")
    other_approval("ticket", "9" * 30, at="2026-03-01T08:20:00Z")
    other_approval("ticket", "999999", at="2026-03-01T08:30:00Z")  # a deleted ticket
    assert order() == [
        "About ticket not-a-number",
        "About ticket 12abc",
        f"About ticket {'9' * 30}",
        "About ticket 999999",
        next(a.summary for a in Approval.objects.filter(subject_type="ticket", agent="support")),
    ]
    html = inbox(founder_client)
    assert "About ticket 12abc" in html
    assert "5 waiting for you" in html


def test_it_gives_a_later_page_in_the_same_order(
    reset_article: KnowledgeArticle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "INBOX_PAGE_SIZE", 2)
    for n in range(5):
        waiting(f"Question {n}", reset_article, at=f"2026-03-01T0{n}:00:00Z")
    page = access.inbox_page("2")
    assert [row.ticket.subject for row in page.object_list if row.ticket] == [
        "Question 2",
        "Question 3",
    ]
    assert page.paginator.count == 5


def test_it_dates_and_links_each_row(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    ticket = waiting("Dated", reset_article, at="2026-03-01T08:00:00Z")
    with time_machine.travel("2026-03-01T10:30:00Z", tick=False):
        html = inbox(founder_client)
    row = html.split('id="approval-')[1].split("</li>")[0]
    assert f'href="{reverse("web:ticket", args=[ticket.pk])}"' in row
    assert 'datetime="2026-03-01T08:00:00+00:00"' in row
    assert 'title="March 1, 2026, 8 a.m."' in row
    assert "2\xa0hours, 30\xa0minutes ago" in row
