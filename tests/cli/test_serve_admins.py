"""`serve` passes the admin clients from the environment to the server: over HTTP a token reads
only its own usage, an admin token reads another client's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from cli_helpers import clean_env
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.sim import Simulator

TOKENS = "laptop:tok-laptop-0123456789abcdef,ops:tok-ops-0123456789abcdef"


async def _usage_of(url: str, token: str, client: str) -> tuple[bool, str]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as session:
        result = await session.call_tool("usage_report", {"client": client})
        return result.is_error, str(result.content[0])


@pytest.mark.anyio
async def test_admins_from_the_environment_reach_the_served_tools(tmp_path: Path) -> None:
    with Simulator().in_thread() as sim:
        env = clean_env(tmp_path, **sim.env(), MCP_ROUTER_TOKENS=TOKENS, MCP_ROUTER_ADMINS="ops")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"],
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            url = next(m.group(1) for line in proc.stderr if (m := re.search(r"(http://\S+/mcp)", line)))
            refused, text = await _usage_of(url, "tok-laptop-0123456789abcdef", "ops")
            assert refused and "only its own usage" in text
            refused, text = await _usage_of(url, "tok-ops-0123456789abcdef", "laptop")
            assert not refused, text
        finally:
            proc.terminate()
            proc.wait(timeout=30)
