"""Home, today at a glance: what needs the founder, what the agents did, the key figures."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.core import audit, clock
from founderops.support.models import Decision, KnowledgeArticle, Message, Ticket
from founderops.web import home_views
from tests.cockpit.conftest import answered, rate
from tests.web.cast import escalate_with_draft, new_ticket

pytestmark = pytest.mark.django_db

NOON = "2026-03-10T12:00:00Z"


def home(client: Client) -> str:
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    return response.content.decode()


def figure(html: str, key: str) -> str:
    found = re.search(
        rf'id="figure-{key}">\s*<dt>[^<]*</dt>\s*<dd class="figure-value">([^<]*)</dd>', html
    )
    assert found is not None, f"no figure {key}"
    return found.group(1)


def hint(html: str, key: str) -> str:
    block = html.split(f'id="figure-{key}"')[1].split("</div>")[0]
    found = re.search(r'<dd class="hint">([^<]*)</dd>', block)
    return found.group(1) if found else ""


def decide(ticket: Ticket, action: str) -> Decision:
    return Decision.objects.create(
        ticket=ticket,
        created_at=ticket.created_at,
        action=action,
        confidence=0.9,
        reason="test",
        model_version="test",
    )


def test_it_is_the_page_the_root_url_serves(founder_client: Client) -> None:
    assert reverse("web:home") == "/"
    assert "<h1>Today at a glance</h1>" in home(founder_client)


def test_it_links_the_inbox_with_the_number_waiting(
    founder_client: Client, escalation: Approval
) -> None:
    html = home(founder_client)
    assert (
        f'<a href="{reverse("web:inbox")}" id="pending-count" data-count="1">1 waiting</a>' in html
    )


def test_it_names_the_oldest_approval_waiting(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    with time_machine.travel("2026-03-10T08:00:00Z", tick=False):
        escalate_with_draft(new_ticket("First in", "Old question", "a@example.com"), reset_article)
    with time_machine.travel("2026-03-10T11:00:00Z", tick=False):
        escalate_with_draft(new_ticket("Second in", "New question", "b@example.com"), reset_article)
    with time_machine.travel(NOON, tick=False):
        html = home(founder_client)
    oldest = html.split('id="oldest-waiting"')[1].split("</p>")[0]
    assert "First in" in oldest
    assert "4\xa0hours" in oldest


def test_it_lists_urgent_tickets_before_high_ones(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    high = new_ticket("Invoice is wrong", "billing problem", "h@example.com")
    urgent = new_ticket("Site is down", "outage!", "u@example.com")
    normal = new_ticket("Dark mode?", "feature idea", "n@example.com")
    for ticket, priority in ((high, 2), (urgent, 1), (normal, 3)):
        Ticket.objects.filter(pk=ticket.pk).update(priority=priority)
        escalate_with_draft(ticket, reset_article)
    listed = home(founder_client).split('id="urgent-tickets"')[1].split("</ul>")[0]
    assert listed.index("Site is down") < listed.index("Invoice is wrong")
    assert "Dark mode?" not in listed


def test_it_says_when_nothing_urgent_waits(founder_client: Client, escalation: Approval) -> None:
    assert "Nothing urgent is waiting." in home(founder_client)


@time_machine.travel(NOON, tick=False)
def test_it_counts_what_the_agents_did_today(founder_client: Client) -> None:
    today = [new_ticket(f"Q{n}", "question", f"q{n}@example.com") for n in range(3)]
    yesterday = new_ticket("Old", "question", "old@example.com")
    decide(today[0], Decision.Action.AUTO_REPLY)
    decide(today[1], Decision.Action.AUTO_REPLY)
    decide(today[2], Decision.Action.ESCALATE)
    Ticket.objects.filter(pk=yesterday.pk).update(
        created_at=yesterday.created_at - timedelta(days=1)
    )
    yesterday.refresh_from_db()
    decide(yesterday, Decision.Action.AUTO_REPLY)
    html = home(founder_client)
    assert '<dd class="figure-value" id="auto-answers-today">2</dd>' in html
    assert '<dd class="figure-value" id="escalations-today">1</dd>' in html


def test_it_lists_the_latest_agent_actions_and_not_the_founders(founder_client: Client) -> None:
    audit.record("agent:support", "support.auto_reply", ("ticket", 7), outcome="answered")
    audit.record("user:fiona", "support.ticket_labelled", ("ticket", 7), outcome="corrected")
    events = home(founder_client).split('id="agent-events"')[1].split("</ul>")[0]
    assert "Answered automatically on <a" in events
    assert "Intent corrected" not in events


def test_it_describes_agent_actions_in_words_not_action_ids(founder_client: Client) -> None:
    audit.record("agent:monitoring", "incidents.reminded", ("incident", 4))
    events = home(founder_client).split('id="agent-events"')[1].split("</ul>")[0]
    text = " ".join(re.sub(r"<[^>]+>", "", events).split())
    assert "> Reminder sent for incident #4 Monitoring Agent ·" in text
    assert "incidents.reminded" not in events
    assert "incident:4" not in events
    assert "Monitoring Agent" in events


@time_machine.travel(NOON, tick=False)
def test_it_counts_tickets_today_and_over_seven_days(founder_client: Client) -> None:
    for n in range(2):
        new_ticket(f"Today {n}", "question", f"t{n}@example.com")
    for days in (3, 8):
        old = new_ticket(f"{days} days ago", "question", f"d{days}@example.com")
        Ticket.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=days))
    html = home(founder_client)
    assert figure(html, "tickets-today") == "2"
    assert figure(html, "tickets-week") == "3"


@time_machine.travel("2026-03-10T23:30:00Z", tick=False)
def test_it_starts_today_at_midnight_in_the_founders_time_zone(
    founder_client: Client, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Paris"  # 00:30 on 11 March there
    new_ticket("After midnight in Paris", "question", "p@example.com")
    earlier = new_ticket("Before midnight in Paris", "question", "b@example.com")
    Ticket.objects.filter(pk=earlier.pk).update(created_at=earlier.created_at - timedelta(hours=1))
    assert figure(home(founder_client), "tickets-today") == "1"


@time_machine.travel(NOON, tick=False)
def test_it_shows_the_share_answered_by_the_agent(founder_client: Client) -> None:
    for n in range(3):
        answered(f"Auto {n}", email=f"a{n}@example.com")
    answered("By Fiona", by=Message.Author.FOUNDER, email="f@example.com")
    html = home(founder_client)
    assert figure(html, "automatic-share") == "75%"
    assert hint(html, "automatic-share") == "3 of 4, 7 days"


@time_machine.travel(NOON, tick=False)
def test_it_shows_first_response_percentiles(founder_client: Client) -> None:
    for n, seconds in enumerate([10, 20, 30, 40, 600]):
        answered(f"T{n}", email=f"p{n}@example.com", wait=timedelta(seconds=seconds))
    new_ticket("Still waiting", "no reply yet", "w@example.com")
    html = home(founder_client)
    assert figure(html, "first-response") == "30 s / 10 min"
    assert hint(html, "first-response") == "5 answered, 7 days"


def test_it_shows_no_percentiles_before_any_reply(founder_client: Client) -> None:
    new_ticket("Waiting", "no reply yet", "w@example.com")
    assert figure(home(founder_client), "first-response") == "— / —"


@time_machine.travel(NOON, tick=False)
def test_it_shows_csat_over_thirty_days_with_its_count(founder_client: Client) -> None:
    good = [answered(f"G{n}", email=f"g{n}@example.com") for n in range(3)]
    bad = answered("B", email="b@example.com")
    old = answered("Old", email="o@example.com")
    for ticket in good:
        rate(ticket, "good")
    rate(bad, "bad")
    with time_machine.travel("2026-01-01T12:00:00Z", tick=False):
        rate(old, "bad")
    html = home(founder_client)
    assert figure(html, "csat") == "75%"
    assert hint(html, "csat") == "3 of 4 ratings good, 30 days"


def test_it_says_when_there_are_no_ratings(founder_client: Client) -> None:
    html = home(founder_client)
    assert figure(html, "csat") == "—"
    assert hint(html, "csat") == "no ratings in 30 days"


def test_it_builds_every_domains_card_in_one_list() -> None:
    with time_machine.travel(NOON, tick=False):
        cards = home_views.cards(clock.now())
    assert [c.key for c in cards] == ["health", "support"]
    assert [f.key for f in cards[1].figures] == [
        "tickets-today",
        "tickets-week",
        "automatic-share",
        "first-response",
        "csat",
    ]


def test_it_shows_a_card_a_domain_adds(founder_client: Client, monkeypatch: Any) -> None:
    extra = home_views.Card("revenue", "Revenue", [home_views.Figure("mrr", "MRR", "4,200 USD")])
    monkeypatch.setattr(home_views, "cards", lambda now: [extra])
    html = home(founder_client)
    assert 'id="card-revenue"' in html
    assert figure(html, "mrr") == "4,200 USD"


def load(n: int, reset_article: KnowledgeArticle) -> None:
    """n answered and rated tickets and n escalated ones, with decisions and audit events."""
    for i in range(n):
        t = answered(f"A{n}-{i}", email=f"a{n}-{i}@example.com")
        rate(t, "good")
        decide(t, Decision.Action.AUTO_REPLY)
        waiting = new_ticket(f"E{n}-{i}", "question", f"e{n}-{i}@example.com")
        Ticket.objects.filter(pk=waiting.pk).update(priority=1)
        escalate_with_draft(waiting, reset_article)
        decide(waiting, Decision.Action.ESCALATE)
        audit.record("agent:support", "support.auto_reply", ("ticket", t.pk))


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["web:home", "web:inbox"])
def test_it_runs_as_many_queries_for_many_tickets_as_for_few(
    founder_client: Client, reset_article: KnowledgeArticle, name: str
) -> None:
    load(2, reset_article)
    founder_client.get(reverse(name))  # the session's first request writes it: not counted
    few = queries(founder_client, reverse(name))
    load(20, reset_article)
    many = queries(founder_client, reverse(name))
    assert few == many
    assert many <= 20


def matching(client: Client, url: str, *fragments: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured if all(f in q["sql"] for f in fragments)]


def test_it_counts_the_waiting_approvals_once_for_the_page_and_the_nav(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    load(2, reset_article)
    founder_client.get(reverse("web:home"))
    counts = matching(founder_client, reverse("web:home"), "COUNT(*)", '"ai_approval"')
    assert len(counts) == 1
    assert '<span class="count" title="2 waiting for you">2</span>' in home(founder_client)


@pytest.mark.parametrize("name", ["web:home", "web:knowledge"])
def test_it_reads_the_members_role_once_per_request(
    founder_client: Client, reset_article: KnowledgeArticle, name: str
) -> None:
    founder_client.get(reverse(name))
    assert len(matching(founder_client, reverse(name), '"accounts_membership"')) == 1
