"""`founderops brief morning`: print the morning briefing, and send it with --send."""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core import clock, notifications
from founderops.reports import briefing


class Command(BaseCommand):
    help = (
        "Print the morning briefing as Markdown: the last 24 hours, or one whole day already "
        "over in FOUNDEROPS_BRIEFING_TIME_ZONE with --date (YYYY-MM-DD or yesterday). "
        "--send also delivers it to the notification routes that take the briefing and to "
        "FOUNDEROPS_NOTIFY_URLS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["morning"], help="which briefing")
        parser.add_argument(
            "--date", type=_day, help="a whole day already over: YYYY-MM-DD or yesterday"
        )
        parser.add_argument("--send", action="store_true", help="deliver it as well")

    def handle(self, *args: Any, **options: Any) -> None:
        zone = briefing.configured_zone()
        day: date | None = options["date"]
        if day is not None and (unfinished := _not_over(day)):
            raise CommandError(f"--date {unfinished}")
        window = (
            briefing.Window.whole_day(day, zone)
            if day
            else briefing.Window.last_24_hours(clock.now(), zone)
        )
        page = briefing.morning(window)
        self.stdout.write(page.markdown, ending="")
        if options["send"]:
            self._send(page)

    def _send(self, page: briefing.Briefing) -> None:
        if not notifications.routes_for(notifications.BRIEFING):
            raise CommandError(
                "FOUNDEROPS_NOTIFY_URLS is empty and no notification route takes the briefing: "
                "there is nowhere to send it"
            )
        sending = briefing.send(page)
        for delivery in sending.deliveries:
            state = "sent" if delivery.ok else f"FAILED: {delivery.error}"
            self.stderr.write(f"{delivery.target}: {state}")
        # "queued": held for a route's quiet hours or digest window; it is sent later.
        if sending.outcome not in {"delivered", "queued"}:
            raise CommandError(f"the briefing was not delivered everywhere ({sending.outcome})")


RELATIVE_DAYS = {"today": 0, "yesterday": 1}
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST = date(2000, 1, 1)


def _not_over(day: date) -> str:
    """Why `day` cannot be briefed on ("" when it can): a whole day is reported once it is
    over in the briefing's zone, as `revenue watch --day` judges closed days only; the day so
    far is the default briefing's (the last 24 hours)."""
    zone = briefing.configured_zone()
    today = clock.now().astimezone(zone).date()
    if day < today:
        return ""
    when = "today" if day == today else "in the future"
    return (
        f"{day} is not over yet ({when} in {zone.key}): give yesterday or earlier, "
        "or leave --date out for the last 24 hours"
    )


def _day(raw: str) -> date:
    # An argparse type error: the command line shows usage and one line, no traceback.
    if raw.strip().lower() in RELATIVE_DAYS:
        today = clock.now().astimezone(briefing.configured_zone()).date()
        day = today - timedelta(days=RELATIVE_DAYS[raw.strip().lower()])
    else:
        try:
            # fromisoformat alone also takes 20261231 and week dates (2026-W49-1).
            found = date.fromisoformat(raw) if DAY.fullmatch(raw) else None
        except ValueError:
            found = None
        if found is None:
            raise ArgumentTypeError(f"{raw!r} is not a date like 2026-01-31 or yesterday")
        day = found
    if day < EARLIEST:
        raise ArgumentTypeError(f"{raw!r} is before {EARLIEST}: nothing was recorded then")
    if unfinished := _not_over(day):
        raise ArgumentTypeError(unfinished)
    return day
