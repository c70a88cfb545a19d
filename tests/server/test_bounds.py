"""Bounded everything: subscriptions only to resources we serve and at most a few hundred per
session; token counts and report windows range-checked with house-style errors; no error repeats
more than ~100 characters of a rejected value."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_router.errors import MAX_ECHO
from mcp_router.server.app import build_server
from mcp_router.server.live import MAX_SUBSCRIPTIONS, ResourceNotifier

HUGE = "m" * 200_000
LONGEST_ERROR = MAX_ECHO + 300  # the message around a clipped value stays short too


async def _subscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources/subscribe is deprecated in the 2026 era
        await client.subscribe_resource(uri)


async def _unsubscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await client.unsubscribe_resource(uri)


@pytest.mark.anyio
async def test_subscribe_accepts_only_resources_the_server_serves(router: Any) -> None:
    notifier = ResourceNotifier()
    async with Client(build_server(router, notifier=notifier), mode="legacy") as client:
        for uri in ("catalog://models", "catalog://models/openai/gpt-4o-mini", "usage://summary"):
            await _subscribe(client, uri)
        for uri in (
            "file:///etc/passwd",
            "catalog://models/a/b/c",
            "usage://summary/x",
            f"catalog://models/{HUGE}/x",
        ):
            with pytest.raises(MCPError) as caught:
                await _subscribe(client, uri)
            assert "catalog://models" in caught.value.message and "usage://summary" in caught.value.message
            assert len(caught.value.message) < LONGEST_ERROR
        assert notifier.subscribed_uris() == 3


@pytest.mark.anyio
async def test_each_session_has_a_subscription_cap(router: Any) -> None:
    notifier = ResourceNotifier()
    server = build_server(router, notifier=notifier)
    async with Client(server, mode="legacy") as first, Client(server, mode="legacy") as second:
        for i in range(MAX_SUBSCRIPTIONS):
            await _subscribe(first, f"catalog://models/vendor/model-{i}")
        await _subscribe(first, "catalog://models/vendor/model-0")  # a repeat costs nothing
        with pytest.raises(MCPError) as caught:
            await _subscribe(first, "catalog://models")
        assert f"at most {MAX_SUBSCRIPTIONS}" in caught.value.message
        await _subscribe(second, "catalog://models")  # the cap is per session
        await _unsubscribe(first, "catalog://models/vendor/model-0")
        await _subscribe(first, "catalog://models")  # room again after an unsubscribe
        for i in range(1000):  # unsubscribing from what was never subscribed leaves nothing behind
            await _unsubscribe(second, f"catalog://models/other/model-{i}")
    assert notifier.subscribed_uris() == MAX_SUBSCRIPTIONS  # models 1..255, and catalog://models


@pytest.mark.anyio
async def test_listen_streams_follow_the_same_rules(router: Any) -> None:
    async with Client(build_server(router), mode="auto") as client:
        with pytest.raises(MCPError) as caught:
            async with client.listen(resource_subscriptions=["catalog://models", f"secret://{HUGE}"]):
                pass
        assert "Cannot subscribe" in caught.value.message and len(caught.value.message) < LONGEST_ERROR
        many = [f"catalog://models/v/m{i}" for i in range(MAX_SUBSCRIPTIONS + 1)]
        with pytest.raises(MCPError, match="Too many resource subscriptions"):
            async with client.listen(resource_subscriptions=many):
                pass
        async with client.listen(resource_subscriptions=["catalog://models"]) as sub:
            assert sub.honored.resource_subscriptions == ["catalog://models"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "args", "names"),
    [
        ("estimate_cost", {"input_tokens": 10**30}, "`input_tokens` must be at most 1000000000"),
        ("estimate_cost", {"input_tokens": 1e30}, "`input_tokens`"),
        (
            "estimate_cost",
            {"input_tokens": 10, "output_tokens": 10**30},
            "`output_tokens` must be at most 1000000000",
        ),
        ("usage_report", {"since": "99999999999d"}, "at most 36600d"),
        ("usage_report", {"since": "99999999999999999999999999h"}, "at most 36600d"),
        ("usage_report", {"until": "0001-01-01T00:00:00+05:00"}, "out of range"),
        ("complete", {"prompt": "hi", "max_tokens": 10**30}, "`max_tokens` must be at most 1000000000"),
        ("complete", {"prompt": "hi", "seed": 10**30}, "`seed` must be at most 9223372036854775807"),
    ],
)
async def test_out_of_range_numbers_get_house_style_errors(
    router: Any, tool: str, args: dict[str, Any], names: str
) -> None:
    async with Client(build_server(router), mode="legacy") as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert names in text, text
    assert len(text) < LONGEST_ERROR


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("complete", {"prompt": "hi", "model": HUGE}),
        ("complete", {"prompt": "hi", "models": [HUGE]}),
        ("estimate_cost", {"input_tokens": 10, "models": [HUGE]}),
        ("usage_report", {"since": HUGE}),
        ("usage_report", {"until": HUGE + "d"}),
        ("list_models", {"capabilities": [HUGE]}),
    ],
)
async def test_errors_never_echo_a_whole_rejected_value(router: Any, tool: str, args: dict[str, Any]) -> None:
    async with Client(build_server(router), mode="legacy") as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "m" * (MAX_ECHO - 10) in text  # the start of the value is there, to recognise it
    assert len(text) < LONGEST_ERROR, text[:300]


@pytest.mark.anyio
async def test_unknown_model_resource_error_is_clipped(router: Any) -> None:
    async with Client(build_server(router), mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource(f"catalog://models/{HUGE}/x")
    assert len(caught.value.message) < LONGEST_ERROR
