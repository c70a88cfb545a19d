"""Bodies of `models`, `estimate`, `catalog refresh` and `doctor`: the MCP tools' answers for a
person at a terminal (tables) or a script (`--json`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_router.api.catalog_report import live_lists, render_live_lists
from mcp_router.api.catalog_report import render_refresh as render_refresh
from mcp_router.api.results import EstimateResult, ListModelsResult


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment, with logging sent to stderr so `--json` output stays clean."""
    from mcp_router.log import configure_logging

    out = dict(os.environ if env is None else env)
    configure_logging(out)
    return out


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
    return f"{body}\n{len(result.models)} of {result.total} models"


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


async def _reachable(router: Any, timeout_s: float) -> dict[str, str]:
    """Each configured provider: 'ok (N models)' or why its model list could not be fetched."""
    import anyio

    out: dict[str, str] = {}

    async def probe(name: str, adapter: Any) -> None:
        try:
            with anyio.fail_after(timeout_s):
                models = await adapter.list_models()
            out[name] = f"ok ({len(models)} models)"
        except (TimeoutError, OSError, ValueError) as exc:
            out[name] = f"unreachable: {type(exc).__name__}"
        except Exception as exc:
            out[name] = f"error: {type(exc).__name__}: {str(exc)[:120]}"

    async with anyio.create_task_group() as tg:
        for name, adapter in router.adapters.items():
            tg.start_soon(probe, name, adapter)
    return dict(sorted(out.items()))


def _parse_time(value: object) -> datetime | None:
    """An ISO time or date from a file we wrote; naive values are UTC."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)


def catalog_ages(meta: Mapping[str, Any], providers: Sequence[str], now: datetime) -> dict[str, Any]:
    """Per configured provider: its last live model list (`meta.fetched_at`, from `catalog
    refresh` or a serving router's refresh, cached in catalog.db), else the bundled snapshot."""
    built = _parse_time(meta.get("snapshot_date"))
    fetched = meta.get("fetched_at")
    fetched = fetched if isinstance(fetched, Mapping) else {}
    out: dict[str, Any] = {}
    for name in sorted(providers):
        live = _parse_time(fetched.get(name))
        stamp = live or built
        out[name] = {
            "source": "live" if live else "snapshot",
            "as_of": stamp.isoformat() if stamp else None,
            "age_s": _seconds(now - stamp) if stamp else None,
        }
    return out


def cooldowns(health: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Endpoints still cooling down, from the state a router persisted in health.json."""
    out = []
    for e in health.get("endpoints", []):
        until = _parse_time(e.get("cooling_down_until")) if isinstance(e, Mapping) else None
        if until is None or until <= now:
            continue
        since = _parse_time(e.get("changed_at"))
        out.append(
            {
                "provider": e.get("provider"),
                "model": e.get("model"),
                "until": until.isoformat(),
                "frees_in_s": _seconds(until - now),
                "since": since.isoformat() if since else None,
                "age_s": _seconds(now - since) if since else None,
                "error_rate": e.get("error_rate"),
                "p50_latency_ms": e.get("p50_latency_ms"),
            }
        )
    return sorted(out, key=lambda c: c["until"])


async def doctor_command(
    env: Mapping[str, str] | None = None,
    *,
    timeout_s: float = 5.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Configured and reachable providers, catalog age per provider, database path and size, and
    cooldowns (read from `$MCP_ROUTER_HOME/health.json`, which serving routers keep current)."""
    from mcp_router.metering.paths import default_db_path, default_home
    from mcp_router.router import Router
    from mcp_router.routing.health_file import FILE_NAME, read_health_file

    env = _env(env)
    db = default_db_path(env)
    home = default_home(env)
    async with Router.from_env(env) as router:
        reach = await _reachable(router, timeout_s)
        meta = dict(router.catalog.meta)
        n_models = len(router.catalog)
        providers = list(router.adapters)
        live = live_lists(router.catalog, providers, now())
    at = now()
    built = meta.get("snapshot_date")
    stamp = _parse_time(built)
    health = read_health_file(home / FILE_NAME)
    return {
        "providers": reach,
        "catalog": {
            "models": n_models,
            "built": built,
            "age_days": round((at - stamp).total_seconds() / 86400, 1) if stamp else None,
            "providers": catalog_ages(meta, providers, at),
            "live": live,
        },
        "home": str(home),
        "database": {"path": str(db), "bytes": db.stat().st_size if db.exists() else 0},
        "health_file": {"path": str(home / FILE_NAME), "written_at": health.get("written_at")},
        "cooldowns": cooldowns(health, at),
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def render_doctor(report: Mapping[str, Any]) -> str:
    lines = ["providers:"]
    lines += [f"  {name:<12} {state}" for name, state in report["providers"].items()] or [
        "  (none configured)"
    ]
    cat = report["catalog"]
    lines += render_live_lists(cat["live"])
    lines += [
        f"  {name:<12} {'live list' if a['source'] == 'live' else 'snapshot'}, {_age(a['age_s'])} old"
        for name, a in cat.get("providers", {}).items()
    ]
    db = report["database"]
    lines.append(f"database: {db['path']} ({db['bytes']:,} bytes)")
    cool = report["cooldowns"]
    lines.append("cooldowns:" + ("" if cool else " none"))
    lines += [
        f"  {c['model']} via {c['provider']}: until {c['until']} (frees in {_age(c['frees_in_s'])}, "
        f"opened {_age(c['age_s'])} ago)"
        for c in cool
    ]
    return "\n".join(lines)
