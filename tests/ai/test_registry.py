from __future__ import annotations

import pytest

from founderops.ai import registry
from founderops.ai.models import TrainedModel
from founderops.core import clock

pytestmark = pytest.mark.django_db


def test_it_treats_a_model_from_an_older_release_as_untrained() -> None:
    TrainedModel.objects.create(
        name="support-intent",
        version=1,
        created_at=clock.now(),
        blob=b"not a model of this release",
        metrics={"version": "tfidf-lr-1"},
    )
    assert registry.load_intent_model("support-intent") is None
