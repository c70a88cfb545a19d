"""The `mcp-router` command: a thin click group over the library.

Each subcommand imports what it needs inside its body so `mcp-router --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mcp_router import __version__


@click.group()
@click.version_option(__version__, prog_name="mcp-router")
def main() -> None:
    """One MCP gateway to every LLM provider."""
    # Once, before any command: logs go to stderr (structlog's default is stdout, which would
    # corrupt `--json` output and the stdio MCP channel). Not reached for --help/--version.
    import os

    from mcp_router.log import configure_logging

    configure_logging(os.environ)


@main.command()
@click.option("--since", default=None, help="ISO time, or a span back from now: 24h, 7d, 30d; or 'today'.")
@click.option("--until", default=None, help="End of the window (exclusive); same forms as --since.")
@click.option(
    "--group-by",
    type=click.Choice(["model", "provider", "day", "client"]),
    default="model",
    show_default=True,
)
@click.option("--client", default=None, help="Only this client's requests.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def usage(
    since: str | None, until: str | None, group_by: str, client: str | None, limit: int, as_json: bool
) -> None:
    """Usage and cost from the local database (MCP_ROUTER_DB)."""
    from datetime import UTC, datetime

    import anyio

    from mcp_router.errors import MeteringError
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_store_location
    from mcp_router.metering.render import render_report
    from mcp_router.metering.reports import UsageReport

    async def read() -> UsageReport:
        store = open_store(default_store_location())
        try:
            return await store.usage_report(
                since=since, until=until, group_by=group_by, client=client, limit=limit, now=datetime.now(UTC)
            )
        finally:
            await store.aclose()

    try:
        report = anyio.run(read)
    except MeteringError as exc:  # the database cannot be opened or read
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    click.echo(report.model_dump_json(indent=2) if as_json else render_report(report))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0 picks a free one).")
def simulate(host: str, port: int) -> None:
    """Run the simulated providers (OpenAI, Anthropic, Gemini, Ollama, OpenRouter, ...) offline."""
    import asyncio

    from mcp_router.sim.serve import serve_forever

    asyncio.run(serve_forever(host, port, click.echo))


# -- server, demo and catalog commands (bodies in mcp_router/commands/) ----------------------------


@main.command()
@click.option("--transport", type=click.Choice(["stdio", "http", "sse"]), default="stdio", show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="HTTP interface (non-loopback needs tokens)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
def serve(transport: str, host: str, port: int) -> None:
    """Serve the MCP tools (stdio by default; Streamable HTTP at /mcp with --transport http)."""
    import anyio

    from mcp_router.commands.serve import run_serve
    from mcp_router.errors import RouterError
    from mcp_router.server.transports import ServeConfigError

    try:
        anyio.run(lambda: run_serve(transport=transport, host=host, port=port))  # type: ignore[arg-type]
    except (ServeConfigError, RouterError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def demo() -> None:
    """The whole product offline: simulated providers, a real MCP session, every tool."""
    from mcp_router.commands.demo import run_demo

    raise SystemExit(run_demo(click.echo))


def _print(result: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    import json

    if as_json:
        dump = getattr(result, "model_dump_json", None)
        click.echo(dump(indent=2) if dump else json.dumps(result, indent=2, default=str))
    else:
        click.echo(render(result))


@main.command()
@click.option("--query", "-q", default=None, help="Words that must appear in the id or name.")
@click.option("--provider", default=None)
@click.option(
    "--capability", "capabilities", multiple=True, help="tools, json_mode, json_schema, vision, ..."
)
@click.option("--max-input-price", type=float, default=None, help="USD per 1M input tokens.")
@click.option("--max-output-price", type=float, default=None, help="USD per 1M output tokens.")
@click.option("--min-context", type=int, default=None)
@click.option("--all", "show_all", is_flag=True, help="Include models no configured provider serves.")
@click.option(
    "--sort", type=click.Choice(["name", "price", "context", "latency", "throughput"]), default="name"
)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def models(
    query: str | None,
    provider: str | None,
    capabilities: tuple[str, ...],
    max_input_price: float | None,
    max_output_price: float | None,
    min_context: int | None,
    show_all: bool,
    sort: str,
    limit: int,
    as_json: bool,
) -> None:
    """Search the model catalog (the list_models tool)."""
    import anyio

    from mcp_router.commands.info import models_command, render_models
    from mcp_router.server.requests import InvalidToolInput

    query_args = {
        "query": query, "provider": provider, "capabilities": list(capabilities) or None,
        "max_input_price": max_input_price, "max_output_price": max_output_price, "min_context": min_context,
        "available_only": not show_all, "sort": sort, "limit": limit,
    }  # fmt: skip
    try:
        result = anyio.run(lambda: models_command(None, **query_args))
    except InvalidToolInput as exc:
        raise click.BadParameter(str(exc)) from exc
    _print(result, as_json, render_models)
    if not show_all and not result.total:
        click.echo(
            "No configured provider serves a matching model: `--all` searches the whole catalog; "
            "`mcp-router doctor` shows which providers are configured.",
            err=True,
        )


@main.command()
@click.argument("prompt", required=False)
@click.option("--input-tokens", type=int, default=None, help="Instead of a prompt.")
@click.option("--output-tokens", type=int, default=500, show_default=True)
@click.option("--model", "models", multiple=True, help="Only these models (repeatable).")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def estimate(
    prompt: str | None, input_tokens: int | None, output_tokens: int, models: tuple[str, ...], limit: int,
    as_json: bool,
) -> None:  # fmt: skip
    """Estimate a prompt's cost per model, cheapest first (reads stdin when PROMPT is '-')."""
    import anyio

    from mcp_router.commands.info import estimate_command, render_estimate
    from mcp_router.errors import RouterError
    from mcp_router.server.requests import InvalidToolInput

    if prompt == "-":
        import sys

        prompt = sys.stdin.read()
    args = {"prompt": prompt, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "models": list(models) or None, "limit": limit}  # fmt: skip
    try:
        result = anyio.run(lambda: estimate_command(None, **args))
    except (InvalidToolInput, RouterError) as exc:
        raise click.BadParameter(str(exc)) from exc
    _print(result, as_json, render_estimate)


@main.group()
def catalog() -> None:
    """The model catalog."""


@catalog.command("refresh")
@click.option("--json", "as_json", is_flag=True)
def catalog_refresh(as_json: bool) -> None:
    """Fetch every configured provider's model list now (cached for the next start)."""
    import anyio

    from mcp_router.commands.info import refresh_command, render_refresh

    _print(anyio.run(refresh_command), as_json, render_refresh)


@main.command()
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds per provider probe.")
@click.option("--json", "as_json", is_flag=True)
def doctor(timeout: float, as_json: bool) -> None:
    """Providers configured and reachable, catalog age, database path and size, cooldowns."""
    import anyio

    from mcp_router.commands.info import doctor_command, render_doctor

    _print(anyio.run(lambda: doctor_command(timeout_s=timeout)), as_json, render_doctor)


@main.command()
@click.argument("prompt", required=False)
@click.option("--model", default=None, help="Model id, alias, `auto`, or with :floor / :nitro.")
@click.option("--models", "models", multiple=True, help="Fallback chain: a,b,c (repeatable).")
@click.option("--sort", type=click.Choice(["price", "latency", "throughput"]), default=None)
@click.option("--provider-only", "only", multiple=True, help="Only these providers: a,b (repeatable).")
@click.option("--provider-ignore", "ignore", multiple=True, help="Never these providers (repeatable).")
@click.option("--provider-order", "order", multiple=True, help="These providers first, in order.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True)
def plan(
    prompt: str | None, model: str | None, models: tuple[str, ...], sort: str | None, only: tuple[str, ...],
    ignore: tuple[str, ...], order: tuple[str, ...], max_tokens: int | None, as_json: bool,
) -> None:  # fmt: skip
    """Dry run: the endpoints a request would try, in order, and why others are excluded.
    Calls no provider (reads stdin when PROMPT is '-')."""
    import anyio
    from pydantic import ValidationError

    from mcp_router.commands.plan import plan_command, render_plan
    from mcp_router.errors import RouterError

    if prompt == "-":
        import sys

        prompt = sys.stdin.read()
    args = {"prompt": prompt or "", "model": model, "models": models, "sort": sort, "only": only,
            "ignore": ignore, "order": order, "max_tokens": max_tokens}  # fmt: skip
    try:
        result = anyio.run(lambda: plan_command(None, **args))  # type: ignore[arg-type]
    except (ValidationError, RouterError) as exc:
        raise click.BadParameter(str(exc)) from exc
    _print(result, as_json, render_plan)
