"""`founderops web`: the production web process (waitress, static files by WhiteNoise)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from founderops.worker import runner


class Command(BaseCommand):
    help = "Serve the dashboard and the API with waitress. Run as many as you need."

    def add_arguments(self, parser: CommandParser) -> None:
        runner.add_web_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        runner.require_migrated()
        runner.collect_static()
        say = runner.printer(self.stdout)
        runner.finish(runner.run(lambda: runner.web_server(options), cluster=False, out=say))
