"""In-process fakes for testing code built on the router, without a socket.

`FakeAdapter` implements the adapter protocol (`mcp_router.providers.base.Adapter`) with a
function you write, the way httpx's `MockTransport` takes a handler: the function gets each
call (`FakeCall`: provider, native model, request, number) and returns the script of that
call's stream, or raises a `ProviderError` to fail it before the first token. Every call is
recorded in `adapter.calls`.

    def handler(call: FakeCall) -> Script:
        if call.number == 1:
            raise Overloaded(call.provider, "busy", status=503)
        return reply("Hello!")

    router = Router(catalog, {"openai": FakeAdapter("openai", handler)}, meter=my_meter)

A script is an iterable (or async iterable) of items: a `str` is a streamed text delta, a
`TextDelta` or `StreamEnd` is passed through, an exception is raised at that point of the stream
(a stream that breaks after it started). `reply()` builds a whole answer ending in `StreamEnd`;
`hang()` never sends anything and `stall(*texts)` goes silent after some text, both until
cancelled. The handler may be async (e.g. to wait on an `anyio.Event` so that many calls are in
flight at once). Nothing here is used by the router itself.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import anyio

from mcp_router.core import (
    Completion,
    CompletionRequest,
    FinishReason,
    RemoteModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from mcp_router.providers.config import ProviderConfig
from mcp_router.registry import WireProtocol

Item = str | StreamEvent | BaseException
Script = Iterable[Item] | AsyncIterable[Item]


@dataclass(frozen=True, slots=True)
class FakeCall:
    """One call an adapter received."""

    provider: str
    model: str  # the provider-native model name the router asked for
    request: CompletionRequest
    number: int  # 1 for the adapter's first call, across models

    @property
    def prefix(self) -> str | None:
        """The assistant prefix a continuation sends (the trailing assistant message), if any."""
        last = self.request.messages[-1] if self.request.messages else None
        return last.text if last is not None and last.role == "assistant" else None


Handler = Callable[[FakeCall], Script | Awaitable[Script]]


def reply(
    text: str = "Hello from the fake provider.",
    *,
    chunks: int | None = None,
    finish_reason: FinishReason = "stop",
    usage: Usage | None = None,
    model: str = "fake-model",
) -> list[Item]:
    """A whole streamed answer: `text` in `chunks` pieces (default: one per word), then the
    final event with `usage` (default: 10 input tokens, one output token per piece)."""
    pieces = _split(text, chunks)
    end_usage = usage if usage is not None else Usage(input_tokens=10, output_tokens=len(pieces))
    return [*pieces, StreamEnd(finish_reason=finish_reason, usage=end_usage, model=model)]


def _split(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if chunks is None:
        return [w for w in re.findall(r"\S*\s*", text) if w]
    size = -(-len(text) // max(chunks, 1))
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True, slots=True)
class _Silence:
    """Send `before`, then nothing until cancelled. Re-iterable: one object serves many calls."""

    before: tuple[str, ...] = ()

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._run()

    async def _run(self) -> AsyncIterator[Item]:
        for text in self.before:
            yield text
        await anyio.sleep_forever()


def hang() -> Script:
    """A provider that accepts the call and never sends a token (a first-token timeout)."""
    return _Silence()


def stall(*texts: str) -> Script:
    """A stream that sends `texts` and then goes silent (a stalled stream)."""
    return _Silence(texts)


def sequence(*scripts: Script | BaseException, then: Script | None = None) -> Handler:
    """A handler giving the n-th call the n-th script (an exception is raised before the first
    token), and every later call `then` (default: `reply()`)."""
    rest = reply() if then is None else then

    def handler(call: FakeCall) -> Script:
        script = scripts[call.number - 1] if call.number <= len(scripts) else rest
        if isinstance(script, BaseException):
            raise script
        return script

    return handler


@dataclass
class FakeAdapter:
    """An adapter whose calls are answered by `handler`, in process; see the module docstring."""

    provider: str
    handler: Handler = field(default=lambda call: reply())
    protocol: WireProtocol = "openai"
    supports_assistant_prefix: bool = False
    models: list[RemoteModel] = field(default_factory=list)  # what `list_models` returns
    calls: list[FakeCall] = field(default_factory=list, init=False)
    config: ProviderConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = ProviderConfig(
            name=self.provider,
            protocol=self.protocol,
            base_url="http://fake.invalid",
            supports_assistant_prefix=self.supports_assistant_prefix,
        )

    @property
    def name(self) -> str:
        return self.provider

    def hits(self, model: str | None = None) -> int:
        """Calls received, for `model` (provider-native name) or for all models."""
        return sum(1 for c in self.calls if model is None or c.model == model)

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        call = FakeCall(self.provider, model, request, len(self.calls) + 1)
        self.calls.append(call)
        script = self.handler(call)
        if inspect.isawaitable(script):
            script = await script
        if isinstance(script, AsyncIterable):
            async for item in script:
                yield _event(item)
        else:
            for item in script:
                yield _event(item)

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        parts: list[str] = []
        async for ev in self.stream(request, model):
            if isinstance(ev, TextDelta):
                parts.append(ev.text)
            elif isinstance(ev, StreamEnd):
                return Completion(
                    text="".join(parts),
                    finish_reason=ev.finish_reason,
                    usage=ev.usage,
                    model=ev.model,
                    tool_calls=ev.tool_calls,
                    reasoning=ev.reasoning,
                )
        raise RuntimeError(f"fake provider {self.provider!r}: the script ended without a StreamEnd")

    async def list_models(self) -> list[RemoteModel]:
        return list(self.models)


def _event(item: Item) -> StreamEvent:
    if isinstance(item, BaseException):
        raise item
    return TextDelta(text=item) if isinstance(item, str) else item


__all__ = ["FakeAdapter", "FakeCall", "Handler", "Item", "Script", "hang", "reply", "sequence", "stall"]
