"""pydantic's validation errors in the house style: each argument named with what it accepts,
then the fix. Never the rejected value (it may be a 5 MB prompt or a secret) nor a docs URL.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

_EXPECTS: dict[str, str] = {
    "missing": "is required",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "is too large a number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "string_type": "must be a string",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "none_required": "must be null",
}
_BOUNDS = {
    "less_than_equal": ("le", "at most"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "greater_than": ("gt", "greater than"),
    "too_short": ("min_length", "at least this many items:"),
    "too_long": ("max_length", "at most this many items:"),
    "string_too_short": ("min_length", "at least this many characters:"),
    "string_too_long": ("max_length", "at most this many characters:"),
}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """` (did you mean `x`?)` for the closest choice, or "" when none is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean `{lowered[close[0]]}`?)" if close else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, unions, Annotated, lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _field(models: list[type[BaseModel]], name: str) -> Any:
    for model in models:
        for field_name, info in model.model_fields.items():
            if name in (field_name, info.alias):
                return info
    return None


def _walk(loc: tuple[int | str, ...], root: type[BaseModel] | None) -> tuple[str, list[type[BaseModel]]]:
    """`loc` as the caller spells the argument (`messages[0].role`), skipping the union-member
    tags pydantic inserts, and the models the last named part may hold."""
    path, models = "", [root] if root is not None else []
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        info = _field(models, part) if models else None
        if info is None and root is not None:
            continue  # a union member's tag such as "list[str]", not an argument name
        path += f".{part}" if path else part
        models = _models_in(info.annotation) if info is not None else []
    return path or "arguments", models


def accepted_keys(models: list[type[BaseModel]]) -> list[str]:
    # Once each: the members of a union (content parts) share keys such as `type`.
    return list(dict.fromkeys(info.alias or name for m in models for name, info in m.model_fields.items()))


def _unknown_key(loc: tuple[int | str, ...], root: type[BaseModel] | None) -> tuple[str, str]:
    key = str(loc[-1]) if loc else ""
    named = _KEY.fullmatch(key) is not None
    if len(loc) == 1 and root is not None and named:
        valid = accepted_keys([root])
        return key, f"is not an argument{did_you_mean(key, valid)}; valid: {', '.join(valid)}"
    parent, models = _walk(loc[:-1], root)
    takes = ", ".join(accepted_keys(models))
    name = f"`{key}` " if named else ""
    return parent, f"has an unknown key {name}(it takes {takes})" if takes else "has an unknown key"


def _explain(err: Any, root: type[BaseModel] | None) -> tuple[str, str]:
    """(argument path, what it accepts) for one pydantic error, never quoting the input."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    if kind == "extra_forbidden":
        return _unknown_key(loc, root)
    path, _ = _walk(loc, root)
    if kind in ("literal_error", "enum"):
        return path, f"must be one of {ctx.get('expected', 'the listed values')}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return path, f"must be {words} {ctx.get(key)}"
    if kind in _EXPECTS:
        return path, _EXPECTS[kind]
    # Anything else: pydantic's own sentence, which names the rule rather than the input.
    msg = str(err.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Input ")
    return path, msg[:200]


def rules(exc: ValidationError, model: type[BaseModel] | None) -> list[str]:
    seen: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False, include_context=True):
        path, rule = _explain(err, model)
        if path not in seen:
            seen[path] = rule
        elif rule not in seen[path]:  # each member of a union rejected it: name every option
            seen[path] += " or " + rule.removeprefix("must be ")
    return [f"`{path}` {rule}" for path, rule in list(seen.items())[:5]]


def describe_invalid(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """A rejected call's arguments in the house style, ending with the fix."""
    parts = rules(exc, model)
    fix = "Correct it" if len(parts) == 1 else "Correct them"
    return f"{'; '.join(parts)}. {fix} and call again (omit an optional argument to use its default)."
