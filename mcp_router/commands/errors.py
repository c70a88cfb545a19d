"""The CLI's boundary: every failure a person can fix becomes one line naming the setting and
the fix, with exit code 2 (configuration: change a setting or an argument) or 1 (runtime: the
world got in the way), never a traceback.

Library errors are typed (`ConfigError`, `UnknownModel`, `AllRoutesFailed`, ...); the few that
reach us untyped (OSErrors from the data directory; the usage database's errors are typed) are
recognised here, in one place.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import click

CONFIG = 2
RUNTIME = 1


class CliError(click.ClickException):
    """A one-line error for a person; click prints `Error: <message>` and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = RUNTIME) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a class-wide default


def preflight(*, router: bool = True, serve: bool = False) -> None:
    """Fail in one line, before any work, on the first bad setting a command uses (the log
    level; with `router`, the data directory, base URLs and config file; with `serve`, the
    refresh interval)."""
    import os

    from mcp_router.environment import env_problems
    from mcp_router.settings import CorruptDatabase

    problems = env_problems(os.environ, router=router, serve=serve)
    if problems:
        first = problems[0]
        raise CliError(str(first), RUNTIME if isinstance(first, CorruptDatabase) else CONFIG)


def unwrap(exc: BaseException) -> BaseException:
    """The single error inside (nested) exception groups, as task groups raise it."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


# Tool vocabulary in library messages -> the CLI's words.
_CLI_WORDS: tuple[tuple[str, str], ...] = (
    ("Call list_models to see available ids.", "Run `mcp-router models --all` to see every id."),
    ("choose another model with list_models", "choose another model (`mcp-router models --all`)"),
    ("add fallbacks with `models`", "add fallbacks with `--models a,b`"),
    ("Relax the filters (max_price, provider, response_format)", "Relax the filters (--provider-*)"),
)


def cli_words(text: str, params: Sequence[click.Parameter] = ()) -> str:
    """`text` with tool names replaced by CLI ones: `list_models` hints point to `mcp-router
    models --all`, and a backticked argument a command has as an option (`output_tokens`)
    becomes that option's flag (`--output-tokens`)."""
    for old, new in _CLI_WORDS:
        text = text.replace(old, new)
    for p in params:
        if p.name is None:
            continue
        flag = p.opts[0] if isinstance(p, click.Option) else p.human_readable_name
        text = text.replace(f"`{p.name}`", f"`{flag}`")
    return text


def os_error(exc: OSError) -> CliError:
    """A file-system error outside the usage database (data directory, health file)."""
    where = f" ({exc.filename})" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ENOTDIR, errno.ENOENT):
        return CliError(
            f"{reason}{where}: point MCP_ROUTER_HOME at a writable directory, or unset it for the default.",
            CONFIG,
        )
    return CliError(f"{reason}{where}; `mcp-router doctor` checks the setup.", RUNTIME)


E = TypeVar("E", bound=BaseException)


def _caused_by(exc: BaseException, kind: type[E]) -> E | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, kind):
            return current
        current, seen = current.__cause__ or current.__context__, seen + 1
    return None


def _ledger_error(exc: BaseException) -> CliError | None:
    """The usage database's typed errors: the store names the file, the cause and the fix."""
    from mcp_router.errors import LedgerUnavailable, MeteringError

    ledger = _caused_by(exc, LedgerUnavailable)
    if ledger is not None:
        unwritable = any(word in ledger.cause for word in ("readonly", "read-only", "unable to open"))
        return CliError(str(ledger), CONFIG if unwritable else RUNTIME)
    if isinstance(exc, MeteringError):
        return CliError(str(exc), RUNTIME)
    return None


def cli_error(exc: BaseException, env: Mapping[str, str], params: Sequence[click.Parameter] = ()) -> Any:
    """The `CliError` for `exc`, or None when it is not something a person can fix (a bug:
    the traceback is then the useful output)."""
    from mcp_router.api.arguments import InvalidArguments
    from mcp_router.errors import (
        AllRoutesFailed,
        BudgetExceeded,
        ClientRateLimited,
        ModelNotAllowed,
        UnknownModel,
    )
    from mcp_router.files import FileRefused
    from mcp_router.keys.records import KeyProblem
    from mcp_router.settings import ConfigError, CorruptDatabase

    exc = unwrap(exc)
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, CorruptDatabase):
        return CliError(str(exc), RUNTIME)
    if isinstance(exc, ConfigError):
        return CliError(str(exc), CONFIG)
    if isinstance(exc, InvalidArguments) or type(exc).__name__ == "ServeConfigError":
        return CliError(cli_words(str(exc), params), CONFIG)  # (the CLI does not import server/)
    if isinstance(exc, UnknownModel):
        hint = f" Did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        return CliError(
            f"unknown model {exc.name!r}.{hint} `mcp-router models --all` lists every id.", CONFIG
        )
    if isinstance(exc, FileRefused | KeyProblem):  # a file or key named on the command line
        return CliError(str(exc), CONFIG)
    if isinstance(exc, BudgetExceeded | AllRoutesFailed | ClientRateLimited | ModelNotAllowed):
        return CliError(cli_words(str(exc), params), RUNTIME)
    ledger = _ledger_error(exc)
    if ledger is not None:
        return ledger
    if isinstance(exc, OSError):
        return os_error(exc)
    return None
