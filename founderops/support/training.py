"""The Support Agent learns from articles' examples and from every correction."""

from __future__ import annotations

from django.conf import settings

from founderops.ai import registry
from founderops.ai.intents import Example
from founderops.ai.models import AgentSwitch, TrainedModel
from founderops.core import audit
from founderops.core.audit import Decision as AuditDecision
from founderops.support.agents import MODEL_NAME
from founderops.support.models import KnowledgeArticle, TrainingExample
from founderops.support.services import AGENT, UNKNOWN_INTENT


def training_set() -> tuple[list[Example], list[str]]:
    examples: list[Example] = []
    unknown: list[str] = []
    for article in KnowledgeArticle.objects.filter(published=True):
        examples += [Example(q, article.intent) for q in article.examples if q.strip()]
    for row in TrainingExample.objects.all().iterator():
        if row.intent == UNKNOWN_INTENT:
            unknown.append(row.text)
        else:
            examples.append(Example(row.text, row.intent))
    return examples, unknown


def target_precision() -> float:
    switch = AgentSwitch.objects.filter(agent=AGENT).first()
    return switch.target_precision if switch else settings.SUPPORT_TARGET_PRECISION


def refresh_classifier() -> TrainedModel:
    examples, unknown = training_set()
    row = registry.train_intent_model(
        MODEL_NAME, examples, unknown, target_precision(), settings.SUPPORT_UNKNOWN_SHARE
    )
    audit.record(
        "agent:support",
        "support.classifier_trained",
        ("trainedmodel", row.pk),
        outcome=f"v{row.version}",
        decision=AuditDecision(
            model=MODEL_NAME,
            model_version=str(row.version),
            inputs={"examples": len(examples), "unknown": len(unknown)},
        ),
        details=row.metrics,
    )
    return row
