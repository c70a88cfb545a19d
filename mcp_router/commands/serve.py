"""`mcp-router serve`: build the router from the environment and serve it over MCP."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_router.log import configure_logging, get_logger
from mcp_router.server.transports import DEFAULT_PORT, ServeConfigError, Transport, check_binding, tokens_from

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier
    from mcp.server.mcpserver import MCPServer
    from starlette.routing import BaseRoute

    from mcp_router.keys.verify import RouterTokenVerifier
    from mcp_router.router import Router
    from mcp_router.server.pending import PendingRouter
    from mcp_router.server.shutdown import StopRequest
    from mcp_router.settings import Settings

MAX_GRACE_S = 3600.0
log = get_logger(__name__)


def refresh_interval(env: Mapping[str, str]) -> float | None:
    """`MCP_ROUTER_REFRESH_S` seconds between live catalog refreshes (0 turns them off)."""
    from mcp_router.environment import refresh_seconds

    return refresh_seconds(env)


def stop_grace(env: Mapping[str, str]) -> float:
    """`MCP_ROUTER_STOP_GRACE_S`: seconds the calls in flight get to finish after SIGTERM/SIGINT."""
    from mcp_router.server.shutdown import DEFAULT_GRACE_S

    raw = env.get("MCP_ROUTER_STOP_GRACE_S", "").strip()
    if not raw:
        return DEFAULT_GRACE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_GRACE_S:
        raise ServeConfigError(
            f"MCP_ROUTER_STOP_GRACE_S must be a number of seconds from 0 to {MAX_GRACE_S:.0f} "
            f"(default {DEFAULT_GRACE_S:.0f}); got {raw[:40]!r}."
        )
    return value


async def run_serve(
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    env: Mapping[str, str] | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve until the client disconnects (stdio) or SIGTERM/SIGINT: then the calls in flight
    get `MCP_ROUTER_STOP_GRACE_S` to finish, and the router closes (ledger flushed) either way.
    The router is built in a worker thread while `initialize` is answered (tool calls wait for
    it); configuration errors stop `serve` before it starts (the settings are read once, here)."""
    import anyio

    from mcp_router.server.pending import PendingRouter
    from mcp_router.server.shutdown import StopRequest, stop_on_signals
    from mcp_router.server.transports import serve
    from mcp_router.settings import load_settings

    env = dict(os.environ if env is None else env)
    configure_logging(env)
    settings = load_settings(env)
    access = await _access(env, settings, transport, host)  # fails before building the router
    pending = PendingRouter()
    stop = StopRequest(stop_grace(env))
    server, verifier = _mcp_server(pending, access, settings, env, stop)
    face_verifier = verifier if verifier.required else None  # loopback without tokens: open
    routes = _faces(transport, server, pending, face_verifier, access, host, env)
    async with anyio.create_task_group() as tg:
        await tg.start(stop_on_signals, stop)
        # Over stdio the client started the server in its own folder: local files there may be
        # read; over HTTP only the configured `[files] roots`.
        roots = [os.getcwd()] if transport == "stdio" else []
        tg.start_soon(pending.run, lambda: _build_router(env, settings, roots))
        await serve(
            server,
            transport=transport,
            host=host,
            port=port,
            env=env,
            tokens=access.tokens,
            keys=access.keys,
            on_listening=on_listening,
            stop=stop,
            routes=routes,
        )
        tg.cancel_scope.cancel()  # closes the router: meter flushed, health.json written, database closed


@dataclass(frozen=True)
class _Access:
    """Who may call: static tokens, whether issued keys exist, admins, the local client."""

    tokens: dict[str, str]
    keys: bool
    admins: frozenset[str]
    client_id: str


def _mcp_server(
    pending: PendingRouter, access: _Access, settings: Settings, env: Mapping[str, str], stop: StopRequest
) -> tuple[MCPServer[Any], RouterTokenVerifier]:
    """The MCP server over the router being built, and the one token verifier every HTTP face
    shares (/mcp, the HTTP API, the dashboard's login)."""
    from mcp_router.keys.verify import token_verifier
    from mcp_router.server.app import build_server, router_keys

    verifier = token_verifier(
        access.tokens, router_keys(pending), access.admins, required=bool(access.tokens) or access.keys
    )
    server = build_server(
        pending,
        client_id=access.client_id,
        tokens=access.tokens or None,
        admins=access.admins,
        refresh_interval_s=refresh_interval(env),
        verifier=verifier,
        jobs_keep_s=settings.jobs.keep_hours * 3600,
        stop=stop,
    )
    return server, verifier


async def _access(env: Mapping[str, str], settings: Settings, transport: Transport, host: str) -> _Access:
    """The access rules `serve` applies; ServeConfigError when the binding would be unsafe."""
    from mcp_router.api.access import admins_from

    tokens = tokens_from(env, _configured_tokens(settings)) if transport != "stdio" else {}
    keys = transport != "stdio" and await issued_keys_exist(env)
    if transport != "stdio":
        check_binding(host, tokens, keys=keys)
    client_id = env.get("MCP_ROUTER_CLIENT", "default" if transport == "stdio" else "http")
    return _Access(tokens, keys, admins_from(env, settings.server.admins), client_id)


def _faces(
    transport: Transport,
    server: MCPServer[Any],
    pending: PendingRouter,
    verifier: TokenVerifier | None,
    access: _Access,
    host: str,
    env: Mapping[str, str],
) -> list[BaseRoute]:
    """The HTTP faces beside /mcp: the gateway (HTTP and SSE transports), the dashboard (HTTP)."""
    routes: list[BaseRoute] = []
    if transport != "stdio":
        routes += _gateway_routes(pending, verifier, access.client_id, access.admins, host, env)
    if transport == "http":
        routes += _dashboard_routes(server, pending, host, env, access.client_id, access.admins)
    return routes


def _gateway_routes(
    pending: PendingRouter,
    verifier: TokenVerifier | None,
    client_id: str,
    admins: frozenset[str],
    host: str,
    env: Mapping[str, str],
) -> list[BaseRoute]:
    """The gateway's `/v1/...` routes (README "Gateway"): the same router, token verifier,
    local client, admins and Host/Origin rules as `/mcp`."""
    from mcp_router.api.access import Caller
    from mcp_router.gateway.app import Gateway
    from mcp_router.gateway.auth import Gatekeeper
    from mcp_router.server.transports import security_for

    gate = Gatekeeper(verifier, Caller(client_id), admins, security_for(host, env))
    return Gateway(pending.get, gate).routes()


def _dashboard_routes(
    server: MCPServer[Any],
    pending: PendingRouter,
    host: str,
    env: Mapping[str, str],
    client_id: str,
    admins: Collection[str],
) -> list[BaseRoute]:
    """The dashboard beside /mcp: the same router, token verifier, admins and Host/Origin rules."""
    from mcp_router.dashboard import Dashboard, Gate
    from mcp_router.server.compat import token_verifier_of
    from mcp_router.server.transports import security_for

    gate = Gate(
        token_verifier_of(server), local_client=client_id, admins=admins, security=security_for(host, env)
    )
    return Dashboard(pending, gate).routes()


async def issued_keys_exist(env: Mapping[str, str]) -> bool:
    """Whether the usage database holds an active issued key (then HTTP requires a token even
    on loopback; README "Keys"). A database that cannot be read counts as yes: fail closed."""
    from mcp_router.errors import RouterError
    from mcp_router.keys.book import KeyBook
    from mcp_router.metering.factory import open_store
    from mcp_router.metering.paths import default_store_location

    location = default_store_location(env)
    if "://" not in location and not os.path.exists(location):
        return False  # no database yet, so no keys (and none is created here)
    try:
        store = open_store(location)
        try:
            return await KeyBook(store).any_active()
        finally:
            await store.aclose()
    except (RouterError, OSError, ValueError) as exc:
        log.warning("keys_unreadable_tokens_required", error=type(exc).__name__, detail=str(exc)[:200])
        return True


def _build_router(env: Mapping[str, str], settings: Settings, file_roots: list[str]) -> Router:
    from mcp_router.router import Router

    return Router.from_env(env, settings=settings, file_roots=file_roots)


def _configured_tokens(settings: Settings) -> dict[str, str]:
    """`[server] tokens = {client = "token"}` from the TOML config (client -> token)."""
    return {client: token.get_secret_value() for client, token in settings.server.tokens.items()}


def token_clients(env: Mapping[str, str]) -> frozenset[str]:
    """The clients of the static tokens `serve --transport http` would accept, and the admin
    clients (a key named like one would share its ledger or its rights)."""
    from mcp_router.api.access import admins_from
    from mcp_router.settings import load_settings

    settings = load_settings(env)
    clients = tokens_from(env, _configured_tokens(settings)).values()
    return frozenset(clients) | admins_from(env, settings.server.admins)
