"""What one routed request becomes once it ends: its ledger row (`RequestRecord`, the attempts
inside) and the caller's `RoutedCompletion`. Pure: the Router hands both on."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from mcp_router.core import Usage
from mcp_router.metering.records import AttemptRecord, RequestRecord, RequestStatus
from mcp_router.routing.execute import ExecResult
from mcp_router.routing.types import AttemptInfo, RoutedCompletion, RouteRequest

_NANO = Decimal("0.000000001")
_ZERO = Decimal(0)


def sum_cost(records: Sequence[AttemptRecord]) -> Decimal | None:
    """Total billed cost; None when any attempt's price was unknown."""
    total = Decimal(0)
    for r in records:
        if r.cost_usd is None:
            return None
        total += r.cost_usd
    return total


def usd(value: Decimal | None) -> float | None:
    """A cost for the caller: a JSON number rounded to 1e-9 USD (exact Decimal until here)."""
    return None if value is None else float(value.quantize(_NANO))


@dataclass(slots=True)
class Receipt:
    """One request's identity and clock, from its start to its ledger row."""

    request_id: str
    started: datetime
    req: RouteRequest
    tool: str
    requested: str  # the model (or chain, or the default) the caller asked for
    t0: float = field(default_factory=time.perf_counter)

    def record(
        self,
        status: RequestStatus,
        records: Sequence[AttemptRecord],
        res: ExecResult | None,
        error_class: str | None,
    ) -> RequestRecord:
        cost = sum_cost(records)
        return RequestRecord(
            request_id=self.request_id,
            started_at=self.started,
            client=self.req.client,
            tool=self.tool,
            requested_model=self.requested,
            model=res.model if res else None,
            provider=res.provider if res else None,
            status=status,
            error_class=error_class,
            usage=sum((r.usage for r in records), Usage()),
            # An unknown price bills what is known (the ledger never holds NULL for a cost).
            cost_usd=cost
            if cost is not None
            else sum((r.cost_usd or Decimal(0) for r in records), Decimal(0)),
            latency_ms=(time.perf_counter() - self.t0) * 1000.0,
            ttft_ms=res.ttft_ms if res else None,
            attempts=tuple(records),
            tag=self.req.tag,
        )

    def completion(
        self, result: ExecResult, rec: RequestRecord, infos: Sequence[AttemptInfo]
    ) -> RoutedCompletion:
        end = result.end
        excluded = self.req.reasoning is not None and self.req.reasoning.exclude
        return RoutedCompletion(
            text=result.text,
            model=result.model or "",
            provider=result.provider or "",
            finish_reason=result.finish_reason,
            usage=rec.usage,
            cost_usd=usd(sum_cost(rec.attempts)),
            latency_ms=round(rec.latency_ms, 3),
            ttft_ms=None if result.ttft_ms is None else round(result.ttft_ms, 3),
            attempts=list(infos),
            request_id=self.request_id,
            error=result.error if result.status == "incomplete" else None,
            tool_calls=end.tool_calls if end is not None else [],
            reasoning=None if end is None or excluded else end.reasoning,
            hint=reasoning_hint(result, rec.usage, self.req.max_tokens),
        )


def reasoning_hint(result: ExecResult, usage: Usage, max_tokens: int | None) -> str | None:
    """Why an answer that stopped at `max_tokens` is empty: reasoning used every token."""
    end = result.end
    if result.finish_reason != "length" or result.text.strip() or (end is not None and end.tool_calls):
        return None
    if usage.reasoning_tokens <= 0 and not (end is not None and end.reasoning):
        return None
    limit = f"all {max_tokens}" if max_tokens else "all the"
    return (
        f"reasoning used {limit} max_tokens before any answer: raise max_tokens or lower "
        "reasoning.effort (or set reasoning.max_tokens below max_tokens)"
    )
