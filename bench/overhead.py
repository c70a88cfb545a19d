"""Router overhead: interleaved direct httpx2 calls vs `Router.complete` to the same simulated endpoint.

The simulator runs in a separate process (its own interpreter and GIL), so it does not share the
router's event loop or CPU time slices with the code being measured. Both sides stream the same
chat completion (the router always streams internally) and read it to the end; the router side
includes planning, the adapter, health, metering (a real SQLite store with the batched writer) and
the result model. Rounds alternate direct/router so drift affects both alike.

    .venv/bin/python bench/overhead.py [--rounds 400] [--concurrency 16]

Prints, for 0 ms and 20 ms simulated latency: median and p99 of each side and the added latency
(router minus direct at the same quantile), then added p99 at 16 concurrent vs at 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

from _common import start_sim, timed_stream

if TYPE_CHECKING:
    from mcp_router.sim import Simulator

MODEL_ID = "openai/gpt-4o-mini"
NATIVE = "gpt-4o-mini"
PROMPT = "Give me one short sentence about routers."


def _configure(sim: Simulator, latency_ms: float) -> None:
    if latency_ms:
        sim.set_profile("openai", NATIVE, latency_ms=latency_ms)


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


async def run_phase(
    root: str, rounds: int, concurrency: int, tmp: Path, no_meter: bool = False
) -> dict[str, list[float]]:
    from mcp_router.catalog.catalog import Catalog
    from mcp_router.catalog.models import Endpoint, Model, Pricing
    from mcp_router.logging import configure_logging
    from mcp_router.metering.store import UsageStore
    from mcp_router.metering.writer import MeterWriter
    from mcp_router.providers.config import providers_from_env
    from mcp_router.providers.factory import build_adapters
    from mcp_router.providers.http import make_http_client
    from mcp_router.router import Router
    from mcp_router.routing.types import RouteRequest
    from mcp_router.sim.catalogue import provider_url, sim_key
    from mcp_router.types import Message

    configure_logging({})  # as the server runs it: WARNING, so per-attempt events are filtered cheaply
    base = provider_url(root, "openai")
    key = sim_key("openai")
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base}
    from decimal import Decimal

    catalog = Catalog(
        [
            Model(
                id=MODEL_ID,
                name="GPT-4o mini",
                context_length=128_000,
                endpoints=(
                    Endpoint(
                        provider="openai",
                        native_model=NATIVE,
                        pricing=Pricing(input=Decimal("0.00000015"), output=Decimal("0.0000006")),
                    ),
                ),
            )
        ]
    )
    http = make_http_client()
    direct_client = make_http_client()
    store = UsageStore(tmp / f"usage-{concurrency}-{time.monotonic_ns()}.db")

    class NullMeter:
        async def record(self, rec: object) -> None:
            return None

    router = Router(
        catalog,
        build_adapters(providers_from_env(env), http),
        meter=NullMeter() if no_meter else MeterWriter(store),
        rng=Random(0),
        http=http,
        store=store,
    )
    req = RouteRequest(messages=[Message(role="user", content=PROMPT)], model=MODEL_ID)
    body = {
        "model": NATIVE,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"authorization": f"Bearer {key}"}

    async def direct() -> float:
        return await timed_stream(direct_client, f"{base}/chat/completions", body, headers)

    async def routed() -> float:
        t = time.perf_counter()
        res = await router.complete(req)
        assert res.text
        return time.perf_counter() - t

    out: dict[str, list[float]] = {"direct": [], "router": []}
    async with router:
        for _ in range(20):  # warm both connection pools and code paths
            await direct()
            await routed()

        async def worker(n: int) -> None:
            for i in range(n):
                if i % 2 == 0:
                    out["direct"].append(await direct())
                    out["router"].append(await routed())
                else:
                    out["router"].append(await routed())
                    out["direct"].append(await direct())

        per = max(1, rounds // concurrency)
        await asyncio.gather(*(worker(per) for _ in range(concurrency)))
        await direct_client.aclose()
    return out


def report(label: str, data: dict[str, list[float]]) -> tuple[float, float]:
    d, r = data["direct"], data["router"]
    md, mr = statistics.median(d) * 1e3, statistics.median(r) * 1e3
    pd, pr = q(d, 0.99) * 1e3, q(r, 0.99) * 1e3
    print(
        f"{label:<28} n={len(d):<4} direct p50 {md:7.3f} ms p99 {pd:7.3f} | router p50 {mr:7.3f} ms "
        f"p99 {pr:7.3f} | added p50 {mr - md:+.3f} ms, p99 {pr - pd:+.3f} ms"
    )
    return mr - md, pr - pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--no-meter", action="store_true", help="diagnostic: drop usage records (not the target)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for latency in (0.0, 20.0):
            proc, root = start_sim(partial(_configure, latency_ms=latency))
            try:
                one = asyncio.run(run_phase(root, args.rounds, 1, Path(tmp), args.no_meter))
                _, p99_1 = report(f"latency {latency:g} ms, 1 at a time", one)
                many = asyncio.run(
                    run_phase(root, args.rounds * 2, args.concurrency, Path(tmp), args.no_meter)
                )
                _, p99_n = report(f"latency {latency:g} ms, {args.concurrency} concurrent", many)
                ratio = p99_n / p99_1 if p99_1 > 0 else float("inf")
                print(f"  added p99 at {args.concurrency} / added p99 at 1 = {ratio:.2f}x (target <= 3x)")
            finally:
                proc.terminate()
                proc.join(10)


if __name__ == "__main__":
    main()
