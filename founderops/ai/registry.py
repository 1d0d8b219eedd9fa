"""Store and load trained models; each process caches the newest version it has seen."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Max

from founderops.ai.intents import Example, IntentModel
from founderops.ai.models import TrainedModel
from founderops.core import clock

_cache: dict[str, tuple[int, IntentModel]] = {}


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
    _cache[name] = (row.version, model)
    return row


def current_version(name: str) -> int | None:
    version: int | None = TrainedModel.objects.filter(name=name).aggregate(v=Max("version"))["v"]
    return version


def load_intent_model(name: str) -> tuple[int, IntentModel] | None:
    version = current_version(name)
    if version is None:
        return None
    cached = _cache.get(name)
    if cached and cached[0] == version:
        return cached
    row = TrainedModel.objects.get(name=name, version=version)
    if row.metrics.get("version") != IntentModel.version:
        # Trained by an older release whose pickled classes may not load: act as untrained
        # until the next retrain (the agent escalates, saying so) rather than crash a worker.
        return None
    model = IntentModel.from_bytes(bytes(row.blob))
    _cache[name] = (version, model)
    return version, model
