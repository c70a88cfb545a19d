"""Helpers for routing tests: a manual clock, small hand-made catalogs, a router wired to the
simulator (wire and end-to-end tests) and one over in-process fake adapters (routing logic)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

from mcp_router.bootstrap import owning
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import Endpoint, Model, Pricing
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeterWriter
from mcp_router.providers.config import providers_from_env
from mcp_router.providers.factory import build_adapters
from mcp_router.providers.http import make_http_client
from mcp_router.router import Router
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.sim import Simulator
from mcp_router.testing import FakeAdapter


class ManualClock:
    """A clock tests move by hand: cooldowns and windows without sleeping."""

    def __init__(self) -> None:
        self._mono = 1000.0
        self._wall = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)


def per_m(usd_per_million: float | None) -> Decimal | None:
    return None if usd_per_million is None else Decimal(str(usd_per_million)) / Decimal(1_000_000)


def ep(
    provider: str,
    inp: float | None = 1.0,
    out: float | None = 2.0,
    *,
    native: str | None = None,
    ctx: int | None = None,
    max_out: int | None = None,
) -> Endpoint:
    pricing = None if inp is None and out is None else Pricing(input=per_m(inp), output=per_m(out))
    return Endpoint(
        provider=provider,
        native_model=native or "native-model",
        pricing=pricing,
        context_length=ctx,
        max_output_tokens=max_out,
    )


def model(mid: str, *endpoints: Endpoint, caps: tuple[str, ...] = (), ctx: int | None = 100_000) -> Model:
    return Model(id=mid, name=mid, context_length=ctx, capabilities=frozenset(caps), endpoints=endpoints)


def catalog_of(*models: Model) -> Catalog:
    return Catalog(models)


# -- a router wired to the simulator ---------------------------------------------------------


SIM_MODELS = (
    # (model id, ((provider, native, in $/M, out $/M), ...))
    (
        "openai/gpt-4o-mini",
        (("openai", "gpt-4o-mini", 0.15, 0.60), ("openrouter", "openai/gpt-4o-mini", 0.15, 0.60)),
    ),
    (
        "anthropic/claude-haiku-4.5",
        (("anthropic", "claude-haiku-4-5", 1.0, 5.0), ("openrouter", "anthropic/claude-haiku-4.5", 1.0, 5.0)),
    ),
    (
        "meta-llama/llama-3.3-70b-instruct",
        (
            ("groq", "llama-3.3-70b-versatile", 0.59, 0.79),
            ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88),
            ("openrouter", "meta-llama/llama-3.3-70b-instruct", 0.9, 0.9),
        ),
    ),
    ("deepseek/deepseek-chat", (("deepseek", "deepseek-chat", 0.28, 0.42),)),
)


def sim_catalog() -> Catalog:
    return Catalog(
        model(mid, *(ep(p, i, o, native=n, ctx=128_000) for p, n, i, o in eps), ctx=128_000)
        for mid, eps in SIM_MODELS
    )


class Harness:
    def __init__(self, sim: Any, router: Any, store: Any, meter: Any, budgets: Any = None) -> None:
        self.sim = sim
        self.router = router
        self.store = store
        self.meter = meter
        self.budgets = budgets

    async def attempts(self, request_id: str) -> list[tuple[Any, ...]]:
        await self.meter.flush()
        return self.store.query(
            "SELECT number, provider, model, outcome, error_class, output_tokens, cost_nusd "
            "FROM attempts WHERE request_id = ? ORDER BY number",
            (request_id,),
        )

    async def requests(self) -> list[tuple[Any, ...]]:
        await self.meter.flush()
        return self.store.query(
            "SELECT request_id, status, model, provider, attempt_count, cost_nusd, error_class FROM requests "
            "ORDER BY started_ms"
        )


@contextlib.asynccontextmanager
async def harness(
    tmp_path: Path,
    *,
    policy: RoutingPolicy | None = None,
    clock: Any = None,
    budgets: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> AsyncIterator[Harness]:
    sim = Simulator()
    async with sim.running():
        env = sim.env()
        http = make_http_client()
        adapters = build_adapters(providers_from_env(env), http)
        store = SqliteStore(tmp_path / "usage.db")
        meter = MeterWriter(store, flush_interval_s=0.01)
        health = HealthTracker(clock) if clock is not None else None
        gate = None
        if budgets:
            from mcp_router.metering.budgets import BudgetLimit, Budgets

            limits = {k: BudgetLimit(**v) for k, v in budgets.items()}
            gate = Budgets(store, limits, lambda: datetime.now(UTC))
        router = Router(
            catalog or sim_catalog(),
            adapters,
            meter=meter,
            budgets=gate,
            health=health,
            policy=policy
            or RoutingPolicy(backoff_base_s=0.01, backoff_cap_s=0.05, first_token_timeout_s=2.0),
            rng=Random(0),
            resources=owning(http),
            store=store,
        )
        async with router:
            yield Harness(sim, router, store, meter, gate)


# -- a router over in-process fake adapters (no socket) -----------------------------------------


class RecordingMeter:
    """A meter that keeps the request records it is given (the router's metering output)."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    async def record(self, rec: RequestRecord) -> None:
        self.records.append(rec)

    def last(self) -> RequestRecord:
        return self.records[-1]


class FakeRig:
    """A Router over `FakeAdapter`s, its meter and its health tracker."""

    def __init__(self, router: Router, meter: RecordingMeter, adapters: dict[str, FakeAdapter]) -> None:
        self.router = router
        self.meter = meter
        self.adapters = adapters

    def __getitem__(self, provider: str) -> FakeAdapter:
        return self.adapters[provider]

    @property
    def health(self) -> HealthTracker:
        return self.router.health


def fake_router(
    catalog: Catalog,
    *adapters: FakeAdapter,
    policy: RoutingPolicy | None = None,
    clock: Any = None,
    health: HealthTracker | None = None,
) -> FakeRig:
    """A Router over `adapters` with a recording meter; the policy's backoff is tiny so the
    retry tests run fast (their waits are real, but a few milliseconds)."""
    meter = RecordingMeter()
    by_name = {a.provider: a for a in adapters}
    router = Router(
        catalog,
        by_name,
        meter=meter,
        health=health or (HealthTracker(clock) if clock is not None else None),
        policy=policy or RoutingPolicy(backoff_base_s=0.001, backoff_cap_s=0.002, first_token_timeout_s=2.0),
        rng=Random(0),
    )
    return FakeRig(router, meter, by_name)
