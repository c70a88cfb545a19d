"""Command-line options from the same argument models the MCP tools publish, so a terminal
command offers the tool's names, help, choices and bounds without spelling them again.

    @click.command()
    @click.argument("prompt")
    @click_options(CompletionArgs, "model", "models", "system", "max_tokens")
    def ask(prompt: str, **options: Any) -> None:
        args = args_from_options(CompletionArgs, options, prompt=prompt)  # InvalidArguments
        request = args.to_route_request(client="cli", tool="ask")

Scalars become `--name-with-dashes VALUE` (help from the field's description, choices from a
`Literal`, ranges from `ge`/`le`); booleans `--flag/--no-flag`; lists of strings are repeatable
and comma-separated (`--models a,b --models c`). Nested objects are not options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import click
from pydantic.fields import FieldInfo

from mcp_router.api.arguments import ToolArgs

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A", bound=ToolArgs)


def _bare(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def _limit(info: FieldInfo, *keys: str) -> tuple[Any, bool]:
    """The first of `keys` (e.g. ge, gt) a field's constraints set, and whether it is strict."""
    for key in keys:
        for constraint in info.metadata:
            value = getattr(constraint, key, None)
            if value is not None:
                return value, key in ("gt", "lt")
    return None, False


def _bound(info: FieldInfo, kind: type[Any]) -> Any:
    lo, open_lo = _limit(info, "ge", "gt")
    hi, open_hi = _limit(info, "le", "lt")
    if lo is None and hi is None:
        return kind
    if kind is int:
        return click.IntRange(lo, hi, min_open=open_lo, max_open=open_hi)
    return click.FloatRange(lo, hi, min_open=open_lo, max_open=open_hi)


def _option(name: str, info: FieldInfo) -> Callable[[F], F]:
    kind = _bare(info.annotation)
    flag = "--" + name.replace("_", "-")
    text = info.description or ""
    if info.default not in (None, ...) and not isinstance(info.default, bool):
        text = f"{text} [default: {info.default}]".strip()
    if kind is bool:
        return click.option(f"{flag}/--no-{name.replace('_', '-')}", name, default=None, help=text)
    if get_origin(kind) is Literal:
        return click.option(flag, name, type=click.Choice([str(v) for v in get_args(kind)]), help=text)
    if get_origin(kind) is list and get_args(kind) == (str,):
        return click.option(flag, name, multiple=True, help=f"{text} (comma-separated, repeatable)".strip())
    if kind in (str, int, float):
        return click.option(flag, name, type=_bound(info, kind) if kind is not str else str, help=text)
    raise TypeError(f"{name}: {info.annotation} has no command-line form")


def click_options(model: type[ToolArgs], *names: str) -> Callable[[F], F]:
    """Decorate a click command with options for these fields of `model` (in this order)."""
    fields = model.model_fields
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise KeyError(f"{model.__name__} has no field(s) {', '.join(unknown)}")

    def decorate(fn: F) -> F:
        for name in reversed(names):  # click lists options in decoration order, innermost first
            fn = _option(name, fields[name])(fn)
        return fn

    return decorate


def args_from_options(model: type[A], options: Mapping[str, Any], **extra: Any) -> A:
    """`model` from click's values (unset options left to the model's defaults) plus `extra`;
    raises `InvalidArguments` with the tool's own wording."""
    raw: dict[str, Any] = {}
    for name, value in options.items():
        if name not in model.model_fields or value is None or value == ():
            continue
        if isinstance(value, tuple):
            value = [part.strip() for item in value for part in item.split(",") if part.strip()]
        raw[name] = value
    return model.parse({**raw, **{k: v for k, v in extra.items() if v is not None}})
