"""Where a routed completion's CPU goes, layer by layer, in one process (no MCP, no transport).

    .venv/bin/python bench/hot_path_layers.py [--rounds 7] [--calls 40] [--budget]

The simulator runs in a process of its own (zero scripted latency for `gpt-4o-mini`). This
process runs, at c=16, rounds of `--calls` calls per worker of each layer, interleaved:
  direct  a streamed chat completion with httpx2, read and parsed as a real client would;
  adapter the OpenAI adapter's `stream()` alone, on the router's pool;
  routed  `Router.complete` (plan, attempt, ledger row, receipt);
  conv    `Router.complete(remember=True)`, as the MCP tool calls it (a stored conversation).
It prints this process's CPU per call (all threads: the meter thread's too) for each, medians
over rounds; the differences are what each layer adds. `bench/hot_path.py` measures the whole
server against the issue's targets; this one says where to look.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx2
from _common import start_sim, timed_stream
from hot_path import MODEL, PROMPT, _configure, fan, server_env

from mcp_router.core import CompletionRequest
from mcp_router.router import Router
from mcp_router.routing.types import RouteRequest
from mcp_router.sim.catalogue import provider_url, sim_key

Call = Callable[[], Awaitable[object]]


def layers(router: Router, http: httpx2.AsyncClient, root: str) -> dict[str, Call]:
    url = provider_url(root, "openai") + "/chat/completions"
    headers = {"authorization": f"Bearer {sim_key('openai')}"}
    messages = [{"role": "user", "content": PROMPT}]
    body = {"model": "gpt-4o-mini", "messages": messages, "stream": True}
    body["stream_options"] = {"include_usage": True}
    req = RouteRequest.model_validate({"model": MODEL, "messages": messages, "tool": "complete"})
    creq = CompletionRequest(messages=req.messages)
    adapter = router.adapters["openai"]

    async def direct() -> None:
        await timed_stream(http, url, body, headers)

    async def adapter_only() -> None:
        async for _ in adapter.stream(creq, "gpt-4o-mini"):
            pass

    return {
        "direct": direct,
        "adapter": adapter_only,
        "routed": lambda: router.complete(req),
        "conv": lambda: router.complete(req, remember=True),
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--budget", action="store_true", help='with [budgets.default] and [budgets."*"]')
    a = ap.parse_args()
    proc, root = start_sim(_configure)
    try:
        env = server_env(root, tempfile.mkdtemp(), a.budget)
        limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
        async with (
            Router.from_env(env, env.get("MCP_ROUTER_CONFIG")) as router,
            httpx2.AsyncClient(limits=limits) as http,
        ):
            calls = layers(router, http, root)
            for fn in calls.values():
                await fan(fn, 16, 5)
            gc.collect()
            gc.freeze()  # as `serve` does once its router is up
            cpu: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(a.rounds):
                for name, fn in calls.items():
                    c0 = time.process_time()
                    await fan(fn, 16, a.calls)
                    cpu[name].append((time.process_time() - c0) / (16 * a.calls) * 1000)
        med = {name: statistics.median(v) for name, v in cpu.items()}
        previous = None
        for name, m in med.items():
            step = "" if previous is None else f"  ({m - med[previous]:+.3f} over {previous})"
            print(f"{name:8s} {m:.3f} ms CPU per call at c=16{step}  rounds: "
                  + ", ".join(f"{x:.2f}" for x in cpu[name]))  # fmt: skip
            previous = name
    finally:
        proc.terminate()


if __name__ == "__main__":
    anyio.run(main)
