"""Measuring the Support Agent on real input: `founderops eval support` and `founderops bench`.

Both drive the production path one ticket at a time (intake, classification, retrieval,
decision, reply or escalation stored) in their own database, and print one JSON object.
"""

from __future__ import annotations

import json
import re
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.text import slugify

from founderops.ai.intents import UNKNOWN, Prediction
from founderops.ai.models import AgentSwitch, TrainedModel
from founderops.core import clock
from founderops.support import services, training
from founderops.support.agents import (
    Classifier,
    LoadedClassifier,
    SupportDeps,
    handle_ticket,
    load_classifier,
)
from founderops.support.models import Decision, KnowledgeArticle, Ticket, TrainingExample

SPLITS = ("train", "oos_train", "val", "oos_val")
Pair = tuple[str, str]


@dataclass(frozen=True)
class Dataset:
    """A file in CLINC150's layout: lists of [text, intent]; unknown requests labelled 'oos'."""

    train: list[Pair]
    oos_train: list[Pair]
    val: list[Pair]
    oos_val: list[Pair]

    def with_shots(self, shots: int | None) -> Dataset:
        """The first `shots` training examples of each intent, in file order; all unknowns."""
        if shots is None:
            return self
        kept: dict[str, int] = {}
        train = []
        for text, intent in self.train:
            if kept.get(intent, 0) < shots:
                kept[intent] = kept.get(intent, 0) + 1
                train.append((text, intent))
        return Dataset(train, self.oos_train, self.val, self.oos_val)

    def intents(self) -> list[str]:
        return sorted({intent for _, intent in self.train})


def load_dataset(path: Path) -> Dataset:
    if not path.is_file():
        raise CommandError(f"--data {path}: no such file")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise CommandError(f"--data {path}: not UTF-8 text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"--data {path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise CommandError(f"--data {path}: expected a JSON object with keys {', '.join(SPLITS)}")
    missing = [key for key in SPLITS if key not in raw]
    if missing:
        raise CommandError(f"--data {path}: missing key(s) {', '.join(missing)}")
    splits = {key: _pairs(path, key, raw[key]) for key in SPLITS}
    if not splits["train"]:
        raise CommandError(f"--data {path}: 'train' is empty")
    if not splits["val"] and not splits["oos_val"]:
        raise CommandError(f"--data {path}: 'val' and 'oos_val' are both empty: nothing to judge")
    _check_labels(path, splits)
    return Dataset(**splits)


def _pairs(path: Path, key: str, rows: object) -> list[Pair]:
    if not isinstance(rows, list):
        raise CommandError(f"--data {path}: '{key}' must be a list of [text, intent] pairs")
    pairs = []
    for number, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row)):
            raise CommandError(
                f"--data {path}: {key}[{number}] is {json.dumps(row)[:80]}, "
                "expected [text, intent] (two strings)"
            )
        if not row[1].strip():
            raise CommandError(f"--data {path}: {key}[{number}] has an empty intent")
        pairs.append((row[0], row[1]))
    return pairs


def without_empty_texts(dataset: Dataset) -> tuple[Dataset, int]:
    """Real files hold a few empty texts (Banking77-OOS does): no ticket has an empty body, so
    they are left out and counted."""
    splits = [
        [pair for pair in rows if pair[0].strip()]
        for rows in (dataset.train, dataset.oos_train, dataset.val, dataset.oos_val)
    ]
    kept = sum(len(rows) for rows in splits)
    total = sum(
        len(rows) for rows in (dataset.train, dataset.oos_train, dataset.val, dataset.oos_val)
    )
    return Dataset(*splits), total - kept


def _check_labels(path: Path, splits: dict[str, list[Pair]]) -> None:
    for key in ("train", "val"):
        if any(intent == UNKNOWN for _, intent in splits[key]):
            raise CommandError(f"--data {path}: '{key}' holds {UNKNOWN!r} rows; put them in oos_*")
    for key in ("oos_train", "oos_val"):
        if any(intent != UNKNOWN for _, intent in splits[key]):
            raise CommandError(f"--data {path}: every '{key}' row must be labelled {UNKNOWN!r}")
    known = {intent for _, intent in splits["train"]}
    unseen = sorted({intent for _, intent in splits["val"]} - known)
    if unseen:
        raise CommandError(
            f"--data {path}: 'val' has intents with no training example: {', '.join(unseen[:5])}"
        )


# ---------------------------------------------------------------------------------------------
# Preparing the workspace.


def prepare_database() -> None:
    """Migrate the configured database and make sure it holds nobody's real work."""
    call_command("migrate", interactive=False, verbosity=0)
    found = {
        "tickets": Ticket.objects.count(),
        "knowledge articles": KnowledgeArticle.objects.count(),
        "training examples": TrainingExample.objects.count(),
    }
    busy = {name: count for name, count in found.items() if count}
    if busy:
        listed = ", ".join(f"{count} {name}" for name, count in busy.items())
        raise CommandError(
            f"this database already holds {listed}: measurements need their own. "
            "Point FOUNDEROPS_DATA_DIR at a new, empty directory (e.g. $(mktemp -d))."
        )


def answer_text(intent: str) -> str:
    return f"Answer for {intent}."


def slug_for(intent: str) -> str:
    return slugify(intent.replace("_", "-"))[:120] or "intent"


def create_workspace(train: Sequence[Pair], unknown: Sequence[str], target: float) -> None:
    """One article per intent, the examples as imported training data, the founder's target."""
    AgentSwitch.objects.update_or_create(
        agent=services.AGENT, defaults={"target_precision": target, "enabled": True}
    )
    for intent in sorted({intent for _, intent in train}):
        title = intent.replace("_", " ").capitalize()
        answer = answer_text(intent)
        services.save_article(slug_for(intent), title, intent, answer, answer, examples=[])
    now = clock.now()
    rows = [(text, intent) for text, intent in train] + [(text, UNKNOWN) for text in unknown]
    TrainingExample.objects.bulk_create(
        [
            TrainingExample(
                text=text, intent=intent, source=TrainingExample.Source.IMPORT, created_at=now
            )
            for text, intent in rows
        ],
        batch_size=1000,
    )


def train_classifier() -> tuple[TrainedModel, float]:
    started = time.perf_counter()
    row = training.refresh_classifier()
    return row, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Running tickets through the agent.


@dataclass(frozen=True)
class Outcome:
    truth: str
    intent: str
    answered: bool
    urgent: bool
    seconds: float
    model_seconds: float = 0.0

    @property
    def right(self) -> bool:
        return self.answered and self.truth != UNKNOWN and self.intent == self.truth


class TimedClassifier:
    """The stored model, with the time each prediction took (to tell model from database)."""

    def __init__(self, model: Classifier) -> None:
        self.model = model
        self.seconds = 0.0

    def predict(self, text: str) -> Prediction:
        started = time.perf_counter()
        prediction = self.model.predict(text)
        self.seconds = time.perf_counter() - started
        return prediction


def timed_deps() -> tuple[SupportDeps, list[TimedClassifier]]:
    """Deps without an LLM, so that runs are comparable, and with the classifier timed."""
    used: list[TimedClassifier] = []

    def loader() -> LoadedClassifier | None:
        loaded = load_classifier()
        if loaded is None:
            return None
        timed = TimedClassifier(loaded.classifier)
        used.append(timed)
        return LoadedClassifier(loaded.version, timed, loaded.threshold)

    return SupportDeps(provider=None, classifier=loader), used


def run_ticket(text: str, truth: str, number: int) -> Outcome:
    """One ticket through intake and the agent, timed."""
    deps, used = timed_deps()
    started = time.perf_counter()
    ticket, _ = services.receive_ticket(
        services.Incoming(email=f"customer{number % 500}@example.com", body=text, channel="api"),
        triage=False,
    )
    decision = handle_ticket(ticket, deps)
    seconds = time.perf_counter() - started
    return Outcome(
        truth=truth,
        intent=decision.intent,
        answered=decision.action == Decision.Action.AUTO_REPLY,
        urgent=ticket.priority == Ticket.Priority.URGENT,
        seconds=seconds,
        model_seconds=sum(t.seconds for t in used),
    )


def run_tickets(pairs: Iterable[Pair]) -> list[Outcome]:
    return [run_ticket(text, truth, number) for number, (text, truth) in enumerate(pairs)]


# ---------------------------------------------------------------------------------------------
# The figures.


@dataclass
class Summary:
    outcomes: list[Outcome]
    extra: dict[str, object] = field(default_factory=dict)

    def known(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.truth != UNKNOWN]

    def unknown(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.truth == UNKNOWN]

    def figures(self) -> dict[str, object]:
        known, unknown = self.known(), self.unknown()
        answered = [o for o in self.outcomes if o.answered]
        right = sum(o.right for o in answered)
        seconds = [o.seconds for o in self.outcomes]
        figures: dict[str, object] = {
            "automation_rate": _ratio(sum(o.right for o in known), len(known)),
            "auto_precision": _ratio(right, len(answered)),
            "oos_escalation_rate": _ratio(sum(not o.answered for o in unknown), len(unknown)),
            "auto_precision_at_25pct_unknown": reweighted_precision(known, unknown, 0.25),
            "intent_accuracy": _ratio(sum(o.intent == o.truth for o in known), len(known)),
            "escalated_as_urgent": sum(o.urgent and not o.answered for o in self.outcomes),
            "p50_ms": _percentile(seconds, 50),
            "p95_ms": _percentile(seconds, 95),
            "model_p50_ms": _percentile([o.model_seconds for o in self.outcomes], 50),
            "model_p95_ms": _percentile([o.model_seconds for o in self.outcomes], 95),
            "n_known": len(known),
            "n_unknown": len(unknown),
            "n_answered": len(answered),
        }
        return figures | self.extra | {"peak_rss_mb": peak_rss_mb()}


def reweighted_precision(
    known: Sequence[Outcome], unknown: Sequence[Outcome], share: float
) -> float | None:
    """Precision had the traffic held `share` unknown requests (the validation mix holds few)."""
    if not known or not unknown:
        return None
    right = sum(o.right for o in known) / len(known)
    wrong = sum(o.answered and not o.right for o in known) / len(known)
    passed = sum(o.answered for o in unknown) / len(unknown)
    answered = (1 - share) * (right + wrong) + share * passed
    return _round((1 - share) * right / answered) if answered else None


def _percentile(seconds: Sequence[float], q: float) -> float | None:
    return _round(float(np.percentile(seconds, q)) * 1000) if len(seconds) else None


def _ratio(part: int, whole: int) -> float | None:
    return _round(part / whole) if whole else None


def _round(value: float) -> float:
    return round(value, 4)


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def model_figures(row: TrainedModel, train_seconds: float) -> dict[str, object]:
    metrics = row.metrics if isinstance(row.metrics, dict) else {}
    calibration = metrics.get("calibration", {})
    return {
        "train_s": round(train_seconds, 1),
        "model": metrics.get("version"),
        "embedder": metrics.get("embedder"),
        "threshold": calibration.get("threshold") if isinstance(calibration, dict) else None,
        "expected_precision": (
            calibration.get("expected_precision") if isinstance(calibration, dict) else None
        ),
    }


# ---------------------------------------------------------------------------------------------
# A demo-like stream for the benchmark when the shared data is absent.

_SYNTHETIC = {
    "reset_password": ["how do I reset my password", "forgot my password", "password reset link"],
    "change_plan": ["how do I upgrade my plan", "switch to the annual plan", "downgrade my plan"],
    "invoice_copy": ["send me a copy of my invoice", "where are my invoices", "need last invoice"],
    "cancel_subscription": ["cancel my subscription", "how do I stop my plan", "end my account"],
    "export_data": ["export my data as csv", "download all my records", "how to export projects"],
    "add_teammate": ["invite a teammate", "add a user to my workspace", "give my colleague access"],
}
_PREFIXES = ["", "hi, ", "hello, ", "quick question: ", "please ", "hey team, "]
_SUFFIXES = ["", "?", " please", " thanks", " asap?", " - thank you!"]


def synthetic_pairs(per_intent: int, seed: int) -> list[Pair]:
    rng = np.random.default_rng(seed)
    pairs = []
    for intent, phrases in _SYNTHETIC.items():
        for _ in range(per_intent):
            phrase = phrases[int(rng.integers(len(phrases)))]
            prefix = _PREFIXES[int(rng.integers(len(_PREFIXES)))]
            suffix = _SUFFIXES[int(rng.integers(len(_SUFFIXES)))]
            pairs.append((re.sub(r"\s+", " ", f"{prefix}{phrase}{suffix}").strip(), intent))
    return pairs


def synthetic_dataset() -> Dataset:
    unknown = [
        (text, UNKNOWN)
        for text in (
            "what is the weather tomorrow",
            "tell me a joke",
            "do you sell gift cards in stores",
            "who won the game last night",
        )
    ]
    return Dataset(synthetic_pairs(20, 0), unknown, synthetic_pairs(40, 1), unknown)
