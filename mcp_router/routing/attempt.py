"""One provider attempt's state and the small pure helpers the attempt loop uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from mcp_router.catalog.tokens import estimate_tokens
from mcp_router.errors import ProviderError
from mcp_router.metering.records import AttemptOutcome
from mcp_router.types import Message, StreamEnd, Usage


def event_loop_clock() -> Callable[[], float]:
    """The clock anyio's deadlines use, as a bound method. `anyio.current_time()` looks the
    async backend up on every call (~0.8 µs), which per streamed token was a sizeable part of
    the loop's cost; under asyncio it is the running loop's `time`, bound here once per call."""
    try:
        return asyncio.get_running_loop().time
    except RuntimeError:  # another backend (trio): no asyncio loop in this thread
        return anyio.current_time


def estimate_text_tokens(text: str) -> int:
    """Tokens of a partial answer (for billing a cut stream, which has no provider usage)."""
    return estimate_tokens(text)


@dataclass(slots=True)
class Attempt:
    outcome: AttemptOutcome = "ok"
    text: str = ""
    end: StreamEnd | None = None
    error: ProviderError | None = None
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    got_first: bool = False
    first_at: float | None = None  # anyio time of the first token
    stalled: bool = False  # the idle window (not the call's deadline) ended a started stream
    chunks: int = 0  # text chunks this attempt streamed
    idle_s: float = 0.0  # the idle window that ended a stalled stream


def usage_for(att: Attempt, input_estimate: int) -> Usage:
    if att.end is not None:
        return att.end.usage
    if att.got_first:
        return Usage(input_tokens=input_estimate, output_tokens=estimate_text_tokens(att.text))
    return Usage()


def with_prefix(messages: Sequence[Message], prefix: str) -> list[Message]:
    msgs = list(messages)
    if msgs and msgs[-1].role == "assistant":  # the caller prefilled: extend their prefix
        return [*msgs[:-1], Message(role="assistant", content=msgs[-1].content + prefix)]
    return [*msgs, Message(role="assistant", content=prefix)]
