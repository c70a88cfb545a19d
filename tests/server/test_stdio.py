"""`serve` over stdio through asyncio pipes (mcp_router/server/stdio.py): long lines, many
requests in flight, and a clean exit when the client closes stdin."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_router.server.stdio import MAX_LINE, fast_stdio_possible
from mcp_router.sim import Simulator


def _params(env: dict[str, str]) -> StdioServerParameters:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    child = {**keep, **env, "MCP_ROUTER_REFRESH_S": "0"}
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_router", "serve"], env=child)


@pytest.mark.anyio
async def test_stdio_serves_long_lines_and_concurrent_calls(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    prompt = "word " * 200_000  # a 1 MB request line: far past asyncio's default 64 KiB line limit
    assert len(prompt) < MAX_LINE
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(_params(env), errlog=errlog), mode="legacy") as client:
            estimate = await client.call_tool(
                "estimate_cost", {"prompt": prompt, "models": ["openai/gpt-4o-mini"]}
            )
            assert not estimate.is_error, estimate.content
            assert estimate.structured_content["input_tokens"] > 100_000  # type: ignore[index]
            results: list[bool] = []

            async def one(i: int) -> None:
                r = await client.call_tool("complete", {"prompt": f"hi {i}", "model": "openai/gpt-4o-mini"})
                results.append(r.is_error)

            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(one, i)
            assert results == [False] * 8
    assert sim.hits("openai", "gpt-4o-mini") == 8


def test_fast_stdio_needs_a_running_asyncio_loop() -> None:
    assert fast_stdio_possible() is False  # no loop here: the SDK's own transport serves
