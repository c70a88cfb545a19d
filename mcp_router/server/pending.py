"""A router that is still being built, so `serve` can answer at once.

Building the router loads the catalog, opens the usage database and prepares the HTTP pool
(a few hundred milliseconds, mostly imports). None of that is needed to answer `initialize`
or `tools/list`, so `serve` starts the MCP session first and builds the router in a worker
thread meanwhile; tool calls and resource reads wait for it (`get`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from mcp_router.errors import RouterError
from mcp_router.log import get_logger

if TYPE_CHECKING:
    from mcp_router.catalog.refresh import RefreshResult
    from mcp_router.router import Router

log = get_logger(__name__)


class RouterUnavailable(RouterError):
    """The router could not be built (unreadable database, bad configuration...)."""


class PendingRouter:
    """Holds the router once built; `get()` waits for it (returns at once afterwards)."""

    def __init__(self, router: Router | None = None) -> None:
        self._router = router
        self._error: str | None = None
        self._done = anyio.Event()
        if router is not None:
            self._done.set()

    @property
    def router(self) -> Router | None:
        """The router, or None while it is being built."""
        return self._router

    async def get(self) -> Router:
        if self._router is not None:  # the common case: no checkpoint, no wait
            return self._router
        await self._done.wait()
        if self._router is None:
            raise RouterUnavailable(f"The router could not start: {self._error}. See `mcp-router doctor`.")
        return self._router

    async def refresh_catalog(self) -> RefreshResult:
        """Lets a `LiveCatalogUpdater` hold this instead of the router itself."""
        return await (await self.get()).refresh_catalog()

    async def run(self, build: Callable[[], Router]) -> None:
        """Build the router in a worker thread, enter it, and keep it open until cancelled."""
        try:
            router = await anyio.to_thread.run_sync(build)
        # Config, database (unreadable, or not a database at all: LedgerUnavailable) or catalog faults.
        except (RouterError, OSError, ValueError) as exc:
            self._error = f"{type(exc).__name__}: {exc}"
            log.error("router_start_failed", error=type(exc).__name__, detail=str(exc)[:200])
            self._done.set()
            return
        async with router:
            # What exists now (catalog, settings, the SDK's and our modules) lives as long as the
            # server: frozen, the collector's full passes stop re-scanning it, which cost a pause
            # of tens of milliseconds every few hundred calls (docs/architecture.md "Hot path").
            # Startup's garbage is collected first, so none of it is kept for good.
            gc.collect()
            gc.freeze()
            self._router = router
            self._done.set()
            await anyio.sleep_forever()
