"""What providers' live model lists say about each endpoint (pure).

- **Served names.** A provider's list may name a model otherwise than the snapshot does: Mistral
  serves `mistral-small-latest` (not `mistral-small`), Anthropic lists dated ids
  (`claude-haiku-4-5-20251001`), xAI `grok-4-0709`, Ollama tags (`llama3.2:latest`).
  `served_name` finds the listed name a catalog endpoint's native name stands for.
- **Listing status** of an endpoint: `verified` (its provider's live list names it),
  `unverified` (no live list of that provider is known: a snapshot claim, planned after verified
  endpoints), `unlisted` (the provider's list lacks it: never planned), `gone` (it answered
  ModelNotFound and no later list named it: never planned).
- **Gone marks** (`GoneMark`, `apply_gone`): learnt from ModelNotFound, cleared by a list fetched
  after the mark that names the endpoint again.

Times in catalog meta: `meta["fetched_at"][provider]` is an ISO time; `meta["stale"]` lists
providers whose list is older than the configured age and could not be refreshed (still used).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mcp_router.catalog.canonical import strip_snapshot
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint
from mcp_router.registry import BY_NAME

ListingStatus = Literal["verified", "unverified", "unlisted", "gone"]

# A release stamp after the family name: Mistral's `-2506`, xAI's `-0709`.
_STAMP = re.compile(r"-\d{4}$")
_LATEST = ("-latest", ":latest")


def is_local(provider: str) -> bool:
    """Ollama and custom endpoints: servers that hold what they hold, whatever any snapshot says."""
    spec = BY_NAME.get(provider)
    return spec is None or spec.keyless


def _listed_bases(name: str) -> set[str]:
    """The names a listed model also answers for: itself, without `-latest`/`:latest`, without a
    date or snapshot number, without a release stamp."""
    low = name.lower()
    out = {low, strip_snapshot(low), _STAMP.sub("", low)}
    out.update(low.removesuffix(s) for s in _LATEST)
    return out


def _wanted_bases(native: str) -> set[str]:
    """What a catalog native name asks for: itself, or the family its `-latest` alias points to
    (never another dated release: `claude-3-5-sonnet-20240620` is not `...-20241022`)."""
    low = native.lower()
    return {low, *(low.removesuffix(s) for s in _LATEST)}


def name_index(names: Iterable[str]) -> dict[str, list[str]]:
    """base -> listed names serving it, for `served_name`."""
    index: dict[str, list[str]] = {}
    for name in names:
        for base in _listed_bases(name):
            index.setdefault(base, []).append(name)
    return index


def served_name(native: str, index: Mapping[str, Sequence[str]]) -> str | None:
    """The listed name that serves the catalog's `native` name: the name itself; else its
    `-latest`/`:latest` alias; else the newest dated release of that family. None when the
    list serves nothing of it."""
    found = {n for base in _wanted_bases(native) for n in index.get(base, ())}
    if not found:
        return None
    exact = [n for n in found if n.lower() == native.lower()]
    latest = sorted(n for n in found if n.lower().endswith(_LATEST))
    # Dates and release stamps sort as text: the greatest is the newest.
    return exact[0] if exact else latest[0] if latest else max(found)


def listing_status(endpoint: Endpoint) -> ListingStatus:
    if endpoint.gone_at is not None:
        return "gone"
    if endpoint.listed is None:
        return "unverified"
    return "verified" if endpoint.listed else "unlisted"


def parse_time(value: object) -> datetime | None:
    """An ISO time from catalog meta (naive means UTC), or None."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def fetched_at(meta: Mapping[str, Any], provider: str) -> datetime | None:
    """When `provider`'s live list in this catalog was fetched, or None if none is known."""
    fetched = meta.get("fetched_at")
    return parse_time(fetched.get(provider)) if isinstance(fetched, Mapping) else None


def age_text(seconds: float) -> str:
    """`40 s`, `12 min`, `3 h`, `9 d`: how long ago, for people."""
    seconds = max(0.0, seconds)
    for unit, size, upto in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 48 * 3600)):
        if seconds < upto:
            return f"{round(seconds / size)} {unit}"
    return f"{round(seconds / 86400)} d"


def _ago(at: datetime | None, now: datetime | None) -> str:
    if at is None:
        return ""
    if now is None:
        return f" at {at.isoformat(timespec='seconds')}"
    return f" {age_text((now - at).total_seconds())} ago"


def listing_reason(endpoint: Endpoint, meta: Mapping[str, Any], now: datetime | None) -> str | None:
    """Why the live lists rule this endpoint out, or None when they don't: "not in mistral's
    live model list, fetched 3 h ago", or that it answered ModelNotFound."""
    provider = endpoint.provider
    if endpoint.gone_at is not None:
        return (
            f"{provider} answered ModelNotFound for {endpoint.native_model}{_ago(endpoint.gone_at, now)}; "
            f"not planned until {provider}'s live model list names it again"
        )
    if endpoint.listed is False:
        stale = provider in (meta.get("stale") or ())
        when = _ago(fetched_at(meta, provider), now)
        return f"not in {provider}'s live model list, fetched{when}" + (" (stale)" if stale else "")
    return None


@dataclass(frozen=True, slots=True)
class GoneMark:
    """An endpoint that answered ModelNotFound when called as `native` at `at`."""

    provider: str
    model: str  # canonical id
    native: str
    at: datetime


def apply_gone(catalog: Catalog, marks: Iterable[GoneMark]) -> tuple[Catalog, list[GoneMark]]:
    """The catalog with each mark's endpoint set `gone`, and the marks that no longer hold: the
    endpoint left the catalog, or a list fetched after the mark names it again."""
    held: dict[tuple[str, str], GoneMark] = {}
    cleared: list[GoneMark] = []
    for mark in marks:
        endpoint = catalog.endpoint(mark.model, mark.provider)
        listed_at = fetched_at(catalog.meta, mark.provider)
        if endpoint is None or (endpoint.listed and listed_at is not None and listed_at > mark.at):
            cleared.append(mark)
        else:
            held[(mark.provider, mark.model.lower())] = mark
    if not held:
        return catalog, cleared
    models = []
    for model in catalog.models():
        endpoints = tuple(
            e.model_copy(update={"gone_at": hit.at})
            if (hit := held.get((e.provider, model.id.lower()))) is not None
            else e
            for e in model.endpoints
        )
        same = endpoints == model.endpoints
        models.append(model if same else model.model_copy(update={"endpoints": endpoints}))
    return catalog.replace(models), cleared
