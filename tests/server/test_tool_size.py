"""What an agent pays for in context: the whole `tools/list` answer stays within 2,500 o200k
tokens (counted exactly), and the catalog resource within 8,000 with every simulated provider
configured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import Client
from token_count import as_sent, o200k

from mcp_router.server.app import build_server
from mcp_router.server.schema import compact, inline_defs, omit_not_null, shallow_output

TOOLS_BUDGET = 2500
CATALOG_BUDGET = 8000


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tools_list_under_budget(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        listing = await client.list_tools()
    sent = as_sent(listing)
    assert o200k(sent) <= TOOLS_BUDGET, o200k(sent)
    for tool in listing.tools:
        assert tool.title and tool.description and len(tool.description.split()) >= 15, tool.name
        assert tool.output_schema is not None  # structured results are announced
        assert tool.input_schema["additionalProperties"] is False, tool.name


@pytest.mark.anyio
async def test_descriptions_teach_the_conventions(router: Any) -> None:
    async with Client(build_server(router)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    complete = tools["complete"].description or ""
    for convention in ("vendor/model", "list_models", "auto", "cheapest", "fallback"):
        assert convention in complete, convention
    assert "USD per 1M tokens" in (tools["list_models"].description or "")
    assert "USD per 1M tokens" in json.dumps(tools["complete"].input_schema["properties"]["max_price"])


@pytest.mark.anyio
async def test_catalog_resource_under_budget_with_every_provider(router: Any) -> None:
    assert len(router.available_providers) >= 10  # the simulator configures every provider
    async with Client(build_server(router)) as client:
        text = (await client.read_resource("catalog://models")).contents[0].text  # type: ignore[union-attr]
    digest = json.loads(text)
    assert digest["models"] > 200  # the whole catalog (snapshot, live lists), not a page of it
    assert o200k(text) <= CATALOG_BUDGET, o200k(text)


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


def test_optional_arguments_drop_null_and_single_use_definitions_inline() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": ["integer", "null"]},
            "p": {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}], "description": "d"},
            "q": {"$ref": "#/$defs/Q"},
            "r": {"$ref": "#/$defs/Q"},
        },
        "required": ["b"],
        "$defs": {
            "P": {"type": "object", "properties": {"x": {"type": ["number", "null"], "enum": [1, None]}}},
            "Q": {"type": "object"},
        },
    }
    out = inline_defs(omit_not_null(schema))
    assert out["properties"]["a"] == {"type": "string"}
    assert out["properties"]["b"] == {"type": ["integer", "null"]}  # required: null stays allowed
    assert out["properties"]["p"] == {
        "type": "object",
        "properties": {"x": {"type": "number", "enum": [1]}},
        "description": "d",
    }
    assert out["properties"]["q"] == out["properties"]["r"] == {"$ref": "#/$defs/Q"}
    assert out["$defs"] == {"Q": {"type": "object"}}  # used twice: kept once
