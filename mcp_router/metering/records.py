"""What the router hands to metering: one request row and its attempt rows.

Costs are `Decimal` USD here and integer nano-USD in SQLite.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mcp_router.core import Usage

AttemptOutcome = Literal["ok", "error", "timeout", "cancelled", "skipped"]
RequestStatus = Literal["ok", "error", "incomplete", "cancelled"]


class AttemptRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    number: int  # 1-based within the request
    provider: str
    model: str  # canonical model id
    outcome: AttemptOutcome
    started_at: datetime
    latency_ms: float
    ttft_ms: float | None = None
    http_status: int | None = None
    error_class: str | None = None
    error: str | None = None
    usage: Usage = Usage()
    cost_usd: Decimal | None = None  # None: unknown price
    empty_free: bool = False  # no output and no error: recorded at cost 0 (zero-completion insurance)


class RequestRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str  # uuid4 hex
    started_at: datetime
    client: str
    tool: str  # complete | compare | cli | library
    requested_model: str | None
    model: str | None  # final model that answered
    provider: str | None
    status: RequestStatus
    error_class: str | None = None
    usage: Usage = Usage()
    cost_usd: Decimal = Decimal(0)  # sum of billed attempts
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    tag: str | None = None  # optional session/task tag
