"""Intent classification with a calibrated answer/escalate decision.

First version: TF-IDF + logistic regression, threshold on the top probability calibrated by
cross-validation over the product's own examples. (The embedding hybrid replaces it.)
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

UNKNOWN = "oos"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    similarity: float
    answerable: bool
    reason: str
    alternatives: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Calibration:
    threshold: float
    target_precision: float
    unknown_share: float
    expected_precision: float
    expected_automation: float


class IntentModel:
    version = "tfidf-lr-1"

    def __init__(
        self, vectorizer: TfidfVectorizer, classifier: LogisticRegression, calibration: Calibration
    ) -> None:
        self.vectorizer = vectorizer
        self.classifier = classifier
        self.calibration = calibration

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        unknown: Sequence[str],
        target_precision: float,
        unknown_share: float,
    ) -> IntentModel:
        texts = [e.text for e in examples]
        labels = np.array([e.intent for e in examples])
        vectorizer, classifier = _fit(texts, labels)
        scores, correct = _cross_val_scores(texts, labels)
        unknown_scores = _top_probability(vectorizer, classifier, unknown)
        calibration = choose_threshold(
            scores, correct, unknown_scores, target_precision, unknown_share
        )
        return cls(vectorizer, classifier, calibration)

    def predict(self, text: str) -> Prediction:
        probabilities = self.classifier.predict_proba(self.vectorizer.transform([text]))[0]
        order = np.argsort(probabilities)[::-1][:3]
        classes = self.classifier.classes_
        top = float(probabilities[order[0]])
        answerable = top >= self.calibration.threshold
        reason = (
            f"confidence {top:.2f} ≥ threshold {self.calibration.threshold:.2f}"
            if answerable
            else f"confidence {top:.2f} below threshold {self.calibration.threshold:.2f}"
        )
        return Prediction(
            intent=str(classes[order[0]]),
            confidence=top,
            similarity=top,
            answerable=answerable,
            reason=reason,
            alternatives=[(str(classes[i]), float(probabilities[i])) for i in order],
        )

    def describe(self) -> dict[str, object]:
        """What the founder and the audit trail see about this model."""
        return {"version": self.version, "calibration": asdict(self.calibration)}

    def to_bytes(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def from_bytes(data: bytes) -> IntentModel:
        model = pickle.loads(data)  # noqa: S301 - see the import
        assert isinstance(model, IntentModel)
        return model


def _fit(texts: Sequence[str], labels: np.ndarray) -> tuple[TfidfVectorizer, LogisticRegression]:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(texts)
    classifier = LogisticRegression(C=10.0, max_iter=1000)
    classifier.fit(features, labels)
    return vectorizer, classifier


def _top_probability(
    vectorizer: TfidfVectorizer, classifier: LogisticRegression, texts: Sequence[str]
) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    return np.asarray(classifier.predict_proba(vectorizer.transform(texts)).max(axis=1))


def _cross_val_scores(texts: Sequence[str], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.zeros(len(texts))
    correct = np.zeros(len(texts), dtype=bool)
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    folds = max(2, min(5, smallest))
    if smallest < 2:
        return scores, correct
    text_array = np.array(texts, dtype=object)
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels):
        vectorizer, classifier = _fit(list(text_array[train]), labels[train])
        probabilities = classifier.predict_proba(vectorizer.transform(list(text_array[held])))
        scores[held] = probabilities.max(axis=1)
        correct[held] = classifier.classes_[probabilities.argmax(axis=1)] == labels[held]
    return scores, correct


def choose_threshold(
    scores: np.ndarray,
    correct: np.ndarray,
    unknown_scores: np.ndarray,
    target_precision: float,
    unknown_share: float,
) -> Calibration:
    """The lowest threshold whose expected precision, on a mix with `unknown_share` unknown
    requests, still meets the target. Unknowns answered count as wrong."""
    known_weight = (1 - unknown_share) / max(len(scores), 1)
    unknown_weight = unknown_share / max(len(unknown_scores), 1) if len(unknown_scores) else 0.0
    best = Calibration(1.01, target_precision, unknown_share, 1.0, 0.0)
    for threshold in np.unique(np.concatenate([scores, unknown_scores, [1.01]]))[::-1]:
        answered = scores >= threshold
        right = known_weight * float((answered & correct).sum())
        wrong = known_weight * float((answered & ~correct).sum())
        wrong += unknown_weight * float((unknown_scores >= threshold).sum())
        if right + wrong == 0:
            continue
        precision = right / (right + wrong)
        if precision < target_precision:
            break
        automation = float((answered & correct).mean()) if len(scores) else 0.0
        best = Calibration(float(threshold), target_precision, unknown_share, precision, automation)
    return best
