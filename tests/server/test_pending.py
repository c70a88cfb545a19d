"""`PendingRouter`: what a built router's server keeps out of the collector (docs/architecture.md
"Hot path"): once the router is up, everything that lives as long as the server is frozen, so
the collector's full passes no longer re-scan it and stall calls for tens of milliseconds."""

from __future__ import annotations

import gc
from types import TracebackType
from typing import Any, cast

import anyio
import pytest

from mcp_router.server.pending import PendingRouter

pytestmark = pytest.mark.anyio


class FakeRouter:
    def __init__(self) -> None:
        self.entered = False

    async def __aenter__(self) -> FakeRouter:
        self.entered = True
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.entered = False


async def test_the_heap_is_frozen_once_the_router_is_up() -> None:
    gc.unfreeze()
    long_lived = [object() for _ in range(10)]  # stands for the catalog and settings
    router = FakeRouter()
    pending = PendingRouter()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pending.run, lambda: cast(Any, router))
            assert await pending.get() is cast(Any, router) and router.entered
            assert gc.get_freeze_count() >= len(long_lived)
            tg.cancel_scope.cancel()
        assert not router.entered
    finally:
        gc.unfreeze()


async def test_a_router_that_fails_to_build_freezes_nothing() -> None:
    gc.unfreeze()
    pending = PendingRouter()

    def broken() -> Any:
        raise ValueError("bad config")

    try:
        await pending.run(broken)
        assert gc.get_freeze_count() == 0
        assert pending.router is None
    finally:
        gc.unfreeze()
