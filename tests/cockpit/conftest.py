"""The cockpit's cast: Ada writes in; Fiona owns the place, Arthur answers, Vera only looks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from founderops.accounts import services as accounts
from founderops.accounts.roles import Role
from founderops.ai.models import Approval
from founderops.customers.models import Customer
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Message, Rating, Ticket
from tests.web.cast import PASSWORD, RESET_ANSWER, escalate_with_draft, new_ticket

XSS = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # WhiteNoise warns (an error under our filterwarnings) when STATIC_ROOT does not exist.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


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


@pytest.fixture
def reset_article(db: None) -> KnowledgeArticle:
    return services.save_article(
        "reset-password",
        "Reset your password",
        "reset_password",
        "How to reset a forgotten password.",
        RESET_ANSWER,
        ["I forgot my password", "how do I reset my password"],
    )


@pytest.fixture
def ticket(db: None) -> Ticket:
    return new_ticket("Can't find the reset link", "Hi, I forgot my password. Where do I reset it?")


@pytest.fixture
def escalation(ticket: Ticket, reset_article: KnowledgeArticle) -> Approval:
    return escalate_with_draft(ticket, reset_article)


def answered(
    subject: str,
    by: str = Message.Author.AGENT,
    email: str = "ada@example.com",
    article: KnowledgeArticle | None = None,
    wait: timedelta = timedelta(seconds=30),
) -> Ticket:
    """A ticket answered `wait` after it arrived, by the agent or the founder."""
    ticket = new_ticket(subject, f"About {subject}", email=email)
    ticket.created_at = ticket.created_at - wait
    ticket.article = article
    ticket.save(update_fields=["created_at", "article"])
    services.send_reply(ticket, f"Here is how: {subject}", by)
    ticket.refresh_from_db()
    return ticket


def rate(ticket: Ticket, score: str, at: datetime | None = None) -> Rating:
    reply = ticket.messages.exclude(author=Message.Author.CUSTOMER).last()
    assert reply is not None
    rating = services.rate_reply(reply, score, "email")
    if at is not None:
        Rating.objects.filter(pk=rating.pk).update(created_at=at)
    return rating


def hostile_customer() -> Customer:
    """A customer whose name and ticket carry markup, stored as another system might have."""
    ticket = new_ticket("placeholder", XSS, email="mallory@example.com")
    Customer.objects.filter(pk=ticket.customer_id).update(name=XSS)
    Ticket.objects.filter(pk=ticket.pk).update(subject=XSS)
    customer = Customer.objects.get(pk=ticket.customer_id)
    return customer
