"""`founderops stripe connect|webhook-secret|sync|reconcile|status|events|retry`.

Keys and secrets are read from a prompt that does not echo, or with `--stdin` from standard
input, which holds it alone on one line; they are stored encrypted and never printed, logged
or audited.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from founderops.core.errors import FounderOpsError
from founderops.revenue import stripe_api, stripe_store, sync, webhooks
from founderops.revenue.models import StripeAccount, StripeEvent

ACTOR = "cli"


class Command(BaseCommand):
    help = "Connect Stripe, backfill from it, reconcile its events, and see how the sync stands."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        connect = actions.add_parser("connect", help="store an API key, encrypted (asks for it)")
        connect.add_argument("--stdin", action="store_true", help="read it from standard input")
        secret = actions.add_parser(
            "webhook-secret", help="store a webhook endpoint's signing secret, encrypted"
        )
        secret.add_argument("--stdin", action="store_true", help="read it from standard input")
        _mode(secret)
        backfill = actions.add_parser("sync", help="backfill every object from the list endpoints")
        _mode(backfill)
        backfill.add_argument(
            "--only",
            default="",
            help=f"comma-separated lists, e.g. customers,invoices ({_names()})",
        )
        _mode(actions.add_parser("reconcile", help="events since the last one seen, then stubs"))
        actions.add_parser("status", help="what is stored per mode, and the last sync")
        events = actions.add_parser("events", help="the latest events and how they were processed")
        events.add_argument("--failed", action="store_true", help="only failed events")
        events.add_argument("--limit", type=_limit, default=20, help="at most this many (≥ 1)")
        _mode(actions.add_parser("retry", help="process waiting and failed events now"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        if options.get("livemode") is None:
            options["livemode"] = settings.STRIPE_LIVEMODE
        try:
            getattr(self, f"do_{action}")(options)
        except (FounderOpsError, stripe.StripeError) as error:
            raise CommandError(str(error)) from None

    def do_connect(self, options: dict[str, Any]) -> None:
        key = read_secret(options["stdin"], "Stripe API key (restricted, rk_…): ")
        livemode = stripe_api.connect(key, ACTOR)
        self.stdout.write(f"Stored the {_mode_name(livemode)}-mode API key (encrypted).")
        self.stdout.write("Backfill with `founderops stripe sync`.")

    def do_webhook_secret(self, options: dict[str, Any]) -> None:
        secret = read_secret(options["stdin"], "Webhook signing secret (whsec_…): ")
        stripe_api.store_webhook_secret(secret, options["livemode"], ACTOR)
        self.stdout.write(f"Stored the {_mode_name(options['livemode'])}-mode webhook secret.")

    def do_sync(self, options: dict[str, Any]) -> None:
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        unknown = [name for name in only if name not in stripe_api.LIST_NAMES]
        if unknown:
            raise CommandError(f"no Stripe list called {unknown[0]!r}; known: {_names()}")
        livemode = options["livemode"]
        report = sync.backfill(
            stripe_api.client(livemode),
            livemode,
            only or None,
            progress=lambda name, n: self.stdout.write(f"{name}: {n}"),
        )
        self.stdout.write(report.summary())

    def do_reconcile(self, options: dict[str, Any]) -> None:
        livemode = options["livemode"]
        self.stdout.write(sync.reconcile(stripe_api.client(livemode), livemode).summary())

    def do_status(self, options: dict[str, Any]) -> None:
        for livemode in (True, False):
            self.stdout.write(describe(livemode))

    def do_events(self, options: dict[str, Any]) -> None:
        rows = StripeEvent.objects.order_by("-created", "-id")
        if options["failed"]:
            rows = rows.filter(status=StripeEvent.Status.FAILED)
        shown = rows[: options["limit"]]
        if not shown:
            self.stdout.write("No failed events." if options["failed"] else "No events yet.")
        for event in shown:
            error = f"  {event.error}" if event.error else ""
            self.stdout.write(
                f"{event.created:%Y-%m-%d %H:%M:%S} {event.stripe_id} {event.type} "
                f"[{event.status}, {event.via}]{error}"
            )

    def do_retry(self, options: dict[str, Any]) -> None:
        livemode = options["livemode"]
        try:
            api: stripe.StripeClient | None = stripe_api.client(livemode)
        except stripe_api.StripeNotConfigured:
            api = None
        outcomes = webhooks.process_pending(livemode, api)
        failed = [pk for pk, status in outcomes.items() if status == StripeEvent.Status.FAILED]
        self.stdout.write(
            f"{len(outcomes)} pending or failed events processed, {len(failed)} failed."
        )
        for event in StripeEvent.objects.filter(pk__in=failed).order_by("created", "id"):
            self.stdout.write(f"  {event.stripe_id} {event.type}: {event.error}")
        if failed:
            raise CommandError("some events failed: see `founderops stripe events --failed`")


def _mode(parser: CommandParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--live",
        dest="livemode",
        action="store_true",
        default=None,
        help="live mode (default: FOUNDEROPS_STRIPE_LIVEMODE, true unless set)",
    )
    group.add_argument("--test", dest="livemode", action="store_false", help="test mode")
    parser.set_defaults(livemode=None)


def _names() -> str:
    return ", ".join(stripe_api.LIST_NAMES)


def _mode_name(livemode: bool) -> str:
    return "live" if livemode else "test"


# More than any key or secret with its line ends: what is left unread cannot be one.
STDIN_LIMIT = 64 * 1024


def read_secret(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        value = from_lines(sys.stdin.read(STDIN_LIMIT))
    elif sys.stdin.isatty():
        value = getpass.getpass(prompt).strip()
    else:
        raise CommandError("no terminal to ask for it: pass it on standard input with --stdin")
    if not value:
        raise CommandError("nothing was entered")
    return value


def from_lines(text: str) -> str:
    """The one non-empty line of `text`; never shown in the refusal, as it may be a key."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        raise CommandError(
            f"standard input holds {len(lines)} non-empty lines, and a key or secret is one: "
            "give it alone"
        )
    return lines[0] if lines else ""


def describe(livemode: bool) -> str:
    account = StripeAccount.objects.filter(livemode=livemode).first()
    counts = {
        kind: model._default_manager.filter(livemode=livemode).count()
        for kind, model in stripe_store.MODELS.items()
    }
    events = dict(
        StripeEvent.objects.filter(livemode=livemode)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    lines = [f"{_mode_name(livemode)} mode: key {_key_source(livemode)}"]
    lines.append("  stored: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
    lines.append("  events: " + (", ".join(f"{n} {s}" for s, n in events.items()) or "none"))
    lines.append(f"  webhook secret: {_webhook_source(livemode)}")
    if account is not None:
        lines.append(f"  backfilled: {account.backfilled_at or 'never'}")
        lines.append(f"  reconciled: {account.reconciled_at or 'never'}")
        if account.last_error:
            lines.append(f"  last error: {account.last_error}")
    return "\n".join(lines)


def _key_source(livemode: bool) -> str:
    if settings.STRIPE_API_KEY and stripe_api.livemode_of(settings.STRIPE_API_KEY) == livemode:
        return "from FOUNDEROPS_STRIPE_API_KEY"
    if StripeAccount.objects.filter(livemode=livemode).exclude(api_key_sealed="").exists():
        return "stored (encrypted)"
    return "not configured"


def _webhook_source(livemode: bool) -> str:
    """Where this mode's webhook signing secrets come from (never the secrets themselves)."""
    sources = []
    if any(
        webhooks.setting_secret(entry).livemode == livemode
        for entry in settings.STRIPE_WEBHOOK_SECRET
    ):
        sources.append("from FOUNDEROPS_STRIPE_WEBHOOK_SECRET")
    if StripeAccount.objects.filter(livemode=livemode).exclude(webhook_secret_sealed="").exists():
        sources.append("stored (encrypted)")
    return " and ".join(sources) or "not configured (/hooks/stripe/ refuses this mode's events)"


def _limit(value: str) -> int:
    if (
        not (value.isascii() and value.isdigit() and len(value) <= 7)
        or not 1 <= int(value) <= 1_000_000
    ):
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 1 to 1,000,000")
    return int(value)
