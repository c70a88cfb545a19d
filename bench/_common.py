"""Setup the router benchmarks share: the simulator in a process of its own (its own interpreter
and GIL, so it takes no event-loop time or CPU slices from the code being measured), and a timed
direct streamed call to compare the router against."""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx2

if TYPE_CHECKING:
    from mcp_router.sim import Simulator


def _serve(pipe: Any, configure: Callable[[Simulator], None]) -> None:
    from mcp_router.sim import Simulator

    async def main() -> None:
        sim = Simulator()
        configure(sim)
        async with sim.running():
            gc.freeze()  # its full collections would read as the router's tail latency
            pipe.send(sim.root_url)
            await asyncio.Event().wait()

    asyncio.run(main())


def start_sim(configure: Callable[[Simulator], None]) -> tuple[mp.Process, str]:
    """Start a simulator set up by `configure` (picklable: a module-level function or a partial
    of one) in a spawned process; returns the process and the simulator's root URL."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, configure), daemon=True)
    proc.start()
    if not parent.poll(60):
        raise RuntimeError("simulator did not start")
    return proc, parent.recv()


async def timed_stream(
    client: httpx2.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    parse: bool = True,
) -> float:
    """Seconds for one direct streamed POST, read to its end.

    With `parse` (the default) the direct caller does the least a real client must to have the
    answer: decode each SSE `data:` line as JSON and join the content deltas. `parse=False` only
    reads the lines, a lower bound no real caller reaches."""
    t = time.perf_counter()
    parts: list[str] = []
    async with client.stream("POST", url, json=body, headers=headers) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if parse and line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:]).get("choices", ()):
                    parts.append(choice.get("delta", {}).get("content") or "")
    if parse and not "".join(parts):
        raise RuntimeError("direct call returned no text")
    return time.perf_counter() - t
