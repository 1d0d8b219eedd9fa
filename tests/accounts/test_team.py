"""The Team page and the services behind it: members, roles, the last owner, API tokens."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.accounts import services, two_factor
from founderops.accounts.models import Membership
from founderops.accounts.roles import Role, role_of
from founderops.api import tokens
from founderops.api.models import ApiToken
from founderops.core.errors import Conflict, InvalidInput
from founderops.core.models import AuditEvent
from tests.accounts.conftest import PASSWORD, csrf_from, enrol, sign_in

pytestmark = pytest.mark.django_db


def shown_link(html: str) -> str:
    """The path of the set-password link the page shows (after SITE_URL)."""
    found = re.search(r"/account/set-password/[^<\s\"]+/", html)
    assert found is not None
    return found.group(0)


# The last owner.


def test_it_keeps_the_last_owner_from_being_demoted(founder: User) -> None:
    with pytest.raises(Conflict, match="at least one active owner"):
        services.change_role(founder, Role.AGENT, "test")
    assert role_of(founder) == Role.OWNER


def test_it_keeps_the_last_owner_from_being_deactivated(founder: User) -> None:
    with pytest.raises(Conflict, match="at least one active owner"):
        services.deactivate(founder, "test")
    founder.refresh_from_db()
    assert founder.is_active


def test_it_lets_an_owner_go_once_there_is_another(founder: User) -> None:
    services.add_member("olga", "", Role.OWNER, "test", PASSWORD)
    services.change_role(founder, Role.AGENT, "test")
    assert role_of(founder) == Role.AGENT


def test_it_does_not_count_a_deactivated_owner(founder: User) -> None:
    olga = services.add_member("olga", "", Role.OWNER, "test", PASSWORD)
    services.deactivate(olga, "test")
    with pytest.raises(Conflict):
        services.deactivate(founder, "test")


def test_it_says_so_on_the_team_page(founder_client: Client, founder: User) -> None:
    response = founder_client.post(
        reverse("web:team_role", kwargs={"pk": founder.pk}), {"role": "viewer"}, follow=True
    )
    assert b"needs at least one active owner" in response.content
    assert role_of(founder) == Role.OWNER


def test_it_refuses_to_deactivate_yourself(founder_client: Client, founder: User) -> None:
    services.add_member("olga", "", Role.OWNER, "test", PASSWORD)
    founder_client.post(reverse("web:team_deactivate", kwargs={"pk": founder.pk}))
    founder.refresh_from_db()
    assert founder.is_active


# Adding members.


def test_it_adds_a_member_with_an_initial_password(founder_client: Client) -> None:
    founder_client.post(
        reverse("web:team_add"),
        {
            "username": "arthur",
            "email": "arthur@example.com",
            "role": "agent",
            "password": PASSWORD,
        },
    )
    assert role_of(User.objects.get(username="arthur")) == Role.AGENT
    assert sign_in(Client(), "arthur").status_code == 302


def test_it_refuses_a_weak_initial_password_and_keeps_the_rest(founder_client: Client) -> None:
    response = founder_client.post(
        reverse("web:team_add"),
        {"username": "arthur", "email": "arthur@example.com", "role": "agent", "password": "abc"},
    )
    assert response.status_code == 400
    assert b"the password is too weak" in response.content
    assert b'value="arthur@example.com"' in response.content
    assert not User.objects.filter(username="arthur").exists()


def test_it_refuses_a_username_that_is_taken(founder_client: Client) -> None:
    response = founder_client.post(
        reverse("web:team_add"), {"username": "FIONA", "role": "agent", "password": ""}
    )
    assert response.status_code == 400
    assert b"is taken" in response.content


def test_it_refuses_an_unknown_role(founder: User) -> None:
    with pytest.raises(InvalidInput, match="unknown role"):
        services.add_member("arthur", "", "admin", "test")


def test_it_shows_a_set_password_link_once(founder_client: Client) -> None:
    founder_client.post(reverse("web:team_add"), {"username": "arthur", "role": "viewer"})
    first = founder_client.get(reverse("web:team")).content.decode()
    link = shown_link(first)
    again = founder_client.get(reverse("web:team")).content.decode()
    assert link not in again
    assert "no password yet" in again


def test_it_lets_the_new_member_choose_a_password_once(founder_client: Client) -> None:
    founder_client.post(reverse("web:team_add"), {"username": "arthur", "role": "viewer"})
    link = shown_link(founder_client.get(reverse("web:team")).content.decode())
    visitor = Client()
    form = visitor.get(link, follow=True)
    chosen = {"new_password1": "a long new secret", "new_password2": "a long new secret"}
    done = visitor.post(form.redirect_chain[-1][0], chosen)
    assert done["Location"] == reverse("web:login")
    assert sign_in(Client(), "arthur", "a long new secret").status_code == 302
    assert b"This link no longer works" in Client().get(link, follow=True).content
    assert AuditEvent.objects.filter(action="accounts.password_set").count() == 1


def test_it_cannot_sign_in_before_choosing_a_password(founder: User) -> None:
    services.add_member("arthur", "", Role.AGENT, "test")
    assert SESSION_KEY not in sign_in(Client(), "arthur", "").wsgi_request.session


# Roles, deactivation, two-factor reset.


def test_it_changes_a_role_and_audits_it(founder_client: Client, agent: User) -> None:
    founder_client.post(reverse("web:team_role", kwargs={"pk": agent.pk}), {"role": "viewer"})
    assert Membership.objects.get(user=agent).role == Role.VIEWER
    event = AuditEvent.objects.get(action="accounts.role_changed")
    assert (event.actor, event.details["from"], event.details["to"]) == (
        "user:fiona",
        "agent",
        "viewer",
    )


def test_it_deactivates_a_member_who_then_cannot_sign_in(
    founder_client: Client, agent: User
) -> None:
    founder_client.post(reverse("web:team_deactivate", kwargs={"pk": agent.pk}))
    assert SESSION_KEY not in sign_in(Client(), "arthur").wsgi_request.session
    assert AuditEvent.objects.filter(action="accounts.member_deactivated").count() == 1


def test_it_ends_a_deactivated_members_open_session(founder_client: Client, agent: User) -> None:
    theirs = Client()
    theirs.force_login(agent)
    founder_client.post(reverse("web:team_deactivate", kwargs={"pk": agent.pk}))
    assert theirs.get(reverse("web:tickets")).status_code == 302


def test_it_refuses_the_api_token_of_a_deactivated_member(
    founder_client: Client, agent: User
) -> None:
    _, token = tokens.create_token(agent, "intake", ["tickets:read"])
    auth = {"authorization": f"Bearer {token}"}
    assert Client().get("/api/tickets", headers=auth).status_code == 200
    founder_client.post(reverse("web:team_deactivate", kwargs={"pk": agent.pk}))
    assert Client().get("/api/tickets", headers=auth).status_code == 401


def test_it_reactivates_a_member(founder_client: Client, agent: User) -> None:
    services.deactivate(agent, "test")
    founder_client.post(reverse("web:team_reactivate", kwargs={"pk": agent.pk}))
    assert sign_in(Client(), "arthur").status_code == 302


def test_it_resets_a_members_two_factor_login(founder_client: Client, agent: User) -> None:
    enrol(agent)
    founder_client.post(reverse("web:team_reset_2fa", kwargs={"pk": agent.pk}))
    assert not two_factor.is_enrolled(agent)
    assert two_factor.recovery_codes_left(agent) == 0
    assert sign_in(Client(), "arthur")["Location"] == "/"
    event = AuditEvent.objects.get(action="accounts.two_factor_reset")
    assert event.details == {"username": "arthur", "devices": 2}


def test_it_lists_members_with_role_and_two_factor(founder_client: Client, agent: User) -> None:
    enrol(agent)
    html = founder_client.get(reverse("web:team")).content.decode()
    row = html[html.index("<strong>arthur</strong>") :].split("</tr>")[0]
    assert '<option value="agent" selected>' in row
    assert ">on</span>" in row


# The installation's API tokens.


def test_it_shows_a_new_token_once(founder_client: Client) -> None:
    founder_client.post(
        reverse("web:token_create"), {"name": "helpdesk", "scopes": ["tickets:write"]}
    )
    first = founder_client.get(reverse("web:team")).content.decode()
    token = re.search(r"fo_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", first)
    assert token is not None
    assert tokens.check_token(token.group(0)) is not None
    assert token.group(0) not in founder_client.get(reverse("web:team")).content.decode()


def test_it_refuses_a_token_without_scopes(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:token_create"), {"name": "helpdesk"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token(founder_client: Client, founder: User) -> None:
    row, token = tokens.create_token(founder, "old", ["tickets:read"])
    founder_client.post(reverse("web:token_revoke", kwargs={"pk": row.pk}))
    assert tokens.check_token(token) is None


# CSRF on every form of the page.

FORMS = [
    ("web:team_add", {}, {"username": "mallory", "role": "owner", "password": PASSWORD}),
    ("web:team_role", {"pk": 0}, {"role": "viewer"}),
    ("web:team_deactivate", {"pk": 0}, {}),
    ("web:team_reset_2fa", {"pk": 0}, {}),
    ("web:team_link", {"pk": 0}, {}),
    ("web:token_create", {}, {"name": "x", "scopes": ["audit:read"]}),
]


@pytest.mark.parametrize(("name", "kwargs", "data"), FORMS)
def test_it_refuses_a_team_form_without_the_csrf_token(
    founder: User, agent: User, name: str, kwargs: dict[str, int], data: dict[str, object]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    url = reverse(name, kwargs={"pk": agent.pk} if kwargs else None)
    assert client.post(url, data).status_code == 403
    assert not User.objects.filter(username="mallory").exists()
    assert Membership.objects.get(user=agent).role == Role.AGENT


def test_it_accepts_a_team_form_with_the_csrf_token(founder: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    token = csrf_from(client.get(reverse("web:team")).content.decode())
    data = {"username": "arthur", "role": "agent", "csrfmiddlewaretoken": token}
    assert client.post(reverse("web:team_add"), data).status_code == 302
    assert User.objects.filter(username="arthur").exists()
