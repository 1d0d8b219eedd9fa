"""`founderops worker`: the production job process (a django-q2 cluster and its scheduler)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from founderops.worker import runner, schedules


class Command(BaseCommand):
    help = (
        "Run the job workers and the schedules (django-q2 on the database broker). "
        "Run as many as you need, on any machine that reaches the database."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        runner.log_jobs()
        runner.require_migrated()
        schedules.ensure_schedules()
        runner.finish(runner.run(None, cluster=True, out=runner.printer(self.stdout)))
