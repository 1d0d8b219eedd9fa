"""`founderops eval support --data PATH`: the Support Agent measured on a labelled file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.cli import evaluation


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

    def handle(self, *args: Any, **options: Any) -> None:
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


def _precision(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--target-precision {value!r} is not a number") from None
    if not 0.5 <= number < 1:
        raise CommandError("--target-precision must be at least 0.5 and below 1")
    return number


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"--shots {value!r} must be a whole number of at least 1")
    return int(value)
