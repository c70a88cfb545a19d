"""The dashboard's HTTP rules without a browser: Host/Origin checks, GET-only JSON, logins
through the MCP server's own verifier, session expiry, and per-client scoping of `/api/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette

from mcp_router.dashboard import Dashboard, Gate, SessionStore
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.server.compat import token_verifier_of
from mcp_router.server.pending import PendingRouter
from mcp_router.server.transports import parse_tokens, security_for
from mcp_router.sim import Simulator

TOKENS = "laptop:tok-laptop-0123456789,ops:tok-ops-0123456789"
BASE = "http://127.0.0.1:8765"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def router(tmp_path: Path) -> AsyncIterator[Router]:
    sim = Simulator()
    async with sim.running(), Router.from_env({**sim.env(), "MCP_ROUTER_HOME": str(tmp_path)}) as r:
        yield r


def _client(router: Router, tokens: str | None, clock: Clock | None = None) -> httpx2.AsyncClient:
    server = build_server(router, tokens=parse_tokens(tokens) if tokens else None, admins=["ops"])
    sessions = SessionStore(ttl_s=60, monotonic=clock or Clock())
    gate = Gate(
        token_verifier_of(server),
        local_client="http",
        admins=["ops"],
        security=security_for("127.0.0.1", {}),
        sessions=sessions,
    )
    app = Starlette(routes=Dashboard(PendingRouter(router), gate).routes())
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE)


async def _login(client: httpx2.AsyncClient, token: str, **headers: str) -> httpx2.Response:
    return await client.post("/login", data={"token": token}, headers=headers)


@pytest.mark.anyio
async def test_loopback_without_tokens_is_open_but_checks_host_and_methods(router: Router) -> None:
    async with _client(router, None) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/api/me")).json()["reads_all_clients"] is True
        assert (await client.get("/", headers={"host": "evil.example"})).status_code == 421
        assert (await client.get("/api/health", headers={"origin": "http://evil.example"})).status_code == 403
        assert (await client.post("/api/health")).status_code == 405
        assert (await client.get("/login")).headers["location"] == "/"
        page = await client.get("/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (
            (await client.get("/assets/dashboard.js")).headers["content-type"].startswith("text/javascript")
        )
        assert (await client.get("/assets/../app.py")).status_code == 404


@pytest.mark.anyio
async def test_a_login_gives_a_cookie_session_that_expires_and_ends_with_logout(router: Router) -> None:
    clock = Clock()
    async with _client(router, TOKENS, clock) as client:
        assert (await client.get("/")).headers["location"] == "/login"
        assert (await client.get("/api/me")).status_code == 401
        refused = await _login(client, "tok-laptop-012345678X")
        assert refused.status_code == 401 and "not accepted" in refused.text and "tok-" not in refused.text
        crossed = await _login(client, "tok-laptop-0123456789", origin="http://evil.example:8765")
        assert crossed.status_code == 403 and "set-cookie" not in crossed.headers
        ok = await _login(client, "tok-laptop-0123456789", origin=BASE)
        cookie = ok.headers["set-cookie"]
        assert ok.status_code == 303 and "tok-laptop" not in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert (await client.get("/api/me")).json() == {
            "client": "laptop",
            "admin": False,
            "authenticated": True,
            "reads_all_clients": False,
        }
        clock.t += 61  # past the session's lifetime
        assert (await client.get("/api/me")).status_code == 401
        await _login(client, "tok-laptop-0123456789")
        assert (await client.get("/api/me")).status_code == 200
        await client.post("/logout")
        assert (await client.get("/api/me")).status_code == 401


@pytest.mark.anyio
async def test_api_reads_are_scoped_to_the_callers_client(router: Router) -> None:
    async with _client(router, TOKENS) as client:
        bearer = {"authorization": "Bearer tok-laptop-0123456789"}
        refused = await client.get("/api/series", params={"client": "ops"}, headers=bearer)
        assert refused.status_code == 400 and "only its own usage" in refused.json()["error"]
        mine = (
            await client.get("/api/series", params={"window": "24h", "bucket": "hour"}, headers=bearer)
        ).json()
        assert mine["client"] == "laptop" and len(mine["points"]) == 25
        bad = await client.get("/api/series", params={"bucket": "week"}, headers=bearer)
        assert bad.status_code == 400 and "invalid bucket" in bad.json()["error"]
        admin = {"authorization": "Bearer tok-ops-0123456789"}
        assert (
            await client.get("/api/series", params={"client": "laptop"}, headers=admin)
        ).status_code == 200
        everyone = (await client.get("/api/series", params={"group_by": "client"}, headers=admin)).json()
        assert everyone["client"] is None
        models: Any = (await client.get("/api/models", headers=admin)).json()
        assert models["total"] == len(models["models"]) > 100


def test_sessions_are_random_bounded_and_expire() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=10, max_sessions=3, monotonic=clock)
    ids = [store.create(f"t{i}") for i in range(4)]
    assert len(set(ids)) == 4 and all(len(i) >= 43 for i in ids)
    assert store.token_of(ids[0]) is None and store.token_of(ids[3]) == "t3"  # the oldest went first
    clock.t += 10
    assert store.token_of(ids[3]) is None and store.token_of(None) is None


class Tokens:
    """A verifier whose tokens can be withdrawn, as a revoked key is."""

    def __init__(self, tokens: dict[str, str], expires_at: int | None = None) -> None:
        self.tokens = tokens
        self.expires_at = expires_at

    async def verify_token(self, token: str) -> AccessToken | None:
        client = self.tokens.get(token)
        if client is None:
            return None
        return AccessToken(token=token, client_id=client, scopes=[], expires_at=self.expires_at)


@pytest.mark.anyio
async def test_a_session_ends_when_its_token_is_no_longer_accepted(router: Router) -> None:
    verifier = Tokens({"tok-laptop-0123456789": "laptop"})
    gate = Gate(verifier, local_client="http", security=security_for("127.0.0.1", {}))
    app = Starlette(routes=Dashboard(PendingRouter(router), gate).routes())
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
        await _login(client, "tok-laptop-0123456789")
        assert (await client.get("/api/me")).status_code == 200 and len(gate.sessions) == 1
        verifier.tokens.clear()
        assert (await client.get("/api/me")).status_code == 401
        assert len(gate.sessions) == 0
        assert (await client.get("/")).headers["location"] == "/login"


@pytest.mark.anyio
async def test_an_expired_token_does_not_sign_in(router: Router) -> None:
    gate = Gate(Tokens({"tok-old-0123456789": "old"}, expires_at=1), local_client="http")
    app = Starlette(routes=Dashboard(PendingRouter(router), gate).routes())
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
        assert (await _login(client, "tok-old-0123456789")).status_code == 401
        assert len(gate.sessions) == 0
