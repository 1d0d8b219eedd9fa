"""Deploy webhooks: signatures, forgery, replay, clock skew, failed deploys into incidents."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from founderops.core.errors import InvalidInput
from founderops.incidents import services as incidents
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Alert, Component, Incident, TimelineEntry
from founderops.monitoring import deploys
from founderops.monitoring.models import Deploy, DeployHook

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789"


@pytest.fixture
def api() -> Component:
    return Component.objects.create(name="API", slug="api")


def vercel_hook(api: Component) -> DeployHook:
    hook, _ = deploys.create_hook("web", "vercel", "api", SECRET)
    return hook


def vercel_event(
    kind: str,
    deployment: str = "dpl_1",
    event: str = "evt_1",
    at: datetime = NOW,
    target: str | None = "production",
) -> bytes:
    return json.dumps(
        {
            "id": event,
            "type": kind,
            "createdAt": int(at.timestamp() * 1000),
            "payload": {
                "deployment": {
                    "id": deployment,
                    "url": "web-abc.vercel.app",
                    "meta": {"githubCommitSha": "abc1234def", "githubCommitMessage": "Fix login"},
                },
                "target": target,
                "url": "web-abc.vercel.app",
            },
        }
    ).encode()


def post_vercel(client: Client, body: bytes, secret: str = SECRET) -> Any:
    signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return client.post(
        "/hooks/deploy/web/",
        body,
        content_type="application/json",
        headers={"x-vercel-signature": signature},
    )


def generic(state: str = "succeeded", at: datetime = NOW, **extra: Any) -> bytes:
    return json.dumps(
        {
            "id": "build-7",
            "state": state,
            "environment": "production",
            "commit": "f00dfeed",
            "at": at.isoformat(),
            **extra,
        }
    ).encode()


@time_machine.travel(NOW, tick=False)
def test_it_records_a_signed_vercel_deploy(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(client, vercel_event("deployment.created"))
    assert response.status_code == 200
    assert response.json()["stored"] is True
    deploy = Deploy.objects.get()
    assert (deploy.external_id, deploy.state, deploy.environment) == (
        "dpl_1",
        "started",
        "production",
    )
    assert (deploy.commit, deploy.message) == ("abc1234def", "Fix login")


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_forged_signature_and_stores_nothing(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(client, vercel_event("deployment.error"), secret="guessed")
    assert response.status_code == 401
    assert response.json() == {
        "error": "bad_signature",
        "detail": "x-vercel-signature does not match the body signed with this hook's secret",
    }
    assert not Deploy.objects.exists()
    assert not Alert.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_request_without_a_signature(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = client.post(
        "/hooks/deploy/web/", vercel_event("deployment.created"), content_type="application/json"
    )
    assert response.status_code == 401
    assert "no x-vercel-signature header" in response.json()["detail"]


@time_machine.travel(NOW, tick=False)
def test_it_ignores_a_replayed_event(client: Client, api: Component) -> None:
    vercel_hook(api)
    body = vercel_event("deployment.succeeded")
    assert post_vercel(client, body).json()["stored"] is True
    again = post_vercel(client, body).json()
    assert (again["stored"], again["duplicate"]) == (False, True)
    assert Deploy.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_it_ignores_a_replayed_event_with_a_very_long_id(client: Client, api: Component) -> None:
    deploys.create_hook("ci", "generic", "api", SECRET)
    body = generic(id="b" * 500)
    for _ in range(2):
        client.post(
            "/hooks/deploy/ci/",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {SECRET}"},
        )
    assert Deploy.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_it_keeps_the_final_state_when_created_arrives_late(client: Client, api: Component) -> None:
    vercel_hook(api)
    post_vercel(client, vercel_event("deployment.succeeded", event="evt_2"))
    post_vercel(client, vercel_event("deployment.created", event="evt_1"))
    assert Deploy.objects.get().state == "succeeded"


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_stale_event(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(client, vercel_event("deployment.created", at=NOW - timedelta(hours=1)))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the event is 60 min old")
    assert not Deploy.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_event_from_the_future(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(
        client, vercel_event("deployment.created", at=NOW + timedelta(minutes=20))
    )
    assert response.status_code == 400
    assert "20 min in the future" in response.json()["detail"]


@time_machine.travel(NOW, tick=False)
def test_it_accepts_a_small_clock_skew(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(
        client, vercel_event("deployment.created", at=NOW + timedelta(minutes=3))
    )
    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_it_names_what_is_wrong_with_a_malformed_body(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(client, b'{"type": "deployment.created", "id": "e", "payload": 3}')
    assert response.status_code == 400
    assert response.json() == {"error": "malformed", "detail": "payload must be a JSON object"}
    broken = post_vercel(client, b"{not json")
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("the body is not JSON")


@time_machine.travel(NOW, tick=False)
def test_it_acknowledges_other_vercel_events(client: Client, api: Component) -> None:
    vercel_hook(api)
    response = post_vercel(client, json.dumps({"id": "e", "type": "project.created"}).encode())
    assert response.json() == {"stored": False, "ignored": "not a deployment state event"}


def test_it_refuses_a_hook_name_no_url_can_reach() -> None:
    with pytest.raises(InvalidInput, match="only letters, digits, - and _"):
        deploys.create_hook("bad name!", "generic")
    assert not DeployHook.objects.exists()


def test_it_answers_404_to_an_unknown_hook(client: Client) -> None:
    response = client.post("/hooks/deploy/nope/", b"{}", content_type="application/json")
    assert response.status_code == 404


@time_machine.travel(NOW, tick=False)
def test_it_checks_a_generic_hmac_signature(client: Client, api: Component) -> None:
    deploys.create_hook("ci", "generic", "api", SECRET)
    body = generic()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        "/hooks/deploy/ci/",
        body,
        content_type="application/json",
        headers={"X-Signature-256": signature},
    )
    assert response.status_code == 200
    assert Deploy.objects.get().state == "succeeded"


@time_machine.travel(NOW, tick=False)
def test_it_accepts_a_generic_bearer_secret(client: Client, api: Component) -> None:
    deploys.create_hook("ci", "generic", "api", SECRET)
    ok = client.post(
        "/hooks/deploy/ci/",
        generic(),
        content_type="application/json",
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert ok.status_code == 200
    wrong = client.post(
        "/hooks/deploy/ci/",
        generic(state="failed"),
        content_type="application/json",
        headers={"Authorization": "Bearer x"},
    )
    assert wrong.status_code == 401
    assert Deploy.objects.get().state == "succeeded"


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_unknown_generic_state(client: Client, api: Component) -> None:
    deploys.create_hook("ci", "generic", "api", SECRET)
    response = client.post(
        "/hooks/deploy/ci/",
        generic(state="done"),
        content_type="application/json",
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("state 'done' is not one of canceled, failed")


@time_machine.travel(NOW, tick=False)
def test_it_fires_deploy_failed_for_the_hooks_component(client: Client, api: Component) -> None:
    vercel_hook(api)
    post_vercel(client, vercel_event("deployment.error"))
    alert = Alert.objects.get()
    assert (alert.cause, alert.component, alert.source) == ("deploy_failed", api, "deploy")
    assert alert.incident is not None


@time_machine.travel(NOW, tick=False)
def test_it_does_not_page_for_a_failed_preview(client: Client, api: Component) -> None:
    vercel_hook(api)
    post_vercel(client, vercel_event("deployment.error", target=None))
    assert Deploy.objects.get().environment == "preview"
    assert not Alert.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_clears_the_failure_when_a_later_deploy_succeeds(client: Client, api: Component) -> None:
    vercel_hook(api)
    post_vercel(client, vercel_event("deployment.error"))
    post_vercel(client, vercel_event("deployment.succeeded", deployment="dpl_2", event="evt_9"))
    assert Alert.objects.get().state == "resolved"


@time_machine.travel(NOW, tick=False)
def test_it_writes_each_deploy_on_the_components_open_incidents(
    client: Client, api: Component
) -> None:
    Component.objects.create(name="Billing", slug="billing")
    incidents.fire(Signal("check:api", "check", "down", "api down", NOW, component="api"))
    other = incidents.fire(
        Signal("check:b", "check", "down", "billing down", NOW, component="billing")
    ).incident
    vercel_hook(api)
    post_vercel(client, vercel_event("deployment.succeeded"))
    entry = TimelineEntry.objects.get(kind="deploy")
    assert entry.incident != other
    assert entry.text == "Deploy abc1234d “Fix login” to production via web: succeeded"
    assert Incident.objects.count() == 2


def test_it_prints_a_new_hooks_url_and_secret_once(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("deploys", "hook", "add", "ci", "--provider", "generic")
    out = capsys.readouterr().out
    assert "/hooks/deploy/ci/" in out
    secret = out.split("secret: ")[1].split()[0]
    hook = DeployHook.objects.get()
    assert secret not in hook.secret_sealed
    call_command("deploys", "list")
    assert "ci\tgeneric" in capsys.readouterr().out
