"""What the catalog says about itself, for people: what a refresh changed (`catalog refresh`)
and where the catalog's truth comes from (`doctor`: "N models; live lists from P providers").
Pure functions over a catalog, its meta and a time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.live import age_text, fetched_at, listing_reason, listing_status

SHOWN = 10  # ids shown per kind of change


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _ids(ids: Sequence[str], limit: int = SHOWN) -> str:
    shown = ", ".join(ids[:limit])
    more = len(ids) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def render_refresh(summary: Mapping[str, Any]) -> str:
    """`catalog refresh` for a terminal: the models added, removed and repriced (the first ten
    of each) and the providers whose list could not be fetched."""
    refreshed = ", ".join(summary["refreshed"]) or "no provider"
    lines = [f"catalog: {_n(summary['models'], 'model')}; refreshed {refreshed}"]
    for kind in ("added", "removed", "repriced"):
        ids = list(summary.get(kind, ()))
        lines.append(f"{kind} {len(ids)}" + (f": {_ids(ids)}" if ids else ""))
    lines += [f"failed {p}: {err}" for p, err in summary["errors"].items()]
    return "\n".join(lines)


def live_lists(catalog: Catalog, providers: Collection[str], now: datetime) -> dict[str, Any]:
    """Where the catalog's truth comes from: each configured provider's live list (fetched
    when, stale or not, how many catalog endpoints it lacks) and every endpoint learnt gone."""
    meta = catalog.meta
    stale = set(meta.get("stale") or ())
    lists: dict[str, Any] = {}
    for name in sorted(providers):
        at = fetched_at(meta, name)
        if at is not None:
            lists[name] = {"fetched_at": at.isoformat(), "age_s": round((now - at).total_seconds(), 1)}
            lists[name]["stale"] = name in stale
    unlisted: dict[str, int] = {}
    gone: list[dict[str, str]] = []
    for model in catalog.models():
        for ep in model.endpoints:
            status = listing_status(ep)
            if status == "unlisted" and ep.provider in providers:
                unlisted[ep.provider] = unlisted.get(ep.provider, 0) + 1
            elif status == "gone":
                reason = listing_reason(ep, meta, now) or ""
                gone.append({"model": model.id, "provider": ep.provider, "reason": reason})
    ages = ", ".join(
        f"{name} {age_text(info['age_s'])}" + (" stale" if info["stale"] else "")
        for name, info in lists.items()
    )
    if lists:
        line = f"{_n(len(catalog), 'model')}; live lists from {_n(len(lists), 'provider')} ({ages})"
    else:
        line = (
            f"{len(catalog)} models; no live list yet (bundled snapshot {meta.get('snapshot_date') or '?'})"
        )
    return {"line": line, "lists": lists, "unlisted": unlisted, "gone": gone}


def render_live_lists(report: Mapping[str, Any]) -> list[str]:
    """`doctor`'s catalog lines."""
    lines = [f"catalog: {report['line']}"]
    lines += [
        f"  {name:<12} {count} catalog endpoints not in its live list (never routed to)"
        for name, count in sorted(report["unlisted"].items())
    ]
    lines += [f"  gone: {g['model']} via {g['provider']}: {g['reason']}" for g in report["gone"]]
    return lines
