"""The whole `tools/list` answer stays under 2,500 tokens: agents pay for it every turn."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import Client

from mcp_router.catalog.tokens import estimate_tokens
from mcp_router.server.app import build_server
from mcp_router.server.schema import compact, shallow_output

BUDGET = 2500


@pytest.mark.anyio
async def test_tools_list_under_budget(router: Any) -> None:
    async with Client(build_server(router), mode="legacy") as client:
        listing = await client.list_tools()
    text = json.dumps(listing.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert estimate_tokens(text) < BUDGET
    assert len(text) / 4 < BUDGET  # a second, tokenizer-free bound
    for tool in listing.tools:
        assert tool.description and len(tool.description) <= 80
        assert tool.output_schema is not None  # structured results are announced


def test_compact_keeps_meaning() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "sort": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}], "default": None},
            "n": {"title": "N", "type": "integer", "default": 5},
            "p": {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]},
            "stop": {
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "string"},
                    {"type": "null"},
                ]
            },
            "lo": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
            "d": {"type": "object", "additionalProperties": True},
        },
        "$defs": {"P": {"title": "P", "description": "a docstring", "type": "object"}},
    }
    out = compact(schema)
    assert out["properties"]["title"] == {"type": ["string", "null"]}  # a property named title survives
    assert out["properties"]["sort"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert out["properties"]["n"] == {"type": "integer", "default": 5}
    assert out["properties"]["p"] == {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]}
    assert out["$defs"]["P"] == {"type": "object"}
    assert out["properties"]["stop"] == {"type": ["array", "string", "null"], "items": {"type": "string"}}
    assert (
        out["properties"]["lo"] == schema["properties"]["lo"]
    )  # a keyword not known to be type-specific: kept
    assert out["properties"]["d"] == {"type": "object"}
    flat = shallow_output({"type": "object", "properties": {"u": {"$ref": "#/$defs/U"}}, "required": ["u"]})
    assert flat == {"type": "object", "properties": {"u": {"type": "object"}}}
