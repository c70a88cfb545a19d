"""Provider names as callers type them: an exact or case-insensitive match is accepted (and
normalised); anything else is an error naming the closest known provider."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from mcp_router.api.errors import InvalidArguments
from mcp_router.api.explain import did_you_mean
from mcp_router.registry import PROVIDERS
from mcp_router.routing.types import ProviderPreferences

_SHOWABLE = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


def known_providers(catalog_providers: Iterable[str], configured: Iterable[str]) -> list[str]:
    """Every provider name a caller may use: built-in, in the catalog, or configured."""
    return sorted({*(p.name for p in PROVIDERS), *catalog_providers, *configured})


def canonical_provider(name: str, known: Collection[str], *, argument: str) -> str:
    """`name` as the catalog spells it; raises `InvalidArguments` naming the closest one."""
    if name in known:
        return name
    by_lower = {k.lower(): k for k in known}
    match = by_lower.get(name.strip().lower())
    if match is not None:
        return match
    shown = f"`{name}`" if _SHOWABLE.fullmatch(name) else "a name"
    hint = did_you_mean(name, known) if _SHOWABLE.fullmatch(name) else ""
    raise InvalidArguments(
        f"`{argument}` names {shown}, which is no provider{hint}. "
        f"Known providers: {', '.join(sorted(known))}."
    )


def _names(values: list[str] | None, known: Collection[str], argument: str) -> list[str] | None:
    if values is None:
        return None
    return [canonical_provider(v, known, argument=argument) for v in values]


def canonical_preferences(prefs: ProviderPreferences, known: Collection[str]) -> ProviderPreferences:
    """`provider.order/only/ignore` with canonical names; refuses preferences nothing can meet."""
    only = _names(prefs.only, known, "provider.only")
    ignore = _names(prefs.ignore, known, "provider.ignore")
    order = _names(prefs.order, known, "provider.order")
    if only is not None and not only:
        raise InvalidArguments("`provider.only` is empty: list at least one provider, or omit it.")
    if only and ignore and not set(only) - set(ignore):
        raise InvalidArguments(
            "`provider.ignore` excludes every provider in `provider.only`: nothing could serve the "
            "request. Drop one of them."
        )
    return prefs.model_copy(update={"only": only, "ignore": ignore, "order": order})
