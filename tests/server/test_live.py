"""Long calls and the live catalog: progress notifications while a slow completion runs,
cancellation metered as cancelled, and resource subscribers notified of catalog changes in both
protocol eras."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client import Client

from mcp_router.metering.store import SqliteStore
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.server.live import ResourceNotifier
from mcp_router.server.refresh import LiveCatalogUpdater
from mcp_router.sim import Simulator


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_progress_notifications_during_a_slow_complete(router: Any, sim: Simulator, mode: str) -> None:
    # Slow first token, then slow streaming: the heartbeat fires while waiting, chunks after.
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=400, tokens_per_s=60)
    seen: list[tuple[float, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message or ""))

    async with Client(build_server(router, heartbeat_s=0.05), mode=mode) as client:
        result = await client.call_tool(
            "complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"}, progress_callback=on_progress
        )
    assert not result.is_error
    assert len(seen) >= 2
    values = [p for p, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)  # strictly increasing
    assert any("waiting for first token" in m for _, m in seen)
    assert any(m.startswith("streaming: ") and " chunks (" in m for _, m in seen)  # chunks, not tokens


@pytest.mark.anyio
async def test_cancelling_the_call_aborts_and_meters_cancelled(sim: Simulator, tmp_path: Path) -> None:
    env = {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path)}
    sim.set_profile("openai", "gpt-4o-mini", ttft_ms=30_000)
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()  # the request is in flight at the provider

    async with (
        Router.from_env(env) as router,
        Client(build_server(router, heartbeat_s=0.05), mode="legacy") as c,
    ):
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    await c.call_tool(
                        "complete",
                        {"prompt": "hi", "model": "openai/gpt-4o-mini"},
                        progress_callback=on_progress,
                    )

                tg.start_soon(call)
                await started.wait()  # the server is working on the call...
                await sim.wait_for_hits("openai", "gpt-4o-mini")  # ...and the provider has it
                tg.cancel_scope.cancel()
        # The server keeps serving after the cancellation.
        assert not (await c.call_tool("list_models", {"limit": 1})).is_error
    assert sim.hits("openai", "gpt-4o-mini") == 1
    with SqliteStore(tmp_path / "usage.db") as store:
        rows = store.query("select status from requests")
    assert rows == [("cancelled",)]


async def _add_model_and_refresh(sim: Simulator, updater: LiveCatalogUpdater) -> list[str]:
    sim.add_model("openai", "gpt-sim-fresh", input_price="1.00", output_price="2.00", context_length=8192)
    return await updater.refresh_once()


@pytest.mark.anyio
async def test_catalog_change_notifies_listen_subscribers(router: Any, sim: Simulator) -> None:
    notifier = ResourceNotifier()
    updater = LiveCatalogUpdater(router, notifier)
    async with Client(build_server(router, updater=updater), mode="auto") as client:
        async with client.listen(resource_subscriptions=["catalog://models"]) as sub:
            changed = await _add_model_and_refresh(sim, updater)
            with anyio.fail_after(5):
                event = await sub.__anext__()
        assert "openai/gpt-sim-fresh" in changed
        assert getattr(event, "uri", None) == "catalog://models"
        listed = await client.call_tool("list_models", {"query": "gpt-sim-fresh"})
        assert listed.structured_content["total"] == 1  # type: ignore[index]


@pytest.mark.anyio
async def test_catalog_change_notifies_legacy_subscribers(router: Any, sim: Simulator) -> None:
    notifier = ResourceNotifier()
    updater = LiveCatalogUpdater(router, notifier)
    updated: list[str] = []
    got = anyio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            got.set()

    server = build_server(router, updater=updater)
    async with Client(server, mode="legacy", message_handler=handler) as client:
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.subscribe is True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is deprecated in the 2026 era
            await client.subscribe_resource("catalog://models")
            await client.subscribe_resource("catalog://models")  # a repeat must not double up
        assert notifier.legacy_subscribers("catalog://models") == 1
        await _add_model_and_refresh(sim, updater)
        with anyio.fail_after(5):
            await got.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ping is legacy-era too
            await client.send_ping()  # a duplicate notification would arrive before the ping's answer
    assert updated == ["catalog://models"]


@pytest.mark.anyio
async def test_refresh_reports_changed_models_only_once(router: Any, sim: Simulator) -> None:
    updater = LiveCatalogUpdater(router, ResourceNotifier())
    await updater.refresh_once()  # first refresh: the live lists arrive
    assert "openai/gpt-sim-fresh" in await _add_model_and_refresh(sim, updater)
    assert await updater.refresh_once() == []  # nothing new the second time
    assert router.catalog.get("openai/gpt-sim-fresh") is not None
