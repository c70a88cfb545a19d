"""No progress machinery for a caller that cannot receive progress: a 2026-era request without a
progress callback runs the completion without the reporter (its task, heartbeat timer and
per-chunk callbacks); with a callback, or on the handshake era with a token, it still reports."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

import mcp_router.server.tools as tools
from mcp_router.server.app import build_server
from mcp_router.server.compat import progress_dropped

ARGS = {"prompt": "hi", "model": "openai/gpt-4o-mini"}


@pytest.fixture
def reporters(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    started: list[int] = []
    real = tools.with_progress

    async def counting(*args: Any, **kwargs: Any) -> Any:
        started.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(tools, "with_progress", counting)
    return started


async def _ignore(progress: float, total: float | None, message: str | None) -> None:
    return None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_runs_only_when_the_caller_can_receive_it(
    router: Any, reporters: list[int], mode: str
) -> None:
    async with Client(build_server(router), mode=mode) as client:
        assert not (await client.call_tool("complete", ARGS)).is_error
        assert reporters == []
        assert not (await client.call_tool("complete", ARGS, progress_callback=_ignore)).is_error
        assert reporters == [1]


def test_an_unknown_session_shape_keeps_progress() -> None:
    assert progress_dropped(object()) is False
