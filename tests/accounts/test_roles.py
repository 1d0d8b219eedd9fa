"""Roles: read-only members look, agents act on tickets, owners alone run the team."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.accounts import services
from founderops.accounts.roles import Role
from founderops.ai.models import Approval
from founderops.api import tokens
from founderops.core.errors import InvalidInput
from founderops.support import services as support
from tests.web.cast import decision_post, escalate_with_draft, new_ticket

pytestmark = pytest.mark.django_db
TICKET = {"email": "ada@example.com", "body": "Where is my invoice?"}


@pytest.fixture
def escalation(db: None) -> Approval:
    article = support.save_article(
        "invoices", "Invoices", "invoice_copy", "Invoice copies.", "Open Billing.", ["invoice?"]
    )
    return escalate_with_draft(new_ticket("Invoice", "Where is my invoice?"), article)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", ["web:inbox", "web:tickets", "web:knowledge", "web:audit"])
def test_it_lets_a_viewer_look(viewer: User, name: str) -> None:
    assert signed_in(viewer).get(reverse(name)).status_code == 200


def test_it_lets_a_viewer_read_a_ticket(viewer: User, escalation: Approval) -> None:
    url = reverse("web:ticket", kwargs={"pk": escalation.subject_id})
    assert signed_in(viewer).get(url).status_code == 200


def test_it_shows_a_viewer_no_decision_buttons(viewer: User, escalation: Approval) -> None:
    url = reverse("web:ticket", kwargs={"pk": escalation.subject_id})
    page = signed_in(viewer).get(url).content.decode()
    assert ('id="approve-button"' in page, 'id="read-only"' in page) == (False, True)


def test_it_shows_an_agent_the_decision_buttons(agent: User, escalation: Approval) -> None:
    url = reverse("web:ticket", kwargs={"pk": escalation.subject_id})
    page = signed_in(agent).get(url).content.decode()
    assert ('id="approve-button"' in page, 'id="read-only"' in page) == (True, False)


@pytest.mark.parametrize("name", ["web:approve", "web:reject", "web:relabel"])
def test_it_refuses_a_viewer_the_decisions(viewer: User, escalation: Approval, name: str) -> None:
    url = reverse(name, kwargs={"pk": escalation.subject_id})
    response = signed_in(viewer).post(url, decision_post(escalation))
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_lets_an_agent_approve(agent: User, escalation: Approval) -> None:
    url = reverse("web:approve", kwargs={"pk": escalation.subject_id})
    signed_in(agent).post(url, decision_post(escalation))
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.APPROVED


def test_it_refuses_a_viewer_posting_a_ticket_through_the_api(viewer: User) -> None:
    client = Client(enforce_csrf_checks=False)
    client.force_login(viewer)
    response = client.post("/api/tickets", TICKET, content_type="application/json")
    assert response.status_code == 403
    assert "needs the agent role" in response.json()["detail"]


def test_it_lets_a_viewer_read_tickets_through_the_api(viewer: User) -> None:
    assert signed_in(viewer).get("/api/tickets").status_code == 200


def test_it_refuses_a_token_with_scopes_beyond_its_members_role(viewer: User) -> None:
    with pytest.raises(InvalidInput, match=r"vera is viewer: .* cannot use tickets:write"):
        tokens.create_token(viewer, "writer", ["tickets:write", "tickets:read"])


def test_it_limits_a_token_to_its_members_role_after_a_demotion(agent: User) -> None:
    _, token = tokens.create_token(agent, "reader", ["tickets:write", "tickets:read"])
    services.change_role(agent, Role.VIEWER, "test")
    auth = {"authorization": f"Bearer {token}"}
    assert Client().get("/api/tickets", headers=auth).status_code == 200
    posted = Client().post("/api/tickets", TICKET, content_type="application/json", headers=auth)
    assert posted.status_code == 403


def test_it_lets_an_agents_token_post_a_ticket(agent: User) -> None:
    _, token = tokens.create_token(agent, "intake", ["tickets:write"])
    response = Client().post(
        "/api/tickets",
        TICKET,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_it_keeps_the_team_page_for_owners(who: str, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(who)
    client = signed_in(user)
    assert client.get(reverse("web:team")).status_code == 403
    response = client.post(
        reverse("web:team_add"), {"username": "mallory", "role": "owner", "password": ""}
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="mallory").exists()


def test_it_refuses_an_agent_changing_roles(agent: User, founder: User) -> None:
    response = signed_in(agent).post(
        reverse("web:team_role", kwargs={"pk": agent.pk}), {"role": "owner"}
    )
    assert response.status_code == 403
    assert agent.membership.role == "agent"


def test_it_shows_the_team_page_to_an_owner(founder_client: Client) -> None:
    assert founder_client.get(reverse("web:team")).status_code == 200


def test_it_lets_every_role_reach_its_own_security_page(agent: User, viewer: User) -> None:
    assert signed_in(agent).get(reverse("web:security")).status_code == 200
    assert signed_in(viewer).get(reverse("web:security")).status_code == 200


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_it_keeps_the_admin_for_owners(who: str, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(who)
    assert signed_in(user).get(reverse("admin:index"), follow=True).status_code == 403


def test_it_opens_the_admin_to_an_owner(founder_client: Client) -> None:
    assert founder_client.get(reverse("admin:index")).status_code == 200


def test_it_opens_the_admin_to_an_owner_added_on_the_team_page(founder: User) -> None:
    olga = services.add_member("olga", "", "owner", "test", "correct horse battery")
    assert signed_in(olga).get(reverse("admin:support_ticket_changelist")).status_code == 200


def test_it_closes_the_admin_to_an_owner_demoted_to_agent(founder: User) -> None:
    olga = services.add_member("olga", "", "owner", "test", "correct horse battery")
    services.change_role(founder, "agent", "test")
    founder.refresh_from_db()
    assert not founder.is_superuser
    assert signed_in(founder).get(reverse("admin:index"), follow=True).status_code == 403
    assert signed_in(olga).get(reverse("admin:index")).status_code == 200


def test_it_signs_in_to_the_admin_through_the_products_login_page(client: Client) -> None:
    response = client.get(reverse("admin:login") + "?next=/admin/support/")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:login") + "?next=/admin/support/"
