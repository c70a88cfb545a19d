"""`Router`: the library API the MCP server and the CLI share.

    async with Router.from_env() as router:
        result = await router.complete(RouteRequest(messages=[Message(role="user", content="Hi")]))

Built from injected parts (catalog, adapters, health, metering, budgets, clock, policy, rng);
`from_env` assembles them from the environment and the optional TOML file. Planning is pure
(`routing.plan`), execution is `routing.execute`; this module adds request ids, budgets,
metering and the readable errors.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, suppress
from functools import partial
from pathlib import Path
from random import Random
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread

from mcp_router.api.monitor import HealthReport
from mcp_router.api.reports import RouterReports
from mcp_router.api.results import EstimateResult, ListModelsResult, ModelInfo
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.current import CurrentCatalog
from mcp_router.catalog.models import Model
from mcp_router.conversations import Conversations, converse
from mcp_router.errors import MeteringError
from mcp_router.fetch import RemoteFetcher
from mcp_router.files import FileAccess
from mcp_router.jobs.runner import DEFAULT_MAX_RUNNING
from mcp_router.keys.gate import with_keys
from mcp_router.keys.status import KeyStatus
from mcp_router.log import get_logger
from mcp_router.providers.base import Adapter
from mcp_router.routing.calls import Calls, Meter
from mcp_router.routing.costs import BudgetGate
from mcp_router.routing.delivery import CompletionStream, streamed
from mcp_router.routing.execute import ProgressCallback
from mcp_router.routing.health import Clock, HealthTracker, SystemClock
from mcp_router.routing.health_seed import seed_health
from mcp_router.routing.judge import Judge
from mcp_router.routing.output import complete_to_file
from mcp_router.routing.plan import Allowlist, Plan, estimate_prompt_tokens, plan
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.streaming import DeltaCallback
from mcp_router.routing.types import CompareResult, RoutedCompletion, RouteRequest

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import CatalogRefresher, RefreshResult
    from mcp_router.metering.protocol import UsageStore
    from mcp_router.metering.reports import BudgetStatus, UsageReport, UsageSummary
    from mcp_router.metering.series import UsageSeries
    from mcp_router.settings import Settings


log = get_logger(__name__)


class Budgets(BudgetGate, Protocol):
    """The budget gate attempts reserve through, plus where each client stands."""

    async def budget_status(self, client: str, extra: Any = None) -> list[BudgetStatus]: ...


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Router:
    """Routes completions over the catalog's endpoints; meters every attempt."""

    def __init__(
        self,
        catalog: Catalog,
        adapters: Mapping[str, Adapter],
        *,
        meter: Meter,
        budgets: Budgets | None = None,
        health: HealthTracker | None = None,
        clock: Clock | None = None,
        policy: RoutingPolicy | None = None,
        rng: Random | None = None,
        store: UsageStore | None = None,
        resources: AsyncExitStack | None = None,
        extra_models: Sequence[Model] = (),
        aliases: Mapping[str, str] | None = None,
        refresher: CatalogRefresher | None = None,
        startup_fetch_s: float | None = None,
        files: FileAccess | None = None,
        fetcher: RemoteFetcher | None = None,
        conversations: Conversations | None = None,
        max_running_jobs: int = DEFAULT_MAX_RUNNING,
    ) -> None:
        # The config's custom models and aliases are re-applied to every refreshed catalog.
        self._catalogs = CurrentCatalog(
            catalog, extra_models=extra_models, aliases=aliases, refresher=refresher
        )
        # Entering the router first fetches the lists `refresher.due()` names, each bounded by
        # this many seconds (from_env sets it; None: no fetch at start).
        self._startup_fetch_s = startup_fetch_s
        self._adapters = dict(adapters)
        self._available = frozenset(self._adapters)
        self._meter = meter
        self._clock: Clock = clock or (health.clock if health is not None else SystemClock())
        # Issued keys (README "Keys"; `keys.book` creates, lists, revokes, verifies) and budgets.
        self.keys, self._budgets, self._keyed_budgets = with_keys(store, self._clock.now, budgets)
        self._health = health or HealthTracker(self._clock)
        self._policy = policy or RoutingPolicy()
        self._rng = rng or Random()
        self._store = store  # owned: closed last by aclose
        self._resources = resources or AsyncExitStack()  # what the builder opened for this router
        self.conversations = conversations  # stored conversations (list, show, delete), if any
        self.max_running_jobs = max_running_jobs  # background jobs per client ([jobs] max_running)
        # Local files in messages: none readable unless the builder or the server allows roots.
        self._files = files or FileAccess()
        self._calls = self._make_calls(meter, fetcher)
        self._reports = RouterReports(
            catalog=lambda: self.catalog,
            available=self._available,
            health=self._health,
            clock=self._clock,
            store=store,
            budgets=self._keyed_budgets,  # with the key caps joined in
            flush=self.flush_metering,
            keys=self.keys,
            limits=self._budgets,
        )

    def _make_calls(self, meter: Meter, fetcher: RemoteFetcher | None) -> Calls:
        """The calls side over this router's parts, shared by reference (routing/calls.py)."""
        return Calls(
            plan=lambda req, prompt_tokens, allow: self.plan(req, prompt_tokens=prompt_tokens, allow=allow),
            adapters=self._adapters,
            health=self._health,
            policy=self._policy,
            rng=self._rng,
            clock=self._clock,
            meter=meter,
            budgets=self._budgets,
            catalogs=self._catalogs,
            files=self._files,
            resources=self._resources,
            fetcher=fetcher,
            admissions=self.keys,
        )

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        config_path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        file_roots: Sequence[str | Path] = (),
    ) -> Router:
        """Everything from the environment (README "Configuration") and the optional TOML file;
        `settings`, when the caller already loaded them; `clock` for tests; `file_roots`, folders
        local files may be read from besides `[files] roots` (the server passes its own folder
        over stdio). See `bootstrap.py`."""
        from mcp_router.bootstrap import build_router

        return build_router(env, config_path, settings=settings, clock=clock, file_roots=file_roots)

    async def __aenter__(self) -> Router:
        try:
            enter = getattr(self._meter, "__aenter__", None)
            if enter is not None:
                await enter()
            await self._seed_health()
            if self._startup_fetch_s:
                await self.fetch_due_lists(self._startup_fetch_s)
        except BaseException:
            await self.aclose()  # what was opened must not outlive a failed start
            raise
        return self

    async def _seed_health(self) -> None:
        if self._store is not None:  # routing/health_seed.py
            await seed_health(self._health, self._store, self._clock.now(), self._can_call)

    def _can_call(self, key: tuple[str, str]) -> bool:
        return key[0] in self._available and self.catalog.endpoint(key[1], key[0]) is not None

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close everything even when one step fails (the meter's final flush can raise
        MeteringError): the meter first (its last batch needs the store), then what the
        builder handed over (HTTP pool, catalog cache, health.json's last write), then the
        store. The first error is re-raised once all are closed."""
        with anyio.CancelScope(shield=True):
            async with AsyncExitStack() as stack:
                if self._store is not None:
                    stack.push_async_callback(self._store.aclose)
                stack.push_async_exit(self._resources)
                exit_ = getattr(self._meter, "__aexit__", None)
                if exit_ is not None:
                    stack.push_async_callback(exit_, None, None, None)

    # -- properties -----------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self._catalogs.catalog

    def set_catalog(self, catalog: Catalog) -> None:
        """Swap in a refreshed catalog; calls in flight keep the one they planned with.
        The config's custom-endpoint models and aliases are merged in again."""
        self._catalogs.set(catalog)

    async def refresh_catalog(self) -> RefreshResult:
        """Fetch every configured provider's model list now and swap the merged catalog in.

        Lists merge over the bundled snapshot (a model a provider no longer lists is removed;
        a provider whose fetch fails keeps its last good list); the config's custom models and
        aliases are kept; with `from_env`, lists are cached in `$MCP_ROUTER_HOME/catalog.db`
        for the next start. The result's `catalog` is the router's new catalog and its `diff`
        compares it with the previous one (content only: fetch times are not changes)."""
        return await self._catalogs.refresh(self._adapters.values())

    async def fetch_due_lists(self, timeout_s: float) -> RefreshResult | None:
        """Fetch the model lists that are due at start (local servers' always, others missing
        or older than the configured age), each within `timeout_s`, so the first call routes by
        what providers serve. Failures keep what was known. None when nothing was due."""
        return await self._catalogs.fetch_due(self._adapters, timeout_s)

    async def flush_metering(self) -> None:
        """Return once every request finished so far is in the usage database, so a report
        read right after a call sees it. Returns at once when nothing is pending. Best effort:
        when the database cannot be written (the writer logs why) it returns as soon as that is
        known, so a report answers from what is committed; closing still reports lost rows."""
        flush = getattr(self._meter, "flush", None)  # the Meter protocol needs only `record`
        if flush is not None:
            with suppress(MeteringError):
                await _maybe_await(flush())

    @property
    def files(self) -> FileAccess:
        """Where local files in messages may be read from, and the size and fetch rules."""
        return self._files

    @property
    def health(self) -> HealthTracker:
        return self._health

    @property
    def available_providers(self) -> frozenset[str]:
        return self._available

    @property
    def adapters(self) -> Mapping[str, Adapter]:
        return self._adapters

    @property
    def store(self) -> UsageStore | None:
        return self._store

    @property
    def budgets(self) -> Budgets | None:
        return self._budgets

    @property
    def policy(self) -> RoutingPolicy:
        return self._policy

    # -- planning -------------------------------------------------------------------------

    def plan(self, req: RouteRequest, *, prompt_tokens: int | None = None, allow: Allowlist = None) -> Plan:
        """The dry run: candidates in order, every exclusion with its reason (`allow`: see `plan_for`)."""
        return plan(
            req,
            self.catalog,
            available=self._available,
            health=self._health,
            policy=self._policy,
            rng=self._rng,
            prompt_tokens=estimate_prompt_tokens(req.messages) if prompt_tokens is None else prompt_tokens,
            now=self._clock.now(),
            fetch_remote=self._files.fetch_remote,
            allow=allow,
        )

    async def plan_for(self, req: RouteRequest) -> Plan:
        """`plan` as `req.client` would get it: its key's allowlist applied (no request counted)."""
        key = await self.keys.policy(req.client) if self.keys is not None else None
        return self.plan(req, allow=(key.models or None) if key else None)

    # -- completion -----------------------------------------------------------------------

    async def complete(
        self,
        req: RouteRequest,
        *,
        on_progress: ProgressCallback | None = None,
        on_delta: DeltaCallback | None = None,
        output_file: str | None = None,
        overwrite: bool = False,
        remember: bool = False,
    ) -> RoutedCompletion:
        """Route one completion. Raises UnknownModel, BudgetExceeded or AllRoutesFailed.
        `on_delta(text)` receives the answer as it streams (see `stream` for an iterator).
        `output_file`: write the answer there instead (routing/output.py; FileRefused before
        any call when it cannot be written). With `req.conversation_id` the stored conversation
        is continued, with `remember` a new one started (README "Conversations")."""

        async def run() -> RoutedCompletion:
            admitted = await self._calls.admit(req.client)  # before a history is read: none when refused
            routed = partial(
                self._calls.run, tool=req.tool, on_progress=on_progress, on_delta=on_delta, admitted=admitted
            )
            return await converse(self.conversations, req, routed, remember=remember)

        if output_file is None:
            return await run()
        return await complete_to_file(run, output_file, self._files, overwrite=overwrite)

    def stream(self, req: RouteRequest) -> AbstractAsyncContextManager[CompletionStream]:
        """`async with router.stream(req) as events: async for event in events: ...` — the
        answer's `TextDelta`s as they arrive, then the `RoutedCompletion` (routing/delivery.py)."""
        return streamed(lambda deliver: self.complete(req, on_delta=deliver))

    # -- compare --------------------------------------------------------------------------

    async def compare(
        self,
        req: RouteRequest,
        models: list[str],
        *,
        concurrency: int = 4,
        on_progress: ProgressCallback | None = None,
        judge: Judge | None = None,
    ) -> CompareResult:
        """The same request to each model concurrently (at most `concurrency` at once).

        A model that fails yields an entry with `error`; cancelling the caller cancels every
        call in flight (each is metered as cancelled). An unknown id is an error entry, and
        UnknownModel when no id is known at all (nothing could be compared). With `judge`, the
        judge model then gives a `verdict` (routing/judge.py; an unknown judge id is refused
        before any call; it has what the answers left of `req.timeout_s`). See routing/calls.py."""
        return await self._calls.compare(
            req, models, concurrency=concurrency, on_progress=on_progress, judge=judge
        )

    # -- the library API behind the MCP tools and the CLI (api/reports.py) ----------------

    def list_models(self, **query: Any) -> ListModelsResult:
        """`list_models` tool: the catalog filtered and sorted (arguments as the tool's)."""
        return self._reports.list_models(**query)

    def estimate_cost(self, **args: Any) -> EstimateResult:
        """`estimate_cost` tool: one estimate per model, cheapest first (arguments as the tool's)."""
        return self._reports.estimate_cost(**args)

    def model_info(self, model_id: str) -> ModelInfo | None:
        """One model with every endpoint, price and health figure; None when unknown."""
        return self._reports.model_info(model_id)

    async def usage_report(self, *, budgets_of: str | None = None, **args: Any) -> UsageReport:
        """`usage_report` tool over everything metered so far (this call flushes first), with the
        budgets of the reported client, else of `budgets_of` (the caller's own client)."""
        return await self._reports.usage_report(budgets_of=budgets_of, **args)

    async def usage_summary(
        self, client: str | None = None, *, budgets_of: str | None = None
    ) -> UsageSummary:
        """Today's and this week's totals (the `usage://summary` resource), with budgets."""
        return await self._reports.usage_summary(client, budgets_of=budgets_of)

    async def key_status(self, client: str, *, admin: bool = False) -> KeyStatus:
        """`client`'s limits, spend, holds, what is left and resets, and rate (`GET /v1/key`)."""
        return await self._reports.key_status(client, admin=admin)

    async def usage_series(self, **args: Any) -> UsageSeries:
        """Spend and traffic per hour or day for the dashboard's charts (metering/series.py)."""
        return await self._reports.usage_series(**args)

    def endpoint_health(self) -> HealthReport:
        """Every endpoint called so far: circuit state, when a cooldown frees, TTFT, tokens/s."""
        return self._reports.endpoint_health()
