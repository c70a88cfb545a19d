"""Live lists as the truth (pure): served names, listing status and reasons, gone marks, the
cache that keeps them, stale lists, what is due at start, and the snapshot's `-latest` fold."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.litellm import build_models
from mcp_router.catalog.live import (
    GoneMark,
    age_text,
    apply_gone,
    listing_reason,
    listing_status,
    name_index,
    served_name,
)
from mcp_router.catalog.merge import ProviderListing, merge_live
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
from mcp_router.core import RemoteModel
from mcp_router.errors import ConnectionFailed

T0 = datetime(2026, 7, 25, 12, 0, tzinfo=UTC)


def rm(provider: str, native: str) -> RemoteModel:
    return RemoteModel(provider=provider, native_id=native)


def listing(provider: str, *names: str, at: datetime = T0) -> ProviderListing:
    return ProviderListing(provider=provider, fetched_at=at, models=tuple(rm(provider, n) for n in names))


@pytest.fixture(scope="module")
def snapshot() -> Catalog:
    return Catalog.load_bundled()


@pytest.mark.parametrize(
    ("native", "listed", "served"),
    [
        ("mistral-small", ["mistral-small-2506", "mistral-small-latest"], "mistral-small-latest"),
        (
            "claude-haiku-4-5",
            ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"],
            "claude-haiku-4-5-20251001",
        ),
        ("grok-4-latest", ["grok-4-0709", "grok-3-mini"], "grok-4-0709"),
        ("llama3.2", ["llama3.2:latest", "qwen2.5:7b"], "llama3.2:latest"),
        ("gpt-4o-mini", ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"], "gpt-4o-mini"),  # exact wins
        ("mistral-large", ["mistral-large-2407", "mistral-large-2411"], "mistral-large-2411"),  # newest
        # another dated release is another model, not this one
        ("claude-3-5-sonnet-20240620", ["claude-3-5-sonnet-20241022"], None),
        ("gpt-4o", ["gpt-4o-mini"], None),
    ],
)
def test_served_name(native: str, listed: list[str], served: str | None) -> None:
    assert served_name(native, name_index(listed)) == served


def test_a_snapshot_name_the_provider_does_not_serve_takes_the_listed_one(snapshot: Catalog) -> None:
    merged = merge_live(
        snapshot,
        {
            "mistral": listing("mistral", "mistral-small-2506", "mistral-small-latest"),
            "anthropic": listing("anthropic", "claude-haiku-4-5-20251001"),
            "xai": listing("xai", "grok-4-0709"),
        },
    )
    small = merged.endpoint("mistralai/mistral-small", "mistral")
    assert small is not None and (small.native_model, small.listed) == ("mistral-small-latest", True)
    haiku = merged.endpoint("anthropic/claude-haiku-4.5", "anthropic")
    assert haiku is not None and (haiku.native_model, haiku.listed) == ("claude-haiku-4-5-20251001", True)
    grok = merged.endpoint("x-ai/grok-4", "xai")
    assert grok is not None and (grok.native_model, grok.listed) == ("grok-4-0709", True)
    # what the lists lack is unlisted, with the reason people see
    large = merged.endpoint("mistralai/mistral-large", "mistral")
    assert large is not None and listing_status(large) == "unlisted"
    reason = listing_reason(large, merged.meta, T0 + timedelta(hours=3))
    assert reason == "not in mistral's live model list, fetched 3 h ago"
    # providers without a list keep unverified endpoints
    mini = merged.endpoint("openai/gpt-4o-mini", "openai")
    assert (
        mini is not None
        and listing_status(mini) == "unverified"
        and listing_reason(mini, merged.meta, T0) is None
    )


def test_age_text() -> None:
    assert [age_text(s) for s in (5, 600, 3 * 3600 + 100, 9 * 86400)] == ["5 s", "10 min", "3 h", "9 d"]


def test_a_gone_mark_holds_until_a_list_fetched_later_names_the_endpoint(snapshot: Catalog) -> None:
    mark = GoneMark("openai", "openai/gpt-4o-mini", "gpt-4o-mini", T0)
    listed_before = merge_live(
        snapshot, {"openai": listing("openai", "gpt-4o-mini", at=T0 - timedelta(hours=1))}
    )
    gone, cleared = apply_gone(listed_before, [mark])
    ep = gone.endpoint("openai/gpt-4o-mini", "openai")
    assert ep is not None and listing_status(ep) == "gone" and not cleared
    reason = listing_reason(ep, gone.meta, T0 + timedelta(minutes=5))
    assert reason is not None and reason.startswith("openai answered ModelNotFound for gpt-4o-mini 5 min ago")
    listed_after = merge_live(
        snapshot, {"openai": listing("openai", "gpt-4o-mini", at=T0 + timedelta(hours=1))}
    )
    again, cleared = apply_gone(listed_after, [mark])
    assert cleared == [mark] and again.endpoint("openai/gpt-4o-mini", "openai").gone_at is None  # type: ignore[union-attr]
    # a later list that still lacks it keeps it out (as unlisted: the list is the truth)
    lacking = merge_live(snapshot, {"openai": listing("openai", "gpt-4o", at=T0 + timedelta(hours=1))})
    still, cleared = apply_gone(lacking, [mark])
    assert not cleared and listing_status(still.endpoint("openai/gpt-4o-mini", "openai")) == "gone"  # type: ignore[arg-type]


class Lister:
    def __init__(self, name: str, names: list[str] | None) -> None:
        self.name = name
        self.names = names

    async def list_models(self) -> list[RemoteModel]:
        if self.names is None:
            raise ConnectionFailed(self.name, "refused")
        return [rm(self.name, n) for n in self.names]


@pytest.mark.anyio
async def test_gone_marks_persist_with_the_cache_and_clear_on_a_later_list(
    snapshot: Catalog, tmp_path: Path
) -> None:
    now = [T0]
    cache = CatalogCache(tmp_path / "catalog.db")
    first = CatalogRefresher(snapshot, cache=cache, clock=lambda: now[0])
    first.load_cached()
    first.mark_gone("openai", "openai/gpt-4o-mini", "gpt-4o-mini")
    assert listing_status(first.catalog.endpoint("openai/gpt-4o-mini", "openai")) == "gone"  # type: ignore[arg-type]
    cache.close()
    cache = CatalogCache(tmp_path / "catalog.db")
    second = CatalogRefresher(snapshot, cache=cache, clock=lambda: now[0])
    restarted = second.load_cached()
    assert listing_status(restarted.endpoint("openai/gpt-4o-mini", "openai")) == "gone"  # type: ignore[arg-type]
    now[0] = T0 + timedelta(minutes=1)
    result = await second.refresh([Lister("openai", ["gpt-4o-mini"])])
    assert listing_status(result.catalog.endpoint("openai/gpt-4o-mini", "openai")) == "verified"  # type: ignore[arg-type]
    assert cache.load_gone() == []
    cache.close()


@pytest.mark.anyio
async def test_an_old_list_is_due_at_start_and_kept_stale_when_its_refresh_fails(
    snapshot: Catalog, tmp_path: Path
) -> None:
    now = [T0]
    cache = CatalogCache(tmp_path / "catalog.db")
    refresher = CatalogRefresher(snapshot, cache=cache, clock=lambda: now[0], max_age_s=7 * 86400)
    await refresher.refresh([Lister("mistral", ["mistral-small-latest"])])
    # missing remote lists are not fetched at start; local servers' always are
    assert refresher.due(["mistral", "openai", "ollama", "my-vllm"]) == ["my-vllm", "ollama"]
    now[0] = T0 + timedelta(days=8)
    assert refresher.due(["mistral", "openai"]) == ["mistral"]
    result = await refresher.refresh([Lister("mistral", None)])
    assert result.errors and result.catalog.meta["stale"] == ["mistral"]
    ep = result.catalog.endpoint("mistralai/mistral-large", "mistral")
    assert ep is not None
    assert listing_reason(ep, result.catalog.meta, now[0]) == (
        "not in mistral's live model list, fetched 8 d ago (stale)"
    )
    assert (await refresher.refresh([Lister("mistral", ["mistral-small-latest"])])).catalog.meta[
        "stale"
    ] == []
    cache.close()


def test_the_snapshot_serves_a_family_under_its_latest_alias() -> None:
    row = {
        "litellm_provider": "mistral",
        "mode": "chat",
        "input_cost_per_token": 1e-7,
        "output_cost_per_token": 3e-7,
    }
    latest = {**row, "input_cost_per_token": 6e-8}
    models = {
        m["id"]: m
        for m in build_models({"mistral/mistral-small": row, "mistral/mistral-small-latest": latest})
    }
    assert list(models) == ["mistralai/mistral-small"]
    (endpoint,) = models["mistralai/mistral-small"]["endpoints"]
    assert endpoint["native_model"] == "mistral-small-latest"
    assert Decimal(endpoint["pricing"]["input"]) == Decimal("6E-8")
    assert "mistralai/mistral-small-latest" in models["mistralai/mistral-small"]["aliases"]
