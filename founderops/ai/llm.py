"""Optional LLM providers behind one small interface.

`openai` covers any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp server,
LM Studio) through `base_url`; `anthropic` covers Anthropic. Both SDKs are optional extras and
get the product's HTTP client injected, so tests swap the transport and never reach a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class LLMError(Exception):
    """The provider failed; callers fall back to the article-based reply."""


class Provider(Protocol):
    name: str

    def complete(self, system: str, prompt: str) -> str: ...


@dataclass
class OpenAICompatible:
    base_url: str
    model: str
    api_key: str
    http_client: httpx.Client
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"openai:{self.model}"

    def complete(self, system: str, prompt: str) -> str:
        try:
            import openai
        except ImportError as error:
            raise LLMError(
                "install founderops[openai] to use an OpenAI-compatible provider"
            ) from error
        client = openai.OpenAI(
            base_url=self.base_url or None,
            api_key=self.api_key or "none",
            http_client=self.http_client,
            max_retries=1,
        )
        try:
            response = client.chat.completions.create(
                model=self.model,
                temperature=0.2,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ],
            )
        except openai.OpenAIError as error:
            raise LLMError(f"{self.name}: {type(error).__name__}") from error
        return response.choices[0].message.content or ""


@dataclass
class Anthropic:
    model: str
    api_key: str
    http_client: httpx.Client
    base_url: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"anthropic:{self.model}"

    def complete(self, system: str, prompt: str) -> str:
        try:
            import anthropic
        except ImportError as error:
            raise LLMError("install founderops[anthropic] to use Anthropic") from error
        options: dict[str, Any] = {
            "api_key": self.api_key,
            "http_client": self.http_client,
            "max_retries": 1,
        }
        if self.base_url:
            options["base_url"] = self.base_url
        client = anthropic.Anthropic(**options)
        try:
            response = client.messages.create(
                model=self.model,
                max_tokens=600,
                system=system,
                messages=[{"role": "user", "content": prompt}],
            )
        except anthropic.AnthropicError as error:
            raise LLMError(f"{self.name}: {type(error).__name__}") from error
        return "".join(getattr(block, "text", "") for block in response.content)


def make_provider(
    kind: str, base_url: str, model: str, api_key: str, http_client: httpx.Client
) -> Provider | None:
    if kind == "none":
        return None
    if not model:
        raise LLMError("FOUNDEROPS_LLM_MODEL is required when a provider is set")
    if kind == "openai":
        return OpenAICompatible(base_url, model, api_key, http_client)
    if kind == "anthropic":
        return Anthropic(model, api_key, http_client, base_url)
    raise LLMError(f"unknown provider {kind!r}")
