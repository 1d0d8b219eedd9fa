"""`founderops monitors apply FILE` and `monitors export`: monitors as code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.monitoring import config


class Command(BaseCommand):
    help = (
        "Monitors as code. `monitors apply FILE` checks a YAML file (every error with its "
        "line), prints the plan and applies it in one transaction; `monitors export` writes "
        "the monitors, components, maintenance windows and runbooks in the same schema."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        apply = actions.add_parser(
            "apply", help="apply a monitors YAML file", description=config.__doc__
        )
        apply.add_argument("file", type=Path, help="the YAML file (e.g. monitors.yaml)")
        apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        apply.add_argument(
            "--prune",
            action="store_true",
            help="delete monitors, windows and runbooks the file made that it no longer lists",
        )
        export = actions.add_parser("export", help="write the current configuration as YAML")
        export.add_argument(
            "--output", type=Path, help="write to this file instead of standard output"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "apply":
            self._apply(options["file"], options["dry_run"], options["prune"])
        else:
            self._export(options["output"])

    def _apply(self, path: Path, dry_run: bool, prune: bool) -> None:
        try:
            parsed = config.load(path)
            # The file names its secrets' variables; this process's environment holds them.
            plan = config.apply(parsed, os.environ, prune=prune, dry_run=dry_run, actor="cli")
        except config.ConfigInvalid as error:
            for line in error.lines():
                self.stderr.write(line)
            count = len(error.problems)
            raise CommandError(
                f"{path}: {count} error{'s' if count != 1 else ''}; nothing was applied",
                returncode=1,
            ) from None
        for change in plan.changes:
            self.stdout.write(change.line())
        for note in plan.notes:
            self.stdout.write(f"note: {note}")
        verb = "would apply" if dry_run else "applied"
        self.stdout.write(f"{plan.summary()} ({verb})" if plan.changes else plan.summary())

    def _export(self, output: Path | None) -> None:
        text = config.export()
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stderr.write(f"exported to {output}")
