"""MCPB entry point: `mcp-router serve` over stdio, from the unpacked bundle.

The host runs `uv run --directory <bundle> server/main.py` (manifest.json's `mcp_config`): uv
builds an environment from the bundle's pyproject.toml, with `mcp_router` installed in it, and
runs this file there. Arguments after the script name are passed on to `serve`.
"""

import sys

from mcp_router.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]], prog_name="mcp-router")
