"""The configuration's own models (custom endpoints) and aliases over any catalog. Pure: the
Router applies it to the bundled catalog and to every catalog a live refresh swaps in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Model


def with_custom(catalog: Catalog, extra_models: Sequence[Model], aliases: Mapping[str, str]) -> Catalog:
    """`catalog` plus `extra_models` (a custom endpoint of a known model replaces that
    provider's endpoint, the others stay) and `aliases`."""
    if not extra_models and not aliases:
        return catalog
    by_id = {m.id.lower(): m for m in catalog.models()}
    for extra in extra_models:
        base = by_id.get(extra.id.lower())
        if base is None:
            by_id[extra.id.lower()] = extra
            continue
        mine = {e.provider for e in extra.endpoints}
        kept = tuple(e for e in base.endpoints if e.provider not in mine)
        by_id[extra.id.lower()] = base.model_copy(update={"endpoints": (*kept, *extra.endpoints)})
    return Catalog(by_id.values(), meta=catalog.meta, aliases=dict(aliases))
