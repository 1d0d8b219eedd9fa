"""Public pages stay public; everything else needs a login. Every URL pattern is walked.

A view marked `login_not_required` is public, and must be named in PUBLIC below: a new
public view fails this test until someone decides, here, that it should be public.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Public by design, each with the reason. Keys are "namespace:name" of the URL pattern.
PUBLIC = {
    "web:login": "signing in",
    "web:login_code": "the second sign-in step (holds a password step, not a session)",
    "web:set_password": "a new member's one-time link (the token is the credential)",
    "admin:login": "sends visitors on to web:login (the admin's own form is never shown)",
    # The REST API: every operation authenticates itself (token or session) and answers 401.
    "api:create_ticket": "token or session",
    "api:list_tickets": "token or session",
    "api:get_ticket": "token or session",
    "api:add_message": "token or session",
    "api:list_audit": "token or session",
    "api:export_audit": "token or session",
    "api:post_logs": "token or session",
    "api:post_metrics": "token or session",
    # The chat widget on the founder's sites: visitors, rate-limited, CORS to WIDGET_ORIGINS.
    "widget_session": "the widget's visitors",
    "widget_ask": "the widget's visitors",
    "widget_rate": "the widget's visitors",
    "widget_demo": "a page that shows the widget embedded",
    # CSAT: the one-click rating in an answer's e-mail (a signed link is the credential).
    "csat_rate": "a customer rating an answer",
    "csat_thanks": "a customer rating an answer",
    # The public status page: the same for everyone, published updates only.
    "status": "the status page customers read",
    "status_incident": "one incident on the status page",
    "status_rss": "the status page's RSS feed",
    "status_atom": "the status page's Atom feed",
    "status_subscribe": "customers subscribing to status e-mails (rate-limited)",
    "status_subscribe_sent": "the page after subscribing",
    "status_confirm": "a subscriber's confirmation link (the hashed token is the credential)",
    "status_unsubscribe": "the unsubscribe link in status e-mails (signed)",
    # Inbound-mail webhooks: each checks its provider's signature or secret.
    "inbound_postmark": "Postmark's inbound webhook",
    "inbound_mailgun": "Mailgun's inbound webhook",
    "inbound_sendgrid": "SendGrid's inbound webhook",
    # Monitoring: heartbeat pings (the secret token in the URL, stored hashed, rate-limited)
    # and deploy webhooks (the hook's HMAC signature or bearer secret).
    "monitor_ping": "a monitored job's heartbeat",
    "monitor_ping_start": "a monitored job saying it started",
    "monitor_ping_fail": "a monitored job saying it failed",
    "deploy_hook": "a deploy platform's signed webhook",
    # Revenue: Stripe's webhook (the Stripe-Signature HMAC of the raw body, time-bounded).
    "stripe_webhook": "Stripe's signed webhook",
}
# What a pattern's parameters get on the walk.
SAMPLES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


@dataclass(frozen=True)
class Route:
    url: str
    name: str
    callback: Callable[..., Any]

    @property
    def public(self) -> bool:
        return not getattr(self.callback, "login_required", True)


def sample_path(pattern: str) -> str:
    """A concrete path for a route ("tickets/<int:pk>/") or regex ("^(?P<app>auth|core)/$")."""
    path = re.sub(r"\(\?P<\w+>([^)]*)\)", lambda m: _regex_sample(m.group(1)), pattern)
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], path)
    return path.lstrip("^").rstrip("$").replace("\\", "")


def _regex_sample(group: str) -> str:
    first = group.split("|")[0]
    return "x" if any(c in first for c in ".*+[") else first


def routes(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "/", ns: str = ""
) -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [ns, entry.namespace or ""]))
            yield from routes(entry.url_patterns, prefix + sample_path(str(entry.pattern)), inner)
        else:
            name = f"{ns}:{entry.name}" if ns and entry.name else entry.name or ""
            yield Route(prefix + sample_path(str(entry.pattern)), name, entry.callback)


def test_it_walks_every_url_pattern() -> None:
    found = list(routes())
    assert len(found) > 40
    assert any(r.name == "web:team" for r in found)
    assert any(r.name.startswith("admin:") for r in found)


def test_it_knows_why_each_public_view_is_public() -> None:
    public = sorted({r.name or r.url for r in routes() if r.public})
    assert [name for name in public if name not in PUBLIC] == []


def test_it_keeps_the_public_list_to_views_that_exist() -> None:
    public = {r.name for r in routes() if r.public}
    assert sorted(set(PUBLIC) - public) == []


@pytest.mark.parametrize("route", [r for r in routes() if not r.public], ids=lambda r: r.url)
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, route: Route) -> None:
    response = client.get(route.url, follow=True)
    if not response.redirect_chain:
        assert response.status_code in (404, 405), route.url
        return
    # The admin's views send visitors to admin:login first, which forwards to ours.
    assert response.redirect_chain[-1][0].startswith(settings.LOGIN_URL + "?next="), route.url


@pytest.mark.parametrize("route", [r for r in routes() if r.public], ids=lambda r: r.url)
def test_it_answers_anonymous_visitors_on_public_views(client: Client, route: Route) -> None:
    response = client.get(route.url)
    assert response.status_code < 500
    if route.name.startswith("api:"):
        assert response.status_code in (401, 405)
