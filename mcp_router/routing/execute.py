"""The attempt loop: deadlines, retries, fallback, stream continuation, per-attempt records.

Rules (README "How routing chooses / Execution" states them for users):
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

Where things live: this module runs the loop (`Executor`): per candidate, take the circuit and
the budget hold, run one attempt, decide the outcome, and at the end build the result.
`routing/streaming.py` runs the streamed call itself (deadlines, idle window, progress);
`routing/fallback.py` decides what an attempt's end means (`Outcome`), keeps what earlier
failures rule out and does the time-slice and backoff arithmetic; `routing/attempt.py` holds
one attempt's state, its usage and its metering record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from random import Random

import anyio

from mcp_router.core import CompletionRequest, FinishReason, StreamEnd
from mcp_router.errors import (
    BadRequest,
    BudgetExceeded,
    ContextTooLong,
    ProviderError,
    ProviderTimeout,
    redact,
)
from mcp_router.metering.records import AttemptRecord, RequestStatus
from mcp_router.providers.base import Adapter
from mcp_router.routing.attempt import Attempt, AttemptLog, estimate_text_tokens, with_prefix
from mcp_router.routing.costs import AttemptBudget, Refusal
from mcp_router.routing.fallback import Outcome, Rules, first_token_slice, retry_after
from mcp_router.routing.health import Clock, HealthTracker, cooling_reason
from mcp_router.routing.plan import Candidate
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.streaming import DeltaCallback, ProgressCallback, Streamer
from mcp_router.routing.types import AttemptInfo


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
    on_delta: DeltaCallback | None = None  # the answer's text as it streams
    budget: AttemptBudget | None = None  # holds each attempt's worst case against the client's cap
    records: list[AttemptRecord] = field(default_factory=list)  # appended as attempts finish
    infos: list[AttemptInfo] = field(default_factory=list)


class Failure(Enum):
    """Why a call ended without a complete answer (`ExecResult.failure`): the router words its
    error from this, not from our message."""

    BUDGET = "budget"  # no provider was called: the client's budget refused every candidate
    REJECTED = "rejected"  # the request is invalid for every wire protocol left (`final_error`)
    DEADLINE = "deadline"  # the call's deadline passed (mid-stream: the answer is incomplete)
    CUT = "cut"  # the answer broke after it started and no fallback could continue it
    EXHAUSTED = "exhausted"  # every route failed (`final_error` is the last provider error)


@dataclass(slots=True)
class ExecResult:
    status: RequestStatus  # ok | incomplete | error
    text: str = ""
    finish_reason: FinishReason = "error"
    model: str | None = None
    provider: str | None = None
    ttft_ms: float | None = None
    failure: Failure | None = None  # None when answered
    error: str | None = None  # why the answer is incomplete, or why every route failed
    error_class: str | None = None
    final_error: ProviderError | None = None  # the error that stopped the call, if one did
    budget_error: BudgetExceeded | None = None  # the last budget refusal, if a candidate had one
    end: StreamEnd | None = None  # the answering stream's end: tool calls, reasoning


class Executor:
    """Runs one routed call over an ordered candidate list. One instance per call."""

    def __init__(self, ctx: ExecContext, request: CompletionRequest, timeout_s: float) -> None:
        self.ctx = ctx
        self.request = request
        self.timeout_s = timeout_s
        self._start = anyio.current_time()
        self._deadline = self._start + timeout_s
        self._streamer = Streamer(ctx.policy, ctx.on_progress, self._deadline, ctx.on_delta)
        self._log = AttemptLog(ctx.request_id, ctx.records, ctx.infos, ctx.clock)
        self._rules = Rules([], ctx.adapters, ctx.health, ctx.policy, ctx.rng)
        self._prefix = ""  # text already produced by attempts cut after their first token
        self._ttft: float | None = None  # ms from the call's start to the answer's first token
        self._last_error: ProviderError | None = None
        self._budget_error: BudgetExceeded | None = None

    def time_left(self) -> float:
        return self._deadline - anyio.current_time()

    def release_hold(self) -> None:
        """Give back a hold no attempt record settled (the loop ended some other way)."""
        self._log.release_hold()

    # -- the loop -------------------------------------------------------------------------

    async def run(self, candidates: Sequence[Candidate]) -> ExecResult:
        self._rules.cands = cands = list(candidates)
        last: Attempt | None = None
        for idx, cand in enumerate(cands):
            adapter = self._callable(cand)
            if adapter is None:
                continue
            outcome, last = await self._on_candidate(idx, cand, adapter)
            if outcome is Outcome.ANSWERED:
                return self._answered(last)
            if outcome is Outcome.STOP or self._rules.rejected_everywhere(idx):
                break
        return self._unanswered(last)

    def _callable(self, cand: Candidate) -> Adapter | None:
        """The candidate's adapter, or None (the skip recorded) when an earlier failure rules it out."""
        adapter = self.ctx.adapters.get(cand.provider)
        why_skip = self._rules.ruled.skip_reason(cand, adapter, bool(self._prefix))
        if why_skip is not None or adapter is None:
            self._log.skip(cand, why_skip or "no adapter for provider")
            return None
        return adapter

    async def _on_candidate(self, idx: int, cand: Candidate, adapter: Adapter) -> tuple[Outcome, Attempt]:
        """Call one candidate, again while the rules say retry; the outcome of its last call."""
        request = self.request
        if self._prefix:
            request = request.model_copy(update={"messages": with_prefix(request.messages, self._prefix)})
        retries = 0
        while True:
            att = Attempt(cand, idx, adapter.config.protocol, retries)
            if not await self._take(att):
                return Outcome.NEXT_CANDIDATE, att
            await self._attempt(att, adapter, request)
            self._report(att)
            outcome = self._rules.decide(att, self.time_left(), bool(self._prefix))
            if outcome is Outcome.RETRY_SAME:
                retries += 1
                await anyio.sleep(att.wait)
                continue
            if outcome is not Outcome.ANSWERED and att.got_first:
                self._prefix += att.text  # the answer so far: to continue, or to return cut
            return outcome, att

    # -- take the circuit and the budget hold ---------------------------------------------

    async def _take(self, att: Attempt) -> bool:
        """Claim the circuit (on the first call of a candidate) and hold its worst case against
        the budget. False when it cannot be called now: out of time, cooling down (recorded), or
        refused by the budget (recorded)."""
        if self.time_left() <= 0:
            return False
        health, cand = self.ctx.health, att.cand
        if att.retries == 0:
            claim = health.acquire(cand.key)
            if claim is None:
                self._log.skip(cand, cooling_reason(health.cooling_until(cand.key)))
                return False
            att.claimed_probe = claim
        prefix_tokens = estimate_text_tokens(self._prefix) if self._prefix else 0
        att.input_estimate = self.ctx.prompt_tokens + prefix_tokens
        return self.ctx.budget is None or await self._hold(att, self.ctx.budget)

    async def _hold(self, att: Attempt, budget: AttemptBudget) -> bool:
        health, key = self.ctx.health, att.cand.key
        try:
            held = await budget.hold(att.cand, att.input_estimate)
        except BaseException:
            # Cancelled (or failed) while holding: a claimed half-open probe must not stay
            # "in flight" forever, or the endpoint is never tried again.
            health.release(key, probe=att.claimed_probe)
            raise
        if isinstance(held, Refusal):
            health.release(key, probe=att.claimed_probe)  # a claimed half-open probe goes unused
            self._budget_error = held.error or self._budget_error
            self._log.skip(att.cand, held.reason, "BudgetExceeded" if held.error else None)
            return False
        self._log.held = held
        if self.time_left() <= 0:  # the deadline passed while holding: no call, no verdict
            self._log.release_hold()
            health.release(key, probe=att.claimed_probe)
            return False
        return True

    # -- run one attempt ------------------------------------------------------------------

    async def _attempt(self, att: Attempt, adapter: Adapter, request: CompletionRequest) -> None:
        """One provider call into `att`. Cancellation and adapter bugs are recorded and raised."""
        ctx, rules = self.ctx, self._rules
        # Share the time left with the candidates that would really be called after this one;
        # with none, this is the last and gets all of it (README "Execution").
        later = rules.viable_after(att.idx, bool(self._prefix))
        att.first_slice = first_token_slice(self.time_left(), later, ctx.policy)
        att.probe = ctx.health.state(att.cand.key) == "half_open"
        att.started = ctx.clock.now()
        can_continue = rules.viable_after(att.idx, True)
        idle_share = (can_continue + 1) if can_continue else 0
        try:
            await self._streamer.call(att, adapter, request, len(self._prefix), idle_share)
        except anyio.get_cancelled_exc_class():
            # The caller gave up: the provider call is already cancelled; meter what it cost.
            ctx.health.release(att.cand.key, probe=att.claimed_probe)
            self._log.record(att, "cancelled", note="cancelled by the caller")
            raise
        except Exception as exc:
            # Not a ProviderError: a bug in an adapter (or ours). Meter the call under the
            # exception's own class, pass no verdict on the endpoint, and let it surface.
            ctx.health.release(att.cand.key, probe=att.claimed_probe)
            kind = type(exc).__name__
            self._log.record(att, "error", note=f"{kind}: {redact(str(exc))[:200]}", error_class=kind)
            raise
        if self._ttft is None and att.first_at is not None:
            self._ttft = (att.first_at - self._start) * 1000.0

    def _report(self, att: Attempt) -> None:
        """The attempt's verdict on the endpoint (health) and its metering record."""
        cand, health = att.cand, self.ctx.health
        if att.outcome == "ok":
            assert att.end is not None
            health.record_success(
                cand.key,
                latency_ms=att.latency_ms,
                ttft_ms=att.ttft_ms,
                output_tokens=att.end.usage.output_tokens,
            )
            self._log.record(att, "ok")
        elif att.stalled:
            # Silent mid-stream: the endpoint's failure, handled like a broken stream.
            health.record_failure(cand.key, probe=att.claimed_probe)
            why = f"stream stalled: no data for {att.idle_s:.3f}s after {att.chunks} chunks"
            att.error = self._last_error = ProviderTimeout(cand.provider, why, model=cand.model.id)
            self._log.record(att, "timeout", error=att.error)
        elif att.outcome == "timeout":
            if att.got_first:  # the call's deadline passed mid-stream: not the endpoint's fault
                health.release(cand.key, probe=att.claimed_probe)
            else:
                health.record_failure(cand.key, probe=att.claimed_probe)
            self._log.record(att, "timeout", note=self._timeout_note(att))
        else:
            err = att.error
            assert err is not None
            self._last_error = err
            if isinstance(err, BadRequest | ContextTooLong):
                health.release(cand.key, probe=att.claimed_probe)  # the request's fault, not the endpoint's
            else:
                health.record_failure(cand.key, retry_after=retry_after(err), probe=att.claimed_probe)
            self._log.record(att, "error", error=err)

    def _timeout_note(self, att: Attempt) -> str:
        if att.got_first:
            return f"timeout: call deadline of {self.timeout_s}s passed mid-stream"
        return f"timeout: no first token within {att.first_slice:.3f}s"

    # -- build the result -----------------------------------------------------------------

    def _answered(self, att: Attempt) -> ExecResult:
        assert att.end is not None
        return ExecResult(
            status="ok",
            text=self._prefix + att.text,
            finish_reason=att.end.finish_reason,
            end=att.end,
            model=att.cand.model.id,
            provider=att.cand.provider,
            ttft_ms=self._ttft,
        )

    def _unanswered(self, last: Attempt | None) -> ExecResult:
        if last is not None and last.cut_by_deadline:
            note = self._timeout_note(last)
            return self._incomplete(last.cand, note, "ProviderTimeout", Failure.DEADLINE)
        last_error = self._last_error
        if self._prefix:
            why = f"{last_error.kind}: {last_error.message}" if last_error else "stream broke"
            note = f"answer cut after {len(self._prefix)} characters ({why}); no fallback could continue it"
            error_class = last_error.kind if last_error else "ConnectionFailed"
            return self._incomplete(None, note, error_class, Failure.CUT)
        return self._failed()

    def _failed(self) -> ExecResult:
        """No answer at all: what stopped the call."""
        last_error = self._last_error
        failed = partial(ExecResult, "error", ttft_ms=self._ttft, budget_error=self._budget_error)
        if self._budget_error is not None and all(r.outcome == "skipped" for r in self.ctx.records):
            # No provider was called: the budget, not a provider, stopped the call.
            return failed(failure=Failure.BUDGET, error=str(self._budget_error), error_class="BudgetExceeded")
        if (stop := self._rules.ruled.stop_error) is not None:
            why = f"the request was rejected as invalid: {stop}"
            return failed(failure=Failure.REJECTED, error=why, error_class=stop.kind, final_error=stop)
        if self.time_left() <= 0:
            why = f"the call's deadline of {self.timeout_s}s passed"
            return failed(
                failure=Failure.DEADLINE, error=why, error_class="ProviderTimeout", final_error=last_error
            )
        error_class = last_error.kind if last_error else None
        return failed(failure=Failure.EXHAUSTED, error_class=error_class, final_error=last_error)

    def _incomplete(self, cand: Candidate | None, why: str, error_class: str, failure: Failure) -> ExecResult:
        last = self.ctx.records[-1] if self.ctx.records else None
        return ExecResult(
            status="incomplete",
            text=self._prefix,
            finish_reason="error",
            model=cand.model.id if cand else (last.model if last else None),
            provider=cand.provider if cand else (last.provider if last else None),
            ttft_ms=self._ttft,
            failure=failure,
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


__all__ = ["ExecContext", "ExecResult", "Executor", "Failure", "Outcome", "ProgressCallback", "execute"]
