"""What the gateway adds to a completion: `/v1/chat/completions` vs a direct call vs MCP `complete`.

    .venv/bin/python bench/gateway.py [--rounds 200]

One `mcp-router serve --transport http` subprocess and one simulator (a process of its own, so
it takes no CPU slices from the server's event loop). Every path hits the same simulated OpenAI
endpoint (`openai/gpt-4o-mini`, zero scripted latency); the rounds interleave the paths (their
order rotating) so drift lands on all alike:
  direct   a streamed chat completion posted with httpx2 straight to the simulator;
  gateway  the same body (model `openai/gpt-4o-mini`) streamed from the gateway's
           `/v1/chat/completions`, read and parsed to the end;
  gw-json  the same without `stream` (one JSON answer);
  mcp      `complete` through a real MCP client session over Streamable HTTP (`/mcp`).
Reported: medians and the median added over direct.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx2
from _common import start_sim, timed_stream
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

PROMPT = "Say hello."
LISTENING = re.compile(r"serving MCP at (http://127\.0\.0\.1:\d+)/mcp")


def _configure(sim: object) -> None:
    """The simulator as shipped (picklable for the spawned simulator process)."""


def _env_for(root: str, home: str) -> dict[str, str]:
    from mcp_router.sim.catalogue import ENV_NAMES, provider_url, sim_key

    out = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    for provider, prefix in ENV_NAMES.items():
        out[f"{prefix}_API_KEY"] = sim_key(provider)
        out[f"{prefix}_BASE_URL"] = provider_url(root, provider)
    out |= {"OLLAMA_HOST": root, "MCP_ROUTER_HOME": home, "MCP_ROUTER_REFRESH_S": "0"}
    return out | {"MCP_ROUTER_LOG_LEVEL": "ERROR"}


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        found = LISTENING.search(line)
        if found:
            threading.Thread(target=lambda: [None for _ in proc.stderr or ()], daemon=True).start()
            return proc, found.group(1)
    raise RuntimeError("serve did not start")


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    t = time.perf_counter()
    await call()
    return time.perf_counter() - t


async def bench(rounds: int) -> None:
    sim_proc, root = start_sim(_configure)
    with tempfile.TemporaryDirectory() as home:
        proc, url = _serve(_env_for(root, home))
        try:
            await _rounds(rounds, root, url)
        finally:
            proc.terminate()
            proc.wait(30)
            sim_proc.terminate()


async def _rounds(rounds: int, root: str, url: str) -> None:
    from mcp_router.sim.catalogue import provider_url, sim_key

    body = {
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    direct_url = provider_url(root, "openai") + "/chat/completions"
    key = {"authorization": f"Bearer {sim_key('openai')}"}
    gw_body = {**body, "model": "openai/gpt-4o-mini"}
    json_body = {"model": "openai/gpt-4o-mini", "messages": body["messages"]}
    async with httpx2.AsyncClient(timeout=60) as http, Client(streamable_http_client(f"{url}/mcp")) as mcp:

        async def gw_json() -> None:
            (await http.post(f"{url}/v1/chat/completions", json=json_body)).raise_for_status()

        async def mcp_call() -> None:
            result = await mcp.call_tool("complete", {"prompt": PROMPT, "model": "openai/gpt-4o-mini"})
            assert not result.is_error, result.content

        paths: dict[str, Callable[[], Awaitable[object]]] = {
            "direct": lambda: timed_stream(http, direct_url, {**body, "model": "gpt-4o-mini"}, key),
            "gateway": lambda: timed_stream(http, f"{url}/v1/chat/completions", gw_body, {}),
            "gw-json": gw_json,
            "mcp": mcp_call,
        }
        for call in paths.values():  # warm up: connections, imports, the first plan
            for _ in range(5):
                await call()
        times: dict[str, list[float]] = {name: [] for name in paths}
        names = list(paths)
        for i in range(rounds):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                times[name].append(await _timed(paths[name]))
    _report(times, rounds)


def _report(times: dict[str, list[float]], rounds: int) -> None:
    med = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    print(f"{rounds} interleaved rounds; median ms per call (added over direct):")
    for name, ms in med.items():
        extra = "" if name == "direct" else f"  (+{ms - med['direct']:.2f} ms)"
        print(f"  {name:8s} {ms:7.2f}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    anyio.run(bench, parser.parse_args().rounds)


if __name__ == "__main__":
    main()
