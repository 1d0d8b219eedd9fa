"""Providers are reached through an injected HTTP client; tests answer with a fake transport."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
import pytest

from founderops.ai.drafting import compose_reply
from founderops.ai.llm import Anthropic, LLMError, OpenAICompatible, make_provider


def transport(
    reply: Mapping[str, object], seen: list[httpx.Request], status: int = 200
) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=reply)

    return httpx.Client(transport=httpx.MockTransport(handle))


OPENAI_REPLY = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "llama3",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Hi Ada, use the reset link."},
        }
    ],
}
ANTHROPIC_REPLY = {
    "id": "m1",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "stop_reason": "end_turn",
    "content": [{"type": "text", "text": "Hi Ada, use the reset link."}],
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def test_it_drafts_through_an_openai_compatible_endpoint() -> None:
    seen: list[httpx.Request] = []
    provider = OpenAICompatible(
        "http://127.0.0.1:11434/v1", "llama3", "", transport(OPENAI_REPLY, seen)
    )
    assert provider.complete("system", "prompt") == "Hi Ada, use the reset link."
    assert str(seen[0].url) == "http://127.0.0.1:11434/v1/chat/completions"
    assert json.loads(seen[0].content)["model"] == "llama3"


def test_it_drafts_through_anthropic() -> None:
    seen: list[httpx.Request] = []
    provider = Anthropic(
        "claude", "sk-test", transport(ANTHROPIC_REPLY, seen), "http://127.0.0.1:9"
    )
    assert provider.complete("system", "prompt") == "Hi Ada, use the reset link."
    assert json.loads(seen[0].content)["system"] == "system"


def test_it_turns_a_provider_failure_into_an_llm_error() -> None:
    provider = OpenAICompatible("http://127.0.0.1:9/v1", "m", "", transport({}, [], status=500))
    with pytest.raises(LLMError, match="openai:m"):
        provider.complete("system", "prompt")


def test_it_falls_back_to_the_article_when_the_provider_fails() -> None:
    provider = OpenAICompatible("http://127.0.0.1:9/v1", "m", "", transport({}, [], status=500))
    reply, writer = compose_reply("help", "Use the link.", "Ada Lovelace", "Fiona", provider)
    assert reply == "Hi Ada,\n\nUse the link.\n\nFiona"
    assert writer == "template (provider failed)"


def test_it_grounds_the_prompt_in_the_article() -> None:
    seen: list[httpx.Request] = []
    provider = OpenAICompatible("http://127.0.0.1:9/v1", "m", "", transport(OPENAI_REPLY, seen))
    compose_reply("how do I reset?", "Use the reset link.", "Ada", "Fiona", provider)
    prompt = json.loads(seen[0].content)["messages"][1]["content"]
    assert "Use the reset link." in prompt
    assert "how do I reset?" in prompt


def test_it_needs_a_model_name_for_a_provider() -> None:
    with pytest.raises(LLMError, match="FOUNDEROPS_LLM_MODEL is required"):
        make_provider("openai", "", "", "", httpx.Client())


def test_it_runs_without_a_provider() -> None:
    assert make_provider("none", "", "", "", httpx.Client()) is None
