"""Helpers for the dashboard tests: a real `serve --transport http` subprocess and MCP traffic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.registry import PROVIDERS

LISTENING = re.compile(r"serving MCP at (http://127\.0\.0\.1:\d+)/mcp")


def serve_env(sim_env: Mapping[str, str], home: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without provider or mcp-router settings, plus the sim's."""
    drop = {v for p in PROVIDERS for v in (*p.key_env, p.base_url_env)}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MCP_ROUTER_")}
    env.update(sim_env)
    env.update({"MCP_ROUTER_HOME": str(home), "MCP_ROUTER_REFRESH_S": "0", "MCP_ROUTER_LOG_LEVEL": "ERROR"})
    env.update(extra)
    return env


def _copy(lines: IO[str], log: IO[str]) -> None:
    for line in lines:
        log.write(line)
        log.flush()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`mcp-router serve --transport http --port 0`; yields its root URL as soon as it prints the
    address it listens on (its stderr goes on to `log`), stopped with SIGTERM afterwards."""
    argv = [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"]
    with log.open("w") as errors:
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=errors, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        copier = threading.Thread(target=_copy, args=(process.stderr, errors), daemon=True)
        try:
            url = None
            for line in process.stderr:
                errors.write(line)
                found = LISTENING.search(line)
                if found:
                    url = found.group(1)
                    break
            if url is None:
                errors.flush()
                raise RuntimeError(f"serve exited before listening: {log.read_text()[-2000:]}")
            copier.start()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
            if copier.is_alive():
                copier.join(timeout=30)  # the pipe ends with the process


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
