"""One provider attempt's state and what the attempt loop keeps around it: the usage an attempt
is billed for, the continuation prompt, the attempt's metering record and its line in the tool
result, and the call's log of those records (`AttemptLog`, which settles budget holds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypedDict, Unpack

import anyio

from mcp_router.catalog.pricing import cost as price_cost
from mcp_router.catalog.tokens import estimate_tokens
from mcp_router.core import Message, StreamEnd, Usage
from mcp_router.errors import ProviderError
from mcp_router.log import get_logger
from mcp_router.metering.billing import bill_attempt
from mcp_router.metering.records import AttemptOutcome, AttemptRecord
from mcp_router.routing.costs import Hold
from mcp_router.routing.health import Clock
from mcp_router.routing.plan import Candidate
from mcp_router.routing.types import AttemptInfo


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
    """One provider call of the loop: which candidate and where it stands, then what the call did."""

    cand: Candidate
    idx: int  # the candidate's place in the call's list
    protocol: str  # the candidate's wire protocol
    retries: int = 0  # earlier calls to this candidate within this routed call
    started: datetime | None = None  # wall time the call started
    first_slice: float = 0.0  # the time it had for its first token
    probe: bool = False  # the half-open circuit's single probe
    claimed_probe: bool = False  # this call claimed that probe (only it may free or fail it)
    input_estimate: int = 0  # prompt tokens, continuation prefix included
    wait: float = 0.0  # the backoff before retrying it, when the rules retry it
    # -- what the call did (filled by `routing.streaming.Streamer`)
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
    last_event_at: float = 0.0  # anyio time of the stream's last event (or of the call's start)

    @property
    def cut_by_deadline(self) -> bool:
        """The call's own deadline (not the idle window) ended the stream after its first token."""
        return self.outcome == "timeout" and self.got_first and not self.stalled


def usage_for(att: Attempt, input_estimate: int) -> Usage:
    if att.end is not None:
        return att.end.usage
    if att.got_first:
        return Usage(input_tokens=input_estimate, output_tokens=estimate_text_tokens(att.text))
    return Usage()


def with_prefix(messages: Sequence[Message], prefix: str) -> list[Message]:
    msgs = list(messages)
    if msgs and msgs[-1].role == "assistant":  # the caller prefilled: extend their prefix
        return [*msgs[:-1], Message(role="assistant", content=msgs[-1].text + prefix)]
    return [*msgs, Message(role="assistant", content=prefix)]


class Why(TypedDict, total=False):
    """Why an attempt did not simply succeed, for its record."""

    error: ProviderError | None  # the provider's verdict
    note: str | None  # a reason in words, used instead of the error's own message
    error_class: str | None  # the class to record when it is not the error's


def attempt_record(
    request_id: str,
    number: int,
    cand: Candidate,
    outcome: AttemptOutcome,
    started_at_wall: datetime,
    att: Attempt | None = None,
    usage: Usage | None = None,
    **why: Unpack[Why],
) -> AttemptRecord:
    """The metering record of one attempt: a provider call that ran (`att` holds its timings and
    text) or, without `att`, a candidate skipped before any call. Its cost is what the attempt is
    billed: the endpoint's prices on `usage`, nothing when no token reached the model, and an
    empty `ok` answer free (zero-completion insurance)."""
    usage = usage or Usage()
    error, note = why.get("error"), why.get("note")
    text = att.text if att is not None else ""
    billed: Decimal | None
    empty_free = False
    if outcome == "skipped":
        billed = Decimal(0)
    else:
        raw = price_cost(cand.endpoint.pricing, usage)
        if usage.input_tokens == 0 and usage.output_tokens == 0:
            raw = Decimal(0)  # nothing reached the model: nothing to bill, price known or not
        if outcome == "ok":
            billed, empty_free = bill_attempt(raw, usage.output_tokens, text, False)
        else:
            billed = raw
    return AttemptRecord(
        request_id=request_id,
        number=number,
        provider=cand.provider,
        model=cand.model.id,
        outcome=outcome,
        started_at=started_at_wall,
        latency_ms=att.latency_ms if att is not None else 0.0,
        ttft_ms=att.ttft_ms if att is not None else None,
        http_status=error.status if error is not None else None,
        error_class=why.get("error_class")
        or (error.kind if error is not None else ("Skipped" if outcome == "skipped" else None)),
        error=note or (f"{error.kind}: {error.message}" if error is not None else None),
        usage=usage,
        cost_usd=billed,
        empty_free=empty_free,
    )


def attempt_info(rec: AttemptRecord) -> AttemptInfo:
    """An attempt as the tool result lists it."""
    return AttemptInfo(
        model=rec.model,
        provider=rec.provider,
        outcome=rec.outcome,
        error=rec.error,
        latency_ms=round(rec.latency_ms, 3),
    )


_log = get_logger("mcp_router.routing")


class AttemptLog:
    """One routed call's attempt records, appended to `records` and `infos` as attempts end (so
    a caller cancelled mid-way still has them for metering); each record of a provider call
    settles the budget hold taken for it."""

    def __init__(
        self, request_id: str, records: list[AttemptRecord], infos: list[AttemptInfo], clock: Clock
    ) -> None:
        self._request_id = request_id
        self.records = records
        self._infos = infos
        self._clock = clock
        self.held: Hold | None = None  # the budget hold of the attempt in flight

    def record(self, att: Attempt, outcome: AttemptOutcome, **why: Unpack[Why]) -> None:
        """Record a provider call that ran."""
        assert att.started is not None
        usage = usage_for(att, att.input_estimate)
        self._add(
            attempt_record(
                self._request_id, len(self.records) + 1, att.cand, outcome, att.started, att, usage, **why
            )
        )

    def skip(self, cand: Candidate, why: str, error_class: str | None = None) -> None:
        """Record a candidate left out without a call."""
        now = self._clock.now()
        n = len(self.records) + 1
        self._add(
            attempt_record(self._request_id, n, cand, "skipped", now, note=why, error_class=error_class)
        )

    def release_hold(self) -> None:
        """Give back a hold no attempt record settled (the loop ended some other way)."""
        if self.held is not None:
            held, self.held = self.held, None
            held.release()

    def _add(self, rec: AttemptRecord) -> None:
        if rec.outcome != "skipped" and self.held is not None:
            held, self.held = self.held, None
            held.settle(rec.cost_usd)  # reconcile the worst case held with what this attempt cost
        self.records.append(rec)
        info = attempt_info(rec)
        self._infos.append(info)
        _log.info(
            "attempt",
            request_id=self._request_id,
            provider=rec.provider,
            model=rec.model,
            outcome=rec.outcome,
            latency_ms=info.latency_ms,
            error_class=rec.error_class,
        )
