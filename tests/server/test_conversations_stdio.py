"""A conversation outlives the server: three turns through a real `serve` subprocess over stdio,
stopped and started again on the same database between turns 2 and 3, switching from the OpenAI
wire to Anthropic's on turn 3; then the CLI lists, shows and deletes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_router.sim import Simulator


def _params(env: dict[str, str]) -> StdioServerParameters:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    child = {**keep, **env, "MCP_ROUTER_REFRESH_S": "0"}
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_router", "serve"], env=child)


async def _turn(client: Client, **args: Any) -> dict[str, Any]:
    result = await client.call_tool("complete", args)
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None and data["conversation_id"] in result.content[-1].text  # type: ignore[union-attr]
    return data


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return subprocess.run(
        [sys.executable, "-m", "mcp_router", "conversations", *args],
        env={**keep, "MCP_ROUTER_HOME": env["MCP_ROUTER_HOME"]},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.anyio
async def test_three_turns_across_a_restart_switching_protocol(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    openai = {"model": "openai/gpt-4o-mini"}
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(_params(env), errlog=errlog), mode="legacy") as client:
            one = await _turn(client, prompt="Pick a harbour town.", system="Be brief.", **openai)
            cid = one["conversation_id"]
            two = await _turn(
                client, prompt="Why that one?", system="Be brief.", conversation_id=cid, **openai
            )
            assert two["conversation_id"] == cid
        # The first server has exited; a new one opens the same database.
        async with Client(stdio_client(_params(env), errlog=errlog), mode="legacy") as client:
            listed = json.loads((await client.read_resource("conversations://")).contents[0].text)  # type: ignore[union-attr]
            assert [(c["id"], c["turns"], c["title"]) for c in listed] == [(cid, 2, "Pick a harbour town.")]
            three = await _turn(
                client,
                prompt="Summarise our chat.",
                conversation_id=cid,
                model="anthropic/claude-haiku-4.5",
                provider={"only": ["anthropic"]},
            )
            assert three["conversation_id"] == cid and three["provider"] == "anthropic"
            shown = json.loads((await client.read_resource(f"conversations://{cid}")).contents[0].text)  # type: ignore[union-attr]
            assert shown["models"] == ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"]
            assert [t["provider"] for t in shown["turn_list"]] == ["openai", "openai", "anthropic"]

    body = sim.requests("anthropic", "claude-haiku-4-5-20251001")[-1].body
    assert body is not None and body["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    sent = [
        (m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"])
        for m in body["messages"]
    ]
    assert sent == [
        ("user", "Pick a harbour town."),
        ("assistant", one["text"]),
        ("user", "Why that one?"),
        ("assistant", two["text"]),
        ("user", "Summarise our chat."),
    ]
    # The OpenAI turns 1-2 were sent the history too; the system prompt is stored once.
    second = sim.requests("openai", "gpt-4o-mini")[-1].body
    assert second is not None and [m["role"] for m in second["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]

    listed = _cli(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(c["id"], c["client"], c["turns"]) for c in json.loads(listed.stdout)] == [(cid, "default", 3)]
    assert json.loads(_cli(env, "list", "--json", "--client", "someone-else").stdout) == []
    table = _cli(env, "list")
    assert cid in table.stdout and "Pick a harbour town." in table.stdout
    shown_cli = _cli(env, "show", cid)
    assert (
        shown_cli.returncode == 0 and "turn 3: anthropic/claude-haiku-4.5 via anthropic" in shown_cli.stdout
    )
    assert json.loads(_cli(env, "show", cid, "--json").stdout)["turns"] == 3
    assert _cli(env, "delete", cid).returncode == 0
    gone = _cli(env, "show", cid)
    assert gone.returncode == 1 and "not found" in gone.stderr and "Traceback" not in gone.stderr
    assert json.loads(_cli(env, "list", "--json").stdout) == []
