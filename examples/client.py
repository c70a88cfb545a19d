"""Talk to mcp-router from Python through a real MCP session (stdio).

OPENAI_API_KEY=... python examples/client.py
# or offline, against the simulator:  mcp-router simulate --port 9999  (then export its env)
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main() -> None:
    # The server reads its provider keys from the environment; pass ours on (the SDK otherwise
    # hands a child process only a few safe variables such as PATH and HOME).
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_router", "serve"], env=dict(os.environ)
    )
    async with Client(stdio_client(params, errlog=sys.stderr)) as client:
        models = await client.call_tool(
            "list_models", {"capabilities": ["json_mode"], "sort": "price", "limit": 5}
        )
        for m in (models.structured_content or {}).get("models", []):
            print(f"{m['id']:<45} in ${m['pricing']['input']}/M  out ${m['pricing']['output']}/M")

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  ... {message}", file=sys.stderr)

        result = await client.call_tool(
            "complete",
            {"prompt": "Name three uses of a model router.", "model": "auto", "max_tokens": 200},
            progress_callback=progress,
        )
        if result.is_error:
            sys.exit(f"error: {result.content[0].text}")  # type: ignore[union-attr]
        answer = result.structured_content or {}
        print(f"\n{answer['model']} via {answer['provider']} (${answer['cost_usd']}):\n{answer['text']}")


if __name__ == "__main__":
    anyio.run(main)
