"""One routed call's attempts run and metered whatever happens: the request's ledger row is
written when the attempts end, when the caller cancels, and when a bug escapes (README
"Metering"); only the error itself propagates unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

from mcp_router.core import CompletionRequest
from mcp_router.metering.records import RequestRecord, RequestStatus
from mcp_router.routing.execute import ExecContext, ExecResult, execute
from mcp_router.routing.plan import Candidate
from mcp_router.routing.receipts import Receipt

Record = Callable[[RequestRecord], Awaitable[None]]


def _status(result: ExecResult | None, escaped: BaseException | None) -> tuple[RequestStatus, str | None]:
    if result is not None:
        return result.status, result.error_class
    if isinstance(escaped, anyio.get_cancelled_exc_class()):
        return "cancelled", "Cancelled"
    return "error", type(escaped).__name__  # an unexpected error (a bug) is not a cancellation


async def execute_metered(
    ctx: ExecContext,
    request: CompletionRequest,
    candidates: Sequence[Candidate],
    timeout_s: float,
    receipt: Receipt,
    record: Record,
) -> tuple[ExecResult, RequestRecord]:
    """`execute`, then `record` the request's row (shielded: a cancelled caller still gets its
    attempts metered and its budget holds settled)."""
    result: ExecResult | None = None
    escaped: BaseException | None = None
    try:
        result = await execute(ctx, request, candidates, timeout_s=timeout_s)
    except BaseException as exc:
        escaped = exc  # only to label the metered request below; it propagates unchanged
        raise
    finally:
        with anyio.CancelScope(shield=True):
            status, err_class = _status(result, escaped)
            rec = receipt.record(status, ctx.records, result, err_class if status != "ok" else None)
            await record(rec)
    return result, rec
