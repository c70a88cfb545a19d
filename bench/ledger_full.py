"""A full usage database: does `complete` hang or refuse, are providers still called, does
`usage_report` answer, and does the router recover by itself when space returns?

    .venv/bin/python bench/ledger_full.py [--calls 40] [--wait 5]

A real Router over the simulator, a MeterWriter with a small queue (64, so "after the queue
filled" comes quickly) and a SQLite store whose `max_page_count` is set to its current size:
a real "database or disk is full" on the next page it needs. Then `--calls` calls one after
another, each given `--wait` seconds before it counts as hung (a hung call is left running: the
writer's wait for room is shielded from cancellation); a `usage_report` likewise; then the
limit is lifted and the time until a call is answered (and recorded) again is measured.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import anyio
import structlog

from mcp_router.core import Message
from mcp_router.errors import RouterError
from mcp_router.metering.writer import MeterWriter
from mcp_router.providers.config import providers_from_env
from mcp_router.providers.factory import build_adapters
from mcp_router.providers.http import make_http_client
from mcp_router.router import Router, owning
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.sim import Simulator

MODEL = "openai/gpt-4o-mini"


def open_store(path: Path) -> Any:
    try:
        from mcp_router.metering.store import SqliteStore  # type: ignore[attr-defined]
    except ImportError:  # before the store interface
        from mcp_router.metering.store import SqliteStore
    return SqliteStore(path)


def watch_writes(store: Any) -> list[float]:
    """Record when batch writes start failing (the list gets the time of the first failure)."""
    real = store.write_batch
    failed: list[float] = []

    def write_batch(records: Any) -> int:
        try:
            return int(real(records))
        except Exception:
            if not failed:
                failed.append(time.perf_counter())
            raise

    store.write_batch = write_batch
    return failed


def set_full(store: Any, full: bool) -> None:
    """Cap the file at its current size (full) or lift the cap."""
    limit = getattr(store, "limit_size", None)
    if limit is not None:
        limit(0 if full else None)  # 0: no growth beyond the current size
        return
    conn = store.db.conn  # before the store interface: the pragma on its connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages if full else 1_073_741_823}")


async def timed(tg: Any, fn: Any, wait: float) -> tuple[str, float]:
    """('ok' | error text | 'hung', seconds) for one awaitable factory, given `wait` seconds;
    a hung call is left running in `tg` (its wait may be shielded from cancellation)."""
    done = anyio.Event()
    outcome: list[str] = []
    t0 = time.perf_counter()

    async def run() -> None:
        try:
            await fn()
            outcome.append("ok")
        except RouterError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")
        done.set()

    tg.start_soon(run)
    with anyio.move_on_after(wait):
        await done.wait()
    took = time.perf_counter() - t0
    return (outcome[0] if done.is_set() else "hung"), took


async def main(calls: int, wait: float) -> None:
    sim = Simulator()
    async with sim.running():
        http = make_http_client()
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            store = open_store(Path(tmp) / "usage.db")
            failed = watch_writes(store)
            meter = MeterWriter(store, flush_interval_s=0.01, max_queue=64, retry_backoff_s=0.1)
            router = Router(
                _catalog(),
                build_adapters(providers_from_env(sim.env()), http),
                meter=meter,
                policy=RoutingPolicy(first_token_timeout_s=5.0),
                rng=Random(0),
                resources=owning(http),
                store=store,
            )
            req = RouteRequest(
                messages=[Message(role="user", content="hi")],
                model=MODEL,
                provider=ProviderPreferences(only=["openai"]),
                max_tokens=20,
            )
            async with router, anyio.create_task_group() as tg:
                for _ in range(5):
                    await router.complete(req)
                await router.flush_metering()
                set_full(store, True)
                outcomes: list[tuple[str, float, bool]] = []  # (outcome, seconds, after a failed write)
                hung = 0
                hits_at_failure = None
                for _ in range(calls):
                    after = bool(failed)
                    if after and hits_at_failure is None:
                        hits_at_failure = sim.hits("openai", "gpt-4o-mini")
                    res, took = await timed(tg, lambda: router.complete(req), wait)
                    outcomes.append((res, took, after))
                    hung += res == "hung"
                    if hung >= 2:
                        break
                late = [(o, t) for o, t, after in outcomes if after]
                hits = sim.hits("openai", "gpt-4o-mini") - (hits_at_failure or 0)
                answered = sum(o == "ok" for o, _ in late)
                refused = [(o, t) for o, t in late if o not in ("ok", "hung")]
                print(
                    f"{len(outcomes) - len(late)} calls answered before the first failed write; "
                    f"then {len(late)} calls: {answered} answered (not recordable), {len(refused)} refused, "
                    f"{hung} hung (> {wait:.0f} s); provider calls made after the failure: "
                    f"{hits if hits_at_failure is not None else 0}"
                )
                if refused:
                    med = statistics.median(t for _, t in refused) * 1000
                    print(f"  first refusal: {refused[0][0][:160]}...")
                    print(f"  time to refuse: median {med:.2f} ms")
                if hung:
                    first_hung = next(i for i, (o, _) in enumerate(late) if o == "hung")
                    print(f"  first hang: call {first_hung + 1} after the failure")

                async def report() -> None:
                    await router.flush_metering()
                    try:
                        await router.store.usage_report(now=datetime.now(UTC))
                    except AttributeError:  # before the store interface: the sync report
                        from mcp_router.metering.reports import usage_report

                        await anyio.to_thread.run_sync(
                            lambda: usage_report(router.store, now=datetime.now(UTC))
                        )

                rep, took = await timed(tg, report, wait)
                print(f"usage_report while full: {rep[:120]} in {took * 1000:.0f} ms")
                set_full(store, False)
                t0 = time.perf_counter()
                recovered = None
                while time.perf_counter() - t0 < 30:
                    res, _ = await timed(tg, lambda: router.complete(req), wait)
                    if res == "ok":
                        recovered = time.perf_counter() - t0
                        break
                    await anyio.sleep(0.05)
                print(
                    "recovery: "
                    + (
                        f"a call answered {recovered * 1000:.0f} ms after space returned"
                        if recovered is not None
                        else "none within 30 s"
                    )
                )
                await router.flush_metering()
                print(f"writer: committed {meter.committed}, pending {meter.pending}")
                tg.cancel_scope.cancel()


def _catalog() -> Any:
    from mcp_router.catalog.catalog import Catalog

    return Catalog.load_bundled()


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--wait", type=float, default=5.0)
    args = ap.parse_args()
    anyio.run(main, args.calls, args.wait)
