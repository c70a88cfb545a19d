"""Each client sees its own usage: over HTTP a token reads only its own client's rows and
summary; an admin client's token may read others or all; stdio (one local user) reads all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.api.access import Caller, admins_from
from mcp_router.api.arguments import InvalidArguments
from mcp_router.server.app import build_server
from mcp_router.server.transports import bind, http_app, parse_tokens, uvicorn_server
from mcp_router.settings import parse_settings

TOKENS = "laptop:tok-laptop-0123456789,ci:tok-ci-0123456789,ops:tok-ops-0123456789"


@asynccontextmanager
async def serving(router: Any, env: dict[str, str], admins: list[str]) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    app = http_app(
        build_server(router, tokens=parse_tokens(TOKENS), admins=admins), host="127.0.0.1", env=env
    )
    server = uvicorn_server(app)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        finally:
            server.should_exit = True


@asynccontextmanager
async def as_client(url: str, token: str, mode: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def _report(session: Client, **args: Any) -> Any:
    result = await session.call_tool("usage_report", args)
    assert not result.is_error, result.content
    return result.structured_content


async def _summary(client: Client) -> Any:
    return json.loads((await client.read_resource("usage://summary")).contents[0].text)  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tokens_read_only_their_own_usage_and_the_admin_reads_all(
    router: Any, env: dict[str, str], mode: str
) -> None:
    async with serving(router, env, admins=["ops"]) as url:
        for token, calls in (("tok-laptop-0123456789", 1), ("tok-ci-0123456789", 2)):
            async with as_client(url, token, mode) as client:
                for _ in range(calls):
                    done = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
                    assert not done.is_error, done.content

        async with as_client(url, "tok-laptop-0123456789", mode) as laptop:
            mine = await _report(laptop, group_by="client")
            assert mine["totals"]["requests"] == 1 and [r["key"] for r in mine["rows"]] == ["laptop"]
            assert (await _report(laptop, client="laptop"))["totals"]["requests"] == 1
            refused = await laptop.call_tool("usage_report", {"client": "ci"})
            assert refused.is_error and "only its own usage (client laptop)" in refused.content[0].text  # type: ignore[union-attr]
            assert (await _summary(laptop))["today"]["totals"]["requests"] == 1

        async with as_client(url, "tok-ci-0123456789", mode) as ci:
            theirs = await _report(ci, group_by="client")
            assert theirs["totals"]["requests"] == 2 and [r["key"] for r in theirs["rows"]] == ["ci"]
            assert (await ci.call_tool("usage_report", {"client": "laptop"})).is_error
            assert (await _summary(ci))["today"]["totals"]["requests"] == 2

        async with as_client(url, "tok-ops-0123456789", mode) as ops:
            everyone = await _report(ops, group_by="client")
            assert everyone["totals"]["requests"] == 3
            assert {r["key"]: r["requests"] for r in everyone["rows"]} == {"ci": 2, "laptop": 1}
            assert (await _report(ops, client="laptop"))["totals"]["requests"] == 1
            assert (await _summary(ops))["today"]["totals"]["requests"] == 3


@pytest.mark.anyio
async def test_stdio_sees_every_client(router: Any) -> None:
    from mcp_router.core import Message
    from mcp_router.routing.types import RouteRequest

    for client in ("laptop", "ci"):
        req = RouteRequest(
            messages=[Message(role="user", content="hi")], model="openai/gpt-4o-mini", client=client
        )
        await router.complete(req)
    async with Client(build_server(router)) as local:
        assert (await _report(local))["totals"]["requests"] == 2
        assert (await _report(local, client="ci"))["totals"]["requests"] == 1
        assert (await _summary(local))["today"]["totals"]["requests"] == 2


def test_who_may_read_what() -> None:
    assert Caller("local").usage_client(None) is None
    assert Caller("local").usage_client("ci") == "ci"
    token = Caller("laptop", authenticated=True)
    assert token.usage_client(None) == "laptop" and token.usage_client("laptop") == "laptop"
    with pytest.raises(InvalidArguments, match="only its own usage"):
        token.usage_client("ci")
    admin = Caller("ops", authenticated=True, admin=True)
    assert admin.usage_client(None) is None and admin.usage_client("ci") == "ci"


def test_admins_come_from_the_environment_or_the_config() -> None:
    settings = parse_settings('[server]\nadmins = ["laptop"]\n')
    assert settings.server.admins == ["laptop"]
    assert admins_from({}, settings.server.admins) == {"laptop"}
    assert admins_from({"MCP_ROUTER_ADMINS": " ops, ci ,"}, settings.server.admins) == {"ops", "ci"}
    assert admins_from({"MCP_ROUTER_ADMINS": ""}, ()) == frozenset()


@pytest.mark.anyio
async def test_concurrent_calls_from_two_tokens_are_metered_apart(router: Any, env: dict[str, str]) -> None:
    async with serving(router, env, admins=["ops"]) as url:

        async def burst(token: str) -> None:
            async with as_client(url, token, "legacy") as client, anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(
                        client.call_tool, "complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"}
                    )

        async with anyio.create_task_group() as tg:
            tg.start_soon(burst, "tok-laptop-0123456789")
            tg.start_soon(burst, "tok-ci-0123456789")
        async with as_client(url, "tok-ops-0123456789", "legacy") as ops:
            rows = (await _report(ops, group_by="client"))["rows"]
    assert {r["key"]: r["requests"] for r in rows} == {"laptop": 8, "ci": 8}
