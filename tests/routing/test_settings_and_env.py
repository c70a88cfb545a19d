"""TOML settings validation and Router.from_env wiring (against the simulator)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message
from mcp_router.metering.records import RequestRecord
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import LedgerUnavailable, MeteringError
from mcp_router.router import Router
from mcp_router.routing.health import HealthTracker, SystemClock
from mcp_router.routing.health_file import FILE_NAME, HealthFile, read_health_file
from mcp_router.routing.policy import DEFAULT_TIERS
from mcp_router.routing.types import RouteRequest
from mcp_router.settings import ConfigError, load_settings, parse_settings
from mcp_router.sim import Simulator

GOOD = """
[[endpoints]]
name = "local"
base_url = "{url}"
api_key_env = "LOCAL_KEY"

[[endpoints.models]]
id = "acme/my-model"
native = "my-model"
input_price = 0.5
output_price = 1.5
context_length = 32000

[aliases]
mine = "acme/my-model"

[routing]
max_retries = 1
retry_after_cap_s = 2
tiers = {{ standard = ["acme/my-model"] }}

[budgets.default]
daily_usd = 5
"""


def test_parse_good_settings() -> None:
    s = parse_settings(GOOD.format(url="http://127.0.0.1:1/v1"))
    assert s.routing.max_retries == 1 and s.routing.tier() == ("acme/my-model",)
    assert s.budgets["default"].daily_usd == Decimal(5)
    (cfg,) = s.provider_configs({"LOCAL_KEY": "secret-value"})
    assert cfg.name == "local" and cfg.protocol == "openai" and cfg.api_key is not None
    assert "secret-value" not in repr(cfg)
    (m,) = s.custom_models({})
    assert m.endpoints[0].pricing is not None
    assert m.endpoints[0].pricing.input == Decimal("0.0000005")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[routing]\nmax_retries = -1", "routing.max_retries"),
        ("[routing]\nmax_retry = 1", "routing.max_retry"),
        ("[budget.default]\ndaily_usd = 1", "budget"),
        ("[budgets.default]\ndaily_usd = 'lots'", "budgets.default.daily_usd"),
        ('[[endpoints]]\nname = "x"\nbase_url = "ftp://x"\nmodels = [{id = "a/b"}]', "endpoints.0.base_url"),
        (
            '[[endpoints]]\nname = "x"\nbase_url = "http://x"\nmodels = [{id = "nope"}]',
            "endpoints.0.models.0.id",
        ),
        ("[routing\n", "not valid TOML"),
        ('[server]\ntoken = "s3cret-typo"', "server.token"),  # a typo must not silently drop auth
        ("[conversations]\nmax_per_client = 0", "conversations.max_per_client"),
    ],
)
def test_bad_settings_name_the_key(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="cfg.toml")
    assert needle in str(info.value)
    assert "cfg.toml" in str(info.value)


def test_server_tokens_are_secrets(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[server]\ntokens = { laptop = "tok-laptop-0123456789", ci = "tok-ci-9876543210" }\n')
    settings = load_settings({"MCP_ROUTER_CONFIG": str(path)})
    shown = f"{settings!r} {settings!s} {settings.server!r} {settings.model_dump()}"
    assert "tok-laptop" not in shown and "tok-ci" not in shown
    assert "laptop" in repr(settings)  # the client names are not secret
    assert settings.server.clients_by_token() == {
        "tok-laptop-0123456789": "laptop",
        "tok-ci-9876543210": "ci",
    }
    assert load_settings({}).server.clients_by_token() == {}


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({"MCP_ROUTER_CONFIG": str(tmp_path / "nope.toml")})
    assert load_settings({}).routing.max_retries == 2


@pytest.mark.anyio
async def test_from_env_routes_bundled_and_custom_models(tmp_path: Path) -> None:
    sim = Simulator()
    sim.add_model("local", "my-model", input_price="0.5", output_price="1.5", context_length=32000)
    async with sim.running():
        cfg = tmp_path / "cfg.toml"
        cfg.write_text(GOOD.format(url=sim.url("local")))
        env = {
            **sim.env(),
            "LOCAL_KEY": sim.key("local"),
            "MCP_ROUTER_HOME": str(tmp_path / "home"),
            "MCP_ROUTER_CONFIG": str(cfg),
        }
        async with Router.from_env(env) as router:
            assert "local" in router.available_providers and "openai" in router.available_providers
            assert router.policy.max_retries == 1
            msgs = [Message(role="user", content="hi")]
            r = await router.complete(RouteRequest(messages=msgs, model="mine"))
            assert (r.model, r.provider) == ("acme/my-model", "local") and r.cost_usd
            r2 = await router.complete(RouteRequest(messages=msgs))  # auto -> the configured tier
            assert r2.model == "acme/my-model"
            r3 = await router.complete(RouteRequest(messages=msgs, model="openai/gpt-4o-mini:floor"))
            assert r3.model == "openai/gpt-4o-mini" and r3.text
            assert sim.hits("local", "my-model") == 2
            # A live refresh swaps the catalog: the config's models and aliases survive it.
            router.set_catalog(Catalog.load_bundled())
            assert router.catalog.resolve("mine").endpoints[-1].provider == "local"
            assert router.catalog.resolve("openai/gpt-4o-mini").id == "openai/gpt-4o-mini"
        assert (tmp_path / "home" / "usage.db").exists()


def test_routing_tiers_merge_over_the_defaults() -> None:
    s = parse_settings('[routing]\ntiers = { standard = ["acme/a"], mine = ["acme/b"] }')
    assert s.routing.tiers["standard"] == ("acme/a",)
    assert s.routing.tiers["mine"] == ("acme/b",)
    assert s.routing.tiers["economy"] == DEFAULT_TIERS["economy"]
    assert s.routing.tiers["premium"] == DEFAULT_TIERS["premium"]
    assert parse_settings("[routing]\nmax_retries = 1").routing.tiers == DEFAULT_TIERS


def _open_files_under(root: Path) -> list[str]:
    """Paths under `root` this process holds open (Linux /proc): leaks show up here."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, already closed
            continue
        if target.startswith(str(root)):
            found.append(target)
    return found


def test_from_env_takes_loaded_settings_instead_of_reading_the_file(tmp_path: Path) -> None:
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_CONFIG": str(tmp_path / "missing.toml")}
    with pytest.raises(ConfigError):
        Router.from_env(env)  # reading the file would fail ...
    text = "[routing]\nmax_retries = 1\n[conversations]\nmax_per_client = 7"
    router = Router.from_env(env, settings=parse_settings(text))  # ... not read
    assert router.policy.max_retries == 1
    assert router.conversations is not None and router.conversations.limits.max_per_client == 7
    anyio.run(router.aclose)


def test_from_env_closes_what_it_opened_when_a_later_step_fails(tmp_path: Path) -> None:
    (tmp_path / "db-is-a-directory").mkdir()
    env = {"MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_DB": str(tmp_path / "db-is-a-directory")}
    with pytest.raises(LedgerUnavailable):
        Router.from_env(env)
    assert (tmp_path / "home" / "catalog.db").exists()  # the cache was opened first ...
    assert _open_files_under(tmp_path) == []  # ... and closed again


class _FailingMeter:
    async def record(self, rec: RequestRecord) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        raise MeteringError("3 usage rows could not be written")


@pytest.mark.anyio
async def test_close_finishes_every_step_when_the_meter_fails(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "usage.db")
    clock = SystemClock()
    health_file = HealthFile(tmp_path / FILE_NAME, clock, min_interval_s=3600)
    health = HealthTracker(clock, failure_threshold=1, on_state_change=health_file.write)
    resources = AsyncExitStack()
    resources.callback(health_file.close)
    router = Router(Catalog([]), {}, meter=_FailingMeter(), health=health, store=store, resources=resources)
    health.record_failure(("p", "v/m"))  # written at once
    health.record_failure(("p", "v/m"), retry_after=60)  # held back until close
    with pytest.raises(MeteringError):
        await router.aclose()
    (entry,) = read_health_file(tmp_path / FILE_NAME)["endpoints"]
    assert entry["consecutive_failures"] == 2  # the final health.json flush still ran
    with pytest.raises(sqlite3.ProgrammingError):  # and the store was closed
        store.db.conn.execute("SELECT 1")
