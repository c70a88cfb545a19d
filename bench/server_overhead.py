"""What the MCP server adds to a completion: `complete` over stdio vs a direct call.

    .venv/bin/python bench/server_overhead.py [N]

All three paths hit the same simulated OpenAI endpoint (`openai/gpt-4o-mini`, zero scripted
latency) and stream the answer, alternating per round so drift hits them equally:
  direct  a streamed chat completion posted with httpx2 straight to the simulator;
  router  `Router.complete` in-process (routing, metering, cost);
  stdio   `complete` through a real MCP client session to `mcp-router serve` (a subprocess).
Reported: medians and the added medians. Budget: stdio adds at most 3 ms over direct.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import anyio
import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_router.core import Message
from mcp_router.log import configure_logging
from mcp_router.router import Router
from mcp_router.routing.types import RouteRequest
from mcp_router.sim import Simulator

PROMPT = "Say hello."


async def bench(n: int) -> None:
    configure_logging({})  # structlog to stderr at WARNING, as in the server
    sim = Simulator()
    async with sim.running():
        with tempfile.TemporaryDirectory() as home:
            env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **sim.env()}
            env |= {"MCP_ROUTER_HOME": home, "MCP_ROUTER_REFRESH_S": "0", "MCP_ROUTER_LOG_LEVEL": "ERROR"}
            url = sim.url("openai") + "/chat/completions"
            headers = {"authorization": f"Bearer {sim.key('openai')}"}
            body = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": PROMPT}],
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            params = StdioServerParameters(
                command=sys.executable, args=["-m", "mcp_router", "serve"], env=env
            )
            args = {"prompt": PROMPT, "model": "openai/gpt-4o-mini"}
            req = RouteRequest(messages=[Message(role="user", content=PROMPT)], model="openai/gpt-4o-mini")
            times: dict[str, list[float]] = {"direct": [], "router": [], "stdio": []}
            with tempfile.TemporaryDirectory() as home2:
                async with (
                    httpx2.AsyncClient() as http,
                    Router.from_env({**env, "MCP_ROUTER_HOME": home2}) as router,
                    Client(stdio_client(params, errlog=sys.stderr), mode="legacy") as client,
                ):

                    async def direct() -> None:
                        async with http.stream("POST", url, json=body, headers=headers) as resp:
                            async for _ in resp.aiter_lines():
                                pass

                    async def routed() -> None:
                        await router.complete(req)

                    async def stdio() -> None:
                        result = await client.call_tool("complete", args)
                        assert not result.is_error, result.content

                    paths = {"direct": direct, "router": routed, "stdio": stdio}
                    for fn in paths.values():  # warm up connections, caches, JIT-free imports
                        for _ in range(20):
                            await fn()
                    for _ in range(n):
                        for name, fn in paths.items():
                            t0 = time.perf_counter()
                            await fn()
                            times[name].append((time.perf_counter() - t0) * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"complete, {n} rounds (median ms): direct {med['direct']:.2f}, router {med['router']:.2f}, "
          f"stdio {med['stdio']:.2f}")  # fmt: skip
    print(f"  router adds {med['router'] - med['direct']:.2f} ms over direct")
    print(f"  MCP stdio server adds {med['stdio'] - med['direct']:.2f} ms over direct (budget 3 ms), "
          f"{med['stdio'] - med['router']:.2f} ms over the in-process router")  # fmt: skip


if __name__ == "__main__":
    anyio.run(bench, int(sys.argv[1]) if len(sys.argv) > 1 else 200)
