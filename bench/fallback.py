"""Time to fall back, against the simulator running in a separate process.

1. Primary answers 503 at once: `Router.complete` (primary 503, then the fallback answers) vs a
   direct streamed call to the fallback alone, interleaved; target: router median within 1.1x.
   The circuit breaker is disabled here (threshold out of reach) so every round really hits the
   failing primary first; otherwise it would cool down and the router would skip it.
2. Primary hangs: the fallback must start within 10% of the per-attempt (first-token) timeout.

    .venv/bin/python bench/fallback.py [--rounds 200] [--latency-ms 20] [--attempt-timeout-s 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

from _common import start_sim, timed_stream

if TYPE_CHECKING:
    from mcp_router.sim import Simulator

MODEL_ID = "openai/gpt-4o-mini"
PROMPT = "Give me one short sentence about fallbacks."


def _configure(sim: Simulator, latency_ms: float) -> None:
    from mcp_router.sim import Fault

    sim.set_profile("openrouter", MODEL_ID, latency_ms=latency_ms)
    sim.always("openai", "gpt-4o-mini", Fault.status(503))
    sim.always("groq", "llama-3.3-70b-versatile", Fault.hang())


async def run(root: str, rounds: int, attempt_timeout_s: float, latency_ms: float, tmp: Path) -> None:
    from mcp_router.catalog.catalog import Catalog
    from mcp_router.catalog.models import Endpoint, Model, Pricing
    from mcp_router.core import Message
    from mcp_router.log import configure_logging
    from mcp_router.metering.store import SqliteStore
    from mcp_router.metering.writer import MeterWriter
    from mcp_router.providers.config import providers_from_env
    from mcp_router.providers.factory import build_adapters
    from mcp_router.providers.http import make_http_client
    from mcp_router.router import Router, owning
    from mcp_router.routing.health import HealthTracker
    from mcp_router.routing.policy import RoutingPolicy
    from mcp_router.routing.types import ProviderPreferences, RouteRequest
    from mcp_router.sim.catalogue import provider_url, sim_key

    configure_logging({})
    env = {}
    for p, prefix in (("openai", "OPENAI"), ("openrouter", "OPENROUTER"), ("groq", "GROQ")):
        env[f"{prefix}_API_KEY"] = sim_key(p)
        env[f"{prefix}_BASE_URL"] = provider_url(root, p)
    price = Pricing(input=Decimal("0.00000015"), output=Decimal("0.0000006"))
    catalog = Catalog(
        [
            Model(
                id=MODEL_ID,
                name="GPT-4o mini",
                endpoints=(
                    Endpoint(provider="openai", native_model="gpt-4o-mini", pricing=price),
                    Endpoint(provider="openrouter", native_model=MODEL_ID, pricing=price),
                ),
            ),
            Model(
                id="meta-llama/llama-3.3-70b-instruct",
                name="Llama 3.3 70B",
                endpoints=(
                    Endpoint(provider="groq", native_model="llama-3.3-70b-versatile", pricing=price),
                    Endpoint(provider="openrouter", native_model=MODEL_ID, pricing=price),
                ),
            ),
        ]
    )
    http = make_http_client()
    store = SqliteStore(tmp / "usage.db")
    router = Router(
        catalog,
        build_adapters(providers_from_env(env), http),
        meter=MeterWriter(store),
        health=HealthTracker(failure_threshold=10**9),
        policy=RoutingPolicy(first_token_timeout_s=attempt_timeout_s),
        rng=Random(0),
        resources=owning(http),
        store=store,
    )
    direct = Router(
        catalog,
        build_adapters(providers_from_env(env), http),
        meter=MeterWriter(store),
        rng=Random(0),
    )
    msgs = [Message(role="user", content=PROMPT)]
    via_primary = RouteRequest(messages=msgs, model=MODEL_ID, provider=ProviderPreferences(order=["openai"]))
    fallback_only = RouteRequest(
        messages=msgs, model=MODEL_ID, provider=ProviderPreferences(only=["openrouter"])
    )

    raw_client = make_http_client()
    raw_url = provider_url(root, "openrouter") + "/chat/completions"
    raw_body = {"model": MODEL_ID, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    raw_headers = {"authorization": f"Bearer {sim_key('openrouter')}"}

    async def raw() -> float:
        return await timed_stream(raw_client, raw_url, raw_body, raw_headers)

    async def timed(r: Router, req: RouteRequest) -> float:
        t = time.perf_counter()
        res = await r.complete(req)
        assert res.text and res.provider == "openrouter"
        return time.perf_counter() - t

    async with router, direct:
        for _ in range(10):
            await timed(router, via_primary)
            await timed(direct, fallback_only)
            await raw()
        a: list[float] = []
        b: list[float] = []
        c: list[float] = []
        for i in range(rounds):
            if i % 2:
                a.append(await timed(router, via_primary))
                b.append(await timed(direct, fallback_only))
                c.append(await raw())
            else:
                c.append(await raw())
                b.append(await timed(direct, fallback_only))
                a.append(await timed(router, via_primary))
        ma, mb, mc = (statistics.median(x) * 1e3 for x in (a, b, c))
        print(
            f"503 then fallback (fallback latency {latency_ms:g} ms): router p50 {ma:.3f} ms; "
            f"direct httpx2 call to the fallback p50 {mc:.3f} ms -> {ma / mc:.3f}x (target <= 1.1x); "
            f"router sent straight to the fallback p50 {mb:.3f} ms -> {ma / mb:.3f}x"
        )
        await raw_client.aclose()

        # Hang: measure when the fallback attempt started, relative to the per-attempt timeout.
        hang = RouteRequest(
            messages=msgs,
            model="meta-llama/llama-3.3-70b-instruct",
            provider=ProviderPreferences(order=["groq"]),
            timeout_s=60,
        )
        starts = []
        for _ in range(5):
            t = time.perf_counter()
            res = await router.complete(hang)
            total = (time.perf_counter() - t) * 1e3
            assert [x.outcome for x in res.attempts] == ["timeout", "ok"]
            starts.append(total - res.attempts[1].latency_ms)
        worst = max(starts)
        print(
            f"hang then fallback: fallback started after {statistics.median(starts):.1f} ms median, "
            f"{worst:.1f} ms worst; per-attempt timeout {attempt_timeout_s * 1e3:.0f} ms "
            f"-> {worst / (attempt_timeout_s * 1e3):.3f}x (target <= 1.1x)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--attempt-timeout-s", type=float, default=1.0)
    args = ap.parse_args()
    proc, root = start_sim(partial(_configure, latency_ms=args.latency_ms))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(root, args.rounds, args.attempt_timeout_s, args.latency_ms, Path(tmp)))
    finally:
        proc.terminate()
        proc.join(10)


if __name__ == "__main__":
    main()
