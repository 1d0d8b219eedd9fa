"""`founderops revenue import-csv FILE`, `revenue import-rates FILE` and `revenue watch`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core.errors import InvalidInput
from founderops.revenue import csv_import, insights, watch


class Command(BaseCommand):
    help = "Revenue data from outside Stripe: billing history and FX rates from CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        invoices = actions.add_parser(
            "import-csv",
            help="import invoices from another billing system (one row per invoice)",
            description=csv_import.__doc__,
        )
        invoices.add_argument("file", type=Path)
        rates = actions.add_parser(
            "import-rates", help="import FX rates: currency, day, rate (US dollars per unit)"
        )
        rates.add_argument("file", type=Path)
        check = actions.add_parser(
            "watch",
            help="check a day for a drop in new MRR or a spike in failed payments or refunds "
            "and notify the founder (daily on its own; once per finding)",
        )
        check.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (yesterday)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "watch":
            self._watch(options["day"])
            return
        path: Path = options["file"]
        text = read_text(path)
        importer: Callable[[str], csv_import.ImportReport] = csv_import.import_invoices
        if options["action"] == "import-rates":
            importer = csv_import.import_rates
        try:
            report = importer(text)
        except InvalidInput as error:
            raise CommandError(f"{path}: {error}") from None
        for line, reason in report.rejected:
            self.stdout.write(f"{path}:{line}: rejected: {reason}")
        self.stdout.write(report.summary())

    def _watch(self, day: date | None) -> None:
        found = watch.watch(day)
        for finding in found:
            self.stdout.write(f"alert: {insights.describe(finding.alert)}")
        if not found:
            self.stdout.write("nothing unusual")


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise CommandError(f"{path}: not UTF-8 text (byte {error.start})") from None
