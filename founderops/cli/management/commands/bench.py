"""`founderops bench support|email|web|monitoring|revenue|ledger`: the Support Agent's pipeline,
e-mail intake from IMAP, the cockpit under load, the outage harness of the Monitoring Agent, the
MRR engine beside DuckDB, and the revenue pages' path from the database."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from founderops.cli import (
    evaluation,
    ledger_bench,
    mail_bench,
    outage_bench,
    revenue_bench,
    web_bench,
)
from founderops.revenue.models import BillingCustomer

# ../shared/data next to the project checkout, as the Makefile and tests find it.
CLINC = Path(settings.BASE_DIR).parents[1] / "shared" / "data" / "support" / "clinc150"


class Command(BaseCommand):
    help = (
        "Benchmark an agent. `bench support` builds a knowledge base (a slice of CLINC150 when "
        "../shared/data is there, else a generated one), then streams tickets through intake, "
        "decision and stored reply, and prints tickets/second, p50/p95 latency and peak memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        agents = parser.add_subparsers(dest="agent", required=True, metavar="AGENT")
        support = agents.add_parser("support", help="the Support Agent's whole pipeline")
        support.add_argument("--tickets", type=int, default=600, help="tickets to stream")
        support.add_argument("--intents", type=int, default=40, help="intents in the KB")
        email = agents.add_parser("email", help="e-mail intake: IMAP to a decided ticket")
        email.add_argument("--mails", type=int, default=500, help="mails in the mailbox")
        email.add_argument("--intents", type=int, default=40, help="intents in the KB")
        web = agents.add_parser("web", help="cockpit home and inbox under concurrent users")
        web.add_argument("--tickets", type=int, default=10_000, help="tickets in the database")
        web.add_argument("--users", type=int, default=50, help="concurrent signed-in users")
        web.add_argument("--rounds", type=int, default=10, help="page loads per user and page")
        web.add_argument("--threads", type=int, default=8, help="the web server's threads")
        web.add_argument(
            "--think-ms",
            type=int,
            default=0,
            help="a user's pause after each page (0: load the next at once, a stress test)",
        )
        outage = agents.add_parser(
            "monitoring", help="outage harness: time to detect, false pages, cost of 1,000 monitors"
        )
        outage.add_argument("--seed", type=int, help="plans the faults (default: a random one)")
        outage.add_argument("--per-fault", type=int, default=5, help="targets per fault kind")
        outage.add_argument("--monitors", type=int, default=1000, help="monitors in the load phase")
        outage.add_argument(
            "--load-seconds", type=float, default=120, help="the load phase's length"
        )
        outage.add_argument(
            "--quick", action="store_true", help="a small, short run (refused target, one blip)"
        )

        revenue = agents.add_parser(
            "revenue", help="the MRR engine and its metrics on a generated history, beside DuckDB"
        )
        revenue.add_argument("--customers", type=int, default=100_000, help="customers to make")
        revenue.add_argument("--months", type=int, default=36, help="months of history")
        revenue.add_argument("--seed", type=int, default=7, help="the generator's seed")
        stored = agents.add_parser(
            "ledger", help="the revenue pages from the database on a generated Stripe history"
        )
        stored.add_argument("--customers", type=int, default=20_000, help="customers to make")
        stored.add_argument("--months", type=int, default=24, help="months of sign-ups")
        stored.add_argument("--seed", type=int, default=11, help="the generator's seed")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["agent"] == "revenue":
            self._revenue(options)
            return
        if options["agent"] == "ledger":
            self.stdout.write(json.dumps(bench_ledger(options)))
            return
        if options["agent"] == "monitoring":
            self._monitoring(options)
            return
        if options["agent"] == "web":
            self.stdout.write(json.dumps(bench_web(options)))
            return
        if options["agent"] == "email":
            dataset, source = _dataset(options["intents"])
            self.stdout.write(json.dumps(mail_bench.run(dataset, source, options["mails"])))
            return
        dataset, source = _dataset(options["intents"])
        evaluation.prepare_database()
        unknown = [text for text, _ in dataset.oos_train]
        evaluation.create_workspace(dataset.train, unknown, 0.95)
        row, seconds = evaluation.train_classifier()
        stream = _stream(dataset, options["tickets"])
        started = time.perf_counter()
        outcomes = evaluation.run_tickets(stream)
        elapsed = time.perf_counter() - started
        figures = evaluation.Summary(outcomes, evaluation.model_figures(row, seconds)).figures()
        keys = ("p50_ms", "p95_ms", "model_p95_ms", "automation_rate", "auto_precision", "train_s")
        report = {
            "source": source,
            "intents": len(dataset.intents()),
            "tickets": len(outcomes),
            "tickets_per_second": round(len(outcomes) / elapsed, 1) if elapsed else None,
        } | {key: figures[key] for key in (*keys, "peak_rss_mb")}
        self.stdout.write(json.dumps(report))

    def _revenue(self, options: dict[str, Any]) -> None:
        if options["customers"] < 1 or options["months"] < 1:
            raise CommandError("--customers and --months must be at least 1")
        shape = revenue_bench.Shape(options["customers"], options["months"], options["seed"])
        report = revenue_bench.run(shape)
        self.stdout.write(json.dumps(report))
        if report["all_agree"] is not True:
            raise CommandError("the engine disagrees with DuckDB or with its own full recompute")

    def _monitoring(self, options: dict[str, Any]) -> None:
        if options["per_fault"] < 1 or options["monitors"] < 0 or options["load_seconds"] < 0:
            raise CommandError(
                "--per-fault must be at least 1, --monitors and --load-seconds at least 0"
            )
        seed = options["seed"] if options["seed"] is not None else random.randrange(1_000_000)
        self.stdout.write(f"seed {seed}")
        if options["quick"]:
            report = outage_bench.run(seed, outage_bench.QUICK, 0, 0)
        else:
            scenario = outage_bench.Scenario(per_fault=options["per_fault"])
            report = outage_bench.run(seed, scenario, options["monitors"], options["load_seconds"])
        self.stdout.write(outage_bench.table(report))
        self.stdout.write(json.dumps(report))


def bench_ledger(options: dict[str, Any]) -> dict[str, object]:
    if options["customers"] < 1 or options["months"] < 1:
        raise CommandError("--customers and --months must be at least 1")
    evaluation.prepare_database()
    if BillingCustomer.objects.exists():
        raise CommandError(
            "this database already holds billing: the bench needs its own. Point "
            "FOUNDEROPS_DATA_DIR at a new, empty directory (e.g. $(mktemp -d))."
        )
    shape = ledger_bench.Shape(options["customers"], options["months"], options["seed"])
    return ledger_bench.run(shape)


def bench_web(options: dict[str, Any]) -> dict[str, object]:
    evaluation.prepare_database()
    seeded = web_bench.seed(options["tickets"])
    sessions = web_bench.sign_in(options["users"])
    paths = [reverse("web:home"), reverse("web:inbox")]
    with web_bench.server(options["threads"]) as base:
        web_bench.load(base, sessions[:2], paths, rounds=1)  # warm the server's caches
        started = time.perf_counter()
        think = options["think_ms"] / 1000
        timings = web_bench.load(base, sessions, paths, options["rounds"], think)
        elapsed = time.perf_counter() - started
    return {
        "tickets": seeded.tickets,
        "pending_approvals": seeded.pending,
        "users": options["users"],
        "server_threads": options["threads"],
        "think_ms": options["think_ms"],
    } | web_bench.report(timings, elapsed)


def _dataset(intents: int) -> tuple[evaluation.Dataset, str]:
    path = CLINC / "data_full.json"
    if not path.is_file():
        return evaluation.synthetic_dataset(), "synthetic"
    full = evaluation.load_dataset(path)
    keep = set(full.intents()[:intents])
    return (
        evaluation.Dataset(
            [p for p in full.train if p[1] in keep],
            full.oos_train,
            [p for p in full.val if p[1] in keep],
            full.oos_val,
        ),
        f"clinc150 slice ({len(keep)} intents)",
    )


def _stream(dataset: evaluation.Dataset, tickets: int) -> list[evaluation.Pair]:
    pool = dataset.val + dataset.oos_val
    return [pool[i % len(pool)] for i in range(tickets)]
