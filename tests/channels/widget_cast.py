"""The chat widget's cast: a small help centre, a classifier trained on it, and Ada's browser.

Training the real classifier takes about a second, so each test module trains once (inside a
transaction rolled back when the module ends) and its tests share the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from founderops.ai import registry
from founderops.core import clock
from founderops.support import services, training
from founderops.support.models import TrainingExample

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADA = "ada@example.com"
ADA_IP = "203.0.113.7"
KNOWN = "I forgot my password, how do I reset it?"
UNKNOWN = "Can you build me a custom mobile app for my bakery?"
RESET_ANSWER = "Click Forgot password on the login page and follow the link we e-mail you."

ARTICLES = [
    (
        "reset-password",
        "Reset your password",
        "reset_password",
        RESET_ANSWER,
        [
            "I forgot my password",
            "how do I reset my password?",
            "cant remember my login password",
            "password reset email not received",
            "reset link expired",
            "I need a new password",
            "where is the forgot password option",
            "change my password, I can't remember it",
        ],
    ),
    (
        "refunds",
        "Refunds",
        "refund_request",
        "We refund any payment made in the last 14 days.",
        [
            "I want a refund",
            "refund me please",
            "can I get my money back",
            "please refund my last invoice",
            "I was charged and want a refund",
            "how do refunds work",
            "I'd like a refund for this month",
            "money back please",
        ],
    ),
    (
        "export-data",
        "Export your data",
        "export_data",
        "Open Settings, then Export, and download the CSV.",
        [
            "how do I export my data",
            "download all my subscribers",
            "export subscribers to csv",
            "can I get a backup of my posts",
            "export my list",
            "where is the export button",
            "I want to download my data",
            "get a csv of my readers",
        ],
    ),
]
OUT_OF_SCOPE = [
    "what's the weather in paris",
    "tell me a joke",
    "who won the football game",
    "book me a flight to rome",
    "what is the capital of peru",
    "play some music",
    "how tall is mount everest",
    "order a pizza",
]


def build_and_train() -> None:
    """The help centre and a classifier trained on it, through the real services."""
    for slug, title, intent, answer, examples in ARTICLES:
        services.save_article(slug, title, intent, f"About: {title}.", answer, examples)
    for text in OUT_OF_SCOPE:
        TrainingExample.objects.create(
            text=text, intent="oos", source=TrainingExample.Source.IMPORT, created_at=clock.now()
        )
    training.refresh_classifier()


@contextmanager
def trained_for_the_module(blocker: Any) -> Iterator[None]:
    """Train once; every test of the module runs inside this transaction, then it is undone."""
    with blocker.unblock(), transaction.atomic():
        build_and_train()
        yield
        transaction.set_rollback(True)
    registry.forget()  # the model trained here is gone with the rollback


def post_json(client: Any, path: str, data: object, **headers: str) -> Any:
    return client.post(
        path, json.dumps(data), content_type="application/json", REMOTE_ADDR=ADA_IP, **headers
    )


def form_token(client: Any, **headers: str) -> str:
    response = client.get("/widget/v1/session", REMOTE_ADDR=ADA_IP, **headers)
    assert response.status_code == 200, response.content
    token: str = response.json()["token"]
    return token
