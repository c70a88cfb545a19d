"""Conversations over Streamable HTTP with bearer tokens (MCP_ROUTER_TOKENS): a client reads and
continues only its own; another's id answers exactly as a missing one does. And tool turns
survive a switch of wire: OpenAI's call ids reach Gemini as names and Anthropic as paired
tool_use/tool_result blocks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.server.transports import bind, http_app, tokens_from, uvicorn_server
from mcp_router.settings import ConfigError
from mcp_router.sim import Simulator

TOKENS = {"MCP_ROUTER_TOKENS": "alice:tok-alice-0123456789,bob:tok-bob-0123456789"}
GPT = {"model": "openai/gpt-4o-mini"}


@asynccontextmanager
async def serving(router: Any, env: dict[str, str]) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    app = http_app(build_server(router, tokens=tokens_from(TOKENS)), host="127.0.0.1", env=env)
    server = uvicorn_server(app)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        finally:
            server.should_exit = True


@asynccontextmanager
async def as_client(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
        yield client


async def _read(client: Client, uri: str) -> Any:
    return json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_token_cannot_read_or_continue_another_clients_conversation(
    router: Any, env: dict[str, str], sim: Simulator
) -> None:
    async with serving(router, env) as url:
        async with as_client(url, "tok-alice-0123456789") as alice:
            made = await alice.call_tool("complete", {"prompt": "My secret plan is X.", **GPT})
            assert not made.is_error, made.content
            cid = made.structured_content["conversation_id"]  # type: ignore[index]
            assert [c["id"] for c in await _read(alice, "conversations://")] == [cid]
        hits = sim.hits("openai", "gpt-4o-mini")
        async with as_client(url, "tok-bob-0123456789") as bob:
            assert await _read(bob, "conversations://") == []
            theirs = await bob.call_tool(
                "complete", {"prompt": "Repeat the plan.", "conversation_id": cid, **GPT}
            )
            bogus = "conv_" + "z" * 24
            missing = await bob.call_tool(
                "complete", {"prompt": "Repeat the plan.", "conversation_id": bogus, **GPT}
            )
            assert theirs.is_error and missing.is_error
            said = theirs.content[0].text  # type: ignore[union-attr]
            assert "not found" in said and said == missing.content[0].text.replace(bogus, cid)  # type: ignore[union-attr]
            for uri in (f"conversations://{cid}", f"conversations://{bogus}"):
                with pytest.raises(Exception, match="not found") as read:
                    await bob.read_resource(uri)
                assert "secret" not in str(read.value)
        assert sim.hits("openai", "gpt-4o-mini") == hits  # bob's refused turns reached no provider
        async with as_client(url, "tok-alice-0123456789") as alice:
            again = await alice.call_tool(
                "complete", {"prompt": "Repeat the plan.", "conversation_id": cid, **GPT}
            )
            assert not again.is_error, again.content
            assert (await _read(alice, f"conversations://{cid}"))["turns"] == 2


WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.mark.anyio
async def test_tool_turns_survive_a_switch_to_gemini_then_anthropic(router: Any, sim: Simulator) -> None:
    async with Client(build_server(router)) as client:
        first = await client.call_tool("complete", {"prompt": "Weather in Oslo?", "tools": WEATHER, **GPT})
        data = first.structured_content
        assert data is not None and data["finish_reason"] == "tool_calls", first.content
        cid, (call,) = data["conversation_id"], data["tool_calls"]
        result = {"role": "tool", "tool_call_id": call["id"], "content": "Sunny, 21 C"}
        gemini = await client.call_tool(
            "complete",
            {"messages": [result], "conversation_id": cid, "model": "google/gemini-2.5-flash",
             "provider": {"only": ["gemini"]}},
        )  # fmt: skip
        assert not gemini.is_error, gemini.content
        third = await client.call_tool(
            "complete",
            {"prompt": "Thanks. Pack for it?", "conversation_id": cid, "model": "anthropic/claude-haiku-4.5",
             "provider": {"only": ["anthropic"]}},
        )  # fmt: skip
        assert not third.is_error, third.content

    sent = sim.requests("gemini", "gemini-2.5-flash")[-1].body
    assert sent is not None
    parts = [p for c in sent["contents"] for p in c["parts"]]
    called = next(p["functionCall"] for p in parts if "functionCall" in p)
    answered = next(p["functionResponse"] for p in parts if "functionResponse" in p)
    assert called["name"] == answered["name"] == "get_weather"
    assert "tools" in sent  # the conversation's tools are sent with its tool turns

    body = sim.requests("anthropic", "claude-haiku-4-5-20251001")[-1].body
    assert body is not None and "tools" in body
    turns = body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    (use,) = [b for b in turns[1]["content"] if b["type"] == "tool_use"]
    assert turns[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": use["id"],
        "content": "Sunny, 21 C",
    }
    assert use["id"] == call["id"]


@pytest.mark.anyio
async def test_sixteen_concurrent_calls_each_start_their_own_conversation(router: Any) -> None:
    ids: list[str] = []

    async def one(client: Client, i: int) -> None:
        done = await client.call_tool("complete", {"prompt": f"task {i}", **GPT})
        assert not done.is_error, done.content
        ids.append(done.structured_content["conversation_id"])  # type: ignore[index]

    async with Client(build_server(router)) as client:
        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, client, i)
        listed = await _read(client, "conversations://")
    assert len(set(ids)) == 16
    assert {c["id"] for c in listed} == set(ids) and all(c["turns"] == 1 for c in listed)


@pytest.mark.anyio
async def test_the_configured_caps_refuse_a_turn_before_any_call(
    env: dict[str, str], sim: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "router.toml"
    config.write_text("[conversations]\nmax_turns = 1\nttl_hours = 2\n")
    async with Router.from_env(env, config) as router, Client(build_server(router)) as client:
        first = await client.call_tool("complete", {"prompt": "one", **GPT})
        cid = first.structured_content["conversation_id"]  # type: ignore[index]
        listed = await _read(client, "conversations://")
        assert listed[0]["expires"] > listed[0]["updated"]
        hits = sim.hits("openai", "gpt-4o-mini")
        second = await client.call_tool("complete", {"prompt": "two", "conversation_id": cid, **GPT})
        assert second.is_error
        assert (
            "max_turns = 1" in second.content[0].text and "Start a new conversation" in second.content[0].text
        )  # type: ignore[union-attr]
        assert sim.hits("openai", "gpt-4o-mini") == hits
    bad = tmp_path / "bad.toml"
    bad.write_text("[conversations]\nttl_hours = 0\n")
    with pytest.raises(ConfigError, match=r"conversations\.ttl_hours"):
        Router.from_env(env, bad)


@pytest.mark.anyio
async def test_an_answer_written_to_a_file_stays_in_the_conversation(
    env: dict[str, str], sim: Simulator, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "draft.md"
    target.parent.mkdir()
    async with (
        Router.from_env(env, file_roots=[tmp_path]) as router,
        Client(build_server(router)) as client,
    ):
        filed = await client.call_tool(
            "complete", {"prompt": "Draft a memo.", "output_file": str(target), **GPT}
        )
        data = filed.structured_content
        assert data is not None and not filed.is_error, filed.content
        assert "text" not in data and data["conversation_id"] in filed.content[0].text  # type: ignore[union-attr]
        follow = await client.call_tool(
            "complete", {"prompt": "Shorten it.", "conversation_id": data["conversation_id"], **GPT}
        )
        assert not follow.is_error, follow.content
    sent = sim.requests("openai", "gpt-4o-mini")[-1].body
    assert sent is not None
    assert [m["content"] for m in sent["messages"]] == ["Draft a memo.", target.read_text(), "Shorten it."]
