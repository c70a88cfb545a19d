"""Input a caller can fix comes back as a readable tool error (isError) naming the fix, and the
server keeps serving afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from mcp_router.server.app import build_server

BAD_CALLS = [
    ("complete", {"prompt": "hi", "model": "nosuch/model-xyz"}, "list_models"),
    ("complete", {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "not both"),
    ("complete", {}, "pass `prompt`"),
    ("complete", {"prompt": "hi", "max_tokens": -5}, "`max_tokens` must be at least 1"),
    ("complete", {"messages": []}, "at least one message"),
    ("complete", {"prompt": "x" * 5_000_000}, "the limit is 1.0 MB"),
    ("complete", {"prompt": "hi", "temperature": 7}, "`temperature` must be at most 2"),
    ("complete", {"prompt": "hi", "models": []}, "fallback order"),
    ("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini", "max_cost_usd": 1e-12}, "max_cost_usd"),
    ("compare", {"prompt": "hi", "models": []}, "`models` is required"),
    ("estimate_cost", {"prompt": "hi", "input_tokens": 5}, "exactly one of"),
    ("estimate_cost", {"input_tokens": 10, "models": ["nosuch/model-xyz"]}, "list_models"),
    ("list_models", {"capabilities": ["telepathy"]}, "unknown capabilities"),
    ("usage_report", {"since": "yesterday-ish"}, "since"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_bad_input_is_a_readable_tool_error_and_serving_continues(router: Any, mode: str) -> None:
    async with Client(build_server(router), mode=mode) as client:
        for tool, args, fix in BAD_CALLS:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args)
            text = result.content[0].text  # type: ignore[union-attr]
            assert fix.lower() in text.lower(), (tool, text)
            assert "Traceback" not in text and len(text) < 2000
            ok = await client.call_tool("list_models", {"limit": 1})
            assert not ok.is_error
        done = await client.call_tool("complete", {"prompt": "still there?", "model": "openai/gpt-4o-mini"})
        assert not done.is_error and done.structured_content["text"]  # type: ignore[index]


@pytest.mark.anyio
async def test_all_routes_failed_names_each_attempt(router: Any, sim: Any) -> None:
    from mcp_router.sim import Fault

    for provider, model in (("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini")):
        sim.always(provider, model, Fault.status(500))
    async with Client(build_server(router)) as client:
        result = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "All routes failed" in text and "via openai" in text
        assert (await client.call_tool("list_models", {"limit": 1})).is_error is False


SECRET = "sk-live-do-not-echo-" + "9" * 20
SDK_REJECTED = [
    ("list_models", {"limit": 1000}, "`limit` must be at most 500"),
    ("list_models", {"sort": "bogus" + SECRET}, "`sort` must be one of 'name', 'price'"),
    ("usage_report", {"group_by": "week" + SECRET}, "`group_by` must be one of 'model'"),
    ("complete", {"prompt": "hi", "max_tokens": "abc" + SECRET}, "`max_tokens` must be an integer"),
    ("complete", {"prompt": "hi", "provider": {"bogus": SECRET}}, "it takes order, only, ignore"),
    ("complete", {"prompt": "hi", "stop": {"k": SECRET}}, "`stop` must be a list"),
    ("complete", {"messages": [{"role": SECRET, "content": "x"}]}, "`messages[0].role` must be one of"),
    ("complete", {"prompt": "hi", "response_format": {"type": SECRET}}, "`response_format.type` must be"),
    ("complete", {"prompt": "hi", "max_price": {"prompt": SECRET}}, "`max_price.prompt` must be a number"),
    ("compare", {"prompt": "hi"}, "`models` is required"),
    ("estimate_cost", {"prompt": "x" * 5_000_000, "limit": "many"}, "`limit` must be an integer"),
]


@pytest.mark.anyio
async def test_arguments_the_schema_rejects_get_house_style_errors(router: Any) -> None:
    async with Client(build_server(router)) as client:
        for tool, args, fix in SDK_REJECTED:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args)
            text = result.content[0].text  # type: ignore[union-attr]
            assert fix in text, (tool, text)
            assert "call again" in text
            for leak in ("pydantic", "validation error", "input_value", "Arguments", SECRET, "xxxxx"):
                assert leak not in text, (tool, text)
            assert len(text) < 400
        assert not (await client.call_tool("list_models", {"limit": 1})).is_error
