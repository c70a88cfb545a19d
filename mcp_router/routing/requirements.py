"""What a request's images, documents, tools and reasoning require of an endpoint (pure;
`plan()` applies it).

- capabilities of the model: `vision` for images, `pdf` for PDF documents (a text file is read
  into the prompt and needs nothing);
- the endpoint's wire must take each part: its media type and size (`providers/media.py`), and a
  remote URL only where the wire fetches URLs itself, unless the router fetches it
  (`[files] fetch_remote`);
- the prompt's tokens at that endpoint: each wire counts images and pages by its own rule
  (`catalog/tokens.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp_router.catalog.models import Endpoint
from mcp_router.catalog.tokens import media_tokens
from mcp_router.core import MediaPart, Message, SamplingParams, has_media
from mcp_router.providers import media
from mcp_router.providers.media import MediaFact
from mcp_router.registry import BY_NAME

WHY = {
    "vision": " (the request has images)",
    "pdf": " (the request has PDF documents)",
    "tools": " (the request has tools or tool calls)",
    "reasoning": " (the request asks for reasoning)",
}


def protocol_of(provider: str) -> str:
    """A provider's wire protocol; custom endpoints speak OpenAI's."""
    spec = BY_NAME.get(provider)
    return spec.protocol if spec is not None else "openai"


def tool_capabilities(request: SamplingParams) -> tuple[str, ...]:
    """`tools` for tools or a conversation with tool calls; `reasoning` when reasoning is asked
    for (and not turned off with `enabled: false`)."""
    messages: Sequence[Message] = getattr(request, "messages", ())
    caps: tuple[str, ...] = ()
    if request.tools or any(m.tool_calls or m.role == "tool" for m in messages):
        caps += ("tools",)
    if request.reasoning is not None and request.reasoning.on:
        caps += ("reasoning",)
    return caps


def media_parts(messages: Sequence[Message]) -> list[MediaPart]:
    return [p for m in messages for p in m.media] if has_media(messages) else []


def media_facts(messages: Sequence[Message]) -> list[MediaFact]:
    """One fact per distinct image or document of the request (in order)."""
    return list(dict.fromkeys(media.fact(p) for p in media_parts(messages)))


def media_capabilities(facts: Sequence[MediaFact]) -> tuple[str, ...]:
    """`vision` for images, `pdf` for documents."""
    caps = []
    if any(f.kind == "image" for f in facts):
        caps.append("vision")
    if any(f.kind == "pdf" and f.media_type in (None, media.PDF) for f in facts):
        caps.append("pdf")
    return tuple(caps)


def input_reason(facts: Sequence[MediaFact], endpoint: Endpoint, fetch_remote: bool) -> str | None:
    """Why this endpoint's wire cannot take one of the request's images or documents."""
    protocol = protocol_of(endpoint.provider) if facts else ""
    for f in facts:
        r = media.refusal(protocol, f, endpoint.provider)
        if r is None and not fetch_remote:
            r = media.bytes_only_reason(protocol, endpoint.provider, endpoint.native_model, f)
        if r:
            return r
    return None


def bytes_needed(provider: str, native_model: str, messages: Sequence[Message]) -> list[MediaPart]:
    """The remote parts this endpoint's wire takes only as bytes (the router fetches them)."""
    protocol = protocol_of(provider)
    return [
        p
        for p in media_parts(messages)
        if media.bytes_only_reason(protocol, provider, native_model, media.fact(p))
    ]


class WireTokens:
    """The prompt's tokens per endpoint: `prompt_tokens` counts images and documents by the
    largest rule; each endpoint gets its own wire's count instead."""

    def __init__(self, messages: Sequence[Message], prompt_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.parts = media_parts(messages)
        self.text_tokens = max(0, prompt_tokens - sum(media_tokens(p) for p in self.parts))
        self._by_wire: dict[tuple[str, str], int] = {}

    def at(self, endpoint: Endpoint) -> int:
        if not self.parts:
            return self.prompt_tokens
        key = (endpoint.provider, endpoint.native_model)
        if key not in self._by_wire:
            protocol = protocol_of(endpoint.provider)
            extra = sum(media_tokens(p, protocol, endpoint.native_model) for p in self.parts)
            self._by_wire[key] = self.text_tokens + extra
        return self._by_wire[key]
