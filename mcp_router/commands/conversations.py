"""`mcp-router conversations list|show ID|delete ID`: the stored conversations of the usage
database (MCP_ROUTER_DB), every client's (a person at the terminal owns the database), or one
client's with `--client` (README "Conversations")."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from mcp_router.commands.errors import RUNTIME, CliError, preflight

T = TypeVar("T")


def _with_conversations(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(conversations)` over the configured usage database, then close it."""
    import anyio

    from mcp_router.conversations import ConversationLimits, ConversationNotFound, Conversations
    from mcp_router.errors import MeteringError
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_store_location

    async def run() -> T:
        store = open_store(default_store_location())
        try:
            return await work(Conversations(store, lambda: int(time.time() * 1000), ConversationLimits()))
        finally:
            await store.aclose()

    preflight()
    try:
        return anyio.run(run)
    except ConversationNotFound as exc:
        where = str(exc).split(":")[0]
        raise CliError(f"{where}: `mcp-router conversations list` shows the ids.", RUNTIME) from exc
    except MeteringError as exc:  # the database cannot be opened or read
        raise click.ClickException(str(exc)) from exc


@click.group()
def conversations() -> None:
    """Stored conversations of `complete` (conversation_id)."""


@conversations.command("list")
@click.option("--client", default=None, help="Only this client's conversations.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_(client: str | None, limit: int, as_json: bool) -> None:
    """Newest first: id, client, turns, last update, title."""
    import json

    from mcp_router.conversations.views import render_list

    rows = _with_conversations(lambda c: c.list(client, limit=limit))
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
    else:
        click.echo(render_list(rows))


@conversations.command("show")
@click.argument("conversation_id")
@click.option("--client", default=None, help="Only if it is this client's.")
@click.option("--json", "as_json", is_flag=True)
def show(conversation_id: str, client: str | None, as_json: bool) -> None:
    """One conversation, turn by turn (text clipped, files by reference)."""
    from mcp_router.conversations.views import render_one

    view = _with_conversations(lambda c: c.show(conversation_id, client))
    click.echo(view.model_dump_json(indent=2) if as_json else render_one(view))


@conversations.command("delete")
@click.argument("conversation_id")
@click.option("--client", default=None, help="Only if it is this client's.")
@click.option("--json", "as_json", is_flag=True)
def delete(conversation_id: str, client: str | None, as_json: bool) -> None:
    """Delete a conversation and its stored files."""
    import json

    _with_conversations(lambda c: c.delete(conversation_id, client))
    click.echo(json.dumps({"deleted": conversation_id}) if as_json else f"deleted {conversation_id}")
