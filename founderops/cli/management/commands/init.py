"""`founderops init`: create the owner account once; running it again changes nothing."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from founderops.accounts import services
from founderops.accounts.roles import Role

# Django's four standard checks, used when the settings name none: the owner's password
# guards every approval and every customer's data.
STANDARD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


class Command(BaseCommand):
    help = (
        "Create the owner account (a superuser) if there is none. The password comes from "
        "FOUNDEROPS_OWNER_PASSWORD or is asked for; weak passwords are refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="owner", help="default: owner")
        parser.add_argument("--email", default="", help="the owner's email address")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        existing = User.objects.filter(is_superuser=True).order_by("id").first()
        if existing:
            self.stdout.write(
                f"The owner account exists ({existing.get_username()}); nothing to do."
            )
            return
        user = User(username=options["username"].strip(), email=options["email"].strip())
        user.set_password(checked_password(user, self.password()))
        user.is_staff = user.is_superuser = True
        validate_user(user)
        with transaction.atomic():
            user.save()
            # The role is explicit from the start, so the Team page lists the owner as such.
            services.register_member(user, Role.OWNER, "cli")
        self.stdout.write(self.style.SUCCESS(f"Created the owner account {user.get_username()!r}."))

    def password(self) -> str:
        # settings.py reads FOUNDEROPS_OWNER_PASSWORD (it is the only reader of the environment).
        configured: str = getattr(settings, "OWNER_PASSWORD", "")
        if configured:
            return configured
        if not sys.stdin.isatty():
            raise CommandError("set FOUNDEROPS_OWNER_PASSWORD, or run this in a terminal")
        first = getpass.getpass("Owner password: ")
        if first != getpass.getpass("Owner password (again): "):
            raise CommandError("the two passwords differ")
        return first


def require_migrated(database: str = DEFAULT_DB_ALIAS) -> None:
    """Refuse, with the fix, to run on a database that `founderops migrate` has not set up."""
    executor = MigrationExecutor(connections[database])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError(
            "the database is not set up (or not up to date): run `founderops migrate` first"
        )


def checked_password(user: User, password: str) -> str:
    if not password.strip():
        raise CommandError("the password is empty")
    validators = password_validation.get_default_password_validators() or (
        password_validation.get_password_validators(STANDARD_VALIDATORS)
    )
    try:
        password_validation.validate_password(password, user, validators)
    except ValidationError as error:
        raise CommandError("the password is too weak: " + " ".join(error.messages)) from None
    return password


def validate_user(user: User) -> None:
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise CommandError(f"cannot create the owner account: {problems}") from None
