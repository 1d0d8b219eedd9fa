"""Store and load trained models; each process caches the newest version it has seen."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Max

from founderops.ai.intents import Example, IntentModel
from founderops.ai.models import TrainedModel
from founderops.core import clock

# name -> (row key, version, model). The key is the row's id and creation time, so a version
# number reused after a rolled-back training never serves the wrong model.
_cache: dict[str, tuple[tuple[int, str], int, IntentModel]] = {}


def forget() -> None:
    """Drop this process's cached models (tests roll back the rows they were made from)."""
    _cache.clear()


def _key(row_id: int, created_at: object) -> tuple[int, str]:
    return row_id, str(created_at)


def train_intent_model(
    name: str,
    examples: Sequence[Example],
    unknown: Sequence[str],
    target_precision: float,
    unknown_share: float,
) -> TrainedModel:
    model = IntentModel.train(examples, unknown, target_precision, unknown_share)
    with transaction.atomic():
        latest = TrainedModel.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
        row = TrainedModel.objects.create(
            name=name,
            version=latest + 1,
            created_at=clock.now(),
            blob=model.to_bytes(),
            n_examples=len(examples) + len(unknown),
            metrics=model.describe(),
        )
    _cache[name] = (_key(row.pk, row.created_at), row.version, model)
    return row


def current_version(name: str) -> int | None:
    version: int | None = TrainedModel.objects.filter(name=name).aggregate(v=Max("version"))["v"]
    return version


def load_intent_model(name: str) -> tuple[int, IntentModel] | None:
    latest = (
        TrainedModel.objects.filter(name=name)
        .order_by("-version")
        .values_list("pk", "created_at", "version")
        .first()
    )
    if latest is None:
        return None
    key, version = _key(latest[0], latest[1]), latest[2]
    cached = _cache.get(name)
    if cached and cached[0] == key:
        return version, cached[2]
    row = TrainedModel.objects.get(pk=latest[0])
    if row.metrics.get("version") != IntentModel.version:
        # Trained by an older release whose pickled classes may not load: act as untrained
        # until the next retrain (the agent escalates, saying so) rather than crash a worker.
        return None
    model = IntentModel.from_bytes(bytes(row.blob))
    _cache[name] = (key, version, model)
    return version, model
