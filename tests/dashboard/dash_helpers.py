"""Helpers for the dashboard tests: a real `serve --transport http` subprocess and MCP traffic."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.registry import PROVIDERS


def serve_env(sim_env: Mapping[str, str], home: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without provider or mcp-router settings, plus the sim's."""
    drop = {v for p in PROVIDERS for v in (*p.key_env, p.base_url_env)}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MCP_ROUTER_")}
    env.update(sim_env)
    env.update({"MCP_ROUTER_HOME": str(home), "MCP_ROUTER_REFRESH_S": "0", "MCP_ROUTER_LOG_LEVEL": "ERROR"})
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`mcp-router serve --transport http` on a free loopback port; yields its root URL once it
    answers (polled: the subprocess gives no other signal), stopped with SIGTERM afterwards."""
    port = _free_port()
    argv = [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", str(port)]
    with log.open("w") as errors:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx2.get(f"{url}/assets/dashboard.css", timeout=5)
                    break
                except httpx2.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


async def _calls(url: str, token: str | None, calls: list[dict[str, Any]]) -> list[Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=60)
    results = []
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
        for args in calls:
            result = await client.call_tool("complete", args)
            results.append(result)
    return results


def complete(url: str, calls: list[dict[str, Any]], token: str | None = None) -> list[Any]:
    """Run `complete` calls through a real MCP client session; returns the raw results. In a
    thread of its own: sync Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, _calls, url, token, calls).result()


def answered(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content
    return data
