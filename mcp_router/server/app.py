"""The MCP server: the tools (server/tools.py), resources (server/resources.py) and prompts
(server/prompts.py) over a `Router`, as plain declarations on the SDK's `MCPServer`. Logic lives
in the library (`Router` and `mcp_router/api/`); `server/` only wires (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from mcp_router import __version__
from mcp_router.jobs.book import DEFAULT_KEEP_S
from mcp_router.jobs.runner import JobTiming
from mcp_router.keys.book import KeyBook
from mcp_router.keys.verify import KeySource, RouterTokenVerifier, token_verifier
from mcp_router.keys.verify import StaticTokens as StaticTokens  # re-exported: it lived here
from mcp_router.router import Router
from mcp_router.server.callers import CallerMiddleware
from mcp_router.server.guards import ClipErrorEchoes
from mcp_router.server.jobs import ServerJobs
from mcp_router.server.live import ResourceNotifier
from mcp_router.server.pending import PendingRouter
from mcp_router.server.prompts import Completer
from mcp_router.server.refresh import LiveCatalogUpdater
from mcp_router.server.resources import RouterResources
from mcp_router.server.shutdown import StopRequest
from mcp_router.server.state import ServerState
from mcp_router.server.tasks import TasksExtension
from mcp_router.server.tools import RouterTools
from mcp_router.server.transports import ServeConfigError

INSTRUCTIONS = (
    "One gateway to many LLM providers. Model ids are vendor/model (list_models, catalog://models); "
    "prices are USD per 1M tokens, costs USD. Choose with list_models or estimate_cost, delegate a "
    "subtask with complete (model auto = cheapest model of the default tier; models = fallbacks), "
    "try several models with compare, check spend with usage_report."
)


PLACEHOLDER_TOKEN_PREFIX = "change-me"
"""examples/mcp-router.toml ships tokens starting with this; serving with one would hand the
server to anyone who read the example."""


def refuse_placeholder_tokens(tokens: Mapping[str, str]) -> None:
    """Raise `ServeConfigError` when a configured token is still the example's placeholder."""
    clients = sorted(c for t, c in tokens.items() if t.strip().lower().startswith(PLACEHOLDER_TOKEN_PREFIX))
    if clients:
        raise ServeConfigError(
            f"The bearer token for client(s) {', '.join(clients)} is the example's placeholder "
            f'("{PLACEHOLDER_TOKEN_PREFIX}..."): replace it with a long random secret, e.g. the output of '
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, in MCP_ROUTER_TOKENS "
            "or [server] tokens."
        )


def router_keys(source: PendingRouter) -> KeySource:
    """The issued keys of `source`'s router, once it is built (None: it has no usage store)."""

    async def keys() -> KeyBook | None:
        gate = (await source.get()).keys
        return None if gate is None else gate.book

    return keys


def _bearer_auth(verifier: RouterTokenVerifier) -> dict[str, Any]:
    """MCPServer's auth arguments: resource-server-only auth, so the SDK's bearer middleware
    answers 401 without a valid token (issuer_url is required by the settings model but serves
    no route here). Nothing when tokens are not required."""
    if not verifier.required:
        return {}
    return {
        "token_verifier": verifier,
        "auth": AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),  # type: ignore[arg-type]
    }


def _lifespan(
    jobs: ServerJobs, live: LiveCatalogUpdater, refresh_interval_s: float | None, stop: StopRequest | None
) -> Callable[[MCPServer[Any]], AbstractAsyncContextManager[dict[str, Any]]]:
    """The server's lifespan: the job runner (jobs outlive the requests that started them) and
    the live catalog refresh; on a requested stop, running jobs get its grace period."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tg:
            await tg.start(jobs.runner.serve)
            if refresh_interval_s:
                tg.start_soon(live.run, refresh_interval_s)
            yield {"updater": live}
            if stop is not None and stop.requested.is_set():
                await stop.drain(jobs.runner.wait_idle)
            tg.cancel_scope.cancel()

    return lifespan


def build_server(
    router: Router | PendingRouter,
    *,
    client_id: str = "default",
    tokens: Mapping[str, str] | None = None,
    admins: Collection[str] = (),
    notifier: ResourceNotifier | None = None,
    updater: LiveCatalogUpdater | None = None,
    refresh_interval_s: float | None = None,
    heartbeat_s: float = 2.0,
    verifier: RouterTokenVerifier | None = None,
    jobs_keep_s: float = DEFAULT_KEEP_S,
    job_timing: JobTiming | None = None,
    stop: StopRequest | None = None,
) -> MCPServer[Any]:
    """An MCPServer exposing `router` (a `Router`, or a `PendingRouter` still being built:
    then `initialize` and `tools/list` answer at once and tool calls wait for the router).

    `client_id` names the metering client for stdio/in-memory sessions ("default", the client
    `[budgets.default]` applies to); `tokens` (token -> client) makes HTTP require a bearer
    token and meters each token as its client, which then reads only its own usage unless it
    is one of `admins` (see `api.access.admins_from`); `verifier` (`serve` builds one for every
    HTTP face) also knows the issued keys and whether a token is required at all, otherwise
    one is built over `tokens` and the router's keys, required when `tokens` are given;
    `refresh_interval_s` refreshes the catalog live while the server runs (`updater`/`notifier`
    let a caller trigger and observe it); finished background jobs are kept `jobs_keep_s`
    seconds; when `stop` was requested, running jobs get its grace period before they are cut
    (recorded failed, "interrupted")."""
    if tokens:
        refuse_placeholder_tokens(tokens)
    if updater is not None:
        notifier = updater.notifier
    notifier = notifier or ResourceNotifier()
    source = router if isinstance(router, PendingRouter) else PendingRouter(router)
    verifier = verifier or token_verifier(tokens or {}, router_keys(source), admins)
    live = updater or LiveCatalogUpdater(source, notifier)
    callers = CallerMiddleware(client_id, admins)
    state = ServerState(source, callers, heartbeat_s)
    jobs = ServerJobs(state, notifier, keep_s=jobs_keep_s, timing=job_timing)

    server: MCPServer[Any] = MCPServer(
        "mcp-router",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=_lifespan(jobs, live, refresh_interval_s, stop),
        subscriptions=notifier.bus,
        tools=RouterTools(state, jobs).declared(),
        extensions=[TasksExtension(jobs)],
        middleware=[callers, ClipErrorEchoes()],
        **_bearer_auth(verifier),
    )
    notifier.install(server)
    RouterResources(state).register(server)
    jobs.register(server)
    Completer(state).register(server)
    return server
