"""Progress notifications for long tool calls.

Clients commonly time a request out after 60 s of silence. While a `complete` or `compare`
runs, one sender task emits a progress notification whenever the router reports streaming
(coalesced to at most one per `min_gap_s`) and a heartbeat at least every `heartbeat_s`
while nothing happens (waiting for a first token, a slow fallback). A single writer keeps
notifications ordered and the progress value strictly increasing, as the spec requires.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
SendProgress = Callable[[float, float | None, str | None], Awaitable[None]]
OnProgress = Callable[[int, int], Awaitable[None]]  # (chunks streamed so far, characters so far)


class ProgressReporter:
    """Collects router progress events; a background sender turns them into notifications."""

    def __init__(
        self,
        send: SendProgress,
        *,
        heartbeat_s: float = 2.0,
        min_gap_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._heartbeat_s = heartbeat_s
        self._min_gap_s = min_gap_s
        self._clock = clock
        self._started = clock()
        self._changed = anyio.Event()
        self._seq = 0
        # Streamed chunks so far (summed over models for compare). The router counts chunks,
        # not tokens (a chunk may carry several), so the message says chunks.
        self._chunks = 0
        self.sent = 0

    async def on_progress(self, chunks: int, chars: int) -> None:
        """The router's callback (`chunks` streamed so far): note it; the sender reports it."""
        self._chunks = max(self._chunks, chunks)
        self._changed.set()

    def message(self) -> str:
        elapsed = self._clock() - self._started
        if self._chunks == 0:
            return f"waiting for first token ({elapsed:.1f} s)"
        return f"streaming: {self._chunks} chunks ({elapsed:.1f} s)"

    async def _emit(self) -> None:
        self._seq += 1
        try:
            await self._send(float(self._seq), None, self.message())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return  # the client went away; the call itself will notice
        self.sent += 1

    async def _run(self) -> None:
        while True:
            with anyio.move_on_after(self._heartbeat_s):
                await self._changed.wait()
            self._changed = anyio.Event()
            await self._emit()
            # Coalesce bursts of chunk events into one notification per gap.
            await anyio.sleep(self._min_gap_s)


async def with_progress(
    send: SendProgress,
    run: Callable[[OnProgress], Awaitable[T]],
    *,
    heartbeat_s: float = 2.0,
    min_gap_s: float = 0.25,
) -> T:
    """Await `run(on_progress)` while a sender task reports progress; return its result.

    The call's own exception is re-raised as itself, not inside an ExceptionGroup, so callers
    can catch the router's typed errors."""
    reporter = ProgressReporter(send, heartbeat_s=heartbeat_s, min_gap_s=min_gap_s)
    error: Exception | None = None
    result: T | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(reporter._run)
        try:
            result = await run(reporter.on_progress)
        except Exception as exc:  # re-raised unchanged below, outside the task group
            error = exc
        tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return result  # type: ignore[return-value]  # set whenever no error was raised
