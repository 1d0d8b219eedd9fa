"""`founderops users add|list|role|disable|enable|reset-2fa|link`: the team, from a terminal.

The same services as the Team page, so the same rules hold (the last owner stays) and every
change is audited, with the actor `cli`.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.accounts import services, two_factor
from founderops.accounts.roles import Role
from founderops.core.errors import FounderOpsError

ACTOR = "cli"


class Command(BaseCommand):
    help = "Add team members, list them, change roles, disable accounts, reset two-factor."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="add a member; prints a one-time set-password link")
        add.add_argument("username")
        add.add_argument("--email", default="")
        add.add_argument("--role", default=Role.AGENT, choices=Role.values)
        add.add_argument(
            "--password", action="store_true", help="type an initial password instead of a link"
        )
        actions.add_parser("list", help="list members with role, status and two-factor")
        role = actions.add_parser("role", help="change a member's role")
        role.add_argument("username")
        role.add_argument("role", choices=Role.values)
        for name, text in (
            ("disable", "deactivate an account: no sign-in, no API tokens"),
            ("enable", "reactivate a deactivated account"),
            ("reset-2fa", "remove a member's two-factor app and recovery codes"),
            ("link", "print a one-time link to choose a (new) password"),
        ):
            actions.add_parser(name, help=text).add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {
            "add": self.do_add,
            "list": self.do_list,
            "role": self.do_role,
            "disable": self.do_disable,
            "enable": self.do_enable,
            "reset-2fa": self.do_reset,
            "link": self.do_link,
        }
        try:
            handlers[options["action"]](options)
        except FounderOpsError as error:
            raise CommandError(str(error)) from None

    def do_add(self, options: dict[str, Any]) -> None:
        password = ask_password() if options["password"] else None
        user = services.add_member(
            options["username"], options["email"], options["role"], ACTOR, password
        )
        self.stdout.write(f"Added {user.get_username()} as {options['role']}.")
        if password is None:
            self.write_link(user)

    def do_list(self, options: dict[str, Any]) -> None:
        enrolled = two_factor.enrolled_user_ids()
        for user in services.members():
            self.stdout.write(describe(user, user.pk in enrolled))

    def do_role(self, options: dict[str, Any]) -> None:
        user = services.find_member(options["username"])
        services.change_role(user, options["role"], ACTOR)
        self.stdout.write(f"{user.get_username()} is now {options['role']}.")

    def do_disable(self, options: dict[str, Any]) -> None:
        user = services.find_member(options["username"])
        services.deactivate(user, ACTOR)
        self.stdout.write(f"{user.get_username()} is deactivated: no sign-in, no API calls.")

    def do_enable(self, options: dict[str, Any]) -> None:
        user = services.find_member(options["username"])
        services.reactivate(user, ACTOR)
        self.stdout.write(f"{user.get_username()} can sign in again.")

    def do_reset(self, options: dict[str, Any]) -> None:
        user = services.find_member(options["username"])
        removed = services.reset_two_factor(user, ACTOR)
        if removed:
            self.stdout.write(f"Removed two-factor login of {user.get_username()}.")
        else:
            self.stdout.write(f"{user.get_username()} had no two-factor login; nothing changed.")

    def do_link(self, options: dict[str, Any]) -> None:
        user = services.find_member(options["username"])
        if not user.is_active:
            raise CommandError(f"{user.get_username()} is deactivated: `users enable` first")
        self.write_link(user)

    def write_link(self, user: User) -> None:
        link = settings.SITE_URL.rstrip("/") + services.set_password_path(user)
        self.stdout.write("Send this one-time link to choose a password (works once):")
        self.stdout.write(link)


def ask_password() -> str:
    try:
        first, again = getpass.getpass("Password: "), getpass.getpass("Password (again): ")
    except EOFError:
        # No terminal, and standard input ran out: nothing was typed, so nothing is added.
        raise CommandError(
            "no password was typed (standard input ended): run this in a terminal, "
            "or leave out --password to print a set-password link"
        ) from None
    if first != again:
        raise CommandError("the two passwords differ")
    return first


def describe(user: User, enrolled: bool) -> str:
    state = "active" if user.is_active else "DISABLED"
    if user.is_active and not user.has_usable_password():
        state = "no password yet"
    login = f"last sign-in {user.last_login:%Y-%m-%d %H:%M}" if user.last_login else "never"
    return (
        f"{user.get_username():<20} {services.role_name(user) or '-':<7} {state:<16} "
        f"2FA {'on ' if enrolled else 'off'}  {user.email or '-'}  {login}"
    )
