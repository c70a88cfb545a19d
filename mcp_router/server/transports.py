"""Serving the MCP server: stdio (default), Streamable HTTP at `/mcp`, legacy SSE behind a flag.

HTTP safety: bound to loopback by default with Host/Origin validation (a foreign Origin gets
403). Binding anywhere else requires bearer tokens (`MCP_ROUTER_TOKENS="client:token,..."` or
`[server] tokens` in the config file) or issued keys (`keys create`); each is a metering client.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from mcp_router.server.shutdown import CountHttpRequests, CountRequests, InFlight, StopRequest

if TYPE_CHECKING:  # HTTP only: stdio start-up does not pay for importing uvicorn
    import uvicorn
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send

Transport = Literal["stdio", "http", "sse"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORT = 8765
MIN_TOKEN_CHARS = 16
"""Bearer tokens guarding a non-loopback bind are at least this long."""


class ServeConfigError(ValueError):
    """The transport options are unsafe or inconsistent; the message says what to change."""


def parse_tokens(spec: str | None) -> dict[str, str]:
    """`"client1:tok1,client2:tok2"` -> {token: client}. A bare token is client `http`."""
    tokens: dict[str, str] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        client, sep, token = item.partition(":")
        if not sep:
            client, token = "http", client
        if not token.strip() or not client.strip():
            raise ServeConfigError("MCP_ROUTER_TOKENS entries are client:token, e.g. 'laptop:s3cret'.")
        tokens[token.strip()] = client.strip()
    return tokens


def tokens_from(env: Mapping[str, str], configured: Mapping[str, str] | None = None) -> dict[str, str]:
    """Tokens from the environment win over the config file's `{client: token}` table."""
    from_env = parse_tokens(env.get("MCP_ROUTER_TOKENS"))
    if from_env:
        return from_env
    return {token: client for client, token in (configured or {}).items() if token}


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def is_loopback(host: str) -> bool:
    return host.lower() in LOOPBACK


def security_for(host: str, env: Mapping[str, str]) -> TransportSecuritySettings:
    """Host/Origin validation. Loopback: only loopback hosts and origins, with or without a
    port. Elsewhere: the hosts and origins in MCP_ROUTER_ALLOWED_HOSTS / MCP_ROUTER_ALLOWED_ORIGINS
    when set; otherwise the bearer token is the guard (a browser cannot attach it cross-site).
    Names are compared lowercased (`LowercaseHostHeaders` lowers the request's side)."""
    hosts = [h.lower() for h in _csv(env.get("MCP_ROUTER_ALLOWED_HOSTS"))]
    origins = [o.lower() for o in _csv(env.get("MCP_ROUTER_ALLOWED_ORIGINS"))]
    if is_loopback(host):
        names = ("127.0.0.1", "localhost", "[::1]")
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[*names, *(f"{n}:*" for n in names), *hosts],
            allowed_origins=[*(f"http://{n}" for n in names), *(f"http://{n}:*" for n in names), *origins],
        )
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=bool(hosts), allowed_hosts=hosts, allowed_origins=origins
    )


class LowercaseHostHeaders:
    """ASGI wrapper: the Host and Origin headers lowercased (host names are case-insensitive,
    the SDK's checks are not: `LOCALHOST:8765` is localhost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = [
                (name, value.lower() if name in (b"host", b"origin") else value)
                for name, value in scope.get("headers", [])
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def check_binding(host: str, tokens: Mapping[str, str], *, keys: bool = False) -> None:
    """Off loopback, bearer tokens (or issued keys: `keys`) are required, each configured token
    at least MIN_TOKEN_CHARS long."""
    if is_loopback(host):
        return
    if not tokens and not keys:
        raise ServeConfigError(
            f"Refusing to serve on {host} without bearer tokens: set MCP_ROUTER_TOKENS='client:token' "
            "(or [server] tokens in the config), create a key (`mcp-router keys create NAME`), or "
            "bind to 127.0.0.1."
        )
    short = sorted({client for token, client in tokens.items() if len(token) < MIN_TOKEN_CHARS})
    if short:
        raise ServeConfigError(
            f"Refusing to serve on {host}: the bearer token for client(s) {', '.join(short)} is shorter "
            f"than {MIN_TOKEN_CHARS} characters. Use a long random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, in MCP_ROUTER_TOKENS or "
            "[server] tokens."
        )


def http_app(
    server: MCPServer[Any],
    *,
    host: str,
    env: Mapping[str, str],
    transport: Transport = "http",
    routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """The ASGI app for `server` (Streamable HTTP at /mcp, or legacy SSE at /sse), plus `routes`
    on the same port (the gateway's `/v1/...` and the dashboard's `/`, docs/architecture.md)."""
    security = security_for(host, env)
    if transport == "sse":
        app = server.sse_app(transport_security=security, host=host)
    else:
        app = server.streamable_http_app(streamable_http_path="/mcp", transport_security=security, host=host)
    app.router.routes.extend(routes)
    return LowercaseHostHeaders(app)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket with TCP_NODELAY (Nagle plus delayed ACK costs ~40 ms per response)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def uvicorn_server(app: ASGIApp, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server that leaves signals to its caller (`serve` stops it gracefully; uvicorn's
    own capture re-raises the signal after its shutdown, killing the process before the ledger
    is flushed)."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return _Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on"))


async def serve(
    server: MCPServer[Any],
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    env: Mapping[str, str],
    tokens: Mapping[str, str] | None = None,
    keys: bool = False,
    on_listening: Callable[[str], None] | None = None,
    stop: StopRequest | None = None,
    routes: Sequence[BaseRoute] = (),
) -> None:
    """Run until the client disconnects (stdio) or `stop` is requested (any transport; then
    the calls in flight finish first, within its grace period). `on_listening` gets the URL
    once the socket listens (with the real port when `port` is 0); `routes` are served beside
    `/mcp` over HTTP."""
    if transport == "stdio":
        from mcp_router.server.stdio import serve_stdio

        await serve_stdio(server, stop)
        return
    check_binding(host, tokens or {}, keys=keys)
    calls = InFlight()
    server.middleware.append(CountRequests(calls))
    app = CountHttpRequests(http_app(server, host=host, env=env, transport=transport, routes=routes), calls)
    web = uvicorn_server(app)
    sock = bind(host, port)
    if on_listening is not None:
        shown = f"[{host}]" if ":" in host else host
        on_listening(f"http://{shown}:{sock.getsockname()[1]}/{'sse' if transport == 'sse' else 'mcp'}")
    async with anyio.create_task_group() as tg:
        if stop is not None:
            tg.start_soon(_stop_http, stop, web, calls)
        await web.serve(sockets=[sock])
        tg.cancel_scope.cancel()


async def _stop_http(stop: StopRequest, web: uvicorn.Server, calls: InFlight) -> None:
    """On stop: uvicorn closes the listener and idle connections and waits for the others; once
    the calls in flight are answered (or the grace is over), end what is left: idle
    notification streams, and calls past the grace."""
    await stop.requested.wait()
    web.should_exit = True
    await stop.drain(calls.wait_idle)
    while True:  # until `serve` returns; a connection accepted before the listener closed is ended too
        for task in list(web.server_state.tasks):
            task.cancel()
        await anyio.sleep(0.1)
