"""`founderops tokens create|list|revoke`: the API's header tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.api import tokens
from founderops.api.models import ApiToken
from founderops.core.errors import FounderOpsError


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (sent as `Authorization: Bearer fo_…`)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="create a token and print it (once)")
        create.add_argument("name", help="what the token is for, e.g. 'helpdesk webhook'")
        create.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=sorted(tokens.SCOPES),
            help="a permission of the token; repeat for several",
        )
        create.add_argument("--user", help="the token's owner (default: the first superuser)")
        actions.add_parser("list", help="list the tokens (never their secret)")
        revoke = actions.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("token", help="the token's id or prefix, as `tokens list` shows")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            {"create": self.do_create, "list": self.do_list, "revoke": self.do_revoke}[
                options["action"]
            ](options)
        except FounderOpsError as error:
            raise CommandError(str(error)) from None

    def do_create(self, options: dict[str, Any]) -> None:
        row, token = tokens.create_token(owner(options["user"]), options["name"], options["scopes"])
        self.stdout.write(f"Created token {row.pk} {row.name!r} ({', '.join(row.scopes)}).")
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(token)

    def do_list(self, options: dict[str, Any]) -> None:
        rows = ApiToken.objects.select_related("user").order_by("id")
        if not rows:
            self.stdout.write("No API tokens yet: `founderops tokens create NAME --scope …`.")
        for row in rows:
            self.stdout.write(describe(row))

    def do_revoke(self, options: dict[str, Any]) -> None:
        row = tokens.find_token(options["token"])
        if row.revoked:
            self.stdout.write(
                f"Token {row.pk} {row.name!r} (fo_{row.prefix}_…) was already revoked; "
                "nothing changed."
            )
            return
        tokens.revoke_token(row, "cli")
        self.stdout.write(f"Revoked token {row.pk} {row.name!r} (fo_{row.prefix}_…).")


def owner(username: str | None) -> User:
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if user is None:
        raise CommandError("no owner account yet: run `founderops init` first")
    return user


def describe(row: ApiToken) -> str:
    used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
    state = "REVOKED" if row.revoked else "active"
    return (
        f"{row.pk:>4}  fo_{row.prefix}_…  {state:<7}  {row.name!r} ({', '.join(row.scopes)}), "
        f"owner {row.user.get_username()}, created {row.created_at:%Y-%m-%d}, {used}"
    )
