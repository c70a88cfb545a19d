"""The server through the SDK's real `Client`, in memory, in both protocol eras."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp.client import Client

from mcp_router.server.app import build_server
from mcp_router.sim import Fault, Simulator

MODES = ["legacy", "auto"]  # 2025-11-25 handshake; 2026-07-28 per-request era


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_tools_are_declared_with_annotations(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"complete", "list_models", "compare", "estimate_cost", "usage_report"}
    for name in ("list_models", "estimate_cost", "usage_report"):
        ann = tools[name].annotations
        assert ann is not None and ann.read_only_hint and ann.idempotent_hint
    for name in ("complete", "compare"):
        ann = tools[name].annotations
        assert ann is not None and ann.open_world_hint and not ann.read_only_hint
    props = tools["complete"].input_schema["properties"]
    assert set(props) == {
        "prompt", "messages", "system", "model", "models", "sort", "provider", "max_tokens", "temperature",
        "top_p", "stop", "seed", "response_format", "max_price", "max_cost_usd", "timeout_s",
        "tools", "tool_choice", "reasoning", "output_file", "overwrite", "background",
    }  # fmt: skip
    assert set(tools["list_models"].input_schema["properties"]) == {
        "query", "provider", "capabilities", "max_input_price", "max_output_price", "min_context",
        "available_only", "sort", "limit",
    }  # fmt: skip
    assert set(tools["estimate_cost"].input_schema["properties"]) == {
        "prompt", "messages", "input_tokens", "output_tokens", "models", "limit",
    }  # fmt: skip
    assert set(tools["usage_report"].input_schema["properties"]) == {
        "since",
        "until",
        "group_by",
        "client",
        "limit",
    }
    assert tools["compare"].input_schema["required"] == ["models"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_answers_with_structured_content(router: Any, sim: Simulator, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        listed = await client.call_tool("list_models", {"query": "gpt-4o-mini", "limit": 3})
        assert not listed.is_error
        models = listed.structured_content
        assert models is not None and models["total"] >= 1
        first = next(m for m in models["models"] if m["id"] == "openai/gpt-4o-mini")
        assert first["pricing"] == {"input": 0.15, "output": 0.6, "cached_input": 0.075}
        assert any(e["provider"] == "openai" and e["available"] for e in first["endpoints"])
        assert json.loads(listed.content[0].text)["total"] == models["total"]  # mirrored text

        est = await client.call_tool(
            "estimate_cost",
            {
                "input_tokens": 100_000,
                "output_tokens": 0,
                "models": ["anthropic/claude-haiku-4.5", "gpt-4o-mini"],
            },
        )
        estimates = est.structured_content["estimates"]  # type: ignore[index]
        assert [e["model"] for e in estimates] == ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"]
        assert estimates[0]["input_cost_usd"] == 0.015 and estimates[0]["fits_context"] is True

        sim.always("openai", "gpt-4o-mini", Fault.status(503))
        done = await client.call_tool(
            "complete", {"prompt": "hi", "models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"]}
        )
        assert not done.is_error, done.content
        result = done.structured_content
        assert result is not None and result["model"] == "anthropic/claude-haiku-4.5"
        assert result["attempts"][0]["outcome"] == "error" and result["attempts"][-1]["outcome"] == "ok"
        assert result["text"] and result["usage"]["output_tokens"] > 0 and result["cost_usd"] > 0

        cmp = await client.call_tool(
            "compare", {"prompt": "hi", "models": ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"]}
        )
        compared = cmp.structured_content
        assert compared is not None and len(compared["results"]) == 2
        assert compared["cheapest"] in {"openai/gpt-4.1-mini", "google/gemini-2.5-flash"}

        usage = await client.call_tool("usage_report", {"since": "24h", "group_by": "provider"})
        assert not usage.is_error and set(usage.structured_content) >= {"window", "totals", "rows"}  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_resources(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"catalog://models", "usage://summary"} <= listed
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        assert templates == ["catalog://models/{vendor}/{model}", "jobs://{id}"]
        catalog = json.loads((await client.read_resource("catalog://models")).contents[0].text)  # type: ignore[union-attr]
        rows = {
            f"{vendor}/{row[0]}": (providers.split(","), row)
            for vendor, groups in catalog["vendors"].items()
            for providers, group in groups.items()
            for row in group
        }
        providers, row = rows["openai/gpt-4o-mini"]
        assert "openai" in providers and row[2:4] == [0.15, 0.6]  # USD per 1M tokens
        assert len(rows) == catalog["models"]
        assert "openai" in catalog["available_providers"]
        one = json.loads((await client.read_resource("catalog://models/openai/gpt-4o-mini")).contents[0].text)  # type: ignore[union-attr]
        assert one["id"] == "openai/gpt-4o-mini" and one["endpoints"]
        summary = json.loads((await client.read_resource("usage://summary")).contents[0].text)  # type: ignore[union-attr]
        assert set(summary) >= {"today", "week"}


@pytest.mark.anyio
async def test_list_models_shows_an_open_circuit_with_its_cooldown(router: Any, sim: Simulator) -> None:
    sim.script("openai", "gpt-4o-mini", *[Fault.status(500)] * 3)
    async with Client(build_server(router)) as client:
        for _ in range(3):  # however the router spreads its retries, three 500s reach openai
            if sim.hits("openai", "gpt-4o-mini") >= 3:
                break
            await client.call_tool(
                "complete", {"prompt": "hi", "model": "openai/gpt-4o-mini", "provider": {"only": ["openai"]}}
            )
        assert sim.hits("openai", "gpt-4o-mini") == 3
        listed = await client.call_tool("list_models", {"query": "gpt-4o-mini", "available_only": False})
    model = next(m for m in listed.structured_content["models"] if m["id"] == "openai/gpt-4o-mini")  # type: ignore[index]
    by_provider = {e["provider"]: e for e in model["endpoints"]}
    openai = by_provider["openai"]
    assert openai["health"]["state"] == "open"
    assert datetime.fromisoformat(openai["health"]["cooling_down_until"]) > datetime.now(UTC)
    assert openai["available"] is False and "cooling down" in openai["unavailable_reason"]


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema", "name": "place", "schema": SCHEMA, "strict": True},
        {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA, "strict": True}},
    ],
    ids=["flattened", "openai-chat-completions"],
)
async def test_response_format_in_either_shape(router: Any, sim: Simulator, response_format: Any) -> None:
    async with Client(build_server(router)) as client:
        result = await client.call_tool(
            "complete",
            {"prompt": "Where?", "model": "openai/gpt-4o-mini", "response_format": response_format},
        )
    assert not result.is_error, result.content
    assert "city" in json.loads(result.structured_content["text"])  # type: ignore[index]
    sent = sim.requests("openai", "gpt-4o-mini")[-1].body or {}
    wire = sent["response_format"]
    assert wire["type"] == "json_schema" and wire["json_schema"]["name"] == "place"
    assert wire["json_schema"]["schema"]["required"] == ["city"] and wire["json_schema"]["strict"] is True


@pytest.mark.anyio
async def test_stop_as_a_string_and_compare_takes_routing_args(router: Any, sim: Simulator) -> None:
    async with Client(build_server(router)) as client:
        one = await client.call_tool(
            "complete", {"prompt": "hi", "model": "openai/gpt-4o-mini", "stop": "END"}
        )
        assert not one.is_error, one.content
        assert (sim.requests("openai", "gpt-4o-mini")[-1].body or {})["stop"] == ["END"]
        both = await client.call_tool(
            "compare",
            {
                "prompt": "hi",
                "models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"],
                "stop": "END",
                "provider": {"only": ["openai"]},
                "max_price": {"prompt": 100, "completion": 100},
                "sort": "price",
            },
        )
    assert not both.is_error, both.content
    results = {r["model"]: r for r in both.structured_content["results"]}  # type: ignore[index]
    assert results["openai/gpt-4o-mini"]["error"] is None
    assert results["anthropic/claude-haiku-4.5"]["error"]  # no endpoint at openai
    assert (
        sim.hits("anthropic", "claude-haiku-4-5") == 0
        and sim.hits("openrouter", "anthropic/claude-haiku-4.5") == 0
    )
