"""`founderops demo`: migrate, load the Inkwell demo workspace, then run `founderops up`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from founderops.cli import demo, demo_billing, demo_ops

# Inkwell's bad release goes out this long after the demo starts.
BREAK_AFTER_S = 120


class Command(BaseCommand):
    help = (
        "Load the demo workspace (a fictional SaaS with its help centre, customers and a "
        "stream of tickets), print the login, then start FounderOps with `founderops up`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-serve", action="store_true", help="load the workspace, then stop (for tests)"
        )
        parser.add_argument(
            "--reset", action="store_true", help="remove the demo's records first and reload"
        )
        parser.add_argument("--host", default="127.0.0.1", help="address `up` listens on")
        parser.add_argument("--port", type=int, default=8000, help="port `up` listens on")

    def handle(self, *args: Any, **options: Any) -> None:
        serve = not options["no_serve"]
        if serve and "up" not in get_commands():
            raise CommandError("`founderops up` is not available in this installation")
        sim_port = options["port"] + 1
        if serve:
            # Before the load (which takes a while), not after it: a port in use fails now.
            check_port(options["host"], options["port"])
            sim_port = free_port(sim_port)
        if serve:
            use_site_url(options["host"], options["port"])
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            demo.reset()
            self.stdout.write("Removed the previous demo workspace.")
        password = demo.demo_password()
        demo.ensure_owner(password)
        started = time.monotonic()
        summary = demo.load(web_port=options["port"], sim_port=sim_port)
        self.report(summary, time.monotonic() - started, serve)
        if serve:
            url = f"http://{options['host']}:{options['port']}"
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Open  {url}\n  Login {demo.OWNER} / {password}\n"
                    f"  Chat  {url}/widget/demo/ (the widget on a sample product page)\n"
                    f"  Ops   {url}/incidents/ and {url}/status/: Inkwell's API breaks "
                    f"{BREAK_AFTER_S // 60:.0f} minutes after the start; watch the agent\n"
                )
            )
            self.start_inkwell(sim_port, url)
            self.serve(options["host"], options["port"])
        else:
            self.stdout.write(
                f"\nNothing is served (--no-serve). Start it with `founderops up` (or "
                f"`founderops demo`), then sign in as {demo.OWNER} / {password}."
            )

    def report(self, summary: demo.Summary, seconds: float, serving: bool) -> None:
        trained = "trained" if summary.trained else "already trained"
        waiting = ""
        if summary.scheduled:
            waiting = (
                f"; {summary.scheduled} more arrive one a minute"
                if serving
                else f"; {summary.scheduled} more are scheduled, one a minute, for when it runs"
            )
        self.stdout.write(
            f"Demo workspace ready in {seconds:.1f} s: {summary.articles} articles and "
            f"{summary.customers} customers added or updated, {summary.tickets} tickets "
            f"replayed; classifier {trained}.\n"
            f"Support Agent so far: {summary.answered} answered automatically, "
            f"{summary.escalated} escalated to the approval inbox{waiting}.\n"
            f"Monitoring Agent: {summary.incidents} past incidents of Inkwell replayed through "
            f"the checks, the runbook and the status page.\n"
            f"Revenue: {self.revenue_words(summary.revenue)}"
        )

    def revenue_words(self, stored: int) -> str:
        if not stored:
            return "Inkwell's Stripe history is already in place (/revenue/)."
        return (
            f"{stored} Stripe objects of Inkwell's last 18 months loaded through the Stripe "
            f"sync (/revenue/); the invoices still unpaid are in dunning "
            f"(/admin/revenue/dunning/)."
        )

    def start_inkwell(self, sim_port: int, url: str) -> None:
        """Inkwell, the pretend product the demo's monitors watch, in a process of its own;
        it stops with `founderops up` (it watches its parent)."""
        demo_ops.deploy_secret()
        secret_file = str(Path(settings.DATA_DIR) / "demo_deploy_secret")
        command = [sys.executable, "-m", "founderops.cli.inkwell", "--port", str(sim_port)]
        command += ["--hook-url", f"{url}/hooks/deploy/{demo_ops.HOOK}/"]
        command += ["--secret-file", secret_file, "--break-after", str(BREAK_AFTER_S)]
        command += ["--parent", str(os.getpid())]
        subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603

    def serve(self, host: str, port: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        connections.close_all()
        # A fresh process for web + workers: nothing of the load (connections, caches,
        # the model in memory) leaks into the server.
        python = sys.executable
        up = [python, "-m", "founderops.cli.main", "up", "--host", host, "--port", str(port)]
        os.environ.update(demo_stripe_environment())
        os.execv(python, up)  # noqa: S606


def use_site_url(host: str, port: int) -> None:
    """Links in notifications, e-mails and the widget point at the demo's own address, unless
    FOUNDEROPS_SITE_URL says otherwise: for the load (settings) and for `up` (environment)."""
    if "FOUNDEROPS_SITE_URL" in os.environ:
        return
    url = site_url(host, port)
    settings.SITE_URL = url
    os.environ["FOUNDEROPS_SITE_URL"] = url


def site_url(host: str, port: int) -> str:
    """The address a browser on this machine opens: a wildcard host is reached on loopback."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def demo_stripe_environment() -> dict[str, str]:
    """What makes the running demo's processes (web server and workers: `up` forks them)
    answer every Stripe call from the demo's data (`demo_live_stripe`), so that approving a
    refund in the inbox carries it out, and nothing is ever sent to Stripe."""
    return {
        "FOUNDEROPS_DEMO_STRIPE": "true",
        "FOUNDEROPS_STRIPE_API_KEY": demo_billing.DEMO_KEY,
        "FOUNDEROPS_STRIPE_LIVEMODE": "true",
    }


def free_port(wanted: int) -> int:
    """`wanted` if nothing listens there on loopback, else one the system picks."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port


def check_port(host: str, port: int) -> None:
    """Bind the address `up` will listen on (as waitress does) and let it go again."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in addresses:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CommandError(
            f"cannot listen on {host}:{port}: {reason}. Is another FounderOps (or another "
            f"program) using it? Stop it, or pick another port: founderops demo --port "
            f"{port + 1 if 0 < port < 65535 else 8001}"
        ) from None
