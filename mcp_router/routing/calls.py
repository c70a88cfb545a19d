"""One routed call from request to result: local files read, the plan, the ledger check, the
remote media fetch, the attempts run and metered, and the readable error when every route failed
(README "How routing chooses"); and `compare`, those calls fanned out with the judge after
them under the same deadline. An issued key's limits are enforced here, once for every face:
its rate before anything else, its allowlist in the plan, its caps in the budget holds (README
"Keys"). `Router` owns one `Calls` and delegates `complete` and `compare` to it; the state it
reads (catalog, health, adapters) is the router's, shared by reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from random import Random
from typing import Protocol

from mcp_router.catalog.current import CurrentCatalog
from mcp_router.core import CompletionRequest, has_media
from mcp_router.core.ids import new_id
from mcp_router.errors import AllRoutesFailed, ModelNotAllowed
from mcp_router.fetch import RemoteFetcher, make_fetch_client
from mcp_router.files import FileAccess, localize
from mcp_router.metering.records import RequestRecord
from mcp_router.providers.base import Adapter
from mcp_router.routing.admission import Admission, Admissions
from mcp_router.routing.compare import check_any_known, compare
from mcp_router.routing.costs import BudgetGate, BudgetHook, held_output
from mcp_router.routing.execute import ExecContext, ExecResult, Failure
from mcp_router.routing.health import Clock, HealthTracker
from mcp_router.routing.judge import Judge, verdict
from mcp_router.routing.messages import failed_message, no_candidates_message
from mcp_router.routing.metered import execute_metered
from mcp_router.routing.plan import AUTO, Plan, estimate_prompt_tokens, only_disallowed, without
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.receipts import Receipt
from mcp_router.routing.requirements import bytes_needed
from mcp_router.routing.streaming import DeltaCallback, ProgressCallback
from mcp_router.routing.types import CompareResult, RoutedCompletion, RouteRequest


class Meter(Protocol):
    async def record(self, rec: RequestRecord) -> None: ...


PlanFn = Callable[[RouteRequest, "int | None", "tuple[str, ...] | None"], Plan]


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request already admitted by `Calls.admit` (its rate counted): `run` counts it no more."""

    admission: Admission | None


class Calls:
    """Runs routed calls over a router's parts."""

    def __init__(
        self,
        *,
        plan: PlanFn,
        adapters: Mapping[str, Adapter],
        health: HealthTracker,
        policy: RoutingPolicy,
        rng: Random,
        clock: Clock,
        meter: Meter,
        budgets: BudgetGate | None,
        catalogs: CurrentCatalog,
        files: FileAccess,
        resources: AsyncExitStack,
        fetcher: RemoteFetcher | None = None,
        admissions: Admissions | None = None,
    ) -> None:
        self._plan = plan
        self._admissions = admissions
        self._adapters = adapters
        self._health = health
        self._policy = policy
        self._rng = rng
        self._clock = clock
        self._meter = meter
        self._budgets = budgets
        self._catalogs = catalogs
        self._files = files
        self._resources = resources
        self._fetcher = fetcher  # made on the first remote fetch when not injected

    async def run(
        self,
        req: RouteRequest,
        *,
        on_progress: ProgressCallback | None,
        tool: str,
        prompt_tokens: int | None = None,
        on_delta: DeltaCallback | None = None,
        admitted: Admitted | None = None,
    ) -> RoutedCompletion:
        # The client's rate first: a refused request reads no file and calls no one.
        admission = (admitted or await self.admit(req.client)).admission
        if has_media(req.messages):  # local files read, data URLs checked (FileRefused)
            req = req.model_copy(update={"messages": await localize(req.messages, self._files)})
        receipt = Receipt(
            request_id=new_id(),
            started=self._clock.now(),
            req=req,
            tool=tool,
            requested=req.model or (",".join(req.models) if req.models else self._policy.default_model),
        )
        allow = (admission.models or None) if admission is not None else None
        p = self._plan(req, prompt_tokens, allow)  # UnknownModel: nothing attempted, nothing to meter
        if allow and only_disallowed(p):
            raise ModelNotAllowed(req.client, allow, receipt.requested)
        ensure_writable = getattr(self._meter, "ensure_writable", None)  # no paid call unrecorded
        if ensure_writable is not None:
            ensure_writable()  # raises LedgerUnavailable while the usage database cannot be written
        fetched: dict[str, str] = {}
        if self._files.fetch_remote and has_media(req.messages):
            p, fetched = await self._fetch_for(p, req)
        if not p.candidates:
            await self._meter.record(receipt.record("error", (), None, "AllRoutesFailed"))
            raise AllRoutesFailed(no_candidates_message(p), [])
        ctx = self._context(req, receipt.request_id, p, on_progress, on_delta, admission)
        result, rec = await self._execute_metered(ctx, req, p, receipt, fetched)
        if result.status == "error":
            if result.failure is Failure.BUDGET and result.budget_error is not None:
                raise result.budget_error  # no provider was called: the cap stopped it
            raise AllRoutesFailed(
                failed_message(result, ctx.records, p), list(ctx.infos)
            ) from result.final_error
        return receipt.completion(result, rec, ctx.infos)

    async def admit(self, client: str) -> Admitted:
        """`client`'s admission, counting one request (ClientRateLimited over its rate); for a
        caller with work of its own before `run` (a conversation's history read)."""
        return Admitted(await self._admissions.admit(client) if self._admissions is not None else None)

    async def compare(
        self,
        req: RouteRequest,
        models: list[str],
        *,
        concurrency: int,
        on_progress: ProgressCallback | None,
        judge: Judge | None,
    ) -> CompareResult:
        """`Router.compare`: each model's call (tool `compare`), then the judge's within what
        the answers left of `req.timeout_s`."""
        started = self._clock.monotonic()  # one deadline for the answers and the judge
        catalog = self._catalogs.catalog
        check_any_known(catalog, models)
        if judge is not None and judge.model.strip().lower() != AUTO:
            catalog.resolve(judge.model)  # an unknown judge is refused before any call
        if has_media(req.messages):  # read local files once for every model
            req = req.model_copy(update={"messages": await localize(req.messages, self._files)})
        prompt_tokens = estimate_prompt_tokens(req.messages)  # the same prompt for every model

        async def one(name: str, progress: ProgressCallback | None) -> RoutedCompletion:
            sub = req.model_copy(update={"model": name, "models": None})
            return await self.run(sub, on_progress=progress, tool="compare", prompt_tokens=prompt_tokens)

        result = await compare(models, one, concurrency=concurrency, on_progress=on_progress)
        if judge is None:
            return result
        run = lambda jreq: self.run(jreq, on_progress=None, tool=jreq.tool)  # noqa: E731
        left = req.timeout_s - (self._clock.monotonic() - started)
        judged = await verdict(req, result.results, judge, run, time_left_s=left)
        return result.model_copy(update={"verdict": judged})

    def _context(
        self,
        req: RouteRequest,
        request_id: str,
        p: Plan,
        on_progress: ProgressCallback | None,
        on_delta: DeltaCallback | None,
        admission: Admission | None = None,
    ) -> ExecContext:
        # Each attempt holds its own worst case, under this request's id so that the settled
        # spend is matched with the stored request (and counted once) when it lands.
        budget = None
        if self._budgets is not None:
            budget = BudgetHook(
                self._budgets,
                client=req.client,
                request_id=request_id,
                max_tokens=held_output(req.max_tokens, req.reasoning),
                policy=self._policy,
                timeout_s=req.timeout_s,
                extra=admission.budget if admission is not None else None,
            )
        return ExecContext(
            adapters=self._adapters,
            health=self._health,
            policy=self._policy,
            rng=self._rng,
            clock=self._clock,
            request_id=request_id,
            prompt_tokens=p.prompt_tokens,
            on_progress=on_progress,
            on_delta=on_delta,
            budget=budget,
        )

    async def _execute_metered(
        self, ctx: ExecContext, req: RouteRequest, p: Plan, receipt: Receipt, fetched: dict[str, str]
    ) -> tuple[ExecResult, RequestRecord]:
        creq = CompletionRequest(messages=req.messages, fetched=fetched, **req.sampling())
        try:
            return await execute_metered(ctx, creq, p.candidates, req.timeout_s, receipt, self._meter.record)
        finally:
            self._catalogs.learn_gone(
                (r.provider, r.model) for r in ctx.records if r.error_class == "ModelNotFound"
            )

    async def _fetch_for(self, p: Plan, req: RouteRequest) -> tuple[Plan, dict[str, str]]:
        """Fetch the remote parts that candidates on byte-only wires need (once per URL); a
        candidate whose part could not be fetched leaves the plan with the reason."""
        needs = {c.key: bytes_needed(c.provider, c.endpoint.native_model, req.messages) for c in p.candidates}
        if not any(needs.values()):
            return p, {}
        if self._fetcher is None:
            self._fetcher = RemoteFetcher(self._files, make_fetch_client())
            self._resources.push_async_callback(self._fetcher.client.aclose)
        fetched, failed = await self._fetcher.fetch_all([part for parts in needs.values() for part in parts])
        dropped = {
            key: failed[part.url] for key, parts in needs.items() for part in parts if part.url in failed
        }
        return without(p, dropped), fetched
