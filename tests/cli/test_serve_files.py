"""Over HTTP the server reads no local file unless `[files] roots` allows it, even in its own
folder (a real `serve --transport http` subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import clean_env
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

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
async def test_http_reads_only_configured_roots(tmp_path: Path) -> None:
    work, shared = tmp_path / "work", tmp_path / "shared"
    work.mkdir()
    shared.mkdir()
    (work / "here.png").write_bytes(png(2, 3))
    (shared / "ok.png").write_bytes(png(2, 3))
    config = tmp_path / "config.toml"
    config.write_text(f'[files]\nroots = ["{shared}"]\n')
    with Simulator().in_thread() as sim:
        env = clean_env(tmp_path / "home", **sim.env(), MCP_ROUTER_CONFIG=str(config))
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"],
            env=env,
            cwd=work,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            url = next(m.group(1) for line in proc.stderr if (m := re.search(r"(http://\S+/mcp)", line)))
            async with Client(streamable_http_client(url)) as session:
                own_folder = await session.call_tool("complete", ask(work / "here.png"))
                configured = await session.call_tool("complete", ask(shared / "ok.png"))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert own_folder.is_error
    assert "here.png: outside the folders local files may be read from" in str(own_folder.content[0])
    assert not configured.is_error, configured.content
    assert "[saw image/png 2x3]" in configured.structured_content["text"]  # type: ignore[index]


@pytest.mark.anyio
async def test_http_writes_answers_only_under_configured_roots(tmp_path: Path) -> None:
    work, shared = tmp_path / "work", tmp_path / "shared"
    work.mkdir()
    shared.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[files]\nroots = ["{shared}"]\n')
    args = {"prompt": "Write notes.", "model": "openai/gpt-4o-mini"}
    with Simulator().in_thread() as sim:
        env = clean_env(tmp_path / "home", **sim.env(), MCP_ROUTER_CONFIG=str(config))
        proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"],
            env=env,
            cwd=work,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            url = next(m.group(1) for line in proc.stderr if (m := re.search(r"(http://\S+/mcp)", line)))
            async with Client(streamable_http_client(url)) as session:
                own_folder = await session.call_tool("complete", {**args, "output_file": str(work / "a.md")})
                configured = await session.call_tool(
                    "complete", {**args, "output_file": str(shared / "a.md")}
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        hits = sim.hits("openai", "gpt-4o-mini")
    assert own_folder.is_error and "a.md: outside the folders answers may be written to" in str(
        own_folder.content[0]
    )
    assert not (work / "a.md").exists()
    assert not configured.is_error, configured.content
    assert (shared / "a.md").read_text(encoding="utf-8").startswith("Simulated reply")
    assert hits == 1
