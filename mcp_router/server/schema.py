"""Shrinking the JSON Schemas pydantic generates for tool inputs and outputs.

Every agent pays for `tools/list` in context tokens on every turn. pydantic's schemas carry a
`title` on every property, `anyOf [X, null]` for each optional argument, `default: null`, and
model docstrings; none of it tells a model anything the names and types do not. Removing it
halves the listing without changing what the schema accepts.
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}
_NO_REAL_BOUND = 10**9
# Keywords that constrain only values of one JSON type, so a `type: [...]` union may carry them.
_TYPED_KEYWORDS: dict[str, set[str]] = {
    "array": {"items", "minItems", "maxItems", "uniqueItems"},
    "object": {"properties", "required", "additionalProperties"},
    "string": {"minLength", "maxLength", "pattern"},
}


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


def _merge_plain_union(node: dict[str, Any]) -> None:
    """`anyOf: [{type: array, items: X}, {type: string}, {type: null}]` -> `type: [array, string,
    null], items: X`: equivalent, because `items` constrains arrays only. Left alone unless every
    member is a plain type and at most one carries keywords, all specific to its own type."""
    any_of = node.get("anyOf")
    if not isinstance(any_of, list) or len(any_of) < 2:
        return
    if not all(isinstance(m, dict) and isinstance(m.get("type"), str) for m in any_of):
        return
    types = [m["type"] for m in any_of]
    rich = [m for m in any_of if len(m) > 1]
    if len(set(types)) != len(types) or len(rich) > 1:
        return
    extra: dict[str, Any] = {}
    if rich:
        extra = {k: v for k, v in rich[0].items() if k != "type"}
        if not set(extra) <= _TYPED_KEYWORDS.get(rich[0]["type"], set()):
            return
    del node["anyOf"]
    node.update(extra)
    node["type"] = types


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
        if key == "additionalProperties" and value is True:  # JSON Schema's default anyway
            continue
        if key in ("minimum", "maximum") and isinstance(value, int) and abs(value) >= _NO_REAL_BOUND:
            continue  # a bound no real value comes near (int64 seeds, 1e9 tokens) tells a model nothing
        out[key] = compact(value, _in_properties=key in ("properties", "$defs"), _is_def=key == "$defs")
    _collapse_nullable(out)
    _merge_plain_union(out)
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
    out = {k: v for k, v in prop.items() if k == "type"}  # an enum is the result's to explain
    return out or {}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def shallow_output(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema with the top-level properties and their JSON types only."""
    flat = compact(schema)
    props = {name: _shallow(p) for name, p in flat.get("properties", {}).items()}
    return {"type": "object", "properties": props}


def _without_null(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return prop
    out = dict(prop)
    kind = out.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        if "enum" in out:
            out["enum"] = [v for v in out["enum"] if v is not None]
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and _NULL in any_of:
        rest_of = [s for s in any_of if s != _NULL]
        del out["anyOf"]
        if len(rest_of) == 1:
            out.update(rest_of[0])
        else:
            out["anyOf"] = rest_of
    return out


def omit_not_null(schema: Any) -> Any:
    """Optional properties (here and in `$defs`) without their `null` alternative: omitting an
    argument is how a caller asks for its default, and `null` doubles the type of every optional
    argument in the listing. Validation still accepts an explicit null."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    required = set(out.get("required", ()))
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: v if k in required else _without_null(v) for k, v in out["properties"].items()
        }
    if isinstance(out.get("$defs"), dict):
        out["$defs"] = {k: omit_not_null(v) for k, v in out["$defs"].items()}
    return out


def _refs(node: Any, counts: dict[str, int]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            counts[ref] = counts.get(ref, 0) + 1
        for value in node.values():
            _refs(value, counts)
    elif isinstance(node, list):
        for item in node:
            _refs(item, counts)


def _inline(node: Any, defs: dict[str, Any], once: set[str]) -> Any:
    if isinstance(node, list):
        return [_inline(n, defs, once) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref in once:
        body = _inline(defs[ref.removeprefix("#/$defs/")], defs, once)
        return {**body, **{k: _inline(v, defs, once) for k, v in node.items() if k != "$ref"}}
    return {k: _inline(v, defs, once) for k, v in node.items()}


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Definitions referenced once, written in place: a `$ref` and its `$defs` entry cost more
    than the definition itself. Definitions that other definitions use stay put."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return schema
    counts: dict[str, int] = {}
    _refs({k: v for k, v in schema.items() if k != "$defs"}, counts)
    nested: dict[str, int] = {}  # referred to from definitions (perhaps their own): left alone
    _refs(defs, nested)
    once = {ref for ref, n in counts.items() if n == 1 and ref not in nested}
    out = _inline({k: v for k, v in schema.items() if k != "$defs"}, defs, once)
    used = counts.keys() | nested.keys()  # a definition nothing refers to any more is dropped
    kept = {
        name: body for name, body in defs.items() if (ref := f"#/$defs/{name}") not in once and ref in used
    }
    if kept:
        out["$defs"] = kept
    return out
