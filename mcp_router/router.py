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
import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from decimal import Decimal
from functools import partial
from pathlib import Path
from random import Random
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread
import httpx2

from mcp_router.api import views
from mcp_router.api.arguments import InvalidArguments
from mcp_router.api.results import EstimateResult, ListModelsResult, ModelInfo
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.merge import diff
from mcp_router.catalog.models import Model
from mcp_router.core import CompletionRequest, Usage
from mcp_router.errors import AllRoutesFailed, RouterError
from mcp_router.metering.records import AttemptRecord, RequestRecord, RequestStatus
from mcp_router.providers.base import Adapter
from mcp_router.routing.compare import compare
from mcp_router.routing.costs import BudgetGate, BudgetHook
from mcp_router.routing.execute import ExecContext, ExecResult, ProgressCallback, execute
from mcp_router.routing.health import Clock, HealthTracker, SystemClock
from mcp_router.routing.plan import Exclusion, Plan, estimate_prompt_tokens, plan
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import CompareResult, RoutedCompletion, RouteRequest

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import CatalogRefresher, RefreshResult
    from mcp_router.metering.reports import UsageReport, UsageSummary
    from mcp_router.metering.store import UsageStore
    from mcp_router.settings import Settings


class Meter(Protocol):
    async def record(self, rec: RequestRecord) -> None: ...


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exclusions_text(exclusions: Sequence[Exclusion], limit: int = 12) -> str:
    parts = [f"{e.model} via {e.provider}: {e.reason}" for e in exclusions[:limit]]
    more = len(exclusions) - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def no_candidates_message(p: Plan) -> str:
    """Why nothing could be tried; names every cooling endpoint and when it frees."""
    wanted = ", ".join(p.models) or "the requested model"
    if not p.exclusions:
        return (
            f"No endpoint serves {wanted}. Configure a provider for it (see `mcp-router doctor`) "
            "or choose another model with list_models."
        )
    cooling = [e for e in p.exclusions if e.until is not None]
    if cooling and len(cooling) == len(
        [e for e in p.exclusions if not e.reason.startswith("no credentials")]
    ):
        frees = "; ".join(
            f"{e.model} via {e.provider} frees at {e.until.isoformat(timespec='seconds')}"  # type: ignore[union-attr]
            for e in sorted(cooling, key=lambda e: e.until)  # type: ignore[arg-type, return-value]
        )
        return (
            f"Every candidate is cooling down after recent failures: {frees}. "
            "Retry after that or pick another model."
        )
    return (
        f"No endpoint can serve this request for {wanted}: {_exclusions_text(p.exclusions)}. "
        "Relax the filters (max_price, provider, response_format), choose another model, "
        "or configure a provider."
    )


def failed_message(result: ExecResult, records: Sequence[AttemptRecord], p: Plan) -> str:
    if (
        result.final_error is not None
        and result.error
        and result.error.startswith("the request was rejected")
    ):
        head = (
            f"The request was rejected as invalid ({result.final_error}); "
            "other providers would reject it too. Fix the request."
        )
    else:
        head = f"All routes failed for {', '.join(p.models) or 'the request'}"
        if result.error:
            head += f" ({result.error})"
    lines = [
        f"{r.model} via {r.provider}: {r.outcome}" + (f" — {_short(r.error)}" if r.error else "")
        for r in records
    ]
    msg = head + ". Attempts: " + ("; ".join(lines) if lines else "none")
    if p.exclusions:
        msg += f". Excluded: {_exclusions_text(p.exclusions)}"
    return msg + ". Retry later, add fallbacks with `models`, or check `mcp-router doctor`."


def _sum_cost(records: Sequence[AttemptRecord]) -> Decimal | None:
    total = Decimal(0)
    for r in records:
        if r.cost_usd is None:
            return None
        total += r.cost_usd
    return total


def _usd(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.000000001")))


def owning(*clients: httpx2.AsyncClient) -> AsyncExitStack:
    """A `resources` stack that closes these HTTP clients with the router."""
    stack = AsyncExitStack()
    for client in clients:
        stack.push_async_callback(client.aclose)
    return stack


class Router:
    """Routes completions over the catalog's endpoints; meters every attempt."""

    def __init__(
        self,
        catalog: Catalog,
        adapters: Mapping[str, Adapter],
        *,
        meter: Meter,
        budgets: BudgetGate | None = None,
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
    ) -> None:
        # Models from the config file's custom endpoints, and its aliases: re-applied to every
        # catalog swapped in by set_catalog (a live refresh knows nothing of them).
        self._extra_models = tuple(extra_models)
        self._aliases = dict(aliases or {})
        self._catalog = self._with_extras(catalog)
        # Live refresh merges providers' lists over the snapshot (never over a catalog that
        # already holds earlier live lists, or a model a provider dropped would never leave).
        # Without an injected refresher, `catalog` is that base and refreshes are not cached.
        self._base_catalog = catalog
        self._refresher = refresher
        self._refresh_lock = anyio.Lock()
        # Entering the router first fetches the lists `refresher.due()` names, each bounded by
        # this many seconds (from_env sets it; None: no fetch at start).
        self._startup_fetch_s = startup_fetch_s
        self._diff_base: Catalog | None = None  # the catalog before that fetch, for the next diff
        self._adapters = dict(adapters)
        self._available = frozenset(self._adapters)
        self._meter = meter
        self._budgets = budgets
        self._clock: Clock = clock or (health.clock if health is not None else SystemClock())
        self._health = health or HealthTracker(self._clock)
        self._policy = policy or RoutingPolicy()
        self._rng = rng or Random()
        self._ids = Random()  # seeded from os.urandom once; ids need uniqueness, not secrecy
        self._store = store  # owned: closed last by aclose
        self._resources = resources or AsyncExitStack()  # what the builder opened for this router

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        config_path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> Router:
        """Everything from the environment (README "Configuration") and the optional TOML file;
        `settings`, when the caller already loaded them; `clock` for tests. See `bootstrap.py`."""
        from mcp_router.bootstrap import build_router

        return build_router(env, config_path, settings=settings, clock=clock)

    async def __aenter__(self) -> Router:
        enter = getattr(self._meter, "__aenter__", None)
        if enter is not None:
            await enter()
        if self._startup_fetch_s:
            await self.fetch_due_lists(self._startup_fetch_s)
        return self

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
                    stack.callback(self._store.close)
                stack.push_async_exit(self._resources)
                exit_ = getattr(self._meter, "__aexit__", None)
                if exit_ is not None:
                    stack.push_async_callback(exit_, None, None, None)

    # -- properties -----------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def set_catalog(self, catalog: Catalog) -> None:
        """Swap in a refreshed catalog; calls in flight keep the one they planned with.
        The config's custom-endpoint models and aliases are merged in again."""
        self._catalog = self._with_extras(catalog)

    async def refresh_catalog(self) -> RefreshResult:
        """Fetch every configured provider's model list now and swap the merged catalog in.

        Lists merge over the bundled snapshot (a model a provider no longer lists is removed;
        a provider whose fetch fails keeps its last good list); the config's custom models and
        aliases are kept; with `from_env`, lists are cached in `$MCP_ROUTER_HOME/catalog.db`
        for the next start. The result's `catalog` is the router's new catalog and its `diff`
        compares it with the previous one (content only: fetch times are not changes)."""
        async with self._refresh_lock:
            result = await self._ensure_refresher().refresh(self._adapters.values())
            # Compared with the catalog before any fetch of this router's, so `catalog refresh`
            # shows what changed since the last run even after the fetch at start.
            old, self._diff_base = self._diff_base or self._catalog, None
            self._catalog = self._with_extras(result.catalog)
            return result.model_copy(update={"catalog": self._catalog, "diff": diff(old, self._catalog)})

    async def fetch_due_lists(self, timeout_s: float) -> RefreshResult | None:
        """Fetch the model lists that are due at start (local servers' always, others missing
        or older than the configured age; see catalog/refresh.py), each within `timeout_s`, so
        the first call routes by what providers serve. Failures keep what was known. None when
        nothing was due."""
        async with self._refresh_lock:
            refresher = self._ensure_refresher()
            due = refresher.due(self._adapters)
            if not due:
                return None
            before = self._catalog
            result = await refresher.refresh([self._adapters[name] for name in due], timeout_s=timeout_s)
            self._catalog = self._with_extras(result.catalog)
            self._diff_base = self._diff_base or before
            return result

    def _ensure_refresher(self) -> CatalogRefresher:
        if self._refresher is None:
            from mcp_router.catalog.refresh import CatalogRefresher

            self._refresher = CatalogRefresher(self._base_catalog)
        return self._refresher

    def _learn_gone(self, records: Sequence[AttemptRecord]) -> None:
        """An endpoint that answered ModelNotFound is not planned again until a later live list
        names it (catalog/refresh.py keeps the mark with the cached lists). No lock and no await:
        a refresh in flight merges the refresher's marks when its fetches end."""
        gone = [r for r in records if r.error_class == "ModelNotFound"]
        if not gone:
            return
        refresher = self._ensure_refresher()
        for rec in gone:
            endpoint = self._catalog.endpoint(rec.model, rec.provider)
            if endpoint is not None and endpoint.gone_at is None:
                refresher.mark_gone(rec.provider, rec.model, endpoint.native_model)
        self._catalog = self._with_extras(refresher.catalog)

    async def flush_metering(self) -> None:
        """Return once every request finished so far is in the usage database, so a report
        read right after a call sees it. Returns at once when nothing is pending."""
        flush = getattr(self._meter, "flush", None)  # the Meter protocol needs only `record`
        if flush is not None:
            await _maybe_await(flush())

    def _with_extras(self, catalog: Catalog) -> Catalog:
        if not self._extra_models and not self._aliases:
            return catalog
        by_id = {m.id.lower(): m for m in catalog.models()}
        for extra in self._extra_models:
            base = by_id.get(extra.id.lower())
            if base is None:
                by_id[extra.id.lower()] = extra
                continue
            # An endpoint the catalog has already came from a base that held the extras, with
            # what its provider's live list says of it: keep that one.
            have = {e.provider for e in base.endpoints}
            added = tuple(e for e in extra.endpoints if e.provider not in have)
            if added:
                by_id[extra.id.lower()] = base.model_copy(update={"endpoints": (*base.endpoints, *added)})
        return Catalog(by_id.values(), meta=catalog.meta, aliases=self._aliases)

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
    def policy(self) -> RoutingPolicy:
        return self._policy

    # -- planning -------------------------------------------------------------------------

    def plan(self, req: RouteRequest, *, prompt_tokens: int | None = None) -> Plan:
        """The dry run: candidates in order and every exclusion with its reason. No calls."""
        return plan(
            req,
            self._catalog,
            available=self._available,
            health=self._health,
            policy=self._policy,
            rng=self._rng,
            prompt_tokens=estimate_prompt_tokens(req.messages) if prompt_tokens is None else prompt_tokens,
            now=self._clock.now(),
        )

    # -- completion -----------------------------------------------------------------------

    async def complete(
        self, req: RouteRequest, *, on_progress: ProgressCallback | None = None
    ) -> RoutedCompletion:
        """Route one completion. Raises UnknownModel, BudgetExceeded or AllRoutesFailed."""
        return await self._complete(req, on_progress=on_progress, tool=req.tool)

    async def _complete(
        self,
        req: RouteRequest,
        *,
        on_progress: ProgressCallback | None,
        tool: str,
        prompt_tokens: int | None = None,
    ) -> RoutedCompletion:
        t0 = time.perf_counter()
        started = self._clock.now()
        request_id = f"{self._ids.getrandbits(128):032x}"  # uuid4-sized, without a syscall per call
        requested = (
            req.model if req.model else (",".join(req.models) if req.models else self._policy.default_model)
        )
        p = self.plan(
            req, prompt_tokens=prompt_tokens
        )  # UnknownModel propagates: nothing was attempted, nothing to meter

        def request_record(
            status: RequestStatus,
            records: Sequence[AttemptRecord],
            res: ExecResult | None,
            error_class: str | None,
        ) -> RequestRecord:
            usage = sum((r.usage for r in records), Usage())
            cost = _sum_cost(records)
            return RequestRecord(
                request_id=request_id,
                started_at=started,
                client=req.client,
                tool=tool,
                requested_model=requested,
                model=res.model if res else None,
                provider=res.provider if res else None,
                status=status,
                error_class=error_class,
                usage=usage,
                cost_usd=cost
                if cost is not None
                else sum((r.cost_usd or Decimal(0) for r in records), Decimal(0)),
                latency_ms=(time.perf_counter() - t0) * 1000.0,
                ttft_ms=res.ttft_ms if res else None,
                attempts=tuple(records),
                tag=req.tag,
            )

        if not p.candidates:
            await self._meter.record(request_record("error", (), None, "AllRoutesFailed"))
            raise AllRoutesFailed(no_candidates_message(p), [])

        creq = CompletionRequest(
            messages=req.messages,
            max_tokens=req.max_tokens,
            temperature=req.temperature,
            top_p=req.top_p,
            stop=req.stop,
            seed=req.seed,
            response_format=req.response_format,
        )
        ctx = ExecContext(
            adapters=self._adapters,
            health=self._health,
            policy=self._policy,
            rng=self._rng,
            clock=self._clock,
            request_id=request_id,
            prompt_tokens=p.prompt_tokens,
            on_progress=on_progress,
            # Each attempt holds its own worst case, under this request's id so that the settled
            # spend is matched with the stored request (and counted once) when it lands.
            budget=None
            if self._budgets is None
            else BudgetHook(
                self._budgets,
                client=req.client,
                request_id=request_id,
                max_tokens=req.max_tokens,
                policy=self._policy,
            ),
        )
        result: ExecResult | None = None
        escaped: BaseException | None = None
        try:
            result = await execute(ctx, creq, p.candidates, timeout_s=req.timeout_s)
        except BaseException as exc:
            escaped = exc  # only to label the metered request below; it propagates unchanged
            raise
        finally:
            # Shielded: a cancelled caller still gets its attempts metered and its reservation settled.
            with anyio.CancelScope(shield=True):
                status: RequestStatus
                if result is not None:
                    status, err_class = result.status, result.error_class
                elif isinstance(escaped, anyio.get_cancelled_exc_class()):
                    status, err_class = "cancelled", "Cancelled"
                else:  # an unexpected error (a bug) is not a cancellation
                    status, err_class = "error", type(escaped).__name__
                rec = request_record(status, ctx.records, result, err_class if status != "ok" else None)
                await self._meter.record(rec)
                self._learn_gone(ctx.records)
        if result.status == "error":
            if result.error_class == "BudgetExceeded" and result.budget_error is not None:
                raise result.budget_error  # no provider was called: the cap stopped it
            raise AllRoutesFailed(
                failed_message(result, ctx.records, p), list(ctx.infos)
            ) from result.final_error
        cost = _sum_cost(ctx.records)
        return RoutedCompletion(
            text=result.text,
            model=result.model or "",
            provider=result.provider or "",
            finish_reason=result.finish_reason,
            usage=rec.usage,
            cost_usd=_usd(cost),
            latency_ms=round(rec.latency_ms, 3),
            ttft_ms=None if result.ttft_ms is None else round(result.ttft_ms, 3),
            attempts=list(ctx.infos),
            request_id=request_id,
            error=result.error if result.status == "incomplete" else None,
        )

    # -- compare --------------------------------------------------------------------------

    async def compare(
        self,
        req: RouteRequest,
        models: list[str],
        *,
        concurrency: int = 4,
        on_progress: ProgressCallback | None = None,
    ) -> CompareResult:
        """The same request to each model concurrently (at most `concurrency` at once).

        A model that fails yields an entry with `error`; cancelling the caller cancels every
        call in flight (each is metered as cancelled)."""
        prompt_tokens = estimate_prompt_tokens(req.messages)  # the same prompt for every model

        async def one(name: str, progress: ProgressCallback | None) -> RoutedCompletion:
            sub = req.model_copy(update={"model": name, "models": None})
            return await self._complete(
                sub, on_progress=progress, tool="compare", prompt_tokens=prompt_tokens
            )

        return await compare(models, one, concurrency=concurrency, on_progress=on_progress)

    # -- the library API behind the MCP tools and the CLI ----------------------------------

    def list_models(self, **query: Any) -> ListModelsResult:
        """`list_models` tool: the catalog filtered and sorted (arguments as the tool's)."""
        health = self._health.snapshot()
        return views.list_models(self._catalog, self._available, health, now=self._clock.now(), **query)

    def estimate_cost(self, **args: Any) -> EstimateResult:
        """`estimate_cost` tool: one estimate per model, cheapest first (arguments as the tool's)."""
        return views.estimate_cost(self._catalog, self._available, self._health.snapshot(), **args)

    def model_info(self, model_id: str) -> ModelInfo | None:
        """One model with every endpoint, price and health figure; None when unknown."""
        model = self._catalog.lookup(model_id)
        if model is None:
            return None
        return views.model_info(
            model, self._available, self._health.snapshot(), meta=self._catalog.meta, now=self._clock.now()
        )

    async def usage_report(self, **args: Any) -> UsageReport:
        """`usage_report` tool over everything metered so far (this call flushes first)."""
        from mcp_router.metering.reports import usage_report

        store = self._require_store()
        await self.flush_metering()
        call = partial(usage_report, store, now=self._clock.now(), **args)
        try:
            # SQLite in a worker thread: the store's lock is shared with the meter's writer and
            # may be held through a busy timeout; on the loop that would stall every stream.
            return await anyio.to_thread.run_sync(call)
        except ValueError as exc:  # unparseable window or group: the caller's to fix
            raise InvalidArguments(str(exc)) from exc

    async def usage_summary(self, client: str | None = None) -> UsageSummary:
        """Today's and this week's totals (the `usage://summary` resource)."""
        from mcp_router.metering.reports import summary

        store = self._require_store()
        await self.flush_metering()
        return await anyio.to_thread.run_sync(partial(summary, store, self._clock.now(), client))

    def _require_store(self) -> UsageStore:
        if self._store is None:
            raise RouterError("This router has no usage store; build it with Router.from_env.")
        return self._store
