"""The cap on running background jobs per client (`[jobs] max_running`, README "Long calls"):
the 17th concurrent background call of one client (by default) is a tool error naming the cap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator

pytestmark = pytest.mark.anyio

MODEL = "openai/gpt-4o-mini"


@pytest.mark.parametrize("config", ["", "[jobs]\nmax_running = 4\n"])
async def test_background_calls_past_the_cap_are_refused(
    sim: Simulator, env: dict[str, str], tmp_path: Path, config: str
) -> None:
    cap = 4 if config else 16
    (tmp_path / "router.toml").write_text(config)
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=600_000)  # every job stays running
    results: list[Any] = []
    async with (
        Router.from_env({**env, "MCP_ROUTER_CONFIG": str(tmp_path / "router.toml")}) as router,
        Client(build_server(router)) as client,
    ):
        assert router.max_running_jobs == cap

        async def call() -> None:
            args = {"prompt": "hi", "model": MODEL, "background": True}
            results.append(await client.call_tool("complete", args))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(cap + 1):
                    tg.start_soon(call)
            refused = [r for r in results if r.is_error]
            assert len(refused) == 1 and len(results) == cap + 1, [r.content for r in refused]
            text = refused[0].content[0].text
            assert f"[jobs] max_running = {cap}" in text and "wait for one to finish" in text
