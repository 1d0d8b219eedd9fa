"""`founderops tickets import FILE`: bring tickets in from CSV or JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.support import importers


class Command(BaseCommand):
    help = "Work with tickets. `tickets import FILE` brings them in from CSV or JSON Lines."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        command = actions.add_parser(
            "import",
            help="import tickets from a CSV (with a header) or JSON Lines file",
            description=importers.__doc__,
        )
        command.add_argument("file", type=Path, help="a .csv, .jsonl or .ndjson file")
        command.add_argument(
            "--format", choices=["csv", "jsonl"], help="the file's format (default: by extension)"
        )
        command.add_argument(
            "--no-triage",
            action="store_true",
            help="store the tickets without queuing the Support Agent on them",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            report = importers.import_ticket_file(
                path, options["format"], triage=not options["no_triage"]
            )
        except importers.UnreadableFile as error:
            raise CommandError(f"{path}: {error}") from None
        for line in report_lines(report):
            self.stdout.write(f"{path}:{line}")
        self.stdout.write(report.summary())
        if report.rejected:
            # The good rows are kept; the exit status tells a script that some were not.
            raise SystemExit(1)


def report_lines(report: importers.TicketImport) -> list[str]:
    """One line per row that was not imported, in file order."""
    entries = [(r.line, f"line {r.line}: rejected: {r.reason}") for r in report.rejected]
    entries += [
        (d.line, f"line {d.line}: duplicate of ticket #{d.ticket_id}, not stored again")
        for d in report.duplicates
    ]
    return [text for _, text in sorted(entries)]
