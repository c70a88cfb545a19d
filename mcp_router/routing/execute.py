"""The attempt loop: deadlines, retries, fallback, stream continuation, per-attempt records.

Rules (DESIGN.md "Contract details" and issue 4):
- `timeout_s` is the whole call's deadline. An attempt must produce its first token within
  min(first_token_timeout_s, time left / candidates left); the last candidate gets all the time
  left. After the first token the attempt may run to the call's deadline, as long as it keeps
  streaming: a gap between events as long as the idle window is a stalled stream, handled like
  a stream that broke (continuation below). The idle window is `stream_idle_timeout_s`, capped
  at time left / candidates left while a later candidate could continue the answer (so a stall
  late in the call still leaves the continuation its share of the time), and never past the
  call's deadline. (The window is re-armed lazily, so a stall trips after 90-100% of it.)
- Retryable errors (429, 5xx, 529, connection, provider timeouts) fall back at once while another
  candidate can still be called (a fresh endpoint beats a backoff, as OpenRouter does); the last
  candidate standing is retried up to `max_retries` times with exponential backoff and full
  jitter, honouring a `Retry-After` within `retry_after_cap_s` and the time left (beyond it: give
  up at once). A failed half-open probe is not retried (its circuit just reopened). So provider
  calls per request are at most 1 + fallbacks + max_retries, and each is recorded once.
- `AuthFailed`: next endpoint; the provider's other endpoints are skipped (the same key fails).
- `ContextTooLong`: skip to candidates whose known context is larger than the one that refused.
- `BadRequest`: the request is wrong for that *wire protocol*, so candidates of the same protocol
  are skipped and only other protocols are tried. When no other protocol is left the call stops
  with that error: every remaining provider would reject it too. Refusals about one endpoint or
  model are not that (`BadRequest.endpoint_specific`: `ModelNotFound` — an id OpenRouter calls
  "not a valid model ID" may be served by OpenAI direct —, `UnsupportedParameter`, any 404):
  they simply fall back to the next candidate.
- Router-level first-token timeout: outcome `timeout`, next candidate (no same-endpoint retry; the
  time slice is what keeps fallbacks alive). "Candidates left" counts only those that would
  really be called (not ones an earlier AuthFailed/BadRequest/ContextTooLong rules out, nor ones
  that cannot continue a partial answer, nor open circuits): a candidate with none of those
  after it is the last and gets all the time left.
- Budgets (`ExecContext.budget`, see `routing/costs.py`): before every provider call, retries
  included, the candidate's worst-case cost is held against the client's budget; a refusal skips
  the candidate (outcome `skipped`, the reason names spend, cap and reset); the hold is settled
  with the attempt's billed cost when the attempt is recorded.
- The router always streams. A failure after the first token continues on the next candidate whose
  provider accepts an assistant prefix (`ProviderConfig.supports_assistant_prefix`) with the
  partial text as that prefix; when none is left, or the deadline passes mid-stream, the result is
  explicitly incomplete (`finish_reason="error"`, `error` set), never a silent truncation.
- Usage per attempt: the provider's figures when the stream ended normally; for a stream cut
  after the first token (error, deadline, cancellation) an estimate (prompt estimate in, partial
  text out), because the provider bills those tokens; nothing for a failure before the first
  token. Costs come from the endpoint's prices; an empty answer is free (zero-completion insurance).
- Caller cancellation cancels the in-flight provider call; the attempt is recorded `cancelled`.
  Any other exception escaping an adapter is a bug, not a provider verdict: the attempt is
  recorded `error` with the exception's class and the exception propagates (no fallback on it).

Where things live: this module runs the loop and the streamed call (`Executor`);
`routing/fallback.py` keeps what earlier failures rule out and does the time-slice and backoff
arithmetic; `routing/attempt.py` holds one attempt's state, its usage and its metering record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Unpack

import anyio

from mcp_router.core import CompletionRequest, FinishReason, StreamEnd, TextDelta, Usage
from mcp_router.errors import (
    BadRequest,
    BudgetExceeded,
    ContextTooLong,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    redact,
)
from mcp_router.log import get_logger
from mcp_router.metering.records import AttemptOutcome, AttemptRecord, RequestStatus
from mcp_router.providers.base import Adapter
from mcp_router.routing.attempt import (
    Attempt,
    Why,
    attempt_info,
    attempt_record,
    estimate_text_tokens,
    event_loop_clock,
    usage_for,
    with_prefix,
)
from mcp_router.routing.costs import AttemptBudget, Hold, Refusal
from mcp_router.routing.fallback import RuledOut, backoff, first_token_slice
from mcp_router.routing.health import Clock, HealthTracker, cooling_reason
from mcp_router.routing.plan import Candidate
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import AttemptInfo

ProgressCallback = Callable[[int, int], Awaitable[None]]
"""`on_progress(chunks_so_far, chars_so_far)`: streamed text chunks and characters of the answer
so far (a continued answer's prefix included). Counts, not the text: joining the answer on every
report cost O(n²) over a long stream, and no caller shows it."""

_log = get_logger("mcp_router.routing")


@dataclass(slots=True)
class ExecContext:
    """Everything one execution needs, injected by the router."""

    adapters: Mapping[str, Adapter]
    health: HealthTracker
    policy: RoutingPolicy
    rng: Random
    clock: Clock
    request_id: str
    prompt_tokens: int
    on_progress: ProgressCallback | None = None
    budget: AttemptBudget | None = None  # holds each attempt's worst case against the client's cap
    records: list[AttemptRecord] = field(default_factory=list)  # appended as attempts finish
    infos: list[AttemptInfo] = field(default_factory=list)


@dataclass(slots=True)
class ExecResult:
    status: RequestStatus  # ok | incomplete | error
    text: str = ""
    finish_reason: FinishReason = "error"
    model: str | None = None
    provider: str | None = None
    ttft_ms: float | None = None
    error: str | None = None  # why the answer is incomplete, or why every route failed
    error_class: str | None = None
    final_error: ProviderError | None = None  # the error that stopped the call, if one did
    budget_error: BudgetExceeded | None = None  # the last budget refusal, if a candidate had one


class Executor:
    """Runs one routed call over an ordered candidate list. One instance per call."""

    def __init__(self, ctx: ExecContext, request: CompletionRequest, timeout_s: float) -> None:
        self.ctx = ctx
        self.request = request
        self.timeout_s = timeout_s
        self._start = anyio.current_time()
        self._deadline = self._start + timeout_s
        self._chunks = 0  # streamed chunks delivered, across continuation attempts
        self._last_progress = -1.0
        self._held: Hold | None = None  # the budget hold of the attempt in flight

    # -- bookkeeping ----------------------------------------------------------------------

    def _record(
        self,
        cand: Candidate,
        outcome: AttemptOutcome,
        started_at_wall: datetime,
        att: Attempt | None = None,
        usage: Usage | None = None,
        **why: Unpack[Why],
    ) -> None:
        """Record one attempt (see `attempt_record`), settling its budget hold with its cost."""
        n = len(self.ctx.records) + 1
        rec = attempt_record(self.ctx.request_id, n, cand, outcome, started_at_wall, att, usage, **why)
        if outcome != "skipped" and self._held is not None:
            held, self._held = self._held, None
            held.settle(rec.cost_usd)  # reconcile the worst case held with what this attempt cost
        self.ctx.records.append(rec)
        info = attempt_info(rec)
        self.ctx.infos.append(info)
        _log.info(
            "attempt",
            request_id=self.ctx.request_id,
            provider=cand.provider,
            model=cand.model.id,
            outcome=outcome,
            latency_ms=info.latency_ms,
            error_class=rec.error_class,
        )

    def _skip(self, cand: Candidate, why: str, error_class: str | None = None) -> None:
        self._record(cand, "skipped", self.ctx.clock.now(), note=why, error_class=error_class)

    def release_hold(self) -> None:
        """Give back a hold no attempt record settled (the loop ended some other way)."""
        if self._held is not None:
            held, self._held = self._held, None
            held.release()

    def time_left(self) -> float:
        return self._deadline - anyio.current_time()

    # -- one provider call ----------------------------------------------------------------

    async def _progress(self, chars: int, force: bool) -> None:
        cb = self.ctx.on_progress
        if cb is None:
            return
        now = anyio.current_time()
        if force or now - self._last_progress >= self.ctx.policy.progress_interval_s:
            self._last_progress = now
            await cb(self._chunks, chars)

    def _idle_deadline(self, now: float, share: int) -> float:
        """When a started stream that stays silent from `now` counts as stalled."""
        window = self.ctx.policy.stream_idle_timeout_s
        if share:
            window = min(window, (self._deadline - now) / share)
        return min(self._deadline, now + window)

    async def _call(
        self,
        att: Attempt,
        cand: Candidate,
        request: CompletionRequest,
        first_slice: float,
        prefix: str,
        idle_share: int,
    ) -> None:
        """Fill `att` from one streamed provider call (filled even when the caller is cancelled).
        `idle_share`: candidates the time left is shared with for the idle window (0: no later
        candidate could continue this answer, so only `stream_idle_timeout_s` applies)."""
        adapter = self.ctx.adapters[cand.provider]
        parts: list[str] = []
        report = self.ctx.on_progress is not None
        now = event_loop_clock()
        base_chunks = self._chunks
        chunks = 0  # kept in locals in the loop below, which runs once per streamed token
        chars = len(prefix)
        got_first = False
        t0 = last_event = armed_at = now()
        scope = anyio.CancelScope(deadline=t0 + first_slice)
        deadline = scope.deadline
        try:
            with scope:
                stream: AsyncIterator[TextDelta | StreamEnd] = adapter.stream(
                    request, cand.endpoint.native_model
                )
                exhausted = False  # a generator that finished or raised is already closed
                try:
                    async for ev in stream:
                        if got_first:  # any sign of life restarts the idle window ...
                            last_event = now()
                            # ... lazily: re-arming a deadline reschedules a timer, too dear per
                            # chunk, so re-arm once a tenth of the window has passed. A stall
                            # then trips after 90-100% of the window of silence.
                            if (last_event - armed_at) * 10 >= deadline - armed_at:
                                armed_at = last_event
                                scope.deadline = deadline = self._idle_deadline(last_event, idle_share)
                        if isinstance(ev, TextDelta):
                            text = ev.text
                            if not text:
                                continue
                            parts.append(text)
                            chunks += 1
                            chars += len(text)
                            if not got_first:
                                got_first = att.got_first = True
                                att.first_at = last_event = armed_at = now()
                                att.ttft_ms = (att.first_at - t0) * 1000.0
                                scope.deadline = deadline = self._idle_deadline(last_event, idle_share)
                                if report:
                                    self._chunks = base_chunks + chunks
                                    await self._progress(chars, True)
                            elif report:
                                self._chunks = base_chunks + chunks
                                await self._progress(chars, False)
                        else:
                            att.end = ev
                    exhausted = True
                except ProviderError as exc:
                    exhausted = True
                    att.error = exc
                finally:
                    aclose = None if exhausted else getattr(stream, "aclose", None)
                    if aclose is not None:
                        # Close the HTTP stream even when cancelled; bounded so a stuck peer can't hold us.
                        with anyio.move_on_after(2.0, shield=True):
                            await aclose()
        finally:
            att.text = "".join(parts)
            att.chunks = chunks
            self._chunks = base_chunks + chunks
            att.latency_ms = (now() - t0) * 1000.0
        if scope.cancelled_caught:
            att.outcome = "timeout"
            att.stalled = att.got_first and scope.deadline < self._deadline
            if att.stalled:
                att.idle_s = scope.deadline - last_event  # the silence that tripped it
        elif att.error is not None:
            att.outcome = "error"
        elif att.end is None:
            att.outcome = "error"
            att.error = ProviderError(
                cand.provider, "stream ended without a final event", model=cand.model.id
            )

    # -- the loop -------------------------------------------------------------------------

    async def run(self, candidates: Sequence[Candidate]) -> ExecResult:
        ctx = self.ctx
        policy = ctx.policy
        health = ctx.health
        adapters = ctx.adapters
        prefix = ""  # text already produced by attempts cut after their first token
        total_ttft: float | None = None
        ruled = RuledOut()
        last_error: ProviderError | None = None
        budget_error: BudgetExceeded | None = None
        cands = list(candidates)
        for idx, cand in enumerate(cands):
            adapter = adapters.get(cand.provider)
            why_skip = ruled.skip_reason(cand, adapter, bool(prefix))
            if why_skip is not None or adapter is None:
                self._skip(cand, why_skip or "no adapter for provider")
                continue
            protocol = adapter.config.protocol
            request = self.request
            if prefix:
                request = self.request.model_copy(
                    update={"messages": with_prefix(self.request.messages, prefix)}
                )
            retries = 0
            while True:
                left = self.time_left()
                if left <= 0:
                    break
                if retries == 0 and not health.try_acquire(cand.key):
                    self._skip(cand, cooling_reason(health.cooling_until(cand.key)))
                    break
                input_estimate = ctx.prompt_tokens + (estimate_text_tokens(prefix) if prefix else 0)
                if ctx.budget is not None:
                    try:
                        held = await ctx.budget.hold(cand, input_estimate)
                    except BaseException:
                        # Cancelled (or failed) while holding: a claimed half-open probe must not
                        # stay "in flight" forever, or the endpoint is never tried again.
                        health.release(cand.key)
                        raise
                    if isinstance(held, Refusal):
                        health.release(cand.key)  # a claimed half-open probe goes unused
                        budget_error = held.error or budget_error
                        self._skip(cand, held.reason, "BudgetExceeded" if held.error else None)
                        break
                    self._held = held
                    left = self.time_left()  # the hold may have read the usage database
                    if left <= 0:  # the deadline passed while holding: no call, no verdict
                        self.release_hold()
                        health.release(cand.key)
                        break
                # Share the time left with the candidates that would really be called after this
                # one; with none, this is the last and gets all of it (DESIGN.md, contract details).
                later = ruled.viable_after(cands, idx, adapters, health, bool(prefix))
                first_slice = first_token_slice(left, later, policy)
                probe = health.state(cand.key) == "half_open"
                started = ctx.clock.now()
                att = Attempt()
                can_continue = ruled.viable_after(cands, idx, adapters, health, True)
                try:
                    await self._call(
                        att, cand, request, first_slice, prefix, (can_continue + 1) if can_continue else 0
                    )
                except anyio.get_cancelled_exc_class():
                    # The caller gave up: the provider call is already cancelled; meter what it cost.
                    health.release(cand.key)
                    self._record(
                        cand,
                        "cancelled",
                        started,
                        att,
                        usage_for(att, input_estimate),
                        note="cancelled by the caller",
                    )
                    raise
                except Exception as exc:
                    # Not a ProviderError: a bug in an adapter (or ours). Meter the call under the
                    # exception's own class, pass no verdict on the endpoint, and let it surface.
                    health.release(cand.key)
                    kind = type(exc).__name__
                    self._record(
                        cand,
                        "error",
                        started,
                        att,
                        usage_for(att, input_estimate),
                        note=f"{kind}: {redact(str(exc))[:200]}",
                        error_class=kind,
                    )
                    raise
                if total_ttft is None and att.first_at is not None:
                    total_ttft = (att.first_at - self._start) * 1000.0
                usage = usage_for(att, input_estimate)
                if att.outcome == "ok":
                    assert att.end is not None
                    health.record_success(
                        cand.key,
                        latency_ms=att.latency_ms,
                        ttft_ms=att.ttft_ms,
                        output_tokens=usage.output_tokens,
                    )
                    self._record(cand, "ok", started, att, usage)
                    return ExecResult(
                        status="ok",
                        text=prefix + att.text,
                        finish_reason=att.end.finish_reason,
                        model=cand.model.id,
                        provider=cand.provider,
                        ttft_ms=total_ttft,
                    )
                err = att.error
                if att.stalled:
                    # Silent mid-stream: the endpoint's failure, handled like a broken stream.
                    health.record_failure(cand.key)
                    why = f"stream stalled: no data for {att.idle_s:.3f}s after {att.chunks} chunks"
                    stall = ProviderTimeout(cand.provider, why, model=cand.model.id)
                    last_error = stall
                    self._record(cand, "timeout", started, att, usage, error=stall)
                    prefix += att.text
                    break  # continue on a prefix-capable fallback
                if att.outcome == "timeout":
                    if att.got_first:
                        # The call's deadline passed mid-stream: not the endpoint's fault.
                        health.release(cand.key)
                    else:
                        health.record_failure(cand.key)
                    note = (
                        f"timeout: no first token within {first_slice:.3f}s"
                        if not att.got_first
                        else f"timeout: call deadline of {self.timeout_s}s passed mid-stream"
                    )
                    self._record(cand, "timeout", started, att, usage, note=note)
                    if att.got_first:
                        return self._incomplete(prefix + att.text, cand, total_ttft, note, "ProviderTimeout")
                    break
                assert err is not None
                last_error = err
                retry_after = err.retry_after if isinstance(err, RateLimited | Overloaded) else None
                if isinstance(err, BadRequest | ContextTooLong):
                    health.release(cand.key)  # the request's fault, not the endpoint's
                else:
                    health.record_failure(cand.key, retry_after=retry_after)
                self._record(cand, "error", started, att, usage, error=err)
                if att.got_first:
                    prefix += att.text
                    break  # continue on a prefix-capable fallback
                if ruled.learn(cand, protocol, err):
                    break
                if not err.retryable or probe or retries >= policy.max_retries or health.tripped(cand.key):
                    break
                if ruled.viable_after(cands, idx, adapters, health, bool(prefix)):
                    break  # a fresh endpoint beats a backoff: retries are for the last one standing
                wait = backoff(retry_after, retries, self.time_left(), policy, ctx.rng)
                if wait is None:
                    break
                retries += 1
                await anyio.sleep(wait)
            if ruled.stop_error is not None and not ruled.protocol_left(cands, idx, adapters):
                break
        if prefix:
            why = f"{last_error.kind}: {last_error.message}" if last_error else "stream broke"
            return self._incomplete(
                prefix,
                None,
                total_ttft,
                f"answer cut after {len(prefix)} characters ({why}); no fallback could continue it",
                last_error.kind if last_error else "ConnectionFailed",
            )
        res = ExecResult(status="error", ttft_ms=total_ttft, budget_error=budget_error)
        if budget_error is not None and all(r.outcome == "skipped" for r in ctx.records):
            # No provider was called: the budget, not a provider, stopped the call.
            res.error_class = "BudgetExceeded"
            res.error = str(budget_error)
        elif (stop_error := ruled.stop_error) is not None:
            res.final_error = stop_error
            res.error_class = stop_error.kind
            res.error = f"the request was rejected as invalid: {stop_error}"
        elif self.time_left() <= 0:
            res.error_class = "ProviderTimeout"
            res.error = f"the call's deadline of {self.timeout_s}s passed"
            res.final_error = last_error
        else:
            res.final_error = last_error
            res.error_class = last_error.kind if last_error else None
        return res

    def _incomplete(
        self, text: str, cand: Candidate | None, ttft: float | None, why: str, error_class: str
    ) -> ExecResult:
        last = self.ctx.records[-1] if self.ctx.records else None
        return ExecResult(
            status="incomplete",
            text=text,
            finish_reason="error",
            model=cand.model.id if cand else (last.model if last else None),
            provider=cand.provider if cand else (last.provider if last else None),
            ttft_ms=ttft,
            error=why,
            error_class=error_class,
        )


async def execute(
    ctx: ExecContext, request: CompletionRequest, candidates: Sequence[Candidate], *, timeout_s: float
) -> ExecResult:
    """Try `candidates` in order under one deadline. Attempts land in `ctx.records`/`ctx.infos`
    as they finish, so a caller cancelled mid-way still has them for metering."""
    executor = Executor(ctx, request, timeout_s)
    try:
        return await executor.run(candidates)
    finally:
        executor.release_hold()


__all__ = ["ExecContext", "ExecResult", "Executor", "ProgressCallback", "execute"]
