"""Retrieval over knowledge documents: the document that answers the question comes first."""

from __future__ import annotations

import pytest
from django.test import override_settings

from founderops.ai import retrieval
from founderops.ai.embeddings import get_embedder
from founderops.ai.retrieval import Index

DOCS = {
    "reset-password": "Resetting your password. Use the 'Forgot password' link on the login page.",
    "refunds": "Refunds. We refund any payment made in the last 14 days, no questions asked.",
    "export": "Exporting your data. Download every project as CSV from Settings > Export.",
    "invoices": "Invoices. Every invoice is emailed to the billing contact and kept in Billing.",
}


def lexical_index() -> Index:
    with override_settings(AI_EMBEDDINGS="tfidf"):
        return Index(list(DOCS), list(DOCS.values()))


@pytest.mark.slow
def test_it_finds_the_document_for_a_paraphrased_question() -> None:
    index = Index(list(DOCS), list(DOCS.values()), get_embedder("minilm"))
    hits = index.search("I can't remember my login credentials", k=2)
    assert hits[0].key == "reset-password"


@pytest.mark.slow
def test_it_ranks_hits_by_score() -> None:
    index = Index(list(DOCS), list(DOCS.values()), get_embedder("minilm"))
    scores = [hit.score for hit in index.search("can I get my money back", k=4)]
    assert scores == sorted(scores, reverse=True)


def test_it_finds_a_document_by_its_words_without_embeddings() -> None:
    assert lexical_index().search("download my projects as csv", k=1)[0].key == "export"


def test_it_returns_nothing_from_an_empty_index() -> None:
    assert lexical_index().search("") == []
    with override_settings(AI_EMBEDDINGS="tfidf"):
        assert Index([], []).search("anything") == []


def test_it_leaves_out_documents_that_share_nothing_with_the_question() -> None:
    assert lexical_index().search("zzz qqq", k=3) == []


@pytest.mark.slow
def test_it_embeds_a_document_once_across_indexes() -> None:
    embedder = get_embedder("minilm")
    assert embedder is not None
    Index(["a"], ["a document seen before"], embedder)
    key = (embedder.name, "a document seen before")
    assert key in retrieval._cache
