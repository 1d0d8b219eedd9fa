"""`founderops revenue import-csv FILE`, `revenue import-rates FILE` and `revenue watch`."""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core import clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money
from founderops.revenue import csv_import, insights, spend, watch
from founderops.revenue.models import AcquisitionSpend


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
        check.add_argument("--day", type=_past_day, help="YYYY-MM-DD (yesterday)")
        spent = actions.add_parser(
            "spend",
            help="record acquisition spend for CAC and payback (`spend MONTH AMOUNT`), or list it",
        )
        spent.add_argument("month", nargs="?", help="YYYY-MM; without it, list what is recorded")
        spent.add_argument("amount", nargs="?", help="in the currency's major unit, e.g. 1250.00")
        spent.add_argument("--currency", default="USD")
        spent.add_argument("--channel", default=spend.ALL, help="e.g. ads, sponsorships (all)")
        spent.add_argument("--note", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "watch":
            self._watch(options["day"])
            return
        if options["action"] == "spend":
            self._spend(options)
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
        for line, message in report.messages():
            self.stdout.write(f"{path}:{line}: {message}")
        self.stdout.write(report.summary())
        if report.rejected:
            # The good rows are kept; the exit status tells a script that some were not.
            raise SystemExit(1)

    def _watch(self, day: date | None) -> None:
        found = watch.watch(day)
        for finding in found:
            self.stdout.write(f"alert: {insights.describe(finding.alert)}")
        if not found:
            self.stdout.write("nothing unusual")

    def _spend(self, options: dict[str, Any]) -> None:
        if options["month"] is None:
            self._list_spend()
            return
        if options["amount"] is None:
            raise CommandError("give the amount after the month: `revenue spend 2026-03 1250.00`")
        currency = str(options["currency"]).upper()
        try:
            recorded = spend.record_spend(
                spend.parse_month(options["month"]),
                spend.parse_amount(options["amount"], currency),
                currency,
                options["channel"],
                "cli",
                options["note"],
            )
        except InvalidInput as error:
            raise CommandError(str(error)) from None
        self.stdout.write(str(recorded))
        if missing := spend.missing_rate(recorded.row):
            self.stdout.write(f"warning: {missing}")

    def _list_spend(self) -> None:
        rows = list(AcquisitionSpend.objects.all())
        if not rows:
            self.stdout.write(
                "No acquisition spend recorded yet (`founderops revenue spend 2026-03 1250.00`)."
            )
        for row in rows:
            amount = Money(row.amount, row.currency)
            self.stdout.write(f"{row.month:%Y-%m}  {row.channel:<16} {amount}  {row.note}")


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # utf-8-sig counts positions after a byte order mark; the file's own count includes it.
        at = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:at].count(b"\n") + 1
        raise CommandError(
            f"{path}: not UTF-8 text: byte 0x{raw[at]:02x} on line {line} "
            f"(byte {at + 1} of the file); save the file as UTF-8"
        ) from None


def _past_day(raw: str) -> date:
    """A whole day already over (UTC), as YYYY-MM-DD: the watch judges closed days only."""
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        day = None
    if day is None:
        raise ArgumentTypeError(f"{raw!r} is not a date like 2026-01-31")
    if day >= clock.now().date():
        raise ArgumentTypeError(f"{raw} is not over yet (UTC): give yesterday or earlier")
    return day
