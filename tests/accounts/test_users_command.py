"""`founderops users`: the Team page's services from a terminal, and `init`'s owner role."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from founderops.accounts import two_factor
from founderops.accounts.models import Membership
from founderops.accounts.roles import Role, role_of
from founderops.core.models import AuditEvent
from tests.accounts.conftest import PASSWORD, enrol, sign_in

pytestmark = pytest.mark.django_db


def users(*args: str) -> str:
    out = StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_member_and_prints_a_one_time_link(founder: User, settings: Any) -> None:
    settings.SITE_URL = "https://ops.example.com/"
    out = users("add", "arthur", "--email", "arthur@example.com", "--role", "viewer")
    assert "Added arthur as viewer." in out
    assert re.search(r"https://ops\.example\.com/account/set-password/\w+/[\w-]+/", out)
    assert role_of(User.objects.get(username="arthur")) == Role.VIEWER
    assert AuditEvent.objects.get(action="accounts.member_added").actor == "cli"


def test_it_adds_a_member_with_a_typed_password(
    founder: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    out = users("add", "arthur", "--password")
    assert "set-password" not in out
    assert sign_in(Client(), "arthur").status_code == 302


def test_it_refuses_two_different_passwords(founder: User, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, "something else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="differ"):
        users("add", "arthur", "--password")
    assert not User.objects.filter(username="arthur").exists()


def test_it_refuses_a_password_that_was_never_typed(
    founder: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_terminal(prompt: str) -> str:
        raise EOFError  # what getpass raises when standard input is closed or runs out

    monkeypatch.setattr("getpass.getpass", no_terminal)
    with pytest.raises(CommandError, match="no password was typed"):
        users("add", "arthur", "--password")
    assert not User.objects.filter(username="arthur").exists()


def test_it_lists_members_with_role_state_and_two_factor(founder: User, agent: User) -> None:
    enrol(agent)
    lines = users("list").splitlines()
    arthur = next(line for line in lines if line.startswith("arthur"))
    fiona = next(line for line in lines if line.startswith("fiona"))
    assert arthur.split()[1:2] == ["agent"]
    assert "2FA on" in arthur
    assert fiona.split()[1:2] == ["owner"]
    assert "2FA off" in fiona


def test_it_changes_a_role(founder: User, agent: User) -> None:
    assert "arthur is now owner." in users("role", "arthur", "owner")
    assert Membership.objects.get(user=agent).role == Role.OWNER


def test_it_keeps_the_last_owner(founder: User) -> None:
    with pytest.raises(CommandError, match="at least one active owner"):
        users("role", "fiona", "viewer")
    with pytest.raises(CommandError, match="at least one active owner"):
        users("disable", "fiona")


def test_it_disables_and_enables_an_account(founder: User, agent: User) -> None:
    users("disable", "arthur")
    assert sign_in(Client(), "arthur").status_code == 200
    assert "DISABLED" in users("list")
    users("enable", "arthur")
    assert sign_in(Client(), "arthur").status_code == 302


def test_it_resets_two_factor(founder: User, agent: User) -> None:
    enrol(agent)
    assert "Removed two-factor login of arthur." in users("reset-2fa", "arthur")
    assert not two_factor.is_enrolled(agent)
    assert "nothing changed" in users("reset-2fa", "arthur")


def test_it_names_an_unknown_account(founder: User) -> None:
    with pytest.raises(CommandError, match="no account 'zed'"):
        users("disable", "zed")


def test_it_prints_a_new_link_for_a_member_who_forgot(founder: User, agent: User) -> None:
    assert "/account/set-password/" in users("link", "arthur")


def test_it_records_the_owner_role_at_init(db: None, settings: Any) -> None:
    settings.OWNER_PASSWORD = PASSWORD
    call_command("init", "--username", "fiona", stdout=StringIO())
    owner = User.objects.get(username="fiona")
    assert Membership.objects.get(user=owner).role == Role.OWNER
    assert owner.is_superuser
