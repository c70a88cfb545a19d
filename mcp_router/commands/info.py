"""Bodies of `models`, `estimate` and `catalog refresh`: the MCP tools' answers for a person at a
terminal (tables) or a script (`--json`). `doctor` is in doctor.py."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mcp_router.api.catalog_report import render_refresh as render_refresh
from mcp_router.api.results import EstimateResult, ListModelsResult


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment, with logging sent to stderr so `--json` output stays clean."""
    from mcp_router.log import configure_logging

    out = dict(os.environ if env is None else env)
    configure_logging(out)
    return out


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 request`, `2 requests` (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def money(value: float | None) -> str:
    """USD with 4 significant digits (at least 2 decimals, at most 9, the rounding of every
    figure we report): `0.000003`, `0.0001235`, `0.25`, `15.00`; `?` when unknown."""
    if value is None:
        return "?"
    if value == 0:
        return "0.00"
    decimals = min(9, max(2, 3 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def _money(value: float | None, width: int = 10) -> str:
    return f"{money(value):>{width}}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def render_models(result: ListModelsResult) -> str:
    rows = [
        [
            m.id,
            f"{m.context_length:,}" if m.context_length else "?",
            _money(m.pricing.input if m.pricing else None, 8),
            _money(m.pricing.output if m.pricing else None, 8),
            ",".join(e.provider for e in m.endpoints if e.available) or "-",
        ]
        for m in result.models
    ]
    body = table(["model", "context", "in $/M", "out $/M", "available via"], rows)
    return f"{body}\n{len(result.models)} of {plural(result.total, 'model')}"


def render_estimate(result: EstimateResult) -> str:
    rows = [
        [
            e.model,
            e.provider or "-",
            _money(e.input_cost_usd),
            _money(e.output_cost_usd),
            _money(e.total_cost_usd),
            "yes" if e.fits_context else "NO",
        ]
        for e in result.estimates
    ]
    head = f"{result.input_tokens} input + {result.output_tokens} output tokens\n"
    return head + table(["model", "provider", "input $", "output $", "total $", "fits"], rows)


async def models_command(env: Mapping[str, str] | None = None, **query: Any) -> ListModelsResult:
    from mcp_router.router import Router

    env = _env(env)
    async with Router.from_env(env) as router:
        return router.list_models(**query)


async def estimate_command(env: Mapping[str, str] | None = None, **args: Any) -> EstimateResult:
    from mcp_router.router import Router

    env = _env(env)
    async with Router.from_env(env) as router:
        return router.estimate_cost(**args)


async def refresh_command(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Fetch every configured provider's model list now and cache it for the next start."""
    from mcp_router.router import Router

    env = _env(env)
    async with Router.from_env(env) as router:
        result = await router.refresh_catalog()
        diff = result.diff
        return {
            "models": len(result.catalog),
            "refreshed": list(result.refreshed),
            "errors": dict(result.errors),
            "added": list(diff.added),
            "removed": list(diff.removed),
            "repriced": sorted({pc.model for pc in diff.price_changes}),
            "changed": diff.changed,
        }
