"""The Support Agent: classify, find the knowledge, then answer or escalate with a draft."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from founderops.ai import policy, registry, signals
from founderops.ai.drafting import compose_reply
from founderops.ai.intents import Prediction
from founderops.ai.llm import Provider, make_provider
from founderops.ai.models import AgentPolicy
from founderops.ai.retrieval import Index
from founderops.core import audit, clock, http
from founderops.core.audit import Decision as AuditDecision
from founderops.support import account_actions, services
from founderops.support.models import Decision, KnowledgeArticle, Ticket

MODEL_NAME = "support-intent"

_URGENT = re.compile(
    r"\b(outage|down|data loss|lost (all|my) (data|work|edits|posts)|deleted|"
    r"(edits|posts|data|work) (are|is|have|has) (gone|disappeared|vanished)|security|breach|"
    r"hacked|vulnerability|xss|exploit|sql injection|urgent|asap|emergency|"
    r"can(no|')t (log ?in|access)|locked out|production)\b",
    re.IGNORECASE,
)
_HIGH = re.compile(
    r"\b(payment (failed|declined)|card (declined|failed)|charged twice|double charged|refund|"
    r"chargeback|invoice|billing|not working|broken|error|crash(es|ed)?|cancel)\b",
    re.IGNORECASE,
)


class Classifier(Protocol):
    def predict(self, text: str) -> Prediction: ...


@dataclass(frozen=True)
class LoadedClassifier:
    version: str
    classifier: Classifier
    threshold: float


def load_classifier() -> LoadedClassifier | None:
    loaded = registry.load_intent_model(MODEL_NAME)
    if loaded is None:
        return None
    version, model = loaded
    return LoadedClassifier(
        f"{MODEL_NAME}:v{version}:{model.version}", model, model.calibration.threshold
    )


def configured_provider() -> Provider | None:
    """The LLM named in settings, talking through the product's one HTTP seam."""
    if settings.LLM_PROVIDER == "none":
        return None
    return make_provider(
        settings.LLM_PROVIDER,
        settings.LLM_BASE_URL,
        settings.LLM_MODEL,
        settings.LLM_API_KEY,
        http.client(settings.LLM_TIMEOUT_SECONDS),
    )


@dataclass
class SupportDeps:
    """What the agent works with; tests pass fakes instead of patching."""

    provider: Provider | None = field(default_factory=configured_provider)
    signature: str = field(default_factory=lambda: settings.SUPPORT_SIGNATURE)
    classifier: Callable[[], LoadedClassifier | None] = load_classifier


def priority(text: str, sentiment: str) -> int:
    if _URGENT.search(text):
        return Ticket.Priority.URGENT
    if _HIGH.search(text) or sentiment == "negative":
        return Ticket.Priority.HIGH
    return Ticket.Priority.NORMAL


def policy_mode() -> str:
    """The founder's policy for replies now (the agents page writes it): auto, approval,
    notify, or off when the kill switch is off."""
    return policy.verdict(services.AGENT, services.REPLY).mode


def find_article(intent: str, text: str) -> KnowledgeArticle | None:
    article = KnowledgeArticle.objects.filter(intent=intent, published=True).first()
    if article or intent == services.UNKNOWN_INTENT:
        return article
    articles = list(KnowledgeArticle.objects.filter(published=True))
    index = Index(
        [a.slug for a in articles],
        [f"{a.title}\n{' '.join(a.examples)}\n{a.body}" for a in articles],
    )
    hits = index.search(text, k=1)
    return next((a for a in articles if hits and a.slug == hits[0].key), None)


def urgent_trigger(text: str) -> str:
    """The words that make a ticket urgent, or "" when nothing does."""
    match = _URGENT.search(text)
    return match.group(0) if match else ""


_TRIED = re.compile(
    r"\b(already|tried|again|still|twice|several times|checked|blocked|"
    r"keeps? (failing|happening))\b",
    re.IGNORECASE,
)


def upset_about_a_problem(text: str, priority_value: int, sentiment: str) -> bool:
    # An upset customer with a problem who says they already tried: the article's first steps
    # would read as a brush-off, so a person answers.
    return (
        priority_value == Ticket.Priority.HIGH
        and sentiment == "negative"
        and _TRIED.search(text) is not None
    )


def why_escalated(
    prediction: Prediction | None,
    mode: str,
    article: KnowledgeArticle | None,
    urgent: str,
    upset: bool = False,
) -> str:
    if mode == "off":
        return "the Support Agent is switched off"
    if prediction is None:
        return "no intent model is trained yet"
    if urgent:
        return f"urgent wording ({urgent!r}): a person should look"
    if upset and prediction.intent != services.UNKNOWN_INTENT:
        return "the customer is upset and has already tried: a person should answer"
    if prediction.intent == services.UNKNOWN_INTENT:
        return "the request looks unlike anything the knowledge base answers"
    if not prediction.answerable:
        return f"not confident enough: {prediction.reason}"
    if article is None:
        return f"no published article answers intent {prediction.intent!r}"
    if mode != AgentPolicy.Mode.AUTO:
        return f"policy for replies is '{mode}'"
    return ""


def handle_ticket(ticket: Ticket, deps: SupportDeps | None = None) -> Decision:
    """Decide once per ticket; a second call returns the first decision."""
    existing = Decision.objects.filter(ticket=ticket).first()
    if existing:
        return existing
    deps = deps or SupportDeps()
    text = services.customer_text(ticket)
    ticket.sentiment = signals.sentiment(text)
    ticket.language = signals.detect_language(text)
    ticket.priority = priority(text, ticket.sentiment)
    loaded = deps.classifier()
    prediction = loaded.classifier.predict(text) if loaded else None
    version = loaded.version if loaded else "none"
    threshold = loaded.threshold if loaded else 0.0
    intent = prediction.intent if prediction else ""
    article = find_article(intent, text) if prediction else None
    mode = policy_mode()
    urgent = urgent_trigger(text) if ticket.priority == Ticket.Priority.URGENT else ""
    upset = upset_about_a_problem(text, ticket.priority, ticket.sentiment)
    reason = why_escalated(prediction, mode, article, urgent, upset)
    draft, writer = _draft(ticket, text, article, deps)
    account = account_request(ticket, prediction, mode, urgent, text, deps)
    if account is not None:
        # A refund, credit, invoice copy or cancellation: its own policy decides, not replies'.
        reason = account.reason
        draft, writer = (account.reply, "account action") if account.reply else (draft, writer)
    ticket.intent, ticket.article = intent, article
    ticket.confidence = prediction.confidence if prediction else None
    try:
        with transaction.atomic():
            ticket.save(
                update_fields=[
                    "sentiment",
                    "language",
                    "priority",
                    "intent",
                    "confidence",
                    "article",
                ]
            )
            decision = _store(
                ticket, prediction, article, reason, draft, (version, threshold, writer), account
            )
            _act(ticket, decision, prediction, text, account)
    except IntegrityError:
        return Decision.objects.get(ticket=ticket)
    return decision


def account_request(
    ticket: Ticket,
    prediction: Prediction | None,
    mode: str,
    urgent: str,
    text: str,
    deps: SupportDeps,
) -> account_actions.Outcome | None:
    """The decision on a refund, credit, invoice copy or cancellation the ticket asks for;
    None when it asks for none, the agent is off, or urgent wording needs a person."""
    if mode == policy.OFF or urgent:
        return None
    # An intent the classifier is unsure of says nothing; explicit wording still counts.
    intent = prediction.intent if prediction and prediction.answerable else ""
    return account_actions.settle(ticket, intent, text, deps.signature)


def _draft(
    ticket: Ticket, text: str, article: KnowledgeArticle | None, deps: SupportDeps
) -> tuple[str, str]:
    if article is None:
        return "", "none"
    return compose_reply(text, article.answer, ticket.customer.name, deps.signature, deps.provider)


def _store(
    ticket: Ticket,
    prediction: Prediction | None,
    article: KnowledgeArticle | None,
    reason: str,
    draft: str,
    model: tuple[str, float, str],
    account: account_actions.Outcome | None = None,
) -> Decision:
    version, threshold, writer = model
    return Decision.objects.create(
        ticket=ticket,
        created_at=clock.now(),
        action=Decision.Action.ESCALATE if reason else Decision.Action.AUTO_REPLY,
        intent=prediction.intent if prediction else "",
        confidence=prediction.confidence if prediction else 0.0,
        similarity=prediction.similarity if prediction else 0.0,
        threshold=threshold,
        article=article,
        reason=reason or _why_answered(prediction, account),
        draft=draft,
        model_version=version,
        details={
            "alternatives": prediction.alternatives if prediction else [],
            "writer": writer,
            "priority": ticket.priority,
            "sentiment": ticket.sentiment,
            "language": ticket.language,
            **({"account_action": account.details} if account else {}),
        },
    )


def _why_answered(prediction: Prediction | None, account: account_actions.Outcome | None) -> str:
    """Why the agent answered alone: the account action it took (explicit wording acts even
    when the classifier is unsure), else the classifier's reason."""
    if account is not None and account.why:
        return account.why
    return prediction.reason if prediction else ""


def _act(
    ticket: Ticket,
    decision: Decision,
    prediction: Prediction | None,
    text: str,
    account: account_actions.Outcome | None = None,
) -> None:
    audit_decision = AuditDecision(
        model=MODEL_NAME,
        model_version=decision.model_version,
        confidence=decision.confidence,
        inputs={
            "text": text[:2000],
            "intent": decision.intent,
            "article": decision.article.slug if decision.article else None,
            **({"account_action": account.details} if account else {}),
        },
    )
    if decision.action == Decision.Action.AUTO_REPLY:
        services.send_reply(ticket, decision.draft, "agent")
        audit.record(
            "agent:support",
            "support.auto_reply",
            ("ticket", ticket.pk),
            outcome="answered",
            decision=audit_decision,
        )
        return
    extra = account.payload() if account else {}
    services.escalate(
        ticket,
        summary=(
            f"{account.summary} for {ticket.customer}"
            if account and account.summary
            else f"Reply to {ticket.customer}: {ticket.subject}"
        )[:300],
        reason=decision.reason,
        payload={**_context(ticket, decision, prediction), **extra},
    )
    audit.record(
        "agent:support",
        "support.escalate",
        ("ticket", ticket.pk),
        outcome="escalated",
        decision=audit_decision,
        details={"reason": decision.reason},
    )


def _context(ticket: Ticket, decision: Decision, prediction: Prediction | None) -> dict[str, Any]:
    history = list(
        ticket.customer.tickets.exclude(pk=ticket.pk).values("id", "subject", "status", "intent")[
            :10
        ]
    )
    similar = (
        list(
            Ticket.objects.filter(intent=decision.intent)
            .exclude(pk=ticket.pk)
            .exclude(intent="")
            .values("id", "subject", "status")[:5]
        )
        if decision.intent
        else []
    )
    return {
        "draft": decision.draft,
        "intent": decision.intent,
        "confidence": decision.confidence,
        "alternatives": prediction.alternatives if prediction else [],
        "article": decision.article.slug if decision.article else None,
        "history": history,
        "similar": similar,
    }
