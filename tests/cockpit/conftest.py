"""The cockpit's cast: Ada writes in; Fiona owns the place, Arthur answers, Vera only looks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from founderops.accounts import services as accounts
from founderops.accounts.roles import Role
from founderops.customers.models import Customer
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Message, Rating, Ticket
from tests.web.cast import PASSWORD, new_ticket

# The cockpit shares the web tests' cast of fixtures (pytest finds them imported here).
from tests.web.conftest import (  # noqa: F401
    _static_root,
    escalation,
    reset_article,
    ticket,
)

XSS = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Jobs recorded instead of queued (with on-commit callbacks run by the test)."""
    jobs: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        "founderops.core.jobs.enqueue", lambda func, *args, **_: jobs.append((func, args))
    )
    return jobs


def member_client(username: str, role: str) -> Client:
    user = accounts.add_member(username, f"{username}@example.com", role, "test", PASSWORD)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(db: None) -> Client:
    """Arthur, a team member with the agent role: answers tickets, changes no settings."""
    return member_client("arthur", Role.AGENT)


@pytest.fixture
def viewer_client(db: None) -> Client:
    """Vera, read-only: sees every page, changes nothing."""
    return member_client("vera", Role.VIEWER)


@pytest.fixture
def csrf_client(founder: User) -> Client:
    """Fiona in a browser that sends no CSRF token unless the test gives one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    return client


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def answered(
    subject: str,
    by: str = Message.Author.AGENT,
    email: str = "ada@example.com",
    article: KnowledgeArticle | None = None,
    wait: timedelta = timedelta(seconds=30),
) -> Ticket:
    """A ticket answered `wait` after it arrived, by the agent or the founder."""
    made = new_ticket(subject, f"About {subject}", email=email)
    made.created_at = made.created_at - wait
    made.article = article
    made.save(update_fields=["created_at", "article"])
    services.send_reply(made, f"Here is how: {subject}", by)
    made.refresh_from_db()
    return made


def rate(answered_ticket: Ticket, score: str, at: datetime | None = None) -> Rating:
    reply = answered_ticket.messages.exclude(author=Message.Author.CUSTOMER).last()
    assert reply is not None
    rating = services.rate_reply(reply, score, "email")
    if at is not None:
        Rating.objects.filter(pk=rating.pk).update(created_at=at)
    return rating


def hostile_customer() -> Customer:
    """A customer whose name and ticket carry markup, stored as another system might have."""
    placeholder = new_ticket("placeholder", XSS, email="mallory@example.com")
    Customer.objects.filter(pk=placeholder.customer_id).update(name=XSS)
    Ticket.objects.filter(pk=placeholder.pk).update(subject=XSS)
    customer = Customer.objects.get(pk=placeholder.customer_id)
    return customer
