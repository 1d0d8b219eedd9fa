"""The public status page, its feeds and subscription pages; the cockpit's SLO view."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
import time_machine
from django.test import Client

from founderops.core import jobs
from founderops.incidents import subscribers
from founderops.incidents.models import (
    Component,
    ComponentStatusChange,
    Incident,
    StatusUpdate,
    Subscriber,
)
from founderops.monitoring.models import MaintenanceWindow
from tests.channels.smtp_server import Recorder

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
S = Component.Status


@pytest.fixture
def api(db: None) -> Component:
    api = Component.objects.create(name="API", slug="api", status=S.PARTIAL_OUTAGE)
    ComponentStatusChange.objects.create(
        component=api, at=NOW - timedelta(days=2), status=S.OPERATIONAL
    )
    ComponentStatusChange.objects.create(
        component=api, at=NOW - timedelta(hours=1), status=S.PARTIAL_OUTAGE
    )
    return api


@pytest.fixture
def outage(api: Component) -> Incident:
    incident = Incident.objects.create(
        title="API errors",
        priority="P1",
        started_at=NOW - timedelta(hours=1),
        detected_at=NOW - timedelta(hours=1),
    )
    incident.components.add(api)
    for body, state in (
        ("We are looking into it.", "published"),
        ("Draft: the deploy broke it", "draft"),
    ):
        StatusUpdate.objects.create(
            incident=incident,
            status=Incident.State.INVESTIGATING,
            body=body,
            created_at=NOW - timedelta(minutes=50),
            published_at=NOW - timedelta(minutes=50) if state == "published" else None,
            state=state,
            author="agent:monitoring",
        )
    return incident


@time_machine.travel(NOW, tick=False)
def test_it_shows_the_banner_components_and_published_updates(
    client: Client, outage: Incident
) -> None:
    response = client.get("/status/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Partial outage" in page
    assert 'id="component-api"' in page
    assert "We are looking into it." in page
    assert "the deploy broke it" not in page


@time_machine.travel(NOW, tick=False)
def test_it_draws_ninety_days_with_no_data_before_the_first_status(
    client: Client, api: Component
) -> None:
    page = client.get("/status/").content.decode()
    cells = re.findall(r'<li class="st-day st-(\w+)"', page)
    assert len(cells) == 90
    # Data from noon two days ago: that day and yesterday up, today 1 h partial outage.
    assert cells[:87] == ["nodata"] * 87
    assert cells[87:] == ["up", "up", "major"]  # 0.3 h down in 12 h: 97.5 %


@time_machine.travel(NOW, tick=False)
def test_it_lets_proxies_keep_the_page_for_a_minute(client: Client, outage: Incident) -> None:
    response = client.get("/status/")
    assert "public" in response["Cache-Control"]
    assert "max-age=60" in response["Cache-Control"]
    # Nothing per visitor: no CSRF or session cookie is set, so cookie-less visitors share it.
    assert not response.cookies


@time_machine.travel(NOW, tick=False)
def test_it_takes_its_title_from_the_setting(client: Client, settings: Any, api: Component) -> None:
    settings.STATUS_TITLE = "Acme status"
    assert "<title>Acme status</title>" in client.get("/status/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_it_announces_maintenance_the_founder_chose_to_show(client: Client, api: Component) -> None:
    shown = MaintenanceWindow.objects.create(
        title="Database upgrade",
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, hours=1),
    )
    shown.components.add(api)
    MaintenanceWindow.objects.create(
        title="Quiet work", starts_at=NOW, ends_at=NOW + timedelta(hours=1), announce=False
    )
    page = client.get("/status/").content.decode()
    assert "Database upgrade" in page
    assert "Quiet work" not in page


@time_machine.travel(NOW, tick=False)
def test_it_shows_an_incident_page_without_drafts(client: Client, outage: Incident) -> None:
    page = client.get(f"/status/incidents/{outage.pk}/").content.decode()
    assert "We are looking into it." in page
    assert "the deploy broke it" not in page


@time_machine.travel(NOW, tick=False)
def test_it_hides_an_incident_with_nothing_published(client: Client, api: Component) -> None:
    incident = Incident.objects.create(
        title="Quiet", priority="P3", started_at=NOW, detected_at=NOW
    )
    assert client.get(f"/status/incidents/{incident.pk}/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_it_serves_published_updates_as_rss(client: Client, outage: Incident) -> None:
    response = client.get("/status/feed.rss")
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own feed)
    titles = [item.findtext("title") for item in root.iter("item")]
    assert titles == ["[Investigating] API errors"]
    assert b"the deploy broke it" not in response.content


@time_machine.travel(NOW, tick=False)
def test_it_serves_published_updates_as_atom(client: Client, outage: Incident) -> None:
    response = client.get("/status/feed.atom")
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own feed)
    entries = root.findall(f"{atom}entry")
    assert [e.findtext(f"{atom}title") for e in entries] == ["[Investigating] API errors"]


@time_machine.travel(NOW, tick=False)
def test_it_serves_an_update_as_text_not_markup_in_the_feeds(
    client: Client, outage: Incident
) -> None:
    outage.updates.filter(state="published").update(body="<script>alert(1)</script>")
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(client.get("/status/feed.atom").content)  # noqa: S314
    summaries = [e.findtext(f"{atom}summary") for e in root.findall(f"{atom}entry")]
    assert summaries == ["&lt;script&gt;alert(1)&lt;/script&gt;"]
    rss = ElementTree.fromstring(client.get("/status/feed.rss").content)  # noqa: S314
    assert [i.findtext("description") for i in rss.iter("item")] == summaries


@time_machine.travel(NOW, tick=False)
def test_it_subscribes_through_the_form_and_says_check_your_inbox(smtp: Recorder) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/status/subscribe/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    with jobs.running_inline():
        response = client.post(
            "/status/subscribe/",
            {"email": "ada@example.com", "csrfmiddlewaretoken": token.group(1)},
            follow=True,
        )
    assert "Check your inbox" in response.content.decode()
    assert Subscriber.objects.filter(email="ada@example.com", confirmed_at=None).exists()


def test_it_refuses_a_subscription_without_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/status/subscribe/", {"email": "ada@example.com"}).status_code == 403


@time_machine.travel(NOW, tick=False)
def test_it_stores_nothing_when_the_honeypot_is_filled(client: Client) -> None:
    response = client.post(
        "/status/subscribe/", {"email": "bot@example.com", "website": "http://spam"}
    )
    assert response.status_code == 302
    assert not Subscriber.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_limits_subscriptions_from_one_address(client: Client, settings: Any) -> None:
    settings.SMTP_URL = ""
    codes = [
        client.post("/status/subscribe/", {"email": f"p{n}@example.com"}).status_code
        for n in range(6)
    ]
    assert codes == [302] * 5 + [429]


@time_machine.travel(NOW, tick=False)
def test_it_confirms_only_on_the_button_not_on_opening_the_link(client: Client) -> None:
    Subscriber.objects.create(
        email="ada@example.com", created_at=NOW, token_hash=subscribers.hash_token("tok")
    )
    page = client.get("/status/confirm/tok/")
    assert page.status_code == 200
    assert "Yes, subscribe me" in page.content.decode()
    assert Subscriber.objects.get().confirmed_at is None
    assert "You are subscribed" in client.post("/status/confirm/tok/").content.decode()
    assert Subscriber.objects.get().confirmed_at == NOW


def test_it_says_a_bad_confirmation_link_does_not_work(client: Client) -> None:
    response = client.get("/status/confirm/nope/")
    assert response.status_code == 400
    assert response["Cache-Control"] == "private, no-store"


@time_machine.travel(NOW, tick=False)
def test_it_unsubscribes_with_a_one_click_post_from_the_mail_client() -> None:
    ada = Subscriber.objects.create(
        email="ada@example.com", created_at=NOW, confirmed_at=NOW, token_hash="a" * 64
    )
    client = Client(enforce_csrf_checks=True)
    url = f"/status/unsubscribe/{subscribers.unsubscribe_token(ada)}/"
    assert client.get(url).status_code == 200
    assert Subscriber.objects.get().unsubscribed_at is None
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at == NOW


# The cockpit's SLO view.


@time_machine.travel(NOW, tick=False)
def test_it_shows_budgets_and_response_times_to_the_founder(
    founder_client: Client, outage: Incident
) -> None:
    page = founder_client.get("/slo/").content.decode()
    assert 'id="budget-api"' in page
    assert 'id="response-P1"' in page
    assert "SLOs" in page  # the nav link


def test_it_keeps_the_slo_view_to_the_team(client: Client) -> None:
    assert client.get("/slo/").status_code == 302


@time_machine.travel(NOW, tick=False)
def test_it_puts_open_incidents_and_budgets_on_the_home_page(
    founder_client: Client, outage: Incident
) -> None:
    page = founder_client.get("/").content.decode()
    card = page[page.index('id="card-health"') :]
    assert re.search(
        r'id="figure-open-incidents">\s*<dt>Open incidents</dt>\s*<dd class="figure-value">1</dd>',
        card,
    )
    assert "highest P1" in card
