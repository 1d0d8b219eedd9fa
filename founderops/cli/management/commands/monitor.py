"""`founderops monitor run | check NAME | list`: the check engine from the shell."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core import clock
from founderops.monitoring import checks, services
from founderops.monitoring.engine import Engine
from founderops.monitoring.models import Monitor
from founderops.monitoring.probes import DOWN, ProbeResult


class Command(BaseCommand):
    help = (
        "The monitoring engine. `monitor run` checks every enabled monitor on its interval "
        "until SIGTERM or Ctrl-C (run it as its own process in production); `monitor check "
        "NAME` runs one check now, records it and exits 1 when it is down; `monitor list` "
        "shows every monitor's state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("run", help="run the engine in the foreground")
        check = actions.add_parser("check", help="check one monitor now and print the result")
        check.add_argument("name", help="the monitor's name")
        check.add_argument(
            "--no-record", action="store_true", help="print only; do not record the result"
        )
        actions.add_parser("list", help="list the monitors and their states")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "run":
            self._run()
        elif action == "check":
            self._check(options["name"], record=not options["no_record"])
        else:
            self._list()

    def _run(self) -> None:
        logging.getLogger("founderops.monitoring").setLevel(logging.INFO)
        engine = Engine()
        count = Monitor.objects.filter(enabled=True).count()
        self.stdout.write(f"Checking {count} monitors. Ctrl-C or SIGTERM stops.")
        self.stdout.flush()

        async def main() -> None:
            engine.install_signal_handlers()
            await engine.run()

        asyncio.run(main())
        stats = engine.stats
        self.stdout.write(
            f"Stopped after {stats.checks} checks ({stats.written} recorded, "
            f"{stats.crashes} crashed, {stats.failed_batches} batches retried)."
        )

    def _check(self, name: str, record: bool) -> None:
        monitor = Monitor.objects.select_related("component").filter(name=name).first()
        if monitor is None:
            raise CommandError(f"no monitor named {name!r} (see `founderops monitor list`)")
        result = asyncio.run(_once(monitor))
        if record:
            services.record_results([services.Run(monitor.pk, clock.now(), result)])
            monitor.refresh_from_db()
        self.stdout.write(_describe(result))
        if record:
            self.stdout.write(f"State: {monitor.state} ({monitor.consecutive_failures} failing)")
        if result.outcome == DOWN:
            raise SystemExit(1)

    def _list(self) -> None:
        monitors = Monitor.objects.order_by("name")
        if not monitors:
            self.stdout.write("No monitors yet.")
        for monitor in monitors:
            latency = f"{monitor.last_latency_ms:.0f} ms" if monitor.last_latency_ms else "-"
            paused = "" if monitor.enabled else " (paused)"
            self.stdout.write(
                f"{monitor.name:<30} {monitor.kind:<9} {monitor.state:<11} {latency:>8}  "
                f"every {monitor.interval_s} s{paused}  {monitor.last_error[:60]}"
            )


async def _once(monitor: Monitor) -> ProbeResult:
    context = checks.Context()
    try:
        return await checks.run(monitor, context)
    finally:
        await context.aclose()


def _describe(result: ProbeResult) -> str:
    parts = [result.outcome.upper()]
    if result.latency_ms is not None:
        parts.append(f"{result.latency_ms:.0f} ms")
    if result.error:
        parts.append(result.error)
    line = " · ".join(parts)
    extras = [f"{key}={value:g}" for key, value in sorted(result.metrics.items())]
    return line + (f"\n{', '.join(extras)}" if extras else "")
