"""The real transports: `mcp-router serve` over stdio as a subprocess, and Streamable HTTP on a
random loopback port (Origin validation, bearer tokens as metering clients)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.metering.store import SqliteStore
from mcp_router.server.app import build_server
from mcp_router.server.transports import (
    ServeConfigError,
    bind,
    check_binding,
    http_app,
    parse_tokens,
    uvicorn_server,
)
from mcp_router.sim import Simulator


def sim_keys(sim: Simulator) -> list[str]:
    """Every API key the simulator accepts (the seeded fake keys that must never leak)."""
    return [k for name, k in sim.env().items() if name.endswith("_API_KEY") and k]


def _child_env(env: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {**keep, **env, "MCP_ROUTER_LOG_LEVEL": "DEBUG", "MCP_ROUTER_REFRESH_S": "0"}


@pytest.mark.anyio
async def test_stdio_subprocess_serves_and_never_leaks_keys(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_router", "serve"], env=_child_env(env)
    )
    errlog_path = tmp_path / "stderr.log"
    outputs: list[str] = []
    with errlog_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = await client.list_tools()
            assert len(tools.tools) == 5
            for name, args in [
                ("list_models", {"query": "gpt-4o-mini"}),
                ("complete", {"prompt": "hello", "model": "openai/gpt-4o-mini"}),
                ("complete", {"prompt": "hello", "model": "nosuch/model"}),  # an error path too
                (
                    "compare",
                    {"prompt": "hi", "models": ["anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]},
                ),
                ("usage_report", {}),
            ]:
                result = await client.call_tool(name, args)
                outputs.append(json.dumps(result.model_dump(mode="json", by_alias=True)))
            assert not json.loads(outputs[1])["isError"]
            assert json.loads(outputs[2])["isError"]
    stderr = errlog_path.read_text()
    assert "attempt" in stderr  # DEBUG logging went to stderr (and stdout stayed the MCP channel)
    db = (Path(env["MCP_ROUTER_HOME"]) / "usage.db").read_bytes()
    for key in sim_keys(sim):
        assert key not in stderr
        assert all(key not in out for out in outputs)
        assert key.encode() not in db
    with SqliteStore(Path(env["MCP_ROUTER_HOME"]) / "usage.db") as store:
        clients = {row[0] for row in store.query("select client from requests")}
    assert clients == {"default"}


@asynccontextmanager
async def http_server(
    router: Any, env: dict[str, str], tokens: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """Serve on 127.0.0.1:<random>; the socket listens before uvicorn starts, so no wait is needed."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn_server(http_app(build_server(router, tokens=tokens), host="127.0.0.1", env=env))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.mark.anyio
async def test_streamable_http_serves_and_rejects_foreign_origin(router: Any, env: dict[str, str]) -> None:
    async with http_server(router, env) as url:
        async with Client(url) as client:
            result = await client.call_tool("list_models", {"query": "gpt-4o-mini", "limit": 1})
            assert not result.is_error
        async with httpx2.AsyncClient() as http:
            foreign = await http.post(url, json=INIT, headers={**HEADERS, "origin": "https://evil.example"})
            local = await http.post(url, json=INIT, headers={**HEADERS, "origin": "http://localhost:3000"})
            rebound = await http.post(url, json=INIT, headers={**HEADERS, "host": "evil.example"})
    assert foreign.status_code == 403
    assert local.status_code == 200
    assert rebound.status_code == 421


@pytest.mark.anyio
async def test_streamable_http_requires_a_token_when_configured(router: Any, env: dict[str, str]) -> None:
    tokens = parse_tokens("laptop:tok-laptop-123,ci:tok-ci-456")
    async with http_server(router, env, tokens=tokens) as url:
        async with httpx2.AsyncClient() as http:
            missing = await http.post(url, json=INIT, headers=HEADERS)
            wrong = await http.post(url, json=INIT, headers={**HEADERS, "authorization": "Bearer nope"})
        assert missing.status_code == 401
        assert wrong.status_code == 401
        auth = httpx2.AsyncClient(headers={"authorization": "Bearer tok-ci-456"})
        async with auth, Client(streamable_http_client(url, http_client=auth), mode="legacy") as client:
            done = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
            assert not done.is_error
    await router.aclose()  # flush the meter
    with SqliteStore(Path(env["MCP_ROUTER_HOME"]) / "usage.db") as store:
        assert store.query("select client from requests") == [("ci",)]


def test_non_loopback_binding_requires_tokens() -> None:
    with pytest.raises(ServeConfigError, match="MCP_ROUTER_TOKENS"):
        check_binding("0.0.0.0", {})
    check_binding("0.0.0.0", {"tok-long-enough-1234": "client"})
    check_binding("127.0.0.1", {})
    assert parse_tokens("a:1, b:2") == {"1": "a", "2": "b"}
    with pytest.raises(ServeConfigError):
        parse_tokens("a:")
