"""Protocol-neutral chat serving: plan the reply, then play it (or a fault) through a codec.

Each wire protocol supplies a `Codec` that knows its JSON bodies, stream events and error bodies;
pacing (latency, time to first token, tokens/s) and fault playback live here once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any

from mcp_router.sim import text as simtext
from mcp_router.sim import tools as simtools
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.state import Fault, ServedModel, SimRequest, SimState
from mcp_router.sim.tools import SimCall


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass
class ChatInput:
    """A chat request reduced to what the simulation needs, whatever protocol it came in."""

    system: str
    messages: list[tuple[str, str]]
    max_tokens: int | None = None
    stops: list[str] = field(default_factory=list)
    json_mode: bool = False
    schema: dict[str, Any] | None = None
    stream: bool = False
    # Explicit cache breakpoint (Anthropic cache_control): digest and token count of the prefix.
    cache_prefix: str | None = None
    cache_prefix_tokens: int = 0
    # Images and documents, and their input tokens by the protocol's own rule.
    media: list[Seen] = field(default_factory=list)
    media_tokens: int = 0
    # Tools (name, JSON Schema), the choice (auto|none|required|a name), the trailing tool
    # result's text, and the thinking budget asked for (None: no thinking asked).
    tools: list[tuple[str, Any]] = field(default_factory=list)
    tool_choice: str | None = None
    tool_result: str | None = None
    thinking_budget: int | None = None


@dataclass
class ChatPlan:
    provider: str
    model: str
    served: ServedModel
    stream: bool
    chunks: list[str]
    finish: str  # stop | length | stop_sequence | content_filter | unknown
    stop_sequence: str | None
    input_tokens: int  # every prompt token, cached ones included
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    tool_calls: list[SimCall] = field(default_factory=list)
    thinking: str = ""  # thinking text (when the request asked for reasoning)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))
    started: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def output_tokens(self) -> int:
        """Visible output tokens, tool calls included (reasoning tokens are reported separately
        by each codec)."""
        return len(self.chunks) + (simtools.call_tokens(self) if self.tool_calls else 0)


@dataclass
class ErrorReply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Codec(ABC):
    """One protocol's shapes. Bodies are plain JSON values; stream items are raw bytes."""

    stream_type = "text/event-stream"

    @abstractmethod
    def body(self, plan: ChatPlan) -> Any: ...

    @abstractmethod
    def stream_open(self, plan: ChatPlan) -> list[bytes]: ...

    @abstractmethod
    def stream_delta(self, plan: ChatPlan, text: str, index: int) -> bytes: ...

    @abstractmethod
    def stream_close(self, plan: ChatPlan) -> list[bytes]: ...

    @abstractmethod
    def stream_error(self, plan: ChatPlan) -> bytes: ...

    @abstractmethod
    def broken_item(self, plan: ChatPlan) -> bytes: ...

    @abstractmethod
    def missing_body(self, plan: ChatPlan) -> Any: ...

    @abstractmethod
    def missing_item(self, plan: ChatPlan) -> bytes: ...

    @abstractmethod
    def error(self, status: int, message: str | None = None) -> ErrorReply: ...

    @abstractmethod
    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply: ...

    def stream_thinking(self, plan: ChatPlan) -> list[bytes]:
        """Stream items of the plan's thinking, sent before the answer's text."""
        return []

    def stream_tools(self, plan: ChatPlan) -> list[bytes]:
        """Stream items of the plan's tool calls, sent after the answer's text."""
        return []

    def overloaded(self) -> ErrorReply:
        """What a non-stream request gets for `Fault.stream_error_event()`."""
        return self.error(503)

    def fault_error(self, fault: Fault) -> ErrorReply:
        """The error body for `Fault.status(...)` (a protocol may echo the fault's details)."""
        return self.error(fault.code, fault.message)


async def send_error(conn: Conn, reply: ErrorReply) -> None:
    body = reply.body if isinstance(reply.body, bytes) else dumps(reply.body)
    await conn.send(reply.status, body, headers=reply.headers)


async def refuse(conn: Conn, reply: ErrorReply | None) -> bool:
    """Send `reply` when there is one; True when it was sent and the handler is done."""
    if reply is None:
        return False
    await send_error(conn, reply)
    return True


def request_record(req: Request, body: dict[str, Any] | None) -> SimRequest:
    return SimRequest(req.method, req.path, dict(req.headers), body, dict(req.query))


def parse_json(req: Request) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        value = json.loads(req.body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def plan_chat(state: SimState, served: ServedModel, chat: ChatInput, *, implicit_cache: int = 0) -> ChatPlan:
    """Decide the reply and its usage. `implicit_cache` > 0 enables automatic prefix caching
    (OpenAI, Gemini) for prefixes of at least that many tokens."""
    profile = served.profile
    seed = next((t for r, t in reversed(chat.messages) if r == "user"), "")
    if chat.json_mode or chat.schema is not None:
        chunks = simtext.json_chunks(simtext.json_reply(seed, served.name, chat.schema))
    elif profile.reply is not None:
        chunks = simtext.fixed_chunks(profile.reply)
    else:
        chunks = simtext.reply_chunks(seed, served.name, [s.label for s in chat.media])
    limited = simtext.apply_limits(chunks, chat.max_tokens, chat.stops)
    total = simtext.prompt_tokens(chat.system, chat.messages) + chat.media_tokens
    plan = ChatPlan(
        provider=served.provider,
        model=served.name,
        served=served,
        stream=chat.stream,
        chunks=limited.chunks,
        finish=limited.finish,
        stop_sequence=limited.stop_sequence,
        input_tokens=total,
        reasoning_tokens=profile.reasoning_tokens,
    )
    if chat.tools or chat.tool_result is not None or chat.thinking_budget:
        simtools.shape(plan, chat, seed)
    # Anthropic caches nothing below a per-model minimum (1024 tokens for Sonnet, more for
    # some models); a breakpoint on a shorter prefix is silently ignored, at no charge.
    cache_min = int(served.listing.get("cache_min_tokens", 1024))
    if chat.cache_prefix is not None and chat.cache_prefix_tokens >= cache_min:
        tokens = min(chat.cache_prefix_tokens, total)
        key = _digest(served.provider, served.name, chat.cache_prefix)
        if state.seen_prefix(key):
            plan.cached_tokens = tokens
        else:
            plan.cache_write_tokens = tokens
    elif implicit_cache and len(chat.messages) > 1:
        prefix_tokens = simtext.prompt_tokens(chat.system, chat.messages[:-1])
        if prefix_tokens >= implicit_cache:
            key = _digest(served.provider, served.name, chat.system, chat.messages[:-1])
            if state.seen_prefix(key):
                plan.cached_tokens = prefix_tokens // 128 * 128
    return plan


def retry_headers(fault: Fault) -> dict[str, str]:
    if fault.retry_after is None:
        return {}
    if fault.retry_after_http_date:
        return {"retry-after": formatdate(time.time() + fault.retry_after, usegmt=True)}
    seconds = fault.retry_after
    value = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return {"retry-after": value}


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


def _gap(plan: ChatPlan) -> float:
    tps = plan.served.profile.tokens_per_s
    return 1000 / tps if tps else 0


async def serve_chat(conn: Conn, codec: Codec, plan: ChatPlan, fault: Fault | None) -> None:
    """Play the plan through the codec, or the fault this hit drew."""
    profile = plan.served.profile
    kind = fault.kind if fault else None
    if kind == "reset":
        await conn.reset()
        return
    if kind == "hang" or (kind == "stall" and not plan.stream):
        await conn.hang()
        return
    await _sleep_ms(profile.latency_ms)
    if fault is not None and kind == "status":
        reply = codec.fault_error(fault)
        reply.headers.update(retry_headers(fault))
        await send_error(conn, reply)
        return
    if kind == "context_too_long":
        limit = int(plan.served.listing.get("context_length", 128000))
        plan.input_tokens = max(plan.input_tokens, limit + 1 + plan.input_tokens % 997)
        await send_error(conn, codec.context_error(plan, limit))
        return
    if kind == "stream_error_event" and not plan.stream:
        await send_error(conn, codec.overloaded())
        return
    if kind == "empty":
        plan = replace(plan, chunks=[], finish="stop", stop_sequence=None, reasoning_tokens=0)
    elif kind == "unknown_finish_reason":
        plan.finish = "unknown"
    elif kind == "content_filter":
        plan.finish = "content_filter"
    if not plan.stream:
        await _sleep_ms(profile.ttft_ms + _gap(plan) * max(0, len(plan.chunks) - 1))
        if kind == "malformed_json":
            await conn.send(200, b'{"id": "sim", "object": "chat.completion", "choices": [{"inde')
        elif kind == "missing_fields":
            await conn.send(200, dumps(codec.missing_body(plan)))
        elif kind == "cut_stream":
            await conn.send(200, dumps(codec.body(plan)), partial=True)
        else:
            await conn.send(200, dumps(codec.body(plan)))
        return
    await _stream(conn, codec, plan, fault)


async def serve_planned(
    conn: Conn,
    state: SimState,
    served: ServedModel,
    chat: ChatInput | ErrorReply,
    codec: Codec,
    *,
    implicit_cache: int = 0,
) -> None:
    """The tail every chat endpoint shares: refuse a request its protocol rejected or a prompt
    over the model's listed context, else serve the reply (or the fault this hit draws)."""
    if isinstance(chat, ErrorReply):
        await send_error(conn, chat)
        return
    plan = plan_chat(state, served, chat, implicit_cache=implicit_cache)
    limit = int(served.listing.get("context_length", 0) or 0)
    if limit and plan.input_tokens > limit:
        await send_error(conn, codec.context_error(plan, limit))
        return
    state.enter()
    try:
        await serve_chat(conn, codec, plan, state.take_fault(served.provider, served.name))
    finally:
        state.leave()


async def _stream(conn: Conn, codec: Codec, plan: ChatPlan, fault: Fault | None) -> None:
    kind = fault.kind if fault else None
    await conn.start_stream(200, codec.stream_type)
    for item in codec.stream_open(plan):
        await conn.chunk(item)
    if kind == "missing_fields":
        await conn.chunk(codec.missing_item(plan))
        await conn.end_stream()
        return
    await _sleep_ms(plan.served.profile.ttft_ms)
    for item in codec.stream_thinking(plan):
        await conn.chunk(item)
    error_at = max(1, len(plan.chunks) // 2) if kind == "stream_error_event" else -1
    for index, piece in enumerate(plan.chunks):
        if fault is not None and kind == "cut_stream" and index >= fault.after_chunks:
            await conn.cut()
            return
        if fault is not None and kind == "stall" and index >= fault.after_chunks:
            await conn.hang()
            return
        if index == error_at:
            await conn.chunk(codec.stream_error(plan))
            await conn.end_stream()
            return
        if index > 0:
            await _sleep_ms(_gap(plan))
        await conn.chunk(codec.stream_delta(plan, piece, index))
        if kind == "malformed_json" and index == 0:
            await conn.chunk(codec.broken_item(plan))
    if fault is not None and kind == "cut_stream":
        await conn.cut()
        return
    if error_at >= 0:
        await conn.chunk(codec.stream_error(plan))
        await conn.end_stream()
        return
    for item in codec.stream_tools(plan) + codec.stream_close(plan):
        await conn.chunk(item)
    await conn.end_stream()


def sse(data: Any, event: str | None = None, sep: str = "\n\n") -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}{sep}".encode()
