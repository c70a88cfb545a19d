"""Shrinking the JSON Schemas pydantic generates for tool inputs and outputs.

Every agent pays for `tools/list` in context tokens on every turn. pydantic's schemas carry a
`title` on every property, `anyOf [X, null]` for each optional argument, `default: null`, and
model docstrings; none of it tells a model anything the names and types do not. Removing it
halves the listing without changing what the schema accepts.
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}


def _collapse_nullable(node: dict[str, Any]) -> None:
    """`anyOf: [{type: T, ...}, {type: null}]` -> `type: [T, null]` when T is a plain type."""
    any_of = node.get("anyOf")
    if not isinstance(any_of, list) or len(any_of) != 2 or _NULL not in any_of:
        return
    other = next(s for s in any_of if s != _NULL)
    if not isinstance(other, dict) or "$ref" in other or not isinstance(other.get("type"), str):
        return
    del node["anyOf"]
    node.update(other)
    node["type"] = [other["type"], "null"]
    if "enum" in node:
        node["enum"] = [*node["enum"], None]


def compact(schema: Any, *, _in_properties: bool = False, _is_def: bool = False) -> Any:
    """A copy of `schema` without titles, null defaults and model docstrings (`$defs` descriptions);
    property descriptions stay."""
    if isinstance(schema, list):
        return [compact(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if _in_properties:  # keys are property or definition names, not schema keywords
        return {k: compact(v, _is_def=_is_def) for k, v in schema.items()}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value is None) or (key == "description" and _is_def):
            continue
        out[key] = compact(value, _in_properties=key in ("properties", "$defs"), _is_def=key == "$defs")
    _collapse_nullable(out)
    return out


def _shallow(prop: Any) -> Any:
    """A property schema reduced to its JSON type: nested objects are described by the result
    itself, so the listing only promises the top-level shape."""
    if not isinstance(prop, dict):
        return prop
    if "$ref" in prop:
        return {"type": "object"}
    if "anyOf" in prop:
        types = sorted({t for s in prop["anyOf"] for t in _types(_shallow(s))})
        return {"type": types[0] if len(types) == 1 else types}
    out = {k: v for k, v in prop.items() if k in ("type", "enum")}
    return out or {}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def shallow_output(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema with the top-level properties and their JSON types only."""
    flat = compact(schema)
    props = {name: _shallow(p) for name, p in flat.get("properties", {}).items()}
    return {"type": "object", "properties": props}
