"""One streamed provider call into an `Attempt`: the first-token deadline, the idle window after
the first token, progress reports, and closing the stream whatever happens. The rules these
deadlines follow are stated in `routing/execute.py`'s docstring (README "Execution").

The per-token loop (`Streamer._consume`) runs once per streamed token, so it keeps its state in
locals and calls out only for the rare events (the first token, a throttled progress report).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio

from mcp_router.core import CompletionRequest, StreamEnd, StreamEvent, TextDelta
from mcp_router.errors import ProviderError
from mcp_router.providers.base import Adapter
from mcp_router.routing.attempt import Attempt, event_loop_clock
from mcp_router.routing.policy import RoutingPolicy

ProgressCallback = Callable[[int, int], Awaitable[None]]
"""`on_progress(chunks_so_far, chars_so_far)`: streamed text chunks and characters of the answer
so far (a continued answer's prefix included). Counts, not the text: joining the answer on every
report cost O(n²) over a long stream, and no caller shows it."""

DeltaCallback = Callable[[str], None]
"""`on_delta(text)`: each piece of the answer as it streams (synchronous: it runs per token).
Text once delivered stays part of the answer: a broken stream either continues on a fallback
with that text as its prefix or ends incomplete, never restarts (README "Execution")."""

_CLOSE_TIMEOUT_S = 2.0  # closing a stream is shielded from cancellation, but bounded


class Streamer:
    """Runs the streamed calls of one routed call, which ends at `deadline` (anyio time)."""

    def __init__(
        self,
        policy: RoutingPolicy,
        on_progress: ProgressCallback | None,
        deadline: float,
        on_delta: DeltaCallback | None = None,
    ) -> None:
        self._policy = policy
        self._on_progress = on_progress
        self._on_delta = on_delta
        self._deadline = deadline
        self._chunks = 0  # streamed chunks delivered, across continuation attempts
        self._last_progress = -1.0

    async def call(
        self,
        att: Attempt,
        adapter: Adapter,
        request: CompletionRequest,
        prefix_chars: int,
        idle_share: int,
    ) -> None:
        """Fill `att` from one streamed call to `att.cand` with `att.first_slice` for the first
        token (filled even when the caller is cancelled). `prefix_chars`: the answer so far, for
        progress. `idle_share`: candidates the time left is shared with for the idle window (0:
        no later candidate could continue this answer, so only `stream_idle_timeout_s` applies)."""
        cand = att.cand
        now = event_loop_clock()
        t0 = now()
        scope = anyio.CancelScope(deadline=t0 + att.first_slice)
        try:
            with scope:
                stream = adapter.stream(request, cand.endpoint.native_model)
                await self._consume(att, stream, scope, t0, prefix_chars, idle_share)
        finally:
            att.latency_ms = (now() - t0) * 1000.0
        if scope.cancelled_caught:
            att.outcome = "timeout"
            att.stalled = att.got_first and scope.deadline < self._deadline
            if att.stalled:
                att.idle_s = scope.deadline - att.last_event_at  # the silence that tripped it
        elif att.error is not None:
            att.outcome = "error"
        elif att.end is None:
            att.outcome = "error"
            att.error = ProviderError(
                cand.provider, "stream ended without a final event", model=cand.model.id
            )

    async def _consume(
        self,
        att: Attempt,
        stream: AsyncIterator[StreamEvent],
        scope: anyio.CancelScope,
        t0: float,
        chars: int,
        idle_share: int,
    ) -> None:
        """Read `stream` into `att` under `scope`, moving its deadline to the idle window."""
        now = event_loop_clock()
        parts: list[str] = []
        report = self._on_progress is not None
        keep = _keeper(parts, self._on_delta)
        base_chunks = self._chunks
        chunks = 0
        got_first = False
        last_event = armed_at = t0
        deadline = scope.deadline
        try:
            async for ev in stream:
                if got_first:  # any sign of life restarts the idle window ...
                    last_event = now()
                    # ... lazily: re-arming a deadline reschedules a timer, too dear per chunk,
                    # so re-arm once a tenth of the window has passed. A stall then trips after
                    # 90-100% of the window of silence.
                    if (last_event - armed_at) * 10 >= deadline - armed_at:
                        armed_at = last_event
                        scope.deadline = deadline = self._idle_deadline(last_event, idle_share)
                if type(ev) is StreamEnd:
                    att.end = ev
                    continue
                # Reasoning and tool-call pieces carry no answer text, but the first one
                # shows the model has started (a long think must not trip the first-token
                # deadline).
                text = ev.text if type(ev) is TextDelta else ""
                if text:
                    keep(text)
                    chunks += 1
                    chars += len(text)
                elif got_first or type(ev) is TextDelta:
                    continue
                if not got_first:
                    got_first = True
                    last_event = armed_at = await self._first_token(
                        att, scope, t0, idle_share, base_chunks + chunks, chars
                    )
                    deadline = scope.deadline
                elif report:
                    self._chunks = base_chunks + chunks
                    await self._progress(chars, False)
        except ProviderError as exc:
            att.error = exc
        finally:
            att.text = "".join(parts)
            att.chunks = chunks
            att.last_event_at = last_event
            self._chunks = base_chunks + chunks
            await _close(stream)  # a no-op for a generator that finished or raised

    async def _first_token(
        self, att: Attempt, scope: anyio.CancelScope, t0: float, idle_share: int, chunks: int, chars: int
    ) -> float:
        """Note the first token's time and switch `scope` to the idle window; returns that time."""
        first = event_loop_clock()()
        att.got_first = True
        att.first_at = first
        att.ttft_ms = (first - t0) * 1000.0
        scope.deadline = self._idle_deadline(first, idle_share)
        if self._on_progress is not None:
            self._chunks = chunks
            await self._progress(chars, True)
        return first

    async def _progress(self, chars: int, force: bool) -> None:
        cb = self._on_progress
        if cb is None:
            return
        now = anyio.current_time()
        if force or now - self._last_progress >= self._policy.progress_interval_s:
            self._last_progress = now
            await cb(self._chunks, chars)

    def _idle_deadline(self, now: float, share: int) -> float:
        """When a started stream that stays silent from `now` counts as stalled."""
        window = self._policy.stream_idle_timeout_s
        if share:
            window = min(window, (self._deadline - now) / share)
        return min(self._deadline, now + window)


def _keeper(parts: list[str], on_delta: DeltaCallback | None) -> Callable[[str], None]:
    """What keeps each piece of text: the answer's list, and the caller's callback if any."""
    if on_delta is None:
        return parts.append

    def keep(text: str) -> None:
        parts.append(text)
        on_delta(text)

    return keep


async def _close(stream: AsyncIterator[StreamEvent]) -> None:
    """Close the provider's stream even when cancelled; bounded so a stuck peer can't hold us."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with anyio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
            await aclose()


__all__ = ["DeltaCallback", "ProgressCallback", "Streamer"]
