"""Over stdio the server may read local files in the folder the client started it in, and
nowhere else unless configured (a real `mcp-router serve` subprocess)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_router.sim import Simulator
from mcp_router.sim.media import png


def ask(path: Path) -> dict[str, Any]:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": str(path)}},
    ]
    return {
        "messages": [{"role": "user", "content": content}],
        "model": "openai/gpt-4o-mini",
        "max_tokens": 30,
    }


@pytest.mark.anyio
async def test_the_servers_folder_is_readable_over_stdio(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    (work / "shot.png").write_bytes(png(2, 3))
    (tmp_path / "elsewhere.png").write_bytes(png(2, 3))
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_router", "serve"],
        env={**keep, **env, "MCP_ROUTER_REFRESH_S": "0"},
        cwd=str(work),
    )
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            inside = await client.call_tool("complete", ask(work / "shot.png"))
            outside = await client.call_tool("complete", ask(tmp_path / "elsewhere.png"))
    assert not inside.is_error, inside.content
    assert "[saw image/png 2x3]" in inside.structured_content["text"]  # type: ignore[index]
    assert outside.is_error
    text = outside.content[0].text  # type: ignore[union-attr]
    assert str(tmp_path / "elsewhere.png") in text and str(work) in text  # the path and the rule


@pytest.mark.anyio
async def test_answers_are_written_only_under_the_servers_folder_over_stdio(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_router", "serve"],
        env={**keep, **env, "MCP_ROUTER_REFRESH_S": "0"},
        cwd=str(work),
    )
    args = {"prompt": "Write notes.", "model": "openai/gpt-4o-mini"}
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            inside = await client.call_tool("complete", {**args, "output_file": str(work / "notes.md")})
            outside = await client.call_tool("complete", {**args, "output_file": str(tmp_path / "notes.md")})
    assert not inside.is_error, inside.content
    written = (work / "notes.md").read_text(encoding="utf-8")
    assert inside.structured_content["output_file"]["bytes"] == len(written.encode()) > 0  # type: ignore[index]
    assert outside.is_error and not (tmp_path / "notes.md").exists()
    assert sim.hits("openai", "gpt-4o-mini") == 1  # the refused one never reached a model
