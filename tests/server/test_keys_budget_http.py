"""50 concurrent MCP calls over Streamable HTTP on one key with a daily cap: what the ledger
records never passes the cap by more than the largest single reservation (SQLite and
PostgreSQL); an admin key is an admin; the verifier serves static tokens and keys alike."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import Message
from mcp_router.keys.book import KeyBook
from mcp_router.keys.records import KeyLimits
from mcp_router.keys.verify import ADMIN_SCOPE, token_verifier
from mcp_router.router import Router
from mcp_router.routing.costs import estimate_cost
from mcp_router.server.app import build_server
from mcp_router.server.transports import bind, http_app, uvicorn_server

pytestmark = pytest.mark.anyio

MODEL = "openai/gpt-4o-mini"
MAX_TOKENS = 200
PROMPT = "Write one sentence about budgets."


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The server's environment on SQLite, or on a fresh PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield env
        return
    psycopg = pytest.importorskip("psycopg")
    base = os.environ.get("MCP_ROUTER_TEST_PG_URL", "")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("no PostgreSQL server: set MCP_ROUTER_TEST_PG_URL")
        pytest.skip("no PostgreSQL server: set MCP_ROUTER_TEST_PG_URL")
    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield {**env, "MCP_ROUTER_DB": base.rsplit("/", 1)[0] + "/" + name}
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@asynccontextmanager
async def serving(router: Any, env: dict[str, str], tokens: dict[str, str]) -> AsyncIterator[str]:
    async def keys() -> KeyBook:
        return router.keys.book

    verifier = token_verifier(tokens, keys, admins=["ops"], required=True)
    sock = bind("127.0.0.1", 0)
    app = http_app(build_server(router, tokens=tokens, verifier=verifier), host="127.0.0.1", env=env)
    server = uvicorn_server(app)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        finally:
            server.should_exit = True


@asynccontextmanager
async def session(url: str, secret: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {secret}"}, timeout=120)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def largest_reservation(router: Any) -> Decimal:
    """One call's hold: its worst case at the dearest endpoint it may use."""
    endpoints = router.catalog.resolve(MODEL).endpoints
    tokens = estimate_messages([Message(role="user", content=PROMPT)])
    worst = [estimate_cost(e.pricing, tokens, MAX_TOKENS) for e in endpoints]
    return max(w for w in worst if w is not None)


async def test_fifty_concurrent_calls_never_overspend_a_keys_daily_cap(database: dict[str, str]) -> None:
    async with Router.from_env(database) as router:
        await _fifty_calls(router, database)


async def _fifty_calls(router: Any, env: dict[str, str]) -> None:
    hold = largest_reservation(router)
    cap = hold * 3  # room for three calls' worst cases at once; 50 calls' answers cost more
    _, secret = await router.keys.book.create("capped", KeyLimits(daily_usd=cap))
    outcomes: list[tuple[bool, str]] = []
    async with serving(router, env, {}) as url, session(url, secret) as client:

        async def one() -> None:
            args = {"prompt": PROMPT, "model": MODEL, "max_tokens": MAX_TOKENS}
            result = await client.call_tool("complete", args)
            outcomes.append((result.is_error, str(result.content[0].text)))  # type: ignore[union-attr]

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
    report = await router.usage_report(client="capped")
    spent = Decimal(str(report.totals.cost_usd))
    assert len(outcomes) == 50
    assert any(not refused for refused, _ in outcomes)
    assert any(refused and "budget" in text.lower() for refused, text in outcomes)
    assert all(not refused or "budget" in text.lower() for refused, text in outcomes)
    assert 0 < spent <= cap + hold
    (daily,) = report.budgets
    assert daily.reserved_usd == 0 and Decimal(str(daily.spent_usd)) == spent


async def test_admin_keys_and_static_tokens_share_one_verifier(router: Any, env: dict[str, str]) -> None:
    _, boss = await router.keys.book.create("boss", KeyLimits(admin=True))
    _, plain = await router.keys.book.create("plain", KeyLimits())
    tokens = {"tok-ops-0123456789abcdef": "ops"}
    async with serving(router, env, tokens) as url:
        for secret in (boss, "tok-ops-0123456789abcdef"):
            async with session(url, secret) as client:
                result = await client.call_tool("usage_report", {"client": "plain"})
                assert not result.is_error, result.content  # an admin reads another client
        async with session(url, plain) as client:
            result = await client.call_tool("usage_report", {"client": "boss"})
            assert result.is_error and "only its own usage (client plain)" in str(result.content[0])
        await router.keys.book.revoke("plain")  # in this process: refused at once
        async with httpx2.AsyncClient() as http:
            headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
            refused = await http.post(url, json={}, headers={**headers, "authorization": f"Bearer {plain}"})
            admitted = await http.post(url, json={}, headers={**headers, "authorization": f"Bearer {boss}"})
        assert refused.status_code == 401 and admitted.status_code != 401
    verifier = token_verifier(tokens, None, admins=["ops"])
    ops = await verifier.verify_token("tok-ops-0123456789abcdef")
    assert ops is not None and ops.client_id == "ops" and ADMIN_SCOPE in ops.scopes
    assert await verifier.verify_token(boss) is None  # no key source: keys are not known
