"""Retrieval over knowledge documents: which documents best answer a question.

Hybrid: TF-IDF cosine catches exact product words (plan names, error codes) and the embedding
cosine catches paraphrases (DESIGN §6: KB top-1 0.874 with MiniLM against 0.711 with TF-IDF).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from founderops.ai.embeddings import Embedder, get_embedder

# Weight of the embedding cosine in the blended score; the rest is TF-IDF.
EMBEDDING_WEIGHT = 0.7
# Hits scoring below this share nothing useful with the query.
MIN_SCORE = 0.05
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Hit:
    key: str
    score: float


class Index:
    def __init__(
        self, keys: Sequence[str], texts: Sequence[str], embedder: Embedder | None = None
    ) -> None:
        self.keys = list(keys)
        self.embedder = embedder if embedder is not None else get_embedder()
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(texts) if texts else None
        self.vectors = cached_embeddings(self.embedder, texts) if self.embedder and texts else None

    def search(self, query: str, k: int = 3) -> list[Hit]:
        if self.matrix is None:
            return []
        scores = self._scores(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(self.keys[i], float(scores[i])) for i in order if scores[i] >= MIN_SCORE]

    def _scores(self, query: str) -> np.ndarray:
        assert self.matrix is not None
        lexical = (self.matrix @ self.vectorizer.transform([query]).T).toarray().ravel()
        if self.embedder is None or self.vectors is None:
            return np.asarray(lexical)
        semantic = self.vectors @ self.embedder.embed([query])[0]
        # Unrelated sentences still share some embedding cosine; only the part above zero counts.
        blended = EMBEDDING_WEIGHT * np.clip(semantic, 0.0, 1.0)
        return np.asarray(blended + (1 - EMBEDDING_WEIGHT) * lexical)


_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def cached_embeddings(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Knowledge documents change rarely and indexes are rebuilt often: embed each text once."""
    with _cache_lock:
        missing = sorted({t for t in texts if (embedder.name, t) not in _cache})
    fresh = embedder.embed(missing) if missing else np.zeros((0, 0), dtype=np.float32)
    with _cache_lock:
        for text, vector in zip(missing, fresh, strict=True):
            _cache[(embedder.name, text)] = vector
        rows = [_cache[(embedder.name, t)] for t in texts]
        for text in texts:
            _cache.move_to_end((embedder.name, text))
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return np.vstack(rows).astype(np.float32)
