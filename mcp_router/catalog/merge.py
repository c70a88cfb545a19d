"""Merge providers' live model lists over the snapshot (pure), and say what changed.

Rules:
- a live entry matches a snapshot endpoint by (provider, native name), else by canonical id
  or alias; a match updates that endpoint, a model without an endpoint at this provider gains
  one, and a chat model matching nothing becomes a new model with an unknown price;
- a live entry matching nothing that is not a chat model is left out, as the snapshot leaves
  it out: by what the list says (`RemoteModel.chat`) or, when it says nothing (OpenAI's list
  mixes embeddings, whisper, dall-e, tts and moderation models in), by the snapshot's name
  filter — else `complete` would send chat calls to an embedding model;
- a live price (from providers that publish prices, e.g. OpenRouter) wins over the snapshot; if
  they disagree, the snapshot's figures stay in `Provenance.snapshot_input/_output`;
- live context/output limits override the snapshot's;
- Ollama models are `ollama/<tag without :latest>` and cost 0, and come only from its live list:
  the snapshot's Ollama endpoints (LiteLLM's names, not what this machine holds) are dropped;
- a snapshot endpoint the list does not name exactly takes the listed name that serves it
  (`mistral-small` -> `mistral-small-latest`, `claude-haiku-4-5` -> `claude-haiku-4-5-20251001`,
  see `live.served_name`): the router then calls the name the provider says it serves;
- snapshot endpoints of a listed provider that the list still lacks stay, marked `listed=False`
  (shown as unavailable with the reason, never planned).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from mcp_router.catalog.canonical import canonical_id
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.litellm import chat_model_name, display_name
from mcp_router.catalog.live import name_index, served_name
from mcp_router.catalog.models import Endpoint, Model, Pricing, Provenance
from mcp_router.core import RemoteModel
from mcp_router.registry import PROVIDERS

_ZERO = Decimal(0)
_LOCAL_BUILTIN = frozenset(p.name for p in PROVIDERS if p.keyless)


class ProviderListing(BaseModel):
    """One provider's live model list as fetched at one moment."""

    model_config = ConfigDict(frozen=True)

    provider: str
    fetched_at: datetime
    models: tuple[RemoteModel, ...]


class PriceChange(BaseModel):
    """An endpoint whose input or output price moved (USD per token; None = unknown)."""

    model_config = ConfigDict(frozen=True)

    model: str
    provider: str
    old_input: Decimal | None
    old_output: Decimal | None
    new_input: Decimal | None
    new_output: Decimal | None


class CatalogDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    price_changes: tuple[PriceChange, ...] = ()
    # Any content differs (limits, listing flags, names too); fetch times and provenance don't.
    changed: bool = False


def native_of(provider: str, native: str) -> str:
    """Gemini lists `models/gemini-2.5-flash`; the API and our catalog say `gemini-2.5-flash`."""
    return native.removeprefix("models/") if provider == "gemini" else native


def live_model_id(provider: str, native: str) -> str:
    """The canonical id of a live entry that matches nothing in the snapshot."""
    return canonical_id(provider, native_of(provider, native))


def live_chat_model(remote: RemoteModel, native: str) -> bool:
    """Whether a live entry the snapshot does not know (named `native` at its provider) may
    become a chat model."""
    return remote.chat if remote.chat is not None else chat_model_name(native)


def _first(live: Decimal | None, old: Decimal | None) -> Decimal | None:
    return live if live is not None else old


def _live_pricing(
    provider: str, remote: RemoteModel, old: Pricing | None, fetched_at: datetime
) -> Pricing | None:
    """The endpoint's pricing after a live entry: live prices when published, else the old ones."""
    if provider == "ollama":
        return Pricing(
            input=_ZERO, output=_ZERO, provenance=Provenance(source="live:ollama", fetched_at=fetched_at)
        )
    if remote.input_price is None or remote.output_price is None:
        return old
    disagree = old is not None and (old.input != remote.input_price or old.output != remote.output_price)
    provenance = Provenance(
        source=f"live:{provider}",
        fetched_at=fetched_at,
        snapshot_input=old.input if disagree and old else None,
        snapshot_output=old.output if disagree and old else None,
    )
    return Pricing(
        input=remote.input_price,
        output=remote.output_price,
        cache_read=_first(remote.cache_read_price, old.cache_read if old else None),
        cache_write=_first(remote.cache_write_price, old.cache_write if old else None),
        reasoning=old.reasoning if old else None,
        tiers=old.tiers if old else (),
        provenance=provenance,
    )


def _updated(ep: Endpoint, remote: RemoteModel, fetched_at: datetime) -> Endpoint:
    return ep.model_copy(
        update={
            "pricing": _live_pricing(ep.provider, remote, ep.pricing, fetched_at),
            "context_length": remote.context_length or ep.context_length,
            "max_output_tokens": remote.max_output_tokens or ep.max_output_tokens,
            "listed": True,
        }
    )


def _new_endpoint(provider: str, remote: RemoteModel, fetched_at: datetime) -> Endpoint:
    return Endpoint(
        provider=provider,
        native_model=native_of(provider, remote.native_id),
        pricing=_live_pricing(provider, remote, None, fetched_at),
        context_length=remote.context_length,
        max_output_tokens=remote.max_output_tokens,
        listed=True,
    )


@dataclass
class _Draft:
    """A model being rebuilt: its endpoints by provider, plus what live data adds."""

    base: Model | None
    model_id: str
    name: str | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    capabilities: set[str] = field(default_factory=set)
    aliases: list[str] = field(default_factory=list)

    def build(self) -> Model:
        eps = tuple(self.endpoints[p] for p in sorted(self.endpoints))
        contexts = [e.context_length for e in eps if e.context_length]
        outputs = [e.max_output_tokens for e in eps if e.max_output_tokens]
        if self.base is not None:
            return self.base.model_copy(
                update={
                    "endpoints": eps,
                    "context_length": max(contexts, default=self.base.context_length),
                    "capabilities": self.base.capabilities | self.capabilities,
                    "aliases": self.base.aliases
                    + tuple(a for a in self.aliases if a not in self.base.aliases),
                }
            )
        return Model(
            id=self.model_id,
            name=self.name or display_name(self.model_id),
            context_length=max(contexts, default=None),
            max_output_tokens=max(outputs, default=None),
            capabilities=frozenset(self.capabilities),
            endpoints=eps,
            aliases=tuple(self.aliases),
        )


def _without_local(snapshot: Catalog) -> Catalog:
    """The snapshot without its endpoints at built-in local servers (Ollama): what a machine
    holds is known only from its own list. Models left without an endpoint are dropped."""
    models = []
    dropped = False
    for model in snapshot.models():
        kept = tuple(e for e in model.endpoints if e.provider not in _LOCAL_BUILTIN)
        if len(kept) == len(model.endpoints):
            models.append(model)
            continue
        dropped = True
        if kept:
            models.append(model.model_copy(update={"endpoints": kept}))
    return snapshot.replace(models) if dropped else snapshot


def _apply_entry(
    drafts: dict[str, _Draft],
    snapshot: Catalog,
    exact: Mapping[tuple[str, str], str],
    listing: ProviderListing,
    remote: RemoteModel,
    names: Mapping[str, RemoteModel],
    seen: set[str],
) -> None:
    """One entry of a provider's live list over the drafts; `seen` collects the model ids whose
    endpoint at this provider the list named."""
    provider = listing.provider
    native = native_of(provider, remote.native_id)
    model_id = exact.get((provider, native.lower()))
    if model_id is not None:
        draft = drafts[model_id]
        draft.endpoints[provider] = _updated(draft.endpoints[provider], remote, listing.fetched_at)
        draft.capabilities |= remote.capabilities
        seen.add(model_id)
        return
    cid = live_model_id(provider, native)
    known = snapshot.lookup(cid) or snapshot.lookup(f"{provider}/{native}")
    if known is None and not live_chat_model(remote, native):
        return
    model_id = known.id if known is not None else cid
    draft = drafts.setdefault(model_id, _Draft(None, model_id, name=remote.name))
    draft.capabilities |= remote.capabilities
    if provider in draft.endpoints and model_id in seen:
        # Another name for an endpoint the list already named (a dated alias).
        if native not in draft.aliases:
            draft.aliases.append(native)
        return
    if provider in draft.endpoints:
        # The list names this endpoint only by another of its names: call it by a listed one.
        ep = _updated(draft.endpoints[provider], remote, listing.fetched_at)
        if ep.native_model.lower() not in names:
            ep = ep.model_copy(update={"native_model": native})
        draft.endpoints[provider] = ep
    else:
        draft.endpoints[provider] = _new_endpoint(provider, remote, listing.fetched_at)
    seen.add(model_id)


def _map_unnamed(
    drafts: dict[str, _Draft], listing: ProviderListing, names: Mapping[str, RemoteModel], seen: set[str]
) -> None:
    """Endpoints the list did not name: the listed name that serves them, else unlisted."""
    provider = listing.provider
    index = name_index(names)
    for model_id, draft in drafts.items():
        current = draft.endpoints.get(provider)
        if current is None or model_id in seen:
            continue
        served = served_name(current.native_model, index)
        if served is not None:
            updated = _updated(current, names[served], listing.fetched_at)
            draft.endpoints[provider] = updated.model_copy(
                update={"native_model": native_of(provider, names[served].native_id)}
            )
        elif current.listed is not False:
            draft.endpoints[provider] = current.model_copy(update={"listed": False})


def _apply_listing(
    drafts: dict[str, _Draft],
    snapshot: Catalog,
    exact: Mapping[tuple[str, str], str],
    listing: ProviderListing,
) -> None:
    """One provider's live list over the drafts (see the module docstring)."""
    names = {native_of(listing.provider, r.native_id).lower(): r for r in listing.models}
    seen: set[str] = set()
    for remote in listing.models:
        _apply_entry(drafts, snapshot, exact, listing, remote, names, seen)
    _map_unnamed(drafts, listing, names, seen)


def merge_live(
    snapshot: Catalog, listings: Mapping[str, ProviderListing], *, stale: Collection[str] = ()
) -> Catalog:
    """The snapshot with every provider's live list applied. Providers without a listing keep
    the snapshot's data untouched (their endpoints stay unverified), except local servers, whose
    models come only from their list. `stale`: providers whose list is kept though too old."""
    snapshot = _without_local(snapshot)
    drafts: dict[str, _Draft] = {
        m.id: _Draft(m, m.id, endpoints={e.provider: e for e in m.endpoints}) for m in snapshot.models()
    }
    exact: dict[tuple[str, str], str] = {
        (e.provider, e.native_model.lower()): m.id for m in snapshot.models() for e in m.endpoints
    }
    fetched: dict[str, str] = {}
    for provider in sorted(listings):
        listing = listings[provider]
        fetched[provider] = listing.fetched_at.isoformat()
        _apply_listing(drafts, snapshot, exact, listing)
    meta = {"fetched_at": dict(snapshot.meta.get("fetched_at", {})) | fetched, "stale": sorted(stale)}
    return snapshot.replace((d.build() for d in drafts.values() if d.endpoints), meta=meta)


def _prices(model: Model) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    return {
        e.provider: (e.pricing.input, e.pricing.output) if e.pricing else (None, None)
        for e in model.endpoints
    }


def _without_provenance(model: Model) -> Model:
    endpoints = tuple(
        e.model_copy(update={"pricing": e.pricing.model_copy(update={"provenance": None})})
        if e.pricing is not None and e.pricing.provenance is not None
        else e
        for e in model.endpoints
    )
    return model.model_copy(update={"endpoints": endpoints})


def _same_content(a: Model, b: Model) -> bool:
    """Equal in everything a client sees (ids, names, prices, limits, capabilities, endpoints,
    listing flags), ignoring price provenance: every refresh stamps a new `fetched_at`, which
    alone must not count as a change (subscribers would be notified on every interval)."""
    return a is b or a == b or _without_provenance(a) == _without_provenance(b)


def diff(old: Catalog, new: Catalog) -> CatalogDiff:
    """What a subscriber to the catalog would want to know changed."""
    old_ids = {m.id for m in old.models()}
    new_ids = {m.id for m in new.models()}
    changes: list[PriceChange] = []
    for model in new.models():
        before = old.get(model.id)
        if before is None:
            continue
        was = _prices(before)
        for provider, (new_in, new_out) in _prices(model).items():
            if provider in was and was[provider] != (new_in, new_out):
                old_in, old_out = was[provider]
                changes.append(
                    PriceChange(
                        model=model.id,
                        provider=provider,
                        old_input=old_in,
                        old_output=old_out,
                        new_input=new_in,
                        new_output=new_out,
                    )
                )
    changed = old_ids != new_ids or any(
        not _same_content(m, before) for m in new.models() if (before := old.get(m.id)) is not None
    )
    return CatalogDiff(
        added=tuple(sorted(new_ids - old_ids)),
        removed=tuple(sorted(old_ids - new_ids)),
        price_changes=tuple(changes),
        changed=changed,
    )
