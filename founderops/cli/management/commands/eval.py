"""`founderops eval support --data PATH`: the Support Agent measured on a labelled file."""

from __future__ import annotations

import json
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.cli import evaluation
from founderops.core.errors import InvalidInput
from founderops.monitoring import loghub, nab
from founderops.revenue import churn_risk_telco, engine, fixture, forecast, report, retail
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.engine import PROFILES


class Command(BaseCommand):
    help = (
        "Measure an agent on real input. `eval support --data FILE` learns from the file's "
        "train + oos_train, then sends every val + oos_val text through the Support Agent as a "
        "new ticket and prints one JSON object of figures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        agents = parser.add_subparsers(dest="agent", required=True, metavar="AGENT")
        support = agents.add_parser(
            "support",
            help="intent, answer or escalate, on a file in CLINC150's layout",
            description=(
                "FILE is a JSON object with keys train, oos_train, val, oos_val, each a list of "
                "[text, intent]; unknown requests are labelled 'oos'. Run it on an empty "
                "FOUNDEROPS_DATA_DIR: it migrates the database there and fills it."
            ),
        )
        support.add_argument("--data", type=Path, required=True, help="the labelled JSON file")
        support.add_argument(
            "--target-precision",
            type=_precision,
            default=0.95,
            help="share of automatic answers that must be right (default 0.95)",
        )
        support.add_argument(
            "--shots",
            type=_positive,
            default=None,
            help="keep only the first K training examples of each intent (few-shot)",
        )
        logs = agents.add_parser(
            "logs",
            help="log template grouping accuracy on Loghub's labelled 2k samples",
            description=(
                "DIR holds <System>/<System>_2k.log and <System>_2k.log_structured.csv per "
                "system, as in Loghub. Needs no database."
            ),
        )
        logs.add_argument("--loghub", type=Path, required=True, help="the Loghub directory")
        logs.add_argument(
            "--systems",
            default=None,
            help=f"comma-separated subset of {','.join(loghub.LOG_FORMATS)} (default: all)",
        )

        revenue = agents.add_parser(
            "revenue",
            help="the MRR engine on a scenario's events.csv: movements and month-end MRR",
            description=(
                "FILE is an events.csv in the reference scenario's fixture format; writes "
                "movements.csv and month_end_mrr_usd.csv into DIR. Needs no database."
            ),
        )
        revenue.add_argument("--events", type=Path, required=True, help="the events.csv")
        revenue.add_argument("--out", type=Path, required=True, help="directory for the CSVs")
        revenue.add_argument("--profile", choices=sorted(PROFILES), default="chartmogul")
        anomalies = agents.add_parser(
            "anomalies",
            help="the metric anomaly detector scored with NAB's profiles",
            description=(
                "DIR is in NAB's layout: data/<group>/*.csv, labels/combined_windows.json, "
                "config/profiles.json (results/ optional: published scores to compare). "
                "Needs no database."
            ),
        )
        anomalies.add_argument("--nab", type=Path, required=True, help="the NAB directory")
        anomalies.add_argument(
            "--reproduce",
            action="store_true",
            help="print only the published detectors' scores from results/, normalised by us",
        )

        _add_revenue_insights(agents)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["agent"] in _INSIGHTS:
            self.stdout.write(json.dumps(_insights(options)))
            return
        if options["agent"] == "revenue":
            self.stdout.write(_revenue(options["events"], options["out"], options["profile"]))
            return
        if options["agent"] == "anomalies":
            try:
                if options["reproduce"]:
                    figures = nab.reproduction(options["nab"])
                else:
                    figures = nab.report(options["nab"])
            except nab.NabInputError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(figures))
            return
        if options["agent"] == "logs":
            self.stdout.write(json.dumps(_logs(options["loghub"], options["systems"])))
            return
        loaded = evaluation.load_dataset(options["data"]).with_shots(options["shots"])
        dataset, skipped = evaluation.without_empty_texts(loaded)
        evaluation.prepare_database()
        target: float = options["target_precision"]
        evaluation.create_workspace(dataset.train, [text for text, _ in dataset.oos_train], target)
        row, seconds = evaluation.train_classifier()
        outcomes = evaluation.run_tickets(dataset.val + dataset.oos_val)
        extra = evaluation.model_figures(row, seconds) | {
            "target_precision": target,
            "shots": options["shots"],
            "n_train": len(dataset.train),
            "n_oos_train": len(dataset.oos_train),
            "skipped_empty_texts": skipped,
        }
        figures = evaluation.Summary(outcomes, extra).figures()
        self.stdout.write(json.dumps(figures))


_INSIGHTS = ("churn", "cohorts", "forecast")


def _add_revenue_insights(agents: Any) -> None:
    churn = agents.add_parser(
        "churn",
        help="churn-risk models on IBM's telco churn CSV: AUC by stratified 5-fold CV",
        description="Prints one JSON object; the plain logistic regression is the baseline.",
    )
    churn.add_argument("--telco", type=Path, required=True, help="Telco-Customer-Churn.csv")
    cohorts = agents.add_parser(
        "cohorts",
        help="monthly customer retention cohorts from invoices",
        description=(
            "--retail: the UCI Online Retail parquet; --csv: columns customer, date (ISO 8601), "
            "amount (minor units). Prints the first cohorts as one JSON object."
        ),
    )
    source = cohorts.add_mutually_exclusive_group(required=True)
    source.add_argument("--retail", type=Path, help="online_retail.parquet")
    source.add_argument("--csv", type=Path, help="a purchases CSV")
    cohorts.add_argument("--rows", type=_at_least_one, default=3, help="cohorts to print")
    forecast = agents.add_parser(
        "forecast",
        help="rolling-origin backtest of the MRR forecast on simulated businesses",
    )
    forecast.add_argument("--businesses", type=_at_least_one, default=100)
    forecast.add_argument("--seed", type=_seed, default=0)


def _insights(options: dict[str, Any]) -> dict[str, object]:
    try:
        if options["agent"] == "churn":
            return churn_risk_telco.evaluate(options["telco"])
        if options["agent"] == "forecast":
            return forecast.evaluate(options["businesses"], seed=options["seed"])
        if options["retail"] is not None:
            purchases = retail.load_online_retail(options["retail"])
        else:
            with options["csv"].open(newline="", encoding="utf-8") as handle:
                purchases = retail.read_purchases_csv(handle)
        return retail.table_json(retail.cohort_table(purchases), options["rows"])
    except (InvalidInput, OSError) as error:
        raise CommandError(str(error)) from None
    except UnicodeDecodeError as error:
        raise CommandError(f"not UTF-8 text (byte 0x{error.object[error.start]:02x})") from None


# Argument types raise ArgumentTypeError: argparse turns it into a usage error (a CommandError
# raised inside argparse would escape as a traceback).


def _whole(value: str, least: int) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or int(value) < least:
        raise ArgumentTypeError(f"{value!r} must be a whole number of at least {least}")
    return int(value)


def _at_least_one(value: str) -> int:
    return _whole(value, 1)


def _seed(value: str) -> int:
    return _whole(value, 0)


def _revenue(events: Path, out: Path, profile: str) -> str:
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a directory for the report's CSV files")
    try:
        result = engine.compute(fixture.load(events), PROFILES[profile])
        written = report.write(result, out)
    except fixture.FixtureError as error:
        raise CommandError(f"{events}:{error.line}: {error.reason}") from None
    except (RevenueInputError, OSError) as error:
        raise CommandError(str(error)) from None
    return "\n".join(str(path) for path in written)


def _logs(directory: Path, systems: str | None) -> dict[str, object]:
    names = [name.strip() for name in systems.split(",")] if systems else None
    try:
        return loghub.evaluate(directory, names)
    except loghub.LoghubError as error:
        raise CommandError(str(error)) from None


def _precision(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.5 <= number < 1:
        raise ArgumentTypeError(f"{value!r} must be at least 0.5 and below 1")
    return number


def _positive(value: str) -> int:
    return _whole(value, 1)
