"""The `mcp-router` command: a thin click group over the library.

Each subcommand imports what it needs inside its body so `mcp-router --help` stays fast.
"""

from __future__ import annotations

import click

from mcp_router import __version__


@click.group()
@click.version_option(__version__, prog_name="mcp-router")
def main() -> None:
    """One MCP gateway to every LLM provider."""
