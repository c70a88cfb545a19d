"""`Router.stream`'s consumer side: the answer's text as it arrives, then the receipt.

    async with router.stream(request) as events:
        async for event in events:
            if isinstance(event, TextDelta): print(event.text, end="")
            else: receipt = event  # the RoutedCompletion, always last

The call runs in a task of the `async with` block; the events pass through an unbounded
in-memory queue (the answer is bounded by `max_tokens`, and a slow reader must never stall the
provider stream and trip its idle timeout). Leaving the block early cancels the call, which is
then metered as cancelled. A failed call raises its error from the iteration.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcp_router.core import TextDelta
from mcp_router.routing.streaming import DeltaCallback
from mcp_router.routing.types import RoutedCompletion

StreamEvent = TextDelta | RoutedCompletion
_Item = TextDelta | RoutedCompletion | BaseException


class CompletionStream:
    """Async iterator over one call's events; see the module docstring."""

    def __init__(self, receive: MemoryObjectReceiveStream[_Item]) -> None:
        self._receive = receive

    def __aiter__(self) -> CompletionStream:
        return self

    async def __anext__(self) -> StreamEvent:
        try:
            item = await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        if isinstance(item, BaseException):
            raise item
        return item


async def _run(
    call: Callable[[DeltaCallback], Awaitable[RoutedCompletion]], send: MemoryObjectSendStream[_Item]
) -> None:
    with send:

        def deliver(text: str) -> None:
            with suppress(anyio.BrokenResourceError):  # the reader left; the call is being cancelled
                send.send_nowait(TextDelta(text=text))

        try:
            result: _Item = await call(deliver)
        except Exception as exc:  # the caller's to see, raised from its iteration
            result = exc
        with suppress(anyio.BrokenResourceError):  # the reader left before the end
            send.send_nowait(result)


@asynccontextmanager
async def streamed(
    call: Callable[[DeltaCallback], Awaitable[RoutedCompletion]],
) -> AsyncIterator[CompletionStream]:
    """Run `call(on_delta)` in a task and yield the stream of its events."""
    send, receive = anyio.create_memory_object_stream[_Item](math.inf)
    raised: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(_run, call, send)
        with receive:
            try:
                yield CompletionStream(receive)
            except Exception as exc:  # re-raised as itself below, not wrapped in a group
                raised = exc
        tg.cancel_scope.cancel()  # the reader left: stop the call (metered as cancelled)
    if raised is not None:
        raise raised
