"""An agent step that delegates a subtask to the cheapest model able to do it.

The orchestrating agent (say, a frontier model in Claude Code) keeps the hard reasoning and hands
a mechanical subtask — here, extracting structured fields — to whichever model is cheapest among
those that support JSON-schema output, with a hard cost cap and fallbacks.

OPENAI_API_KEY=... GEMINI_API_KEY=... python examples/delegate_cheapest.py
(`mcp-router catalog refresh` first drops models your providers no longer serve; `serve` also
refreshes in the background when its cached lists are missing or older than an hour.)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

TICKET = "Customer Jane Roe (jane@example.com) reports the export button crashes on Safari 17; urgent."
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "browser": {"type": "string"},
        "priority": {"enum": ["low", "normal", "urgent"]},
    },
    "required": ["name", "email", "browser", "priority"],
    "additionalProperties": False,
}


async def delegate(client: Client, task: str) -> dict[str, Any]:
    # 1. Which models can do it? (capability filter, cheapest first)
    listed = await client.call_tool(
        "list_models", {"capabilities": ["json_schema"], "sort": "price", "limit": 10}
    )
    capable = [m["id"] for m in (listed.structured_content or {}).get("models", []) if m["pricing"]]
    # 2. What would it cost on each? (estimate_cost sorts cheapest first and checks the context fits)
    est = await client.call_tool("estimate_cost", {"prompt": task, "models": capable, "output_tokens": 200})
    ranked = [e["model"] for e in (est.structured_content or {})["estimates"] if e["fits_context"]]
    # 3. Delegate: the three cheapest as a fallback chain, capped at a tenth of a cent.
    result = await client.call_tool(
        "complete",
        {
            "system": "Extract the fields. Answer with JSON only.",
            "prompt": task,
            "models": ranked[:3],
            "response_format": {"type": "json_schema", "name": "ticket", "schema": SCHEMA, "strict": True},
            "max_cost_usd": 0.001,
            "max_tokens": 200,
        },
    )
    if result.is_error:
        raise RuntimeError(result.content[0].text)  # type: ignore[union-attr]
    answer = result.structured_content or {}
    print(
        f"delegated to {answer['model']} via {answer['provider']} for ${answer['cost_usd']}", file=sys.stderr
    )
    fields: dict[str, Any] = json.loads(answer["text"])
    return fields


async def main() -> None:
    # The server reads its provider keys from the environment; pass ours on (the SDK otherwise
    # hands a child process only a few safe variables such as PATH and HOME).
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_router", "serve"], env=dict(os.environ)
    )
    async with Client(stdio_client(params, errlog=sys.stderr)) as client:
        print(json.dumps(await delegate(client, TICKET), indent=2))


if __name__ == "__main__":
    anyio.run(main)
