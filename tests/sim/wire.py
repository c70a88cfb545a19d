"""Raw-HTTP drivers for the simulator tests: requests and parsing by hand, not by our adapters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_router.sim import Simulator


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs of an SSE body; comment lines are skipped."""
    events: list[tuple[str | None, str]] = []
    for frame in raw.replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in frame.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        if data:
            events.append((event, "\n".join(data)))
    return events


def sse_json(raw: str) -> list[Any]:
    return [json.loads(d) for _, d in sse_events(raw) if d != "[DONE]"]


@dataclass(frozen=True)
class Target:
    """How to send one chat request to one simulated provider, by hand."""

    provider: str
    model: str

    @property
    def protocol(self) -> str:
        return self.provider if self.provider in ("anthropic", "gemini", "ollama") else "openai"

    def request(
        self, sim: Simulator, *, stream: bool = False, prompt: str = "hello there", **extra: Any
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        key = sim.key(self.provider)
        messages = [{"role": "user", "content": prompt}]
        if self.protocol == "anthropic":
            body = {"model": self.model, "max_tokens": 256, "messages": messages, "stream": stream, **extra}
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
            return f"{sim.url('anthropic')}/v1/messages", headers, body
        if self.protocol == "gemini":
            action = "streamGenerateContent?alt=sse" if stream else "generateContent"
            url = f"{sim.url('gemini')}/v1beta/models/{self.model}:{action}"
            body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], **extra}
            return url, {"x-goog-api-key": key}, body
        if self.protocol == "ollama":
            body = {"model": self.model, "messages": messages, "stream": stream, **extra}
            return f"{sim.url('ollama')}/api/chat", {}, body
        body = {"model": self.model, "messages": messages, "stream": stream, **extra}
        return f"{sim.url(self.provider)}/chat/completions", {"authorization": f"Bearer {key}"}, body

    async def send(
        self, sim: Simulator, client: httpx2.AsyncClient, *, stream: bool = False, **extra: Any
    ) -> httpx2.Response:
        url, headers, body = self.request(sim, stream=stream, **extra)
        return await client.post(url, headers=headers, json=body)

    def text_of(self, body: Any) -> str:
        """The reply text of a non-stream JSON body."""
        if self.protocol == "anthropic":
            return "".join(b["text"] for b in body["content"])
        if self.protocol == "gemini":
            return "".join(p["text"] for p in body["candidates"][0]["content"].get("parts", []))
        if self.protocol == "ollama":
            return str(body["message"]["content"])
        return str(body["choices"][0]["message"]["content"])

    def stream_text(self, raw: str) -> str:
        """Concatenated content deltas of a stream body."""
        if self.protocol == "ollama":
            items = [json.loads(line) for line in raw.splitlines() if line.strip()]
            return "".join(i["message"]["content"] for i in items if "message" in i)
        items = sse_json(raw)
        if self.protocol == "anthropic":
            return "".join(i["delta"]["text"] for i in items if i["type"] == "content_block_delta")
        if self.protocol == "gemini":
            return "".join(p["text"] for i in items for p in i["candidates"][0]["content"]["parts"])
        return "".join(i["choices"][0]["delta"].get("content") or "" for i in items if i.get("choices"))


TARGETS = [
    Target("openai", "gpt-4o-mini"),
    Target("anthropic", "claude-haiku-4-5"),
    Target("gemini", "gemini-2.5-flash"),
    Target("ollama", "llama3.2:latest"),
    Target("openrouter", "anthropic/claude-haiku-4.5"),
    Target("groq", "llama-3.1-8b-instant"),
]


def finish_of(target: Target, body: Any) -> Any:
    if target.protocol == "anthropic":
        return body["stop_reason"]
    if target.protocol == "gemini":
        return body["candidates"][0]["finishReason"]
    if target.protocol == "ollama":
        return body["done_reason"]
    return body["choices"][0]["finish_reason"]


def output_tokens_of(target: Target, body: Any) -> int:
    if target.protocol == "anthropic":
        return int(body["usage"]["output_tokens"])
    if target.protocol == "gemini":
        # Gemini omits zero-valued fields (proto3 JSON).
        return int(body["usageMetadata"].get("candidatesTokenCount", 0))
    if target.protocol == "ollama":
        return int(body["eval_count"])
    usage = body["usage"]
    return int(usage["completion_tokens"]) - int(usage["completion_tokens_details"]["reasoning_tokens"])


KNOWN_FINISH = {
    "openai": {"stop", "length", "content_filter", "tool_calls"},
    "anthropic": {"end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"},
    "gemini": {"STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "OTHER", "BLOCKLIST"},
    "ollama": {"stop", "length", "load", "unload"},
}


def error_kind(target: Target, body: Any) -> str:
    """The provider's own name for an error, read from its real error body shape."""
    if target.protocol == "anthropic":
        assert body["type"] == "error"
        return str(body["error"]["type"])
    if target.protocol == "gemini":
        assert isinstance(body["error"]["code"], int)
        return str(body["error"]["status"])
    if target.protocol == "ollama":
        assert isinstance(body["error"], str) and body["error"]
        return "ollama"
    if target.provider == "openrouter":
        assert isinstance(body["error"]["code"], int)
        return str(body["error"]["code"])
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    return str(body["error"]["type"])


def error_message(target: Target, body: Any) -> str:
    if target.protocol == "ollama":
        return str(body["error"])
    return str(body["error"]["message"])


def stream_finish(target: Target, raw: str) -> Any:
    """The finish reason a stream ends with, or None when it never says."""
    if target.protocol == "ollama":
        items = [json.loads(line) for line in raw.splitlines() if line.strip()]
        return next((i.get("done_reason") for i in items if i.get("done")), None)
    items = sse_json(raw)
    if target.protocol == "anthropic":
        return next((i["delta"]["stop_reason"] for i in items if i["type"] == "message_delta"), None)
    if target.protocol == "gemini":
        return next(
            (i["candidates"][0]["finishReason"] for i in items if "finishReason" in i["candidates"][0]), None
        )
    return next((c["finish_reason"] for i in items for c in i.get("choices", []) if c["finish_reason"]), None)
