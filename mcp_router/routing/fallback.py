"""The fallback rules of the attempt loop (pure): which candidates an earlier failure rules out,
how many later candidates the time left is shared with, what the end of an attempt means for the
call (`Outcome`), and the backoff before a retry.

The rules themselves are stated in `routing/execute.py`'s docstring (README "Execution").
`RuledOut` is the one place that decides whether a candidate would be skipped: the loop asks it
before calling a candidate, and the deadline arithmetic asks it which later candidates would
really be called, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from random import Random

from mcp_router.errors import AuthFailed, BadRequest, ContextTooLong, Overloaded, ProviderError, RateLimited
from mcp_router.providers.base import Adapter
from mcp_router.routing.attempt import Attempt
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.plan import Candidate
from mcp_router.routing.policy import RoutingPolicy


@dataclass(slots=True)
class RuledOut:
    """What the failures so far in one call rule out for the candidates still to come."""

    auth_failed: set[str] = field(default_factory=set)  # providers whose key was refused
    rejected_protocols: set[str] = field(default_factory=set)  # protocols that found the request invalid
    context_refused: int | None = None  # the largest context that refused the prompt
    stop_error: BadRequest | None = None  # the last protocol-wide rejection of the request

    def skip_reason(self, cand: Candidate, adapter: Adapter | None, need_prefix: bool) -> str | None:
        """Why `cand` would be skipped without a call, or None when it would be called
        (`need_prefix`: it would have to continue a partial answer)."""
        if adapter is None:
            return "no adapter for provider"
        if cand.provider in self.auth_failed:
            return f"AuthFailed earlier on provider {cand.provider}"
        protocol = adapter.config.protocol
        if protocol in self.rejected_protocols:
            return f"BadRequest earlier on a {protocol} provider"
        if self.context_refused is not None:
            ctx_len = cand.context_length  # an unknown context is tried
            if ctx_len is not None and ctx_len <= self.context_refused:
                return f"context {ctx_len} not larger than one that refused the prompt"
        if need_prefix and not adapter.config.supports_assistant_prefix:
            return "cannot continue a partial answer (no assistant prefix support)"
        return None

    def viable_after(
        self,
        cands: Sequence[Candidate],
        idx: int,
        adapters: Mapping[str, Adapter],
        health: HealthTracker,
        need_prefix: bool,
    ) -> int:
        """How many candidates after `idx` would actually be called (not skipped, circuit not open)."""
        return sum(
            1
            for c in cands[idx + 1 :]
            if self.skip_reason(c, adapters.get(c.provider), need_prefix) is None
            and health.state(c.key) != "open"
        )

    def protocol_left(self, cands: Sequence[Candidate], idx: int, adapters: Mapping[str, Adapter]) -> bool:
        """Whether a candidate after `idx` speaks a protocol that has not rejected the request."""
        return any(
            (adapter := adapters.get(c.provider)) is not None
            and adapter.config.protocol not in self.rejected_protocols
            for c in cands[idx + 1 :]
        )

    def learn(self, cand: Candidate, protocol: str, err: ProviderError) -> bool:
        """Apply the rule for `err`, raised by `cand` before its first token; True when the rule
        ends this candidate's attempts (no retry on the same endpoint)."""
        if isinstance(err, AuthFailed):
            self.auth_failed.add(cand.provider)  # the same key fails on its other endpoints
            return True
        if isinstance(err, ContextTooLong):
            self.context_refused = max(self.context_refused or 0, cand.context_length or 0)
            return True
        if isinstance(err, BadRequest):
            if not (err.endpoint_specific or err.status == 404):
                # Wrong for the wire protocol: every provider speaking it would reject it too.
                self.rejected_protocols.add(protocol)
                self.stop_error = err
            return True
        return False


class Outcome(Enum):
    """What the end of one attempt means for the call."""

    ANSWERED = "answered"  # a complete answer: the call is done
    CONTINUE_WITH_PREFIX = "continue_with_prefix"  # cut after its first token: a fallback continues it
    NEXT_CANDIDATE = "next_candidate"  # fall back to the next candidate
    RETRY_SAME = "retry_same"  # the last candidate standing: back off, then call it again
    STOP = "stop"  # nothing more may be tried: the deadline cut the answer, or no protocol is left


@dataclass(slots=True)
class Rules:
    """The fallback rules over one call's candidate list, and what its failures ruled out so far."""

    cands: Sequence[Candidate]
    adapters: Mapping[str, Adapter]
    health: HealthTracker
    policy: RoutingPolicy
    rng: Random
    ruled: RuledOut = field(default_factory=RuledOut)

    def viable_after(self, idx: int, need_prefix: bool) -> int:
        """How many candidates after `idx` would really be called (see `RuledOut.viable_after`)."""
        return self.ruled.viable_after(self.cands, idx, self.adapters, self.health, need_prefix)

    def rejected_everywhere(self, idx: int) -> bool:
        """Whether a protocol-wide rejection leaves no later candidate that could accept the request."""
        ruled = self.ruled
        return ruled.stop_error is not None and not ruled.protocol_left(self.cands, idx, self.adapters)

    def decide(self, att: Attempt, time_left: float, need_prefix: bool) -> Outcome:
        """What `att`'s end means; sets `att.wait` for a retry. `need_prefix`: a later candidate
        would have to continue a partial answer (one started before this attempt)."""
        if att.outcome == "ok":
            return Outcome.ANSWERED
        if att.stalled:
            return Outcome.CONTINUE_WITH_PREFIX
        if att.outcome == "timeout":
            # Mid-stream, the call's own deadline passed: nothing is left to continue with.
            # Before the first token, the time slice is what keeps fallbacks alive: no retry.
            return Outcome.STOP if att.got_first else Outcome.NEXT_CANDIDATE
        err = att.error
        assert err is not None
        if att.got_first:
            return Outcome.CONTINUE_WITH_PREFIX
        if self.ruled.learn(att.cand, att.protocol, err):
            return Outcome.STOP if self.rejected_everywhere(att.idx) else Outcome.NEXT_CANDIDATE
        return self._retry_or_next(att, err, time_left, need_prefix)

    def _retry_or_next(
        self, att: Attempt, err: ProviderError, time_left: float, need_prefix: bool
    ) -> Outcome:
        """Retry only a retryable error on the last candidate standing (not a failed probe, not
        past `max_retries` or a tripped breaker), after a backoff that fits the time left."""
        if not err.retryable or att.probe or att.retries >= self.policy.max_retries:
            return Outcome.NEXT_CANDIDATE
        if self.health.tripped(att.cand.key):
            return Outcome.NEXT_CANDIDATE
        if self.viable_after(att.idx, need_prefix):
            return Outcome.NEXT_CANDIDATE  # a fresh endpoint beats a backoff
        wait = backoff(retry_after(err), att.retries, time_left, self.policy, self.rng)
        if wait is None:
            return Outcome.NEXT_CANDIDATE
        att.wait = wait
        return Outcome.RETRY_SAME


def retry_after(err: ProviderError) -> float | None:
    """The provider's `Retry-After`, when its error carries one."""
    return err.retry_after if isinstance(err, RateLimited | Overloaded) else None


def first_token_slice(left: float, later: int, policy: RoutingPolicy) -> float:
    """The time an attempt gets for its first token, sharing `left` with the `later` candidates
    that would really be called after it; with none, it is the last and gets all of it."""
    left = max(left, 0.0)
    return left if later == 0 else min(policy.first_token_timeout_s, left / (later + 1))


def backoff(
    retry_after: float | None, retries: int, left: float, policy: RoutingPolicy, rng: Random
) -> float | None:
    """The wait before retrying the last candidate standing, or None to give up on it now: a
    `Retry-After` within the cap and the time left, else exponential backoff with full jitter."""
    if retry_after is not None:
        if retry_after > policy.retry_after_cap_s or retry_after >= left:
            return None  # the provider wants longer than we will wait: fall back now
        return retry_after
    wait = rng.uniform(0, min(policy.backoff_cap_s, policy.backoff_base_s * (2**retries)))
    return None if wait >= left else wait


__all__ = ["Outcome", "RuledOut", "Rules", "backoff", "first_token_slice", "retry_after"]
