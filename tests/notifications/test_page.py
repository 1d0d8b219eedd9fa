"""The cockpit's notifications page: everyone on the team looks, owners change the routes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.core import notifications, notify
from founderops.core.models import AuditEvent, NotificationRoute
from tests.notifications.conftest import (
    CHAT,
    PHONE,
    QUIET_NIGHT,
    add_route,
    dispatch,
    escalation,
    member,
    only_delivery,
)

pytestmark = pytest.mark.django_db

PAGE = reverse("web:notifications")
ADD = reverse("web:notification_route_add")


def route_form(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Phone",
        "url": PHONE,
        "events": ["escalation", "incident"],
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "urgent_breaks_quiet": "on",
        "digest_minutes": "10",
        "enabled": "on",
    }
    data.update(fields)
    return data


def signed_in(user: User, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def test_it_adds_a_route_from_the_form(founder_client: Client) -> None:
    response = founder_client.post(ADD, route_form())
    route = NotificationRoute.objects.get()
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert (route.name, route.events, route.quiet_start, route.digest_minutes) == (
        "Phone",
        ["escalation", "incident"],
        time(22, 0),
        10,
    )


def test_it_lists_the_routes_with_their_redacted_targets(
    founder: User, founder_client: Client
) -> None:
    route = add_route(founder, PHONE, events=("escalation",), digest_minutes=5)
    page = founder_client.get(PAGE).content.decode()
    assert (route.target in page, "Phone" in page, "5 min" in page) == (True, True, True)


def test_it_shows_the_default_urls_read_only(founder_client: Client, settings: Any) -> None:
    settings.NOTIFY_URLS = [CHAT]
    page = founder_client.get(PAGE).content.decode()
    assert (notify.redact(CHAT) in page, notifications.DEFAULT_ROUTE in page) == (True, True)


def test_it_edits_a_route_and_keeps_its_url_when_none_is_given(
    founder: User, founder_client: Client
) -> None:
    route = add_route(founder, PHONE)
    response = founder_client.post(
        reverse("web:notification_route_edit", args=[route.pk]),
        route_form(name="Phone (nights off)", url="", events=["*"]),
    )
    route.refresh_from_db()
    assert (response.status_code, route.name, route.events, route.target) == (
        302,
        "Phone (nights off)",
        ["*"],
        notify.redact(PHONE),
    )


def test_it_deletes_a_route(founder: User, founder_client: Client) -> None:
    route = add_route(founder)
    response = founder_client.post(reverse("web:notification_route_delete", args=[route.pk]))
    assert (response.status_code, NotificationRoute.objects.count()) == (302, 0)


def test_it_shows_what_is_wrong_with_a_refused_route(founder_client: Client) -> None:
    response = founder_client.post(ADD, route_form(url="nosuchservice://whatever-token"))
    assert (response.status_code, NotificationRoute.objects.count()) == (400, 0)
    assert "apprise does not understand this nosuchservice:// URL" in response.content.decode()


def test_it_refuses_quiet_hours_without_an_end(founder_client: Client) -> None:
    response = founder_client.post(ADD, route_form(quiet_end=""))
    assert "quiet hours need both a start and an end" in response.content.decode()


def test_it_refuses_a_route_without_events(founder_client: Client) -> None:
    response = founder_client.post(ADD, route_form(events=[]))
    assert (response.status_code, NotificationRoute.objects.count()) == (400, 0)


def test_it_audits_a_route_change(founder_client: Client) -> None:
    founder_client.post(ADD, route_form())
    event = AuditEvent.objects.get(action=notifications.ROUTE_CHANGED)
    assert (event.actor, event.outcome, event.details["events"]) == (
        "user:fiona",
        "created",
        ["escalation", "incident"],
    )


def test_it_sends_a_test_message(
    founder: User, founder_client: Client, memory: notify.MemoryBackend
) -> None:
    route = add_route(founder)
    response = founder_client.post(
        reverse("web:notification_route_test", args=[route.pk]), follow=True
    )
    assert ([s.url for s in memory.sent], "Test message sent" in response.content.decode()) == (
        [PHONE],
        True,
    )


def test_it_shows_a_failed_test_message_without_the_url(
    founder: User, founder_client: Client
) -> None:
    route = add_route(founder)
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        response = founder_client.post(
            reverse("web:notification_route_test", args=[route.pk]), follow=True
        )
    page = response.content.decode()
    assert ("The test to “Phone” failed" in page, "fiona-phone-topic" in page) == (True, False)


def test_it_shows_the_deliveries_of_recent_notifications(
    founder: User, founder_client: Client
) -> None:
    add_route(founder)
    escalation(link="https://ops.example.com/tickets/1/")
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    page = founder_client.get(PAGE).content.decode()
    assert ("Ticket #1 needs you" in page, "Waiting to be sent" in page, "next try" in page) == (
        True,
        True,
        True,
    )


def test_it_shows_a_failed_delivery_with_its_error_and_a_retry_button(
    founder: User, founder_client: Client
) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    delivery = only_delivery()
    delivery.state, delivery.attempts = "failed", 6
    delivery.save()
    page = founder_client.get(PAGE).content.decode()
    retry = reverse("web:notification_retry", args=[delivery.pk])
    assert ("is configured to fail" in page, "6 attempts of 6" in page, retry in page) == (
        True,
        True,
        True,
    )


def test_it_retries_a_failed_delivery_from_the_page(
    founder: User, founder_client: Client, memory: notify.MemoryBackend
) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    delivery = only_delivery()
    response = founder_client.post(reverse("web:notification_retry", args=[delivery.pk]))
    dispatch()
    assert (response.status_code, only_delivery().state) == (302, "sent")


def test_it_escapes_a_notification_title(founder: User, founder_client: Client) -> None:
    escalation("<script>alert('x')</script> wants a refund")
    page = founder_client.get(PAGE).content.decode()
    assert ("<script>alert" in page, "&lt;script&gt;alert" in page) == (False, True)


def test_it_lets_a_viewer_look(founder: User) -> None:
    add_route(founder)
    page = signed_in(member("vera", "viewer")).get(PAGE)
    content = page.content.decode()
    assert (page.status_code, "Phone" in content, "Add a route" in content) == (200, True, False)


@pytest.mark.parametrize(
    "url_name",
    ["web:notification_route_edit", "web:notification_route_delete", "web:notification_route_test"],
)
def test_it_refuses_a_viewer_who_changes_a_route(founder: User, url_name: str) -> None:
    route = add_route(founder)
    response = signed_in(member("vera", "viewer")).post(
        reverse(url_name, args=[route.pk]), route_form(name="Hijacked")
    )
    route.refresh_from_db()
    assert (response.status_code, route.name, NotificationRoute.objects.count()) == (
        403,
        "Phone",
        1,
    )


def test_it_refuses_an_agent_who_adds_a_route() -> None:
    response = signed_in(member("alex", "agent")).post(ADD, route_form())
    assert (response.status_code, NotificationRoute.objects.count()) == (403, 0)


def test_it_refuses_a_viewer_who_retries_a_delivery(founder: User) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    delivery = only_delivery()
    response = signed_in(member("vera", "viewer")).post(
        reverse("web:notification_retry", args=[delivery.pk])
    )
    assert (
        response.status_code,
        AuditEvent.objects.filter(action="notifications.delivery_retried").count(),
    ) == (403, 0)


def test_it_lets_an_agent_retry_a_delivery(founder: User) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    delivery = only_delivery()
    response = signed_in(member("alex", "agent")).post(
        reverse("web:notification_retry", args=[delivery.pk])
    )
    assert response.status_code == 302


def test_it_sends_anonymous_visitors_to_the_login_page(client: Client) -> None:
    response = client.get(PAGE)
    assert (response.status_code, response["Location"].startswith(reverse("web:login"))) == (
        302,
        True,
    )


def test_it_refuses_a_route_post_without_a_csrf_token(founder: User) -> None:
    response = signed_in(founder, enforce_csrf=True).post(ADD, route_form())
    assert (response.status_code, NotificationRoute.objects.count()) == (403, 0)


def test_it_accepts_a_route_post_with_the_forms_csrf_token(founder: User) -> None:
    client = signed_in(founder, enforce_csrf=True)
    token = str(client.get(ADD).context["csrf_token"])
    response = client.post(ADD, route_form(csrfmiddlewaretoken=token))
    assert (response.status_code, NotificationRoute.objects.count()) == (302, 1)


def test_it_refuses_a_retry_post_without_a_csrf_token(founder: User) -> None:
    add_route(founder)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        dispatch()
    response = signed_in(founder, enforce_csrf=True).post(
        reverse("web:notification_retry", args=[only_delivery().pk])
    )
    assert response.status_code == 403


def test_it_refuses_to_delete_a_route_by_get(founder: User, founder_client: Client) -> None:
    route = add_route(founder)
    response = founder_client.get(reverse("web:notification_route_delete", args=[route.pk]))
    assert (response.status_code, NotificationRoute.objects.count()) == (405, 1)


def test_it_shows_a_held_delivery_and_when_it_will_go(
    founder: User, founder_client: Client
) -> None:
    add_route(founder, **QUIET_NIGHT)
    # 23:30 in Paris; quiet hours end at 07:00, shown on the founder's clock.
    with time_machine.travel(datetime(2026, 3, 10, 22, 30, tzinfo=UTC), tick=False):
        escalation()
        dispatch()
        page = founder_client.get(PAGE).content.decode()
    assert ("Held for quiet hours" in page, "until <time" in page, "Mar 11, 07:00" in page) == (
        True,
        True,
        True,
    )
