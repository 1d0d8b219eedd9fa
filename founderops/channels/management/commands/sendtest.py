"""`founderops sendtest ADDRESS`: send one test e-mail through FOUNDEROPS_SMTP_URL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.channels import outbound
from founderops.core.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Send a test e-mail from FOUNDEROPS_SUPPORT_FROM_EMAIL to ADDRESS through "
        "FOUNDEROPS_SMTP_URL, and say what the server answered (exit 1 when it failed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="where the test e-mail goes, e.g. you@example.com")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            attempt = outbound.send_test(options["address"])
        except (InvalidInput, ValueError) as error:
            raise CommandError(str(error)) from None
        if attempt.outcome != "sent":
            raise CommandError(f"the test e-mail was not sent: {attempt.detail}")
        self.stdout.write(f"test e-mail sent to {options['address']} ({attempt.detail})")
