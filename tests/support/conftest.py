"""Support fixtures: a two-article knowledge base and a classifier the test controls."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from founderops.ai.intents import Prediction
from founderops.support import services
from founderops.support.agents import LoadedClassifier, SupportDeps
from founderops.support.models import KnowledgeArticle


@dataclass
class FakeClassifier:
    """Answers with whatever intent and confidence the test sets."""

    intent: str = "reset_password"
    confidence: float = 0.99
    answerable: bool = True
    seen: list[str] = field(default_factory=list)

    def predict(self, text: str) -> Prediction:
        self.seen.append(text)
        return Prediction(
            self.intent,
            self.confidence,
            self.confidence,
            self.answerable,
            "fake reason",
            [(self.intent, self.confidence)],
        )


@pytest.fixture
def classifier() -> FakeClassifier:
    return FakeClassifier()


@pytest.fixture
def deps(classifier: FakeClassifier) -> SupportDeps:
    loaded = LoadedClassifier("fake:v1", classifier, 0.9)
    return SupportDeps(signature="Fiona at Inkwell", classifier=lambda: loaded)


@pytest.fixture
def articles(db: None) -> list[KnowledgeArticle]:
    return [
        services.save_article(
            "reset-password",
            "Reset your password",
            "reset_password",
            "Use the reset link.",
            "Click **Forgot password** on the login page and follow the link we email you.",
            ["I forgot my password", "reset my password"],
        ),
        services.save_article(
            "refunds",
            "Refunds",
            "refund_request",
            "Refund policy.",
            "We refund within 14 days of payment.",
            ["I want a refund", "refund me please"],
        ),
    ]


def incoming(body: str = "I forgot my password, help", **extra: str) -> services.Incoming:
    fields = {"email": "ada@example.com", "name": "Ada Lovelace", "subject": "Password"}
    fields.update(extra)
    return services.Incoming(body=body, **fields)  # type: ignore[arg-type]
