"""Write a reply grounded in one knowledge-base answer, with or without an LLM."""

from __future__ import annotations

import re

from founderops.ai.llm import LLMError, Provider

SYSTEM = (
    "You are a support agent for a small software company. Answer the customer's message "
    "using only the facts in the knowledge-base answer. Do not invent policies, prices, "
    "dates or links. Be brief and friendly. If the answer does not cover the question, say "
    "that a person will follow up."
)


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_BLOCK_START = re.compile(r"^\s*([-*+]|\d+[.)]|#{1,6}|>)\s")


def plain_text(markdown: str) -> str:
    """Markdown as a customer reads it in any mail client: no markers, soft breaks joined."""
    blocks = [_join_soft_breaks(block) for block in re.split(r"\n\s*\n", markdown.strip())]
    # Markers are dropped after the soft breaks are joined: a bold span may wrap a line.
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", "\n\n".join(blocks))
    return _EMPHASIS.sub(r"\2", text)


def _join_soft_breaks(block: str) -> str:
    lines: list[str] = []
    for line in block.splitlines():
        line = re.sub(r"^#{1,6}\s+", "", line.rstrip())
        if lines and not _BLOCK_START.match(line):
            lines[-1] = f"{lines[-1]} {line.strip()}"
        else:
            lines.append(line.strip())
    return "\n".join(lines)


def template_reply(answer: str, customer_name: str, signature: str) -> str:
    greeting = f"Hi {customer_name.split()[0]}," if customer_name.strip() else "Hi,"
    return f"{greeting}\n\n{plain_text(answer)}\n\n{signature}"


def compose_reply(
    question: str, answer: str, customer_name: str, signature: str, provider: Provider | None
) -> tuple[str, str]:
    """The reply and how it was written ("template" or the provider's model name)."""
    if provider is None:
        return template_reply(answer, customer_name, signature), "template"
    prompt = (
        f"Customer ({customer_name or 'unknown name'}) wrote:\n{question}\n\n"
        f"Knowledge-base answer:\n{answer}\n\nSign off as: {signature}"
    )
    try:
        text = provider.complete(SYSTEM, prompt).strip()
    except LLMError:
        # The product stays correct without a provider: fall back to the article.
        return template_reply(answer, customer_name, signature), "template (provider failed)"
    if not text:
        return template_reply(answer, customer_name, signature), "template (empty draft)"
    return text, provider.name
