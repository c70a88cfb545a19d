"""The server as an agent reads it (issue "The agent's view"): strict inputs, provider names
checked, compact answers, a catalog of available models, prompts and completions. Through the
SDK's real `Client`, in both protocol eras."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp_types import PromptReference, ResourceTemplateReference

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator

MODES = ["legacy", "auto"]
MODEL_TEMPLATE = ResourceTemplateReference(type="ref/resource", uri="catalog://models/{vendor}/{model}")

MISSPELLED = [
    ("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini", "max_token": 5}, "max_tokens"),
    ("compare", {"prompt": "hi", "models": ["openai/gpt-4o-mini"], "temprature": 0.2}, "temperature"),
    ("list_models", {"querry": "gpt"}, "query"),
    ("estimate_cost", {"input_tokens": 10, "output_token": 5}, "output_tokens"),
    ("usage_report", {"groupby": "day"}, "group_by"),
]


def _text(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_argument_is_an_error_listing_the_valid_ones(
    router: Any, sim: Simulator, mode: str
) -> None:
    async with Client(build_server(router), mode=mode) as client:
        schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        for tool, args, meant in MISSPELLED:
            assert schemas[tool]["additionalProperties"] is False
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args)
            wrong = next(k for k in args if k not in schemas[tool]["properties"])
            text = _text(result)
            assert f"`{wrong}` is not an argument (did you mean `{meant}`?)" in text, text
            assert "valid: " in text and all(name in text for name in schemas[tool]["properties"])
    assert sim.hits("openai", "gpt-4o-mini") == 0  # a misspelled cap never runs uncapped


@pytest.mark.anyio
async def test_provider_names_are_checked_and_normalised(router: Any, sim: Simulator) -> None:
    async with Client(build_server(router)) as client:
        listed = await client.call_tool("list_models", {"provider": "OpenAI", "limit": 5})
        assert not listed.is_error, _text(listed)
        models = listed.structured_content["models"]  # type: ignore[index]
        assert models and all(e["provider"] == "openai" for m in models for e in m["endpoints"])
        for bad, expected in [
            ({"provider": "opnai"}, "did you mean `openai`?"),
            ({"provider": "nosuch"}, "Known providers: anthropic,"),
            ({"max_input_price": -1}, "`max_input_price` must be at least 0"),
            ({"max_output_price": -0.5}, "`max_output_price` must be at least 0"),
            ({"min_context": 0}, "`min_context` must be at least 1"),
        ]:
            result = await client.call_tool("list_models", bad)
            assert result.is_error and expected in _text(result), (bad, _text(result))

        done = await client.call_tool(
            "complete", {"prompt": "hi", "model": "openai/gpt-4o-mini", "provider": {"only": ["OpenAI"]}}
        )
        assert not done.is_error, _text(done)
        assert done.structured_content["provider"] == "openai"  # type: ignore[index]
        for prefs, expected in [
            (
                {"ignore": ["groqq"]},
                "`provider.ignore` names `groqq`, which is no provider (did you mean `groq`?)",
            ),
            ({"order": ["nosuch"]}, "`provider.order` names `nosuch`"),
            ({"only": ["openai"], "ignore": ["OPENAI"]}, "excludes every provider"),
        ]:
            result = await client.call_tool("complete", {"prompt": "hi", "provider": prefs})
            assert result.is_error and expected in _text(result), (prefs, _text(result))
    assert sim.hits("openai", "gpt-4o-mini") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_complete_answers_first_then_one_receipt_line(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        done = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
    data = done.structured_content
    assert data is not None and data["text"]
    text = _text(done)
    answer, _, receipt = text.rpartition("\n\n")
    assert answer == data["text"]  # the answer, verbatim, comes first
    assert "\n" not in receipt and len(receipt) < 200
    assert receipt.startswith("[openai/gpt-4o-mini via openai · ")
    usage = data["usage"]
    assert f"{usage['input_tokens']} in/{usage['output_tokens']} out tokens" in receipt
    cost = receipt.split(" · ")[2]  # the ids after it are random text that may hold "e-"
    assert cost.startswith("$0.0") and "e-" not in cost and f"{data['latency_ms']:.1f} ms" in receipt
    assert data["request_id"] in receipt
    for figure in (data["latency_ms"], data["ttft_ms"], *(a["latency_ms"] for a in data["attempts"])):
        assert figure == round(figure, 1)  # milliseconds to 0.1


@pytest.mark.anyio
async def test_other_answers_are_compact_json_of_the_structured_content(router: Any) -> None:
    calls = [
        ("list_models", {"query": "gpt-4o", "limit": 3}),
        ("estimate_cost", {"input_tokens": 1000, "models": ["openai/gpt-4o-mini"]}),
        ("compare", {"prompt": "hi", "models": ["openai/gpt-4o-mini", "google/gemini-2.5-flash"]}),
        ("usage_report", {"group_by": "provider"}),
        ("list_models", {"query": "gpt-4o-mini", "limit": 1}),  # now with health figures
    ]
    async with Client(build_server(router)) as client:
        for tool, args in calls:
            result = await client.call_tool(tool, args)
            assert not result.is_error, _text(result)
            assert _text(result) == json.dumps(
                result.structured_content, separators=(",", ":"), ensure_ascii=False
            )
    health = [e["health"] for m in result.structured_content["models"] for e in m["endpoints"] if e["health"]]  # type: ignore[index]
    assert health and all(h["p50_latency_ms"] == round(h["p50_latency_ms"], 1) for h in health)


@pytest.fixture
async def openai_only(sim: Simulator, tmp_path: Path) -> AsyncIterator[Router]:
    env = {k: v for k, v in sim.env().items() if k.startswith("OPENAI_")}
    async with Router.from_env({**env, "MCP_ROUTER_HOME": str(tmp_path / "home")}) as router:
        yield router


@pytest.mark.anyio
async def test_the_catalog_resource_lists_available_models_only(openai_only: Router) -> None:
    served = {m.id for m in openai_only.catalog.models() if any(e.provider == "openai" for e in m.endpoints)}
    async with Client(build_server(openai_only)) as client:
        digest = json.loads((await client.read_resource("catalog://models")).contents[0].text)  # type: ignore[union-attr]
        detail = await client.read_resource("catalog://models/anthropic/claude-haiku-4.5")
    listed = {
        f"{v}/{row[0]}" for v, groups in digest["vendors"].items() for g in groups.values() for row in g
    }
    assert listed == served and digest["models"] == len(served)
    assert {p for groups in digest["vendors"].values() for p in groups} == {"openai"}
    assert digest["available_providers"] == ["openai"]
    assert "anthropic/claude-haiku-4.5" not in listed
    assert json.loads(detail.contents[0].text)["id"] == "anthropic/claude-haiku-4.5"  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_prompts_worth_having(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        assert client.server_capabilities.prompts is not None
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == {"delegate", "compare_models"}
        assert [a.name for a in prompts["delegate"].arguments or []] == [
            "task",
            "capabilities",
            "max_cost_usd",
        ]
        got = await client.get_prompt(
            "delegate", {"task": "Summarise the changelog.", "capabilities": "json_schema"}
        )
        text = got.messages[0].content.text  # type: ignore[union-attr]
        assert "estimate_cost" in text and "`complete`" in text and "json_schema" in text
        assert text.endswith("Summarise the changelog.")
        got = await client.get_prompt("compare_models", {"prompt": "Name a colour.", "models": "a/b, c/d"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
        assert "`compare`" in text and "['a/b', 'c/d']" in text and text.endswith("Name a colour.")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_completion_of_model_ids(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        assert client.server_capabilities.completions is not None
        vendors = (await client.complete(MODEL_TEMPLATE, {"name": "vendor", "value": "Op"})).completion
        assert "openai" in vendors.values and all(v.lower().startswith("op") for v in vendors.values)
        models = (
            await client.complete(MODEL_TEMPLATE, {"name": "model", "value": "gpt-4o"}, {"vendor": "openai"})
        ).completion
        assert "gpt-4o-mini" in models.values and all(v.startswith("gpt-4o") for v in models.values)
        assert models.total == len(models.values) and not models.has_more
        everything = (await client.complete(MODEL_TEMPLATE, {"name": "model", "value": ""})).completion
        assert len(everything.values) == 100 and everything.has_more and (everything.total or 0) > 100

        ref = PromptReference(type="ref/prompt", name="compare_models")
        ids = (
            await client.complete(ref, {"name": "models", "value": "openai/gpt-4o-mini, claude-haiku-4"})
        ).completion
        assert "openai/gpt-4o-mini, anthropic/claude-haiku-4.5" in ids.values
        caps = (
            await client.complete(
                PromptReference(type="ref/prompt", name="delegate"), {"name": "capabilities", "value": "js"}
            )
        ).completion
        assert caps.values == ["json_mode", "json_schema"]
