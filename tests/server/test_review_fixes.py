"""Contract points an independent review found: unknown ids in compare, long client names,
and the rejected-request message."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from mcp_router.server.app import build_server

pytestmark = pytest.mark.anyio


async def test_compare_of_unknown_models_only_is_a_tool_error_that_clips_the_id(router: Any) -> None:
    async with Client(build_server(router)) as client:
        result = await client.call_tool("compare", {"prompt": "hi", "models": ["zz/" + "y" * 150]})
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "Unknown model" in text and "y" * 120 not in text
        mixed = await client.call_tool(
            "compare", {"prompt": "hi", "models": ["openai/gpt-4o-mini", "zz/" + "y" * 150]}
        )
        assert not mixed.is_error
        (bad,) = [e for e in mixed.structured_content["results"] if e["error"]]  # type: ignore[index]
        assert "Unknown model" in bad["error"] and len(bad["model"]) <= 130
        huge = await client.call_tool("compare", {"prompt": "hi", "models": ["zz/" + "y" * 3000]})
        assert huge.is_error and "y" * 300 not in huge.content[0].text  # type: ignore[union-attr]


async def test_usage_report_refuses_a_client_name_longer_than_any_real_one(router: Any) -> None:
    async with Client(build_server(router)) as client:
        result = await client.call_tool("usage_report", {"client": "c" * 3000})
        assert result.is_error and "c" * 300 not in result.content[0].text  # type: ignore[union-attr]
