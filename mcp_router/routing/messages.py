"""The readable errors of a routed call: why nothing could be tried, and why every route failed.
Each names the cause and the next step (README "Tool reference")."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_router.metering.records import AttemptRecord
from mcp_router.providers.config import key_env_of
from mcp_router.routing.execute import ExecResult, Failure
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.plan import Exclusion, Plan


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exclusions_text(exclusions: Sequence[Exclusion], limit: int = 12) -> str:
    parts = [f"{e.model} via {e.provider}: {e.reason}" for e in exclusions[:limit]]
    more = len(exclusions) - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def no_candidates_message(p: Plan) -> str:
    """Why nothing could be tried; names every cooling endpoint and when it frees."""
    wanted = ", ".join(p.models) or "the requested model"
    if not p.exclusions:
        return (
            f"No endpoint serves {wanted}. Configure a provider for it (see `mcp-router doctor`) "
            "or choose another model with list_models."
        )
    cooling = [e for e in p.exclusions if e.until is not None]
    if cooling and len(cooling) == sum(e.kind is not ExclusionKind.CREDENTIALS for e in p.exclusions):
        frees = "; ".join(
            f"{e.model} via {e.provider} frees at {e.until.isoformat(timespec='seconds')}"  # type: ignore[union-attr]
            for e in sorted(cooling, key=lambda e: e.until)  # type: ignore[arg-type, return-value]
        )
        return (
            f"Every candidate is cooling down after recent failures: {frees}. "
            "Retry after that or pick another model."
        )
    return (
        f"No endpoint can serve this request for {wanted}: {_exclusions_text(p.exclusions)}. "
        "Relax the filters (max_price, provider, response_format), choose another model, "
        "or configure a provider."
    )


def failed_message(result: ExecResult, records: Sequence[AttemptRecord], p: Plan) -> str:
    if result.failure is Failure.REJECTED:
        head = (
            f"The request was rejected as invalid ({result.final_error}); other providers would reject it too"
        )
    else:
        head = f"All routes failed for {', '.join(p.models) or 'the request'}"
        if result.error:
            head += f" ({result.error})"
    lines = [
        f"{r.model} via {r.provider}: {r.outcome}" + (f" — {_short(r.error)}" if r.error else "")
        for r in records
    ]
    msg = head + ". Attempts: " + ("; ".join(lines) if lines else "none")
    if p.exclusions:
        msg += f". Excluded: {_exclusions_text(p.exclusions)}"
    if result.failure is Failure.REJECTED:
        return msg + ". Fix the request (the error above names what the provider refused)."
    failed = [r for r in records if r.outcome != "ok"]
    if failed and all(r.error_class == "AuthFailed" for r in failed):
        # A rejected key does not heal by waiting: name the variable to fix.
        names = sorted({key_env_of(r.provider) or f"the {r.provider} key" for r in failed})
        return msg + f". Check {', '.join(names)} (`mcp-router doctor` tests each key)."
    return msg + ". Retry later, add fallbacks with `models`, or check `mcp-router doctor`."
