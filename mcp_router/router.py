"""`Router`: the library API the MCP server and the CLI share.

    async with Router.from_env() as router:
        result = await router.complete(RouteRequest(messages=[Message(role="user", content="Hi")]))

Built from injected parts (catalog, adapters, health, metering, budgets, clock, policy, rng);
`from_env` assembles them from the environment and the optional TOML file. Planning is pure
(`routing.plan`), execution is `routing.execute`; this module adds request ids, budgets,
metering and the readable errors.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from random import Random
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx2

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.merge import diff
from mcp_router.catalog.models import Model
from mcp_router.core import CompletionRequest, Usage
from mcp_router.errors import AllRoutesFailed, MeteringError, RouterError
from mcp_router.metering.records import AttemptRecord, RequestRecord, RequestStatus
from mcp_router.providers.base import Adapter
from mcp_router.routing.costs import BudgetGate, BudgetHook
from mcp_router.routing.execute import ExecContext, ExecResult, ProgressCallback, execute
from mcp_router.routing.health import Clock, HealthTracker, SystemClock
from mcp_router.routing.plan import Exclusion, Plan, estimate_prompt_tokens, plan
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import CompareEntry, CompareResult, RoutedCompletion, RouteRequest

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import CatalogRefresher, RefreshResult
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
        http: httpx2.AsyncClient | None = None,
        store: Any = None,
        closers: Sequence[Any] = (),
        extra_models: Sequence[Model] = (),
        aliases: Mapping[str, str] | None = None,
        refresher: CatalogRefresher | None = None,
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
        self._adapters = dict(adapters)
        self._available = frozenset(self._adapters)
        self._meter = meter
        self._budgets = budgets
        self._clock: Clock = clock or (health.clock if health is not None else SystemClock())
        self._health = health or HealthTracker(self._clock)
        self._policy = policy or RoutingPolicy()
        self._rng = rng or Random()
        self._ids = Random()  # seeded from os.urandom once; ids need uniqueness, not secrecy
        self._http = http
        self._store = store
        self._closers = list(closers)  # extra things from_env opened (closed after the meter)

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
        """Everything from the environment (DESIGN.md) and the optional TOML file; `settings`,
        when the caller already loaded them, instead of reading the file again; `clock` for
        tests (the system clock otherwise)."""
        from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
        from mcp_router.metering.factory import open_store
        from mcp_router.metering.paths import default_home, default_store_location
        from mcp_router.metering.writer import MeterWriter
        from mcp_router.providers.config import providers_from_env
        from mcp_router.providers.factory import build_adapters
        from mcp_router.providers.http import make_http_client
        from mcp_router.routing.health_file import FILE_NAME as HEALTH_FILE_NAME
        from mcp_router.routing.health_file import HealthFile, restore_health
        from mcp_router.settings import load_settings

        env = dict(os.environ) if env is None else env
        if settings is None:
            settings = load_settings(env, config_path)
        configs = [*providers_from_env(env), *settings.provider_configs(env)]
        home = default_home(env)
        home.mkdir(parents=True, exist_ok=True)
        opened: list[Any] = []  # closed again, newest first, if a later step fails
        try:
            cache = CatalogCache(home / "catalog.db")
            opened.append(cache)
            refresher = CatalogRefresher(Catalog.load_bundled(aliases=settings.aliases), cache=cache)
            catalog = refresher.load_cached()
            # Custom models standalone (no catalog endpoints folded in): merged by _with_extras.
            extra_models = settings.custom_models({})
            clock = clock or SystemClock()
            # Circuit state goes to $MCP_ROUTER_HOME/health.json on each change, for `doctor`,
            # and comes back from it below: a restarted server keeps skipping a cooling endpoint.
            health_file = HealthFile(home / HEALTH_FILE_NAME, clock)
            health = HealthTracker(clock, on_state_change=health_file.write)
            store = open_store(default_store_location(env))
            opened.append(store)
            meter = MeterWriter(store)
            budgets = None
            if settings.budgets:
                from mcp_router.metering.budgets import Budgets

                budgets = Budgets(store, settings.budgets, clock.now)
            http = make_http_client()
            router = cls(
                catalog,
                build_adapters(configs, http),
                meter=meter,
                budgets=budgets,
                clock=clock,
                health=health,
                policy=settings.routing,
                http=http,
                store=store,
                closers=[cache, health_file],
                extra_models=extra_models,
                aliases=settings.aliases,
                refresher=refresher,
            )
            # Only endpoints this router can call (the file is shared by routers configured
            # otherwise), checked against its catalog with the config's custom models.
            restore_health(
                health,
                health_file.path,
                lambda key: (
                    key[0] in router.available_providers
                    and router.catalog.endpoint(key[1], key[0]) is not None
                ),
            )
            return router
        except BaseException:
            for thing in reversed(opened):
                with contextlib.suppress(Exception):  # the original error is the one to report
                    thing.close()
            raise

    async def __aenter__(self) -> Router:
        enter = getattr(self._meter, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close everything even when one step fails (the meter's final flush can raise
        MeteringError): the HTTP pool, the meter, then the catalog cache, health.json's last
        write and the store. The first error is re-raised once all are closed."""
        first: BaseException | None = None
        with anyio.CancelScope(shield=True):
            steps: list[Any] = []
            if self._http is not None:
                steps.append(self._http.aclose)
            exit_ = getattr(self._meter, "__aexit__", None)
            if exit_ is not None:
                steps.append(lambda: exit_(None, None, None))
            for thing in [*self._closers, self._store]:
                close = getattr(thing, "close", None)
                if close is not None:
                    steps.append(close)
            for step in steps:
                try:
                    await _maybe_await(step())
                except Exception as exc:  # keep closing; the first failure is raised below
                    first = first or exc
        if first is not None:
            raise first

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
            if self._refresher is None:
                from mcp_router.catalog.refresh import CatalogRefresher

                self._refresher = CatalogRefresher(self._base_catalog)
            result = await self._refresher.refresh(self._adapters.values())
            old = self._catalog
            self._catalog = self._with_extras(result.catalog)
            return result.model_copy(update={"catalog": self._catalog, "diff": diff(old, self._catalog)})

    async def flush_metering(self) -> None:
        """Return once every request finished so far is in the usage database, so a report
        read right after a call sees it. Returns at once when nothing is pending. Best effort:
        when the database cannot be written (the writer logs why) it returns as soon as that is
        known, so a report answers from what is committed; closing still reports lost rows."""
        flush = getattr(self._meter, "flush", None)  # the Meter protocol needs only `record`
        if flush is not None:
            with contextlib.suppress(MeteringError):
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
            mine = {e.provider for e in extra.endpoints}
            kept = tuple(e for e in base.endpoints if e.provider not in mine)
            by_id[extra.id.lower()] = base.model_copy(update={"endpoints": (*kept, *extra.endpoints)})
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
    def store(self) -> Any:
        return self._store

    @property
    def budgets(self) -> BudgetGate | None:
        return self._budgets

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

        ensure_writable = getattr(self._meter, "ensure_writable", None)  # no paid call unrecorded
        if ensure_writable is not None:
            ensure_writable()  # raises LedgerUnavailable while the usage database cannot be written
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
                timeout_s=req.timeout_s,
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
        names = list(dict.fromkeys(models))
        entries: list[CompareEntry | None] = [None] * len(names)
        limiter = anyio.CapacityLimiter(max(1, concurrency))
        chunks: dict[int, int] = {}
        chars: dict[int, int] = {}
        prompt_tokens = estimate_prompt_tokens(req.messages)  # the same prompt for every model

        def progress_for(i: int) -> ProgressCallback | None:
            if on_progress is None:
                return None
            cb = on_progress

            async def report(chunks_so_far: int, chars_so_far: int) -> None:
                chunks[i] = chunks_so_far
                chars[i] = chars_so_far
                await cb(sum(chunks.values()), sum(chars.values()))

            return report

        async def one(i: int, name: str) -> None:
            async with limiter:
                sub = req.model_copy(update={"model": name, "models": None})
                try:
                    r = await self._complete(
                        sub, on_progress=progress_for(i), tool="compare", prompt_tokens=prompt_tokens
                    )
                except RouterError as exc:
                    entries[i] = CompareEntry(
                        model=name,
                        provider=None,
                        text=None,
                        usage=None,
                        cost_usd=None,
                        latency_ms=None,
                        error=str(exc),
                    )
                    return
                entries[i] = CompareEntry(
                    model=r.model,
                    provider=r.provider,
                    text=r.text,
                    usage=r.usage,
                    cost_usd=r.cost_usd,
                    latency_ms=r.latency_ms,
                    error=r.error,
                )

        async with anyio.create_task_group() as tg:
            for i, name in enumerate(names):
                tg.start_soon(one, i, name)
        results = [e for e in entries if e is not None]
        ok = [e for e in results if e.error is None]
        priced = [e for e in ok if e.cost_usd is not None]
        timed = [e for e in ok if e.latency_ms is not None]
        cheapest = min(priced, key=lambda e: e.cost_usd or 0.0).model if priced else None
        fastest = min(timed, key=lambda e: e.latency_ms or 0.0).model if timed else None
        return CompareResult(results=results, cheapest=cheapest, fastest=fastest)

    # -- views ----------------------------------------------------------------------------

    def endpoint_health(self, model: Model) -> dict[str, dict[str, object]]:
        """Health figures per provider for one model (for list_models / doctor)."""
        return {ep.provider: self._health.get((ep.provider, model.id)).as_dict() for ep in model.endpoints}
