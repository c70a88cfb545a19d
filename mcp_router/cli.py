"""The `mcp-router` command: a thin click group over the library.

Each subcommand imports what it needs inside its body so `mcp-router --help` stays fast. Errors a
person can fix leave as one line with exit code 2 (configuration) or 1 (runtime): the group's
`invoke` hands every exception to `commands.errors.cli_error`, the one place they are mapped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from mcp_router import __version__
from mcp_router.commands.conversations import conversations
from mcp_router.commands.errors import preflight as _preflight
from mcp_router.commands.jobs import jobs
from mcp_router.commands.keys import keys
from mcp_router.commands.routing_cli import ask, plan


class _Main(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except BaseException as exc:
            from mcp_router.commands.errors import cli_error

            sub = ctx.invoked_subcommand
            command = self.commands.get(sub) if sub else None
            mapped = cli_error(exc, os.environ, command.params if command else ())
            if mapped is None:
                raise
            raise mapped from exc


@click.group(cls=_Main)
@click.version_option(__version__, prog_name="mcp-router")
@click.pass_context
def main(ctx: click.Context) -> None:
    """One MCP gateway to every LLM provider."""
    # Once, before any command: logs go to stderr (structlog's default is stdout, which would
    # corrupt `--json` output and the stdio MCP channel). Not reached for --help/--version.
    from mcp_router.environment import check_log_level
    from mcp_router.log import configure_logging

    if ctx.invoked_subcommand != "doctor":  # doctor reports a bad level among its findings
        check_log_level(os.environ)
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

    _preflight()
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
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the `export` lines to this file once listening (for scripts).",
)
def simulate(host: str, port: int, env_file: str | None) -> None:
    """Run the simulated providers (OpenAI, Anthropic, Gemini, Ollama, OpenRouter, ...) offline."""
    import asyncio

    from mcp_router.sim.serve import serve_forever

    _preflight(router=False)
    try:
        asyncio.run(serve_forever(host, port, click.echo, env_file=env_file))
    except OSError as exc:
        mapped = _listen_error(exc, host, port)
        if mapped is None:
            raise
        raise mapped from exc


def _listen_error(exc: OSError, host: str, port: int) -> Exception | None:
    """The one-line error for a socket that cannot listen, or None for other OSErrors."""
    import errno

    from mcp_router.commands.errors import CONFIG, RUNTIME, CliError

    if exc.errno == errno.EADDRINUSE:
        return CliError(
            f"port {port} on {host} is already in use: stop the program using it, or pass another "
            "--port (--port 0 picks a free one).",
            RUNTIME,
        )
    if exc.errno in (errno.EACCES, errno.EADDRNOTAVAIL):
        return CliError(f"cannot listen on {host}:{port} ({exc.strerror}): change --host or --port.", CONFIG)
    return None


# -- server, demo and catalog commands (bodies in mcp_router/commands/) ----------------------------

_SERVE_HINT = (
    'mcp-router serve speaks MCP on stdin/stdout: an MCP client starts it (README "Client setup"). '
    "To try it here, run `mcp-router demo`; Ctrl+C to stop."
)


@main.command()
@click.option("--transport", type=click.Choice(["stdio", "http", "sse"]), default="stdio", show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="HTTP interface (non-loopback needs tokens)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
def serve(transport: str, host: str, port: int) -> None:
    """Serve the MCP tools (stdio by default; Streamable HTTP at /mcp with --transport http, beside
    the OpenAI- and Anthropic-compatible API at /v1)."""
    import anyio

    from mcp_router.commands.errors import unwrap
    from mcp_router.commands.serve import run_serve

    _preflight(serve=True)
    if transport == "stdio" and sys.stdin.isatty():
        click.echo(_SERVE_HINT, err=True)

    def listening(url: str) -> None:
        click.echo(f"mcp-router: serving MCP at {url} (Ctrl+C to stop)", err=True)
        if transport != "stdio":  # README "Gateway"
            click.echo(
                f"mcp-router: OpenAI- and Anthropic-compatible API at {url.rsplit('/', 1)[0]}/v1", err=True
            )
        if transport == "http":
            click.echo(f"mcp-router: dashboard at {url.removesuffix('/mcp')}/", err=True)

    try:
        anyio.run(lambda: run_serve(transport=transport, host=host, port=port, on_listening=listening))  # type: ignore[arg-type]
    except BaseException as exc:
        inner = unwrap(exc)
        mapped = (
            _listen_error(inner, host, port) if transport != "stdio" and isinstance(inner, OSError) else None
        )
        if mapped is not None:
            raise mapped from exc
        raise


@main.command()
@click.option("--dashboard", is_flag=True, help="Serve over HTTP and leave it running for the dashboard.")
def demo(dashboard: bool) -> None:
    """The whole product offline: simulated providers, a real MCP session, every tool."""
    from mcp_router.commands.demo import run_demo

    _preflight(router=False)
    raise SystemExit(run_demo(click.echo, dashboard=dashboard))


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

    _preflight()
    query_args = {
        "query": query, "provider": provider, "capabilities": list(capabilities) or None,
        "max_input_price": max_input_price, "max_output_price": max_output_price, "min_context": min_context,
        "available_only": not show_all, "sort": sort, "limit": limit,
    }  # fmt: skip
    result = anyio.run(lambda: models_command(None, **query_args))
    _print(result, as_json, render_models)
    if not show_all and not result.total:
        click.echo(
            "No configured provider serves a matching model: `--all` searches the whole catalog; "
            "`mcp-router doctor` shows which providers are configured.",
            err=True,
        )


@main.command()
@click.argument("prompt", required=False)
@click.option("--input-tokens", type=click.IntRange(min=0), default=None, help="Instead of a prompt.")
@click.option("--output-tokens", type=click.IntRange(min=0), default=500, show_default=True)
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

    if prompt == "-":
        prompt = sys.stdin.read()
    if (prompt is None) == (input_tokens is None):
        raise click.UsageError("give a PROMPT or --input-tokens N (one of them).")
    _preflight()
    args = {"prompt": prompt, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "models": list(models) or None, "limit": limit}  # fmt: skip
    _print(anyio.run(lambda: estimate_command(None, **args)), as_json, render_estimate)


@main.group()
def catalog() -> None:
    """The model catalog."""


@catalog.command("refresh")
@click.option("--json", "as_json", is_flag=True)
def catalog_refresh(as_json: bool) -> None:
    """Fetch every configured provider's model list now (cached for the next start)."""
    import anyio

    from mcp_router.commands.info import refresh_command, render_refresh

    _preflight()
    _print(anyio.run(refresh_command), as_json, render_refresh)


@main.command()
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds per provider check.")
@click.option("--json", "as_json", is_flag=True)
def doctor(timeout: float, as_json: bool) -> None:
    """Problems with the setup and their fixes, each provider's key checked, catalog age, the
    database, cooldowns. Exit code 1 when something needs fixing."""
    import anyio

    from mcp_router.commands.doctor import doctor_command, render_doctor

    report = anyio.run(lambda: doctor_command(timeout_s=timeout))
    _print(report, as_json, render_doctor)
    if report["problems"] or any(not s.startswith("ok") for s in report["providers"].values()):
        raise SystemExit(1)


@main.group()
def db() -> None:
    """The usage database (ledger)."""


@db.command("copy")
@click.argument("sqlite_path", type=click.Path(dir_okay=False))
@click.argument("url")
def db_copy(sqlite_path: str, url: str) -> None:
    """Copy a SQLite ledger (usage.db) into an empty PostgreSQL database at URL
    (postgresql://...), migrating it first. README "Several routers on PostgreSQL"."""
    from mcp_router.errors import MeteringError
    from mcp_router.metering.ops import copy_ledger

    if not url.startswith(("postgresql://", "postgres://")):
        raise click.UsageError("URL must be a postgresql:// URL, e.g. postgresql://user@host/mcp_router")
    try:
        counts = copy_ledger(sqlite_path, url)
    except (ValueError, MeteringError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("copied " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


main.add_command(plan)
main.add_command(jobs)
main.add_command(ask)
main.add_command(conversations)
main.add_command(keys)
