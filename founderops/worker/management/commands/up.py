"""`founderops up`: the embedded default, everything in one command."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from founderops.monitoring import config as monitors_config
from founderops.worker import runner, schedules


class Command(BaseCommand):
    help = (
        "Run FounderOps in one process tree: migrate if needed, then the web server, "
        "the job workers, the schedules and the monitoring engine. Ctrl-C or SIGTERM stops "
        "everything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        runner.add_web_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        runner.log_jobs()
        say = runner.printer(self.stdout)
        runner.migrate_if_needed(say)
        runner.collect_static()
        schedules.ensure_schedules()
        monitors_config.sync_and_say(say)
        if not get_user_model().objects.exists():
            say("No login yet: create the owner account with `founderops init`.")
        runner.finish(
            runner.run(lambda: runner.web_server(options), cluster=True, out=say, monitoring=True)
        )
