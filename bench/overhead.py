"""Router overhead: paired direct httpx2 calls vs `Router.complete` to the same simulated endpoint.

The simulator runs in a separate process (its own interpreter and GIL), so it does not share the
router's event loop or CPU time slices with the code being measured. Both sides stream the same
chat completion (the router always streams internally) and read it to the end; the router side
includes planning, the adapter, health, metering (a real SQLite store with the batched writer) and
the result model.

How the added latency is measured (robust against the noise of small numbers):
- Pairs. Each worker runs a direct request and a routed one, and the pair gives one *added*
  figure: routed minus direct. Quantiles are taken over those per-pair figures, not as a
  difference of two separately noisy quantiles. By default the two requests of a pair start
  together (`--pairing simultaneous`), so both meet the same event-loop queue and the queueing
  noise of the other workers cancels out; "N concurrent" then means N pairs in flight.
  `--pairing sequential` runs them back to back (order alternating) instead: 1 really is one
  request at a time, but at N workers each side sees different queueing and the tail is mostly
  that noise.
- Interleaved blocks. For each simulated latency, blocks at 1 and at N concurrent workers
  alternate in one event loop with one router, so drift (other processes, CPU frequency, SQLite
  file growth) lands on both concurrency levels alike. At N each worker runs at least
  MIN_PER_WORKER pairs per block: the burst when N workers start at once is a bench artifact
  that would otherwise be a large share of the tail.
- A second reading compares the two distributions instead: p99(router) - p99(direct) at each
  level. Per-pair differences at N carry both sides' queueing noise (it is symmetric: the p1 of
  the differences is as negative as the p99 is positive), so the two readings bracket the truth.
- The ratio "added p99 at N / added p99 at 1" divides by max(added p99 at 1, FLOOR_MS): a p99 of
  a few hundredths of a millisecond at 1 is timer noise, not a baseline worth multiplying.

    .venv/bin/python bench/overhead.py [--pairs 600] [--blocks 6] [--concurrency 16]
        [--pairing simultaneous|sequential] [--no-meter] [--remember]

`--remember` makes every routed call start a stored conversation (what the MCP `complete` tool
does: README "Conversations"), so its cost is in the added figures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

from _common import start_sim, timed_stream

if TYPE_CHECKING:
    from mcp_router.sim import Simulator

MODEL_ID = "openai/gpt-4o-mini"
NATIVE = "gpt-4o-mini"
PROMPT = "Give me one short sentence about routers."
FLOOR_MS = 0.25  # denominator floor for the concurrency ratio
MIN_PER_WORKER = 25  # pairs per worker per block


def _configure(sim: Simulator, latency_ms: float) -> None:
    if latency_ms:
        sim.set_profile("openai", NATIVE, latency_ms=latency_ms)


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


class Bench:
    """One router and one direct client against one simulator, in one event loop."""

    def __init__(
        self,
        root: str,
        tmp: Path,
        no_meter: bool,
        simultaneous: bool,
        parse_direct: bool = True,
        remember: bool = False,
    ) -> None:
        from mcp_router.catalog.catalog import Catalog
        from mcp_router.catalog.models import Endpoint, Model, Pricing
        from mcp_router.core import Message
        from mcp_router.metering.store import SqliteStore
        from mcp_router.metering.writer import MeterWriter
        from mcp_router.providers.config import providers_from_env
        from mcp_router.providers.factory import build_adapters
        from mcp_router.providers.http import make_http_client
        from mcp_router.router import Router, owning
        from mcp_router.routing.types import RouteRequest
        from mcp_router.sim.catalogue import provider_url, sim_key

        self.simultaneous = simultaneous
        self.remember = remember
        self.parse_direct = parse_direct
        self.base = provider_url(root, "openai")
        key = sim_key("openai")
        env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": self.base}
        endpoint = Endpoint(
            provider="openai",
            native_model=NATIVE,
            pricing=Pricing(input=Decimal("0.00000015"), output=Decimal("0.0000006")),
        )
        catalog = Catalog(
            [Model(id=MODEL_ID, name="GPT-4o mini", context_length=128_000, endpoints=(endpoint,))]
        )
        http = make_http_client()
        self.direct_client = make_http_client()
        store = SqliteStore(tmp / f"usage-{time.monotonic_ns()}.db")

        class NullMeter:
            async def record(self, rec: object) -> None:
                return None

        self.router = Router(
            catalog,
            build_adapters(providers_from_env(env), http),
            meter=NullMeter() if no_meter else MeterWriter(store),
            rng=Random(0),
            resources=owning(http),
            store=store,
        )
        self.req = RouteRequest(messages=[Message(role="user", content=PROMPT)], model=MODEL_ID)
        self.body: dict[str, Any] = {
            "model": NATIVE,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self.headers = {"authorization": f"Bearer {key}"}

    async def direct(self) -> float:
        return await timed_stream(
            self.direct_client,
            f"{self.base}/chat/completions",
            self.body,
            self.headers,
            parse=self.parse_direct,
        )

    async def routed(self) -> float:
        t = time.perf_counter()
        res = await self.router.complete(self.req, remember=self.remember)
        assert res.text
        return time.perf_counter() - t

    async def pair(self, router_first: bool) -> tuple[float, float]:
        if self.simultaneous:  # who starts first in the pair alternates too
            if router_first:
                r, d = await asyncio.gather(self.routed(), self.direct())
            else:
                d, r = await asyncio.gather(self.direct(), self.routed())
            return d, r
        if router_first:
            r = await self.routed()
            return await self.direct(), r
        d = await self.direct()
        return d, await self.routed()

    async def block(self, pairs: int, concurrency: int, out: dict[str, list[float]]) -> None:
        per = max(1, pairs // concurrency)

        async def worker(w: int) -> None:
            for i in range(per):
                d, r = await self.pair((i + w) % 2 == 1)
                out["direct"].append(d * 1e3)
                out["router"].append(r * 1e3)
                out["added"].append((r - d) * 1e3)

        await asyncio.gather(*(worker(w) for w in range(concurrency)))


async def run_latency(
    root: str,
    tmp: Path,
    pairs: int,
    blocks: int,
    concurrency: int,
    no_meter: bool,
    simultaneous: bool,
    parse_direct: bool = True,
    remember: bool = False,
) -> dict[int, dict[str, list[float]]]:
    from mcp_router.log import configure_logging

    configure_logging({})  # as the server runs it: WARNING, so per-attempt events are filtered cheaply
    bench = Bench(root, tmp, no_meter, simultaneous, parse_direct, remember)
    results: dict[int, dict[str, list[float]]] = {
        c: {"direct": [], "router": [], "added": []} for c in (1, concurrency)
    }
    async with bench.router:
        warm: dict[str, list[float]] = {"direct": [], "router": [], "added": []}
        await bench.block(40, 1, warm)  # warm both connection pools and code paths
        await bench.block(4 * concurrency, concurrency, warm)
        for _ in range(blocks):
            for c in (1, concurrency):
                await bench.block(max(c * MIN_PER_WORKER if c > 1 else 1, pairs // blocks), c, results[c])
        await bench.direct_client.aclose()
    return results


def report(label: str, data: dict[str, list[float]]) -> float:
    d, r, a = data["direct"], data["router"], data["added"]
    print(
        f"{label:<26} pairs={len(a):<5} direct p50 {q(d, 0.5):7.3f} ms | router p50 {q(r, 0.5):7.3f} ms"
        f" | added p50 {q(a, 0.5):+.3f}  p95 {q(a, 0.95):+.3f}  p99 {q(a, 0.99):+.3f} ms"
    )
    return q(a, 0.99)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=600, help="pairs per level and latency (at least)")
    ap.add_argument("--blocks", type=int, default=6, help="interleaved blocks the pairs are split into")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--pairing", choices=("simultaneous", "sequential"), default="simultaneous")
    ap.add_argument(
        "--raw-direct",
        action="store_true",
        help="direct side only reads SSE lines, decoding nothing (a lower bound no real caller reaches)",
    )
    ap.add_argument("--no-meter", action="store_true", help="diagnostic: drop usage records (not the target)")
    ap.add_argument("--remember", action="store_true", help="each routed call starts a stored conversation")
    args = ap.parse_args()
    n = args.concurrency
    print(
        f"added = routed minus direct, per {args.pairing} pair; >= {args.pairs} pairs per level in "
        f"{args.blocks} interleaved blocks (>= {MIN_PER_WORKER} per worker per block at {n}); "
        f"ratio denominator = max(added p99 at 1, {FLOOR_MS} ms); direct side "
        + ("reads raw lines" if args.raw_direct else "decodes each chunk as a client must")
    )
    with tempfile.TemporaryDirectory() as tmp:
        for latency in (0.0, 20.0):
            proc, root = start_sim(partial(_configure, latency_ms=latency))
            try:
                res = asyncio.run(
                    run_latency(
                        root,
                        Path(tmp),
                        args.pairs,
                        args.blocks,
                        n,
                        args.no_meter,
                        args.pairing == "simultaneous",
                        not args.raw_direct,
                        args.remember,
                    )
                )
            finally:
                proc.terminate()
                proc.join(10)
            unit = " pair(s)" if args.pairing == "simultaneous" else ""
            p99_1 = report(f"latency {latency:g} ms, 1{unit} at a time", res[1])
            p99_n = report(f"latency {latency:g} ms, {n}{unit} concurrent", res[n])
            denom = max(p99_1, FLOOR_MS)
            print(
                f"  added p99 at {n} / max(added p99 at 1, {FLOOR_MS} ms) = {p99_n:.3f} / {denom:.3f}"
                f" = {p99_n / denom:.2f}x (target <= 3x)"
            )
            # The same question asked of the two distributions rather than of per-pair
            # differences: how much later is the router's p99 than the direct call's p99?
            tail_1 = q(res[1]["router"], 0.99) - q(res[1]["direct"], 0.99)
            tail_n = q(res[n]["router"], 0.99) - q(res[n]["direct"], 0.99)
            tail_denom = max(tail_1, FLOOR_MS)
            print(
                f"  p99(router) - p99(direct): at 1 {tail_1:+.3f} ms, at {n} {tail_n:+.3f} ms;"
                f" ratio {tail_n:.3f} / {tail_denom:.3f} = {tail_n / tail_denom:.2f}x"
            )


if __name__ == "__main__":
    main()
