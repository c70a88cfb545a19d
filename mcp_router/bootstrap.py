"""Router assembly from the environment and the optional TOML file (README "Configuration").

`build_router` opens each part in dependency order (catalog cache, usage store, metering
writer, budgets, HTTP pool, adapters); every part that must be closed is pushed on one
`AsyncExitStack` that the Router unwinds in `aclose`. When a later step fails, what was opened
so far is closed again here and the original error propagates.

The catalog is the bundled snapshot with the config's custom-endpoint models, under the live
lists cached by earlier runs; the models the config names must all be in it (`check_models`).
Entering the router fetches the lists due at start (catalog/refresh.py), within
`[catalog] startup_timeout_s`. Health starts from circuits still open in health.json and from the
figures of the last day's attempts in the usage database (metering/health_seed.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import structlog

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Model
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
from mcp_router.conversations import ConversationLimits, Conversations
from mcp_router.files import FileAccess
from mcp_router.metering.factory import open_store
from mcp_router.metering.paths import default_store_location, ensure_home, own_paths
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.writer import MeterWriter
from mcp_router.providers.config import providers_from_env
from mcp_router.providers.factory import build_adapters
from mcp_router.providers.http import make_http_client
from mcp_router.routing.health import Clock, HealthTracker, SystemClock
from mcp_router.routing.health_file import FILE_NAME as HEALTH_FILE_NAME
from mcp_router.routing.health_file import HealthFile, restore_health
from mcp_router.routing.health_shared import SharedCircuits, chain_hooks, shared_circuits_for
from mcp_router.settings import Settings, check_models, config_file, load_settings

log = structlog.get_logger(__name__)

# How far back the usage database's attempts seed a new router's health figures.

if TYPE_CHECKING:
    from mcp_router.metering.budgets import Budgets
    from mcp_router.router import Router


def _budgets(settings: Settings, store: UsageStore, clock: Clock) -> Budgets | None:
    if not settings.budgets:
        return None
    from mcp_router.metering.budgets import Budgets

    return Budgets(store, settings.budgets, clock.now)


def _conversations(settings: Settings, store: UsageStore, clock: Clock) -> Conversations:
    """Stored conversations in the usage database, with `[conversations]`'s TTL and caps."""
    conf = settings.conversations
    limits = ConversationLimits(
        ttl_s=conf.ttl_hours * 3600.0,
        max_turns=conf.max_turns,
        max_bytes=conf.max_bytes,
        max_per_client=conf.max_per_client,
    )
    return Conversations(store, lambda: int(clock.now().timestamp() * 1000), limits)


def _refresher(settings: Settings, cache: CatalogCache, clock: Clock) -> tuple[CatalogRefresher, list[Model]]:
    """The bundled snapshot with the config's custom models, under the cached live lists."""
    base = Catalog.load_bundled(aliases=settings.aliases)
    extras = settings.custom_models({})
    refresher = CatalogRefresher(
        base.with_models(extras) if extras else base,
        cache=cache,
        clock=clock.now,
        max_age_s=settings.catalog.max_age_days * 86400.0,
    )
    return refresher, extras


def _restore_health(router: Router, health_path: Path, store: UsageStore, clock: Clock) -> None:
    """Circuits still open in health.json, and the last day's measured figures from the usage
    database, for the endpoints this router can call (both are shared by routers configured
    otherwise), checked against its catalog with the config's custom models."""

    restore_health(router.health, health_path, _knows(router))


def _knows(router: Router) -> Callable[[tuple[str, str]], bool]:
    """Whether `router` can call an endpoint (shared health state names others' too)."""

    def known(key: tuple[str, str]) -> bool:
        return key[0] in router.available_providers and router.catalog.endpoint(key[1], key[0]) is not None

    return known


def _open_catalog(
    settings: Settings, home: Path, clock: Clock, resources: AsyncExitStack, on_failure: ExitStack
) -> tuple[Catalog, CatalogRefresher, list[Model]]:
    """The cached catalog, checked against the models the config names; its cache is closed by
    the Router, or here on failure."""
    cache = CatalogCache(home / "catalog.db")
    on_failure.callback(cache.close)
    resources.callback(cache.close)
    refresher, extras = _refresher(settings, cache, clock)
    catalog = refresher.load_cached()
    check_models(settings, catalog)
    return catalog, refresher, extras


def _health_tracker(
    clock: Clock, health_file: HealthFile, store: UsageStore
) -> tuple[HealthTracker, SharedCircuits | None]:
    """Health that writes circuit changes to health.json and, on PostgreSQL, to the shared
    circuits."""
    # Replicas on one PostgreSQL ledger also share circuits through it (README "Several
    # routers on PostgreSQL"); None for SQLite.
    shared = shared_circuits_for(store)
    health = HealthTracker(
        clock, on_state_change=chain_hooks(health_file.write, shared.publish if shared else None)
    )
    return health, shared


def _start_sharing(
    router: Router, health: HealthTracker, shared: SharedCircuits | None, resources: AsyncExitStack
) -> None:
    if shared is not None:
        shared.start(health, _knows(router))
        resources.callback(shared.close)  # unwound first: before the store closes


def _file_access(
    settings: Settings, env: Mapping[str, str], config_path: str | Path | None, roots: Sequence[str | Path]
) -> FileAccess:
    """`[files]` with the server's roots; the router's own files are never written by answers."""
    config = config_file(env, config_path)
    own = (*own_paths(env), *([config] if config is not None else []))
    return settings.files.access(roots).with_protected(*own)


def build_router(
    env: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    file_roots: Sequence[str | Path] = (),
) -> Router:
    """A Router over the providers the environment configures (see `Router.from_env`)."""
    from mcp_router.router import Router

    env = dict(os.environ) if env is None else env
    settings = settings or load_settings(env, config_path)
    configs = [*providers_from_env(env), *settings.provider_configs(env)]
    home = ensure_home(env)  # 0700: the ledger and health.json are this user's
    clock = clock or SystemClock()
    with ExitStack() as on_failure:
        resources = AsyncExitStack()  # unwound by Router.aclose, newest first
        catalog, refresher, extras = _open_catalog(settings, home, clock, resources, on_failure)
        # Circuit state goes to $MCP_ROUTER_HOME/health.json on each change, for `doctor`, and
        # comes back from it below: a restarted server keeps skipping a cooling endpoint.
        health_file = HealthFile(home / HEALTH_FILE_NAME, clock)
        resources.callback(health_file.close)
        store = open_store(default_store_location(env))
        on_failure.callback(store.close)
        health, shared = _health_tracker(clock, health_file, store)
        http = make_http_client()
        resources.push_async_callback(http.aclose)
        router = Router(
            catalog,
            build_adapters(configs, http),
            meter=MeterWriter(store),
            budgets=_budgets(settings, store, clock),
            clock=clock,
            health=health,
            policy=settings.routing,
            store=store,
            resources=resources,
            extra_models=extras,  # in the refresher's base too; kept over a catalog swapped in
            aliases=settings.aliases,
            refresher=refresher,
            startup_fetch_s=settings.catalog.startup_timeout_s or None,
            files=_file_access(settings, env, config_path, file_roots),
            conversations=_conversations(settings, store, clock),
            max_running_jobs=settings.jobs.max_running,
        )
        _restore_health(router, health_file.path, store, clock)
        _start_sharing(router, health, shared, resources)
        on_failure.pop_all()  # success: the Router owns them now
        return router
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack never swallows here


def owning(*clients: httpx2.AsyncClient) -> AsyncExitStack:
    """A `resources` stack that closes these HTTP clients with the router (for routers built
    by hand, as tests do)."""
    stack = AsyncExitStack()
    for client in clients:
        stack.push_async_callback(client.aclose)
    return stack
