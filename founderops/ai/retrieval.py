"""Retrieval over knowledge documents: which documents best answer a question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass(frozen=True)
class Hit:
    key: str
    score: float


class Index:
    def __init__(self, keys: Sequence[str], texts: Sequence[str]) -> None:
        self.keys = list(keys)
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts) if texts else None

    def search(self, query: str, k: int = 3) -> list[Hit]:
        if self.matrix is None:
            return []
        scores = (self.matrix @ self.vectorizer.transform([query]).T).toarray().ravel()
        order = np.argsort(scores)[::-1][:k]
        return [Hit(self.keys[i], float(scores[i])) for i in order if scores[i] > 0]
