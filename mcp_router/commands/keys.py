"""`mcp-router keys create|list|revoke`: issued keys in the usage database (README "Keys").

The secret is printed once, on stdout (alone, so `$(mcp-router keys create ci)` captures it);
how to use it goes to stderr. Only its hash is stored."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypeVar

import click

from mcp_router.commands.errors import CONFIG, RUNTIME, CliError

if TYPE_CHECKING:
    from mcp_router.keys.book import KeyBook
    from mcp_router.keys.records import KeyRecord

T = TypeVar("T")


def _usd(option: str) -> Callable[[click.Context, click.Parameter, str | None], Decimal | None]:
    def parse(_: click.Context, __: click.Parameter, value: str | None) -> Decimal | None:
        if value is None:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0:
            raise CliError(f"{option} is USD, a number >= 0 (e.g. 5 or 0.50); got {value[:20]!r}.", CONFIG)
        return amount

    return parse


def _patterns(values: Sequence[str]) -> tuple[str, ...]:
    out = tuple(v.strip() for value in values for v in value.split(",") if v.strip())
    for p in out:
        if "/" not in p and "*" not in p:
            raise CliError(
                f"--models {p!r} matches no model id: ids are vendor/model, so use e.g. "
                "'openai/*' or 'anthropic/claude-haiku-4.5' (`mcp-router models` lists them).",
                CONFIG,
            )
    return out


def _run(work: Callable[[KeyBook], Awaitable[T]]) -> T:
    """`work` on the keys of the usage database (MCP_ROUTER_DB), closed afterwards."""
    import anyio

    from mcp_router.errors import RouterError
    from mcp_router.keys.book import KeyBook
    from mcp_router.keys.records import KeyProblem
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_store_location, ensure_home

    async def go() -> T:
        if "://" not in default_store_location():
            ensure_home()  # 0700, as the router makes it
        store = open_store(default_store_location())
        try:
            return await work(KeyBook(store))
        finally:
            await store.aclose()

    try:
        return anyio.run(go)
    except RouterError as exc:  # KeyProblem, or the database cannot be opened
        raise CliError(str(exc), CONFIG if isinstance(exc, KeyProblem) else RUNTIME) from exc


def _token_clients() -> frozenset[str]:
    """Clients of the configured static tokens and admins: a key may not take their names."""
    from mcp_router.commands.serve import token_clients

    return token_clients(os.environ)


def _limits(record: KeyRecord) -> list[str]:
    usd = lambda v: "-" if v is None else f"${v}"  # noqa: E731
    return [
        usd(record.daily_usd),
        usd(record.monthly_usd),
        "-" if record.rpm is None else str(record.rpm),
        ",".join(record.models) or "*",
        "yes" if record.admin else "",
    ]


def render_keys(records: Sequence[KeyRecord]) -> str:
    from mcp_router.commands.info import table

    if not records:
        return "No keys yet: `mcp-router keys create NAME` makes one."
    rows = [
        [
            r.name,
            *_limits(r),
            r.created.strftime("%Y-%m-%d %H:%M"),
            r.revoked.strftime("%Y-%m-%d %H:%M") if r.revoked else "",
        ]
        for r in records
    ]
    headers = ["NAME", "DAILY", "MONTHLY", "RPM", "MODELS", "ADMIN", "CREATED (UTC)", "REVOKED"]
    return table(headers, rows)


@click.group()
def keys() -> None:
    """Issued keys: bearer secrets with their own budgets, rate and model allowlist."""


@keys.command("create")
@click.argument("name")
@click.argument("more_models", nargs=-1, metavar="")
@click.option("--daily-usd", callback=_usd("--daily-usd"), help="Cap per UTC day, in USD.")
@click.option("--monthly-usd", callback=_usd("--monthly-usd"), help="Cap per UTC month, in USD.")
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests per minute (per server).")
@click.option("--models", "models", multiple=True, help="Allowed model ids or patterns, e.g. 'openai/*'.")
@click.option("--admin", is_flag=True, help="May read every client's usage.")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its secret as JSON.")
def create(
    name: str,
    more_models: tuple[str, ...],
    daily_usd: Decimal | None,
    monthly_usd: Decimal | None,
    rpm: int | None,
    models: tuple[str, ...],
    admin: bool,
    as_json: bool,
) -> None:
    """Create key NAME (its metering client) and print its secret, once. `--models a b` and
    `--models a --models b` both allow a and b."""
    from mcp_router.keys.records import KeyLimits

    if more_models and not models:
        raise CliError(
            f"unexpected argument {more_models[0][:40]!r}: give one NAME, then options "
            "(patterns after --models: `keys create ci --models 'openai/*' 'anthropic/*'`).",
            CONFIG,
        )
    models = (*models, *more_models)
    limits = KeyLimits(
        daily_usd=daily_usd, monthly_usd=monthly_usd, rpm=rpm, models=_patterns(models), admin=admin
    )
    reserved = _token_clients()
    record, secret = _run(lambda book: book.create(name, limits, reserved=reserved))
    if as_json:
        click.echo(json.dumps({**record.public(), "secret": secret}, indent=2))
    else:
        click.echo(secret)
    click.echo(
        f"Key {name!r} created; its secret is shown only this once. Send it as `Authorization: Bearer "
        "<secret>` to `serve --transport http` (/mcp, /v1/...; OPENAI_API_KEY for the openai SDK). "
        "A server started open (no token and no key) stays open until restarted: restart it now.",
        err=True,
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def list_keys(as_json: bool) -> None:
    """Every key with its limits, creation and revocation (never a secret)."""
    records = _run(lambda book: book.list())
    if as_json:
        click.echo(json.dumps([r.public() for r in records], indent=2))
    else:
        click.echo(render_keys(records))


@keys.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke key NAME: its requests are refused (by running servers within a few seconds)."""
    from mcp_router.keys.book import CACHE_S

    _run(lambda book: book.revoke(name))
    click.echo(f"Key {name!r} revoked; running servers refuse it within {CACHE_S:.0f} s.")
