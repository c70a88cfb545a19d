"""What an agent pays for in context: o200k tokens (exact, quicktok) of the `tools/list` answer,
the `catalog://models` resource and typical tool answers, with every simulated provider configured.

    .venv/bin/python bench/agent_view.py

Prints one line per figure: characters and tokens. Budgets (issue "The agent's view"):
`tools/list` <= 2,500 tokens, `catalog://models` <= 8,000. Deterministic: no timing involved.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

import anyio
import quicktok
from mcp.client import Client

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator

O200K = quicktok.get_encoding("o200k_base")


def line(label: str, text: str) -> None:
    print(f"{label:<40} {len(text):>8} chars {len(O200K.encode(text)):>7} tokens")


def as_sent(result: Any) -> str:
    body = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": body}, separators=(",", ":"))


async def main() -> None:
    sim = Simulator()
    async with sim.running():
        env = {**sim.env(), "MCP_ROUTER_HOME": tempfile.mkdtemp()}
        folder = tempfile.mkdtemp()
        async with Router.from_env(env, file_roots=[folder]) as router:
            for mode in ("legacy", "auto"):
                async with Client(build_server(router), mode=mode) as client:
                    line(f"tools/list ({mode})", as_sent(await client.list_tools()))
            async with Client(build_server(router), mode="legacy") as client:
                catalog = (await client.read_resource("catalog://models")).contents[0].text  # type: ignore[union-attr]
                line("catalog://models", catalog)
                listed = await client.call_tool("list_models", {})
                line("list_models {} text", listed.content[0].text)  # type: ignore[union-attr]
                line(
                    "list_models {} structured (compact)",
                    json.dumps(listed.structured_content, separators=(",", ":")),
                )
                done = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
                line("complete text", done.content[0].text)  # type: ignore[union-attr]
                line("complete answer alone", (done.structured_content or {}).get("text", ""))
                sim.set_profile("openai", "gpt-4o-mini", reply=" ".join(f"word{i}" for i in range(2000)))
                long = {"prompt": "Write a report.", "model": "openai/gpt-4o-mini"}
                inline = await client.call_tool("complete", long)
                line("complete, 2,000-word answer: text", inline.content[0].text)  # type: ignore[union-attr]
                filed = await client.call_tool("complete", long | {"output_file": f"{folder}/report.md"})
                line("  the same with output_file: text", filed.content[0].text)  # type: ignore[union-attr]


if __name__ == "__main__":
    anyio.run(main)
