"""The catalog: an immutable set of models with indexes for id, alias and provider look-ups.

A refresh builds a new `Catalog` rather than changing one, so a router holding a catalog never
sees it change under a request.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from mcp_router.catalog.canonical import split_variant
from mcp_router.catalog.models import Endpoint, Model
from mcp_router.catalog.snapshot import models_from_snapshot, read_bundled
from mcp_router.errors import UnknownModel

__all__ = ["Catalog", "split_variant"]


class Catalog:
    """Models by id, with aliases and provider-native names resolving onto ids.

    Name resolution order (case-insensitive): an id; an alias given to the constructor (e.g.
    from the user's config); a model's own aliases; a provider-native name, bare or as
    `provider/native`."""

    __slots__ = ("_aliases", "_by_id", "_by_provider", "_config_aliases", "_meta", "_models")

    def __init__(
        self,
        models: Iterable[Model],
        *,
        meta: Mapping[str, Any] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        ordered = sorted(models, key=lambda m: m.id)
        self._models: tuple[Model, ...] = tuple(ordered)
        self._meta: Mapping[str, Any] = MappingProxyType(dict(meta or {}))
        self._by_id: dict[str, Model] = {m.id.lower(): m for m in ordered}
        self._by_provider: dict[str, list[tuple[Model, Endpoint]]] = {}
        for model in ordered:
            for ep in model.endpoints:
                self._by_provider.setdefault(ep.provider, []).append((model, ep))
        self._config_aliases: Mapping[str, str] = MappingProxyType(dict(aliases or {}))
        own: dict[str, str] = {}  # the models' own aliases, then provider-native names
        for model in ordered:
            for alias in model.aliases:
                own.setdefault(alias.lower(), model.id)
        for model in ordered:
            for ep in model.endpoints:
                own.setdefault(ep.native_model.lower(), model.id)
                own.setdefault(f"{ep.provider}/{ep.native_model}".lower(), model.id)
        # Config aliases win, and may point at any name the catalog resolves (not only an id).
        self._aliases: dict[str, str] = {}
        for alias, target in self._config_aliases.items():
            base, _ = split_variant(target.strip())
            found = self._by_id.get(base.lower()) or self._by_id.get(own.get(base.lower(), "").lower())
            if found is not None:
                self._aliases[alias.lower()] = found.id
        for alias, model_id in own.items():
            self._aliases.setdefault(alias, model_id)

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any], *, aliases: Mapping[str, str] | None = None) -> Catalog:
        return cls(models_from_snapshot(data), meta=data.get("meta"), aliases=aliases)

    @classmethod
    def load_bundled(cls, *, aliases: Mapping[str, str] | None = None) -> Catalog:
        """The catalog shipped with the package (no network)."""
        return cls.from_snapshot(read_bundled(), aliases=aliases)

    def replace(self, models: Iterable[Model], *, meta: Mapping[str, Any] | None = None) -> Catalog:
        """A new catalog with other models, keeping this one's config aliases and meta."""
        return Catalog(models, meta=dict(self._meta) | dict(meta or {}), aliases=self._config_aliases)

    def with_models(self, models: Iterable[Model]) -> Catalog:
        """A catalog with these models added: a known id gains their endpoints (each replacing
        the one at the same provider), a new id is added as given. For the config's custom
        endpoints (settings.py)."""
        by_id = {m.id.lower(): m for m in self._models}
        for extra in models:
            base = by_id.get(extra.id.lower())
            if base is None:
                by_id[extra.id.lower()] = extra
                continue
            mine = {e.provider for e in extra.endpoints}
            kept = tuple(e for e in base.endpoints if e.provider not in mine)
            by_id[extra.id.lower()] = base.model_copy(update={"endpoints": (*kept, *extra.endpoints)})
        return Catalog(by_id.values(), meta=self._meta, aliases=self._config_aliases)

    def with_aliases(self, aliases: Mapping[str, str]) -> Catalog:
        """A catalog that also resolves these names (e.g. from the user's config)."""
        return Catalog(self._models, meta=self._meta, aliases=dict(self._config_aliases) | dict(aliases))

    @property
    def meta(self) -> Mapping[str, Any]:
        """Where the data came from: source, licence, snapshot date, per-provider fetch times."""
        return self._meta

    def get(self, model_id: str) -> Model | None:
        """The model with exactly this id (case-insensitive), or None."""
        return self._by_id.get(model_id.lower())

    def lookup(self, name: str) -> Model | None:
        """Like `resolve` but None instead of an error."""
        base, _ = split_variant(name.strip())
        key = base.lower()
        found = self._by_id.get(key)
        if found is None and key in self._aliases:
            found = self._by_id.get(self._aliases[key].lower())
        return found

    def resolve(self, name: str) -> Model:
        """An id, alias or provider-native name (any case, `:floor`/`:nitro` allowed) -> model.

        Raises UnknownModel with close matches as suggestions."""
        found = self.lookup(name)
        if found is None:
            base, _ = split_variant(name.strip())
            raise UnknownModel(name, self.suggest(base))
        return found

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Up to `n` model ids whose id or alias is close to `name`."""
        key = name.lower()
        candidates = list(self._by_id) + list(self._aliases)
        out: list[str] = []
        for match in difflib.get_close_matches(key, candidates, n=n * 3, cutoff=0.6):
            model = self._by_id.get(match) or self._by_id.get(self._aliases.get(match, "").lower())
            if model is not None and model.id not in out:
                out.append(model.id)
        if not out:
            # A bare family word ("llama") matches no whole id closely; fall back to substrings.
            out = [m.id for m in self._models if key and key in m.id.lower()]
        return out[:n]

    def models(self) -> list[Model]:
        """Every model, sorted by id."""
        return list(self._models)

    def endpoints_for(self, provider: str) -> list[tuple[Model, Endpoint]]:
        """Every (model, endpoint) served by `provider`."""
        return list(self._by_provider.get(provider, ()))

    def endpoint(self, model_id: str, provider: str) -> Endpoint | None:
        model = self.get(model_id)
        if model is None:
            return None
        return next((e for e in model.endpoints if e.provider == provider), None)

    @property
    def providers(self) -> list[str]:
        return sorted(self._by_provider)

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[Model]:
        return iter(self._models)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.lookup(name) is not None

    def __repr__(self) -> str:
        return f"<Catalog {len(self._models)} models, providers {self.providers}>"
