"""A normal stop (SIGTERM from docker/systemd, SIGINT from a terminal) loses nothing.

`serve` catches both signals instead of dying by them: the transport stops accepting, the calls
in flight get up to a grace period to finish and answer (a second signal cuts it short), and
then `serve` returns normally, which closes the router: the metering ledger is flushed and
health.json written before the process exits 0 (docs/architecture.md, "Stopping").

`InFlight` counts what a stop waits for on HTTP: MCP requests being handled (a middleware, for
every transport) and HTTP requests other than GET still sending their response (GET streams are
idle notification channels; a stop ends them once nothing else is left).
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

DEFAULT_GRACE_S = 10.0
LONG_LIVED = frozenset({"subscriptions/listen"})
"""Requests that stay open for the whole session: a stop does not wait for them."""


class StopRequest:
    """Set once a stop is asked for; `drain` waits for in-flight work within the grace period."""

    def __init__(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self.requested = anyio.Event()
        self._hurry = anyio.Event()

    def request(self) -> None:
        """The first call starts the stop; a second ends the grace period at once."""
        if self.requested.is_set():
            self._hurry.set()
        self.requested.set()

    async def drain(self, idle: Callable[[], Awaitable[None]]) -> bool:
        """Wait until `idle()` returns, at most `grace_s` (less if hurried). True when idle."""
        done = False
        with anyio.move_on_after(self.grace_s):
            async with anyio.create_task_group() as tg:

                async def until_idle() -> None:
                    nonlocal done
                    await idle()
                    done = True
                    tg.cancel_scope.cancel()

                async def until_hurried() -> None:
                    await self._hurry.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(until_idle)
                tg.start_soon(until_hurried)
        if not done:
            log.warning("stop_grace_over", grace_s=self.grace_s, detail="calls still running are cancelled")
        return done


async def stop_on_signals(stop: StopRequest, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    """Turn SIGTERM and SIGINT into `stop.request()` until cancelled (POSIX; elsewhere the
    signals keep their default behaviour)."""
    started = False
    try:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            task_status.started()
            started = True
            async for signum in signals:
                again = stop.requested.is_set()
                log.warning(
                    "stop_requested",
                    signal=signal.Signals(signum).name,
                    grace_s=stop.grace_s,
                    detail="stopping now" if again else "finishing calls in flight, then flushing the ledger",
                )
                stop.request()
    except NotImplementedError:  # Windows event loops cannot install signal handlers
        if not started:
            task_status.started()


class InFlight:
    """A count of work in progress, with a wait for zero."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = anyio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return self._count

    def enter(self) -> None:
        if self._count == 0:
            self._idle = anyio.Event()
        self._count += 1

    def exit(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        while self._count:
            await self._idle.wait()


class CountRequests(ServerMiddleware[Any]):
    """MCP middleware: every inbound request (not notifications, not long-lived listens) is in
    flight until its handler returns."""

    def __init__(self, calls: InFlight) -> None:
        self.calls = calls

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None or ctx.method in LONG_LIVED:
            return await call_next(ctx)
        self.calls.enter()
        try:
            return await call_next(ctx)
        finally:
            self.calls.exit()


class CountHttpRequests:
    """ASGI wrapper: an HTTP request other than GET is in flight until its response is sent
    (a Streamable HTTP tool call answers on its POST)."""

    def __init__(self, app: ASGIApp, calls: InFlight) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "GET":
            await self.app(scope, receive, send)
            return
        self.calls.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.calls.exit()
