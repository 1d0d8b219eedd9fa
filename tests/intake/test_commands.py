"""`founderops init` and `founderops tokens`: the owner account and the API's tokens."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from founderops.api.models import ApiToken

pytestmark = pytest.mark.django_db

STRONG = "violet-harbour-93-lantern"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_creates_the_owner_account(settings: LazySettings) -> None:
    settings.OWNER_PASSWORD = STRONG
    run("init", "--username", "fiona", "--email", "fiona@example.com")
    owner = User.objects.get()
    assert (owner.username, owner.is_superuser, owner.check_password(STRONG)) == (
        "fiona",
        True,
        True,
    )


def test_it_changes_nothing_when_the_owner_exists(settings: LazySettings, founder: User) -> None:
    settings.OWNER_PASSWORD = STRONG
    assert "nothing to do" in run("init", "--username", "other")
    assert list(User.objects.values_list("username", flat=True)) == ["fiona"]


def test_it_refuses_a_weak_password(settings: LazySettings) -> None:
    settings.OWNER_PASSWORD = "password"
    with pytest.raises(CommandError, match=r"the password is too weak: .*too common"):
        run("init")
    assert not User.objects.exists()


def test_it_refuses_a_password_like_the_username(settings: LazySettings) -> None:
    settings.OWNER_PASSWORD = "fionafiona1"
    with pytest.raises(CommandError, match="too similar to the username"):
        run("init", "--username", "fionafiona")


def test_it_asks_for_the_password_only_in_a_terminal(settings: LazySettings) -> None:
    settings.OWNER_PASSWORD = ""
    with pytest.raises(CommandError, match="set FOUNDEROPS_OWNER_PASSWORD"):
        run("init")


def test_it_refuses_a_bad_email_for_the_owner(settings: LazySettings) -> None:
    settings.OWNER_PASSWORD = STRONG
    with pytest.raises(CommandError, match="email"):
        run("init", "--email", "not-an-email")


def test_it_asks_for_migrate_when_init_runs_on_a_fresh_database(tmp_path: Path) -> None:
    # A fresh data directory of its own (SQLite), in a process of its own: the test database
    # is migrated already.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOUNDEROPS_")}
    env |= {"FOUNDEROPS_DATA_DIR": str(tmp_path), "FOUNDEROPS_OWNER_PASSWORD": STRONG}
    done = subprocess.run(
        [sys.executable, "-m", "founderops.cli.main", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "run `founderops migrate` first" in done.stderr
    assert "Traceback" not in done.stderr


def test_it_prints_a_new_token_that_authenticates(founder: User, client: Client) -> None:
    token = run("tokens", "create", "helpdesk", "--scope", "tickets:read").splitlines()[-1]
    response = client.get("/api/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_it_stores_only_the_digest_of_a_token(founder: User) -> None:
    token = run("tokens", "create", "helpdesk", "--scope", "tickets:read").splitlines()[-1]
    row = ApiToken.objects.get()
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()


def test_it_refuses_an_unknown_scope(founder: User) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'admin'"):
        run("tokens", "create", "x", "--scope", "admin")


def test_it_needs_an_owner_before_a_token() -> None:
    with pytest.raises(CommandError, match="run `founderops init` first"):
        run("tokens", "create", "x", "--scope", "tickets:read")


def test_it_lists_tokens_without_their_secret(founder: User) -> None:
    token = run("tokens", "create", "helpdesk", "--scope", "audit:read").splitlines()[-1]
    listing = run("tokens", "list")
    assert "'helpdesk' (audit:read)" in listing
    assert token not in listing


def test_it_revokes_a_token_by_its_prefix(founder: User, client: Client) -> None:
    token = run("tokens", "create", "helpdesk", "--scope", "tickets:read").splitlines()[-1]
    run("tokens", "revoke", token.split("_")[1])
    response = client.get("/api/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_it_says_which_token_it_cannot_find(founder: User) -> None:
    with pytest.raises(CommandError, match="no API token 'abc'"):
        run("tokens", "revoke", "abc")


def test_it_says_a_token_revoked_twice_was_already_revoked(founder: User) -> None:
    run("tokens", "create", "helpdesk", "--scope", "tickets:read")
    pk = str(ApiToken.objects.get().pk)
    assert run("tokens", "revoke", pk).startswith(f"Revoked token {pk} 'helpdesk'")
    again = run("tokens", "revoke", pk)
    assert again.startswith(f"Token {pk} 'helpdesk'")
    assert "was already revoked; nothing changed." in again
