"""`Router.refresh_catalog()` and `Router.flush_metering()`, and the server built on them:
custom models and aliases survive a refresh, a model a provider stops listing goes (also from
the cache the next start reads), an unchanged refresh notifies nobody, and a usage report right
after a call includes it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client import Client
from structlog.testing import capture_logs

from mcp_router.core import Message
from mcp_router.router import Router
from mcp_router.routing.types import RouteRequest
from mcp_router.server.app import build_server
from mcp_router.server.live import ResourceNotifier
from mcp_router.server.pending import PendingRouter
from mcp_router.server.refresh import LiveCatalogUpdater
from mcp_router.sim import Simulator

CONFIG = """
[[endpoints]]
name = "local"
base_url = "{url}"
api_key_env = "LOCAL_KEY"

[[endpoints.models]]
id = "acme/my-model"
native = "my-model"
input_price = 0.5
output_price = 1.5

[aliases]
mine = "acme/my-model"
"""


@pytest.mark.anyio
async def test_refresh_keeps_config_models_and_drops_unlisted(sim: Simulator, tmp_path: Path) -> None:
    sim.add_model("local", "my-model", input_price="0.5", output_price="1.5")
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CONFIG.format(url=sim.url("local")))
    env = {
        **sim.env(),
        "LOCAL_KEY": sim.key("local"),
        "MCP_ROUTER_HOME": str(tmp_path / "home"),
        "MCP_ROUTER_CONFIG": str(cfg),
    }
    fresh = "openai/gpt-sim-fresh"
    async with Router.from_env(env) as router:
        sim.add_model("openai", "gpt-sim-fresh", input_price="1.00", output_price="2.00")
        added = await router.refresh_catalog()
        assert fresh in added.diff.added and added.catalog is router.catalog
        assert router.catalog.resolve("mine").id == "acme/my-model"
        sim.remove_model("openai", "gpt-sim-fresh")
        dropped = await router.refresh_catalog()
        assert dropped.diff.removed == (fresh,) and router.catalog.get(fresh) is None
        assert any(e.provider == "local" for e in router.catalog.resolve("mine").endpoints)
        again = await router.refresh_catalog()
        assert not again.changed
    # The next start reads the cache the refreshes wrote: the dropped model stays gone.
    async with Router.from_env(env) as router:
        assert router.catalog.get(fresh) is None
        assert router.catalog.get("openai/gpt-4o-mini") is not None


@pytest.mark.anyio
async def test_unchanged_refresh_does_not_notify(router: Any, sim: Simulator) -> None:
    notifier = ResourceNotifier()
    updater = LiveCatalogUpdater(router, notifier)
    updated: list[str] = []
    arrived = anyio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            if len(updated) == 2:
                arrived.set()

    async with Client(build_server(router, updater=updater), mode="legacy", message_handler=handler) as c:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is deprecated in the 2026 era
            await c.subscribe_resource("catalog://models")
        await updater.refresh_once()  # the live lists arrive: listing flags change
        assert await updater.refresh_once() == []  # the same lists again, fetched later
        assert updater.notifications == 1
        sim.add_model("openai", "gpt-sim-fresh", input_price="1.00", output_price="2.00")
        assert await updater.refresh_once() == ["openai/gpt-sim-fresh"]
        with anyio.fail_after(5):
            await arrived.wait()
    # Notifications arrive in order: the unchanged refresh in between sent none.
    assert updated == ["catalog://models", "catalog://models"]
    assert updater.refreshes == 3 and updater.notifications == 2


@pytest.mark.anyio
async def test_usage_report_right_after_a_call_includes_it(router: Any) -> None:
    async with Client(build_server(router)) as client:
        done = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-4o-mini"})
        assert not done.is_error
        report = await client.call_tool("usage_report", {})
        assert report.structured_content["totals"]["requests"] == 1  # type: ignore[index]
        await router.flush_metering()  # nothing pending: returns at once
        hi = [Message(role="user", content="hi")]
        await router.complete(RouteRequest(messages=hi, model="openai/gpt-4o-mini"))
        await router.flush_metering()
        assert router.store.query("select count(*) from requests") == [(2,)]


@pytest.mark.anyio
async def test_tools_wait_for_a_router_still_being_built(env: dict[str, str]) -> None:
    pending = PendingRouter()
    server = build_server(pending)
    async with Client(server) as client, anyio.create_task_group() as tg:
        listed = await client.list_tools()  # answered before any router exists
        assert len(listed.tools) == 5
        tg.start_soon(pending.run, lambda: Router.from_env(env))
        result = await client.call_tool("list_models", {"query": "gpt-4o-mini", "limit": 1})
        assert not result.is_error and pending.router is not None
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_a_router_that_cannot_start_gives_tool_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    pending = PendingRouter()
    async with Client(build_server(pending)) as client:
        await pending.run(lambda: Router.from_env({"MCP_ROUTER_HOME": str(blocker / "home")}))
        result = await client.call_tool("list_models", {})
        assert result.is_error
        assert "could not start" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_corrupt_usage_database_gives_tool_errors(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    db.write_bytes(b"this is not a SQLite database; " * 64)
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_DB": str(db)}
    pending = PendingRouter()
    updater = LiveCatalogUpdater(pending, ResourceNotifier())
    with capture_logs() as logs:
        server = build_server(pending, updater=updater, refresh_interval_s=3600)
        async with Client(server) as client:
            await pending.run(lambda: Router.from_env(env))  # returns: the failure is kept, not raised
            for name, args in (("list_models", {}), ("usage_report", {})):
                result = await client.call_tool(name, args)
                assert result.is_error
                text = result.content[0].text  # type: ignore[union-attr]
                assert "The router could not start: LedgerUnavailable" in text and "mcp-router doctor" in text
            with anyio.fail_after(10):
                await updater.started.wait()
    events = {e["event"]: e for e in logs}
    assert events["router_start_failed"]["error"] == "LedgerUnavailable"
    assert events["catalog_refresh_skipped"]["error"] == "RouterUnavailable"  # structlog, like the rest


@pytest.mark.anyio
async def test_serve_refreshes_at_start_when_the_cache_is_missing_or_stale(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.add_model("openai", "gpt-sim-1", context_length=4096)
    env = {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home")}
    async with Router.from_env(env) as router:
        # Only the live list knows it; a remote list missing at start is fetched in the
        # background (local servers' lists are fetched before the router is ready).
        assert router.catalog.lookup("openai/gpt-sim-1") is None
        updater = LiveCatalogUpdater(router, ResourceNotifier())
        async with Client(build_server(router, updater=updater, refresh_interval_s=3600)) as client:
            with anyio.fail_after(10):
                await updater.started.wait()
            assert updater.refreshes == 1
            result = await client.call_tool("complete", {"prompt": "hi", "model": "openai/gpt-sim-1"})
        assert not result.is_error, result.content
        assert result.structured_content["provider"] == "openai"  # type: ignore[index]
    # The next start finds the lists fresh in the cache: no refresh until the interval passes.
    async with Router.from_env(env) as router:
        assert router.catalog.lookup("openai/gpt-sim-1") is not None
        updater = LiveCatalogUpdater(router, ResourceNotifier())
        async with Client(build_server(router, updater=updater, refresh_interval_s=3600)):
            with anyio.fail_after(10):
                await updater.started.wait()
        assert updater.refreshes == 0
        assert await updater.due(0.0)  # but any older than "now" would be refreshed
