"""Usage reports read SQLite in a worker thread: while one waits on the store's lock (held by
the meter's writer, or through a busy timeout), other tool calls keep being answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.client import Client

from mcp_router.server.app import build_server

FAILSAFE_S = 20.0  # only bounds a failing run: the holder lets go then, so the test ends


async def _report(client: Client, kind: str) -> Any:
    if kind == "tool":
        result = await client.call_tool("usage_report", {"since": "24h"})
        assert not result.is_error, result.content
        return result.structured_content
    return json.loads((await client.read_resource("usage://summary")).contents[0].text)  # type: ignore[union-attr]


class LockHolder:
    """Holds the store's lock from another thread, like the writer mid-transaction."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self.held = threading.Event()
        self.release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self._lock:
            self.held.set()
            self.release.wait(FAILSAFE_S)

    def __enter__(self) -> LockHolder:
        self._thread.start()
        self.held.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._thread.join()


@pytest.fixture
def entered(router: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Set when a report reaches the store (the real query still runs)."""
    event = threading.Event()
    real = router.store.query

    def query(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        event.set()
        return real(sql, params)  # type: ignore[no-any-return]

    monkeypatch.setattr(router.store, "query", query)
    yield event


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["tool", "resource"])
async def test_a_blocked_report_does_not_stall_other_calls(
    router: Any, entered: threading.Event, kind: str
) -> None:
    order: list[str] = []
    reports: list[Any] = []
    async with Client(build_server(router)) as client:
        with LockHolder(router.store._lock) as holder:

            async def report() -> None:
                reports.append(await _report(client, kind))
                order.append("report")

            async with anyio.create_task_group() as tg:
                tg.start_soon(report)
                await anyio.to_thread.run_sync(entered.wait)  # the report is now waiting on the lock
                listed = await client.call_tool("list_models", {"limit": 1})
                assert not listed.is_error
                order.append("list_models")
                holder.release.set()
    assert order == ["list_models", "report"]
    # Same answer as ever once the lock is free: an empty database reports nothing.
    if kind == "tool":
        assert reports[0]["totals"]["requests"] == 0 and reports[0]["rows"] == []
    else:
        assert set(reports[0]) >= {"today", "week"}
