"""The configuration's own models (custom endpoints) and aliases over any catalog. Pure: the
Router applies it to the bundled catalog and to every catalog a live refresh swaps in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Model


def with_custom(catalog: Catalog, extra_models: Sequence[Model], aliases: Mapping[str, str]) -> Catalog:
    """`catalog` plus `extra_models` (a known model gains the custom endpoints it lacks) and
    `aliases`. An endpoint the catalog already has at that provider is kept: it came from a base
    that held the config's models, with what the endpoint's own live list says of it (merge.py)."""
    if not extra_models and not aliases:
        return catalog
    by_id = {m.id.lower(): m for m in catalog.models()}
    for extra in extra_models:
        base = by_id.get(extra.id.lower())
        if base is None:
            by_id[extra.id.lower()] = extra
            continue
        have = {e.provider for e in base.endpoints}
        added = tuple(e for e in extra.endpoints if e.provider not in have)
        if added:
            by_id[extra.id.lower()] = base.model_copy(update={"endpoints": (*base.endpoints, *added)})
    return Catalog(by_id.values(), meta=catalog.meta, aliases=dict(aliases))
