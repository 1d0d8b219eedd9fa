"""The intent model: calibrated from its training data, it answers the known and escalates
the unknown."""

from __future__ import annotations

import numpy as np
import pytest

from founderops.ai import intents
from founderops.ai.intents import (
    UNKNOWN,
    Caution,
    IntentModel,
    choose_threshold,
    fold_numbers,
)
from tests.ai.conftest import Slice


@pytest.fixture(scope="module")
def model(clinc: Slice) -> IntentModel:
    return IntentModel.train(clinc.train, clinc.unknown, 0.95, 0.25)


def precision_at_share(model: IntentModel, clinc: Slice, share: float) -> tuple[float, float]:
    known = model.predict_many([e.text for e in clinc.held_out])
    unknown = model.predict_many(clinc.held_out_unknown)
    pairs = zip(known, clinc.held_out, strict=True)
    right = np.mean([p.answerable and p.intent == e.intent for p, e in pairs])
    answered = np.mean([p.answerable for p in known])
    passed = np.mean([p.answerable for p in unknown])
    precision = (1 - share) * right / ((1 - share) * answered + share * passed)
    return float(precision), float(right)


@pytest.mark.slow
def test_it_meets_the_target_precision_on_held_out_examples(
    model: IntentModel, clinc: Slice
) -> None:
    precision, automation = precision_at_share(model, clinc, 0.25)
    assert precision >= 0.95
    assert automation >= 0.7


@pytest.mark.slow
def test_it_escalates_unknown_requests(model: IntentModel, clinc: Slice) -> None:
    predictions = model.predict_many(clinc.held_out_unknown)
    assert np.mean([not p.answerable for p in predictions]) >= 0.9


@pytest.mark.slow
def test_it_explains_a_decision_with_the_closest_known_example(model: IntentModel) -> None:
    prediction = model.predict("does the olive garden take reservations")
    assert prediction.intent == "accept_reservations"
    assert prediction.reason.startswith("closest known example '")
    assert "for intent accept_reservations; confidence" in prediction.reason
    assert 0 < prediction.similarity <= 1


@pytest.mark.slow
def test_it_predicts_the_same_after_a_round_trip_through_bytes(
    model: IntentModel, clinc: Slice
) -> None:
    texts = [e.text for e in clinc.held_out[:20]]
    restored = IntentModel.from_bytes(model.to_bytes())
    assert restored.predict_many(texts) == model.predict_many(texts)
    assert restored.calibration == model.calibration


def test_it_refuses_a_blob_that_is_not_a_model() -> None:
    with pytest.raises(TypeError, match="not an IntentModel"):
        IntentModel.from_bytes(b"\x80\x05K\x01.")


@pytest.mark.slow
def test_it_learns_from_ten_examples_per_intent(clinc: Slice) -> None:
    few = IntentModel.train(clinc.shots(10), clinc.unknown, 0.9, 0.25)
    precision, automation = precision_at_share(few, clinc, 0.25)
    assert precision >= 0.9
    assert automation >= 0.3


@pytest.mark.slow
def test_it_calibrates_against_pseudo_unknowns_when_none_are_given(clinc: Slice) -> None:
    model = IntentModel.train(clinc.shots(20), [], 0.95, 0.25)
    assert model.calibration.n_unknown > 0


@pytest.mark.slow
def test_it_answers_only_near_duplicates_with_two_examples_per_intent(clinc: Slice) -> None:
    tiny = clinc.shots(2)
    model = IntentModel.train(tiny, [], 0.95, 0.25)
    assert model.calibration.method.startswith("too few examples")
    assert model.predict(tiny[0].text).answerable
    assert not model.predict("what is the meaning of life").answerable


@pytest.mark.slow
def test_it_trains_on_a_single_intent(clinc: Slice) -> None:
    model = IntentModel.train(clinc.shots(3)[:3], [], 0.95, 0.25)
    assert model.predict("hello").intent == clinc.train[0].intent


def test_it_classifies_without_an_embedding_model(clinc: Slice) -> None:
    model = IntentModel.train(clinc.shots(30), clinc.unknown, 0.95, 0.25, embedder_kind="tfidf")
    prediction = model.predict(clinc.held_out[0].text)
    assert model.describe()["embedder"] == "none"
    assert prediction.intent == clinc.held_out[0].intent


def test_it_refuses_to_train_on_nothing() -> None:
    with pytest.raises(ValueError, match="at least one example"):
        IntentModel.train([], [], 0.95, 0.25)


def test_it_chooses_the_lowest_threshold_that_meets_the_target() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([True, True, True, True, False, False])
    unknown = np.zeros(6, dtype=bool)
    calibration = choose_threshold(scores, correct, unknown, 0.9, 0.0, Caution(margin=0.0))
    assert calibration.threshold == 0.6
    assert calibration.expected_automation == pytest.approx(4 / 6)


def test_it_raises_the_threshold_when_unknowns_pass_it() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.85, 0.65])
    correct = np.array([True, True, True, True, False, False])
    unknown = np.array([False, False, False, False, True, True])
    calm = choose_threshold(scores, correct, unknown, 0.9, 0.05, Caution(margin=0.0))
    busy = choose_threshold(scores, correct, unknown, 0.9, 0.5, Caution(margin=0.0))
    assert busy.threshold > calm.threshold


def test_it_answers_nothing_when_no_threshold_meets_the_target() -> None:
    scores = np.array([0.9, 0.8])
    correct = np.array([False, True])
    calibration = choose_threshold(scores, correct, np.zeros(2, dtype=bool), 0.95, 0.0)
    assert calibration.threshold > 1


def test_it_distrusts_cross_validation_more_with_fewer_examples() -> None:
    few = Caution.for_examples(np.array(["a"] * 5 + ["b"] * 5, dtype=object))
    many = Caution.for_examples(np.array(["a"] * 100 + ["b"] * 100, dtype=object))
    assert few.error_inflation > many.error_inflation > 1


def test_it_counts_inflated_errors_against_the_target() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    correct = np.array([True] * 9 + [False])
    unknown = np.zeros(10, dtype=bool)
    trusting = choose_threshold(scores, correct, unknown, 0.9, 0.0, Caution(margin=0.0))
    wary = choose_threshold(
        scores, correct, unknown, 0.9, 0.0, Caution(margin=0.0, error_inflation=3.0)
    )
    assert wary.threshold > trusting.threshold


def test_it_trusts_real_unknown_examples_as_they_accumulate() -> None:
    none = Caution.for_examples(np.array(["a"] * 10, dtype=object))
    plenty = Caution.for_examples(np.array(["a"] * 10 + [UNKNOWN] * 100, dtype=object))
    assert none.pseudo_share == 1.0
    assert plenty.pseudo_share == pytest.approx(intents.PSEUDO_THRESHOLD_SHARE)


def test_it_keeps_runs_of_examples_together_in_one_fold() -> None:
    labels = np.array(["a"] * 10 + ["b"] * 10, dtype=object)
    folds = fold_numbers(labels, 5)
    assert list(folds[:10]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert sorted(np.bincount(folds[10:])) == [2, 2, 2, 2, 2]


def test_it_deals_unknown_examples_round_robin() -> None:
    labels = np.array(["a"] * 10 + [UNKNOWN] * 6, dtype=object)
    folds, fitted = intents.fold_plan(labels)
    assert fitted == 5
    assert list(folds[10:]) == [0, 1, 2, 3, 4, 0]


def test_it_lists_alternatives_by_probability(clinc: Slice) -> None:
    model = IntentModel.train(clinc.shots(30), [], 0.95, 0.25, embedder_kind="tfidf")
    alternatives = model.predict(clinc.held_out[0].text).alternatives
    assert len(alternatives) == 3
    assert [p for _, p in alternatives] == sorted((p for _, p in alternatives), reverse=True)


def test_it_describes_itself_for_the_audit_trail(clinc: Slice) -> None:
    model = IntentModel.train(clinc.shots(5), [], 0.9, 0.2, embedder_kind="tfidf")
    described = model.describe()
    assert described["intents"] == 10
    assert isinstance(described["calibration"], dict)
    assert described["calibration"]["target_precision"] == 0.9
