"""`founderops kb import DIR`: create or update knowledge articles from Markdown files."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.support import importers


class Command(BaseCommand):
    help = "Work with the knowledge base. `kb import DIR` loads a folder of Markdown articles."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        command = actions.add_parser(
            "import",
            help="create or update articles from a folder of Markdown files",
            description=importers.KNOWLEDGE_FORMAT,
            formatter_class=RawDescriptionHelpFormatter,
        )
        command.add_argument("folder", type=Path, help="the folder of .md files")
        command.add_argument(
            "--no-train",
            action="store_true",
            help="do not queue the classifier's refresh after the import",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        train = not options["no_train"]
        try:
            report = importers.import_articles(folder, train=train)
        except importers.UnreadableFile as error:
            raise CommandError(str(error)) from None
        for problem in report.rejected:
            self.stdout.write(f"{folder / problem.where}: rejected: {problem.reason}")
        self.stdout.write(report.summary())
        if train and (report.created or report.updated):
            self.stdout.write("The classifier's refresh is queued.")
