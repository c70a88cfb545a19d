"""Record factories shared by the metering tests (no fixtures: plain functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from mcp_router.core import Usage
from mcp_router.metering.records import AttemptOutcome, AttemptRecord, RequestRecord, RequestStatus

T0 = datetime(2025, 3, 12, 10, 30, tzinfo=UTC)  # a Wednesday


def attempt(
    rid: str,
    number: int = 1,
    *,
    outcome: AttemptOutcome = "ok",
    provider: str = "openai",
    model: str = "openai/gpt-4o-mini",
    cost: str | None = "0.001",
    output_tokens: int = 10,
    empty_free: bool = False,
    at: datetime = T0,
) -> AttemptRecord:
    return AttemptRecord(
        request_id=rid,
        number=number,
        provider=provider,
        model=model,
        outcome=outcome,
        started_at=at,
        latency_ms=100.0,
        error_class=None if outcome == "ok" else "ServerError",
        error=None if outcome == "ok" else "HTTP 500",
        usage=Usage(input_tokens=5, output_tokens=output_tokens),
        cost_usd=None if cost is None else Decimal(cost),
        empty_free=empty_free,
    )


def request(
    rid: str,
    *,
    at: datetime = T0,
    client: str = "default",
    model: str | None = "openai/gpt-4o-mini",
    provider: str | None = "openai",
    status: RequestStatus = "ok",
    latency_ms: float = 100.0,
    cost: str = "0.001",
    input_tokens: int = 5,
    output_tokens: int = 10,
    attempts: tuple[AttemptRecord, ...] | None = None,
) -> RequestRecord:
    if attempts is None:
        attempts = (
            attempt(
                rid, provider=provider or "openai", model=model or "openai/gpt-4o-mini", cost=cost, at=at
            ),
        )
    return RequestRecord(
        request_id=rid,
        started_at=at,
        client=client,
        tool="complete",
        requested_model=model or "openai/gpt-4o-mini",
        model=model,
        provider=provider,
        status=status,
        error_class=None if status == "ok" else "AllRoutesFailed",
        usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
        cost_usd=Decimal(cost),
        latency_ms=latency_ms,
        attempts=attempts,
    )
