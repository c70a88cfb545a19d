"""`doctor` sees what a serving router saw (cooldowns, live catalog ages); `plan` is a dry run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from mcp_router.cli import main
from mcp_router.core import Message
from mcp_router.errors import AllRoutesFailed
from mcp_router.router import Router
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.sim import Fault, Simulator

MODEL = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


@pytest.fixture
def sim_env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "router.toml"
    config.write_text("[routing]\nbackoff_base_s = 0\n")  # retries without waiting
    return {**sim.env(), "MCP_ROUTER_HOME": str(tmp_path / "home"), "MCP_ROUTER_CONFIG": str(config)}


class HeldClock:
    """Real time taken once and then moved only by hand: two routers see the same instant."""

    def __init__(self) -> None:
        self._wall = datetime.now(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds


def _only_openai() -> RouteRequest:
    return RouteRequest(
        messages=[Message(role="user", content="hi")],
        model=MODEL,
        provider=ProviderPreferences(only=["openai"]),
    )


def _total_hits(sim: Simulator) -> int:
    providers = ("openai", "anthropic", "gemini", "ollama", "openrouter", "groq", "deepseek", "mistral")
    return sum(sim.hits(p, m) for p in providers for m in sim.models(p))


def test_doctor_shows_a_cooldown_opened_in_another_router(sim: Simulator, sim_env: dict[str, str]) -> None:
    # Three failures in one call (the last candidate standing is retried twice) open the circuit;
    # the last one's Retry-After keeps it open long enough that doctor's run time cannot matter.
    sim.script(
        "openai", "gpt-4o-mini", Fault.status(500), Fault.status(500), Fault.status(429, retry_after=600)
    )
    req = RouteRequest(
        messages=[Message(role="user", content="hi")],
        model=MODEL,
        provider=ProviderPreferences(only=["openai"]),
    )

    async def serve_a_failing_call() -> None:
        async with Router.from_env(sim_env) as router:
            with pytest.raises(AllRoutesFailed):
                await router.complete(req)
            assert router.health.state(("openai", MODEL)) == "open"

    anyio.run(serve_a_failing_call)
    assert sim.hits("openai", "gpt-4o-mini") == 3

    out = CliRunner().invoke(main, ["doctor", "--json"], env=sim_env)
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    (cool,) = report["cooldowns"]
    assert (cool["provider"], cool["model"]) == ("openai", MODEL)
    until = datetime.fromisoformat(cool["until"])
    assert 500 < (until - datetime.fromisoformat(cool["since"])).total_seconds() <= 600
    assert cool["error_rate"] == 1.0 and cool["frees_in_s"] > 0 and cool["age_s"] >= 0
    assert report["health_file"]["written_at"] is not None
    text = CliRunner().invoke(main, ["doctor"], env=sim_env).output
    assert f"{MODEL} via openai: until {cool['until']}" in text


def test_doctor_reports_catalog_age_from_live_refresh(sim_env: dict[str, str]) -> None:
    runner = CliRunner()
    before = json.loads(runner.invoke(main, ["doctor", "--json"], env=sim_env).output)["catalog"]
    assert before["providers"]["openai"]["source"] == "snapshot"
    assert before["providers"]["openai"]["age_s"] == pytest.approx(before["age_days"] * 86400, rel=0.01)
    refreshed = runner.invoke(main, ["catalog", "refresh", "--json"], env=sim_env)
    assert "openai" in json.loads(refreshed.output)["refreshed"], refreshed.output
    out = runner.invoke(main, ["doctor", "--json"], env=sim_env)
    ages = json.loads(out.output)["catalog"]["providers"]
    for name in ("openai", "anthropic", "gemini", "ollama"):
        assert ages[name]["source"] == "live"
        assert 0 <= ages[name]["age_s"] < 600
    assert "live list" in runner.invoke(main, ["doctor"], env=sim_env).output


def test_plan_lists_candidates_and_exclusions_without_calling_anyone(
    sim: Simulator, sim_env: dict[str, str]
) -> None:
    runner = CliRunner()
    args = ["plan", "hello", "--model", HAIKU, "--sort", "price", "--max-tokens", "100", "--json"]
    out = runner.invoke(main, args, env=sim_env)
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    providers = [c["provider"] for c in result["candidates"]]
    assert set(providers) == {"anthropic", "openrouter"}
    prices = [c["input_price"] + c["output_price"] for c in result["candidates"]]
    assert prices == sorted(prices)

    only = json.loads(runner.invoke(main, [*args, "--provider-only", "openrouter"], env=sim_env).output)
    assert [c["provider"] for c in only["candidates"]] == ["openrouter"]
    assert {"model": HAIKU, "provider": "anthropic", "reason": "provider anthropic not in provider.only",
            "until": None} in only["exclusions"]  # fmt: skip

    none_left = runner.invoke(
        main, ["plan", "hi", "--models", f"{MODEL},{HAIKU}", "--json",
               "--provider-ignore", "openrouter", "--max-tokens", "1000000"], env=sim_env,
    )  # fmt: skip
    assert none_left.exit_code == 1 and "no candidate is left" in none_left.stderr
    chain = json.loads(none_left.stdout)
    assert chain["models"] == [MODEL, HAIKU]
    assert chain["candidates"] == []
    reasons = {(e["provider"], e["reason"].split(" ")[0]) for e in chain["exclusions"]}
    assert ("openrouter", "provider") in reasons and ("openai", "context") in reasons

    table = runner.invoke(
        main, ["plan", "hello", "--model", HAIKU, "--provider-only", "anthropic"], env=sim_env
    )
    assert table.exit_code == 0, table.output
    assert f"1  {HAIKU}  anthropic" in table.output and "excluded (1):" in table.output
    bad = runner.invoke(main, ["plan", "hi", "--model", "nosuch/model"], env=sim_env)
    assert bad.exit_code == 2 and "mcp-router models --all" in bad.output
    assert _total_hits(sim) == 0


def test_a_new_router_restores_a_cooldown_from_health_json(sim: Simulator, sim_env: dict[str, str]) -> None:
    # Two 500s and a 429 with Retry-After 600: the circuit opens and cannot expire during the test.
    sim.script(
        "openai", "gpt-4o-mini", Fault.status(500), Fault.status(500), Fault.status(429, retry_after=600)
    )
    clock = HeldClock()
    key = ("openai", MODEL)

    async def fail_then_restart() -> datetime:
        async with Router.from_env(sim_env, clock=clock) as first:
            with pytest.raises(AllRoutesFailed):
                await first.complete(_only_openai())
            until = first.health.cooling_until(key)
        assert until is not None
        clock.advance(5)  # the client restarts the server a little later
        async with Router.from_env(sim_env, clock=clock) as second:
            (cooling,) = [e for e in second.plan(_only_openai()).exclusions if e.provider == "openai"]
            assert (cooling.reason, cooling.until) == (
                f"cooling down until {until.isoformat(timespec='seconds')}",
                until,
            )
            restored = second.health.get(key)
            assert (restored.state, restored.consecutive_failures, restored.cooldowns) == ("open", 3, 1)
            with pytest.raises(AllRoutesFailed):  # skipped, not called: no re-learning with failures
                await second.complete(_only_openai())
        return until

    until = anyio.run(fail_then_restart)
    assert sim.hits("openai", "gpt-4o-mini") == 3

    out = CliRunner().invoke(
        main, ["plan", "hi", "--model", MODEL, "--provider-only", "openai", "--json"], env=sim_env
    )
    assert out.exit_code == 1, out.output  # no candidate left
    result = json.loads(out.stdout)
    assert result["candidates"] == []
    (excl,) = [e for e in result["exclusions"] if e["provider"] == "openai"]
    assert excl["reason"].startswith("cooling down until")
    # Its own process and the system clock: the same wall time, up to clock reads microseconds apart.
    assert abs((datetime.fromisoformat(excl["until"]) - until).total_seconds()) < 1
    assert sim.hits("openai", "gpt-4o-mini") == 3


def _write_health(sim_env: dict[str, str], until: datetime, provider: str = "openai") -> None:
    home = Path(sim_env["MCP_ROUTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    since = until - timedelta(seconds=600)
    entry = {"provider": provider, "model": MODEL, "state": "open", "cooling_down_until": until.isoformat(),
             "changed_at": since.isoformat(), "consecutive_failures": 3}  # fmt: skip
    (home / "health.json").write_text(json.dumps({"written_at": None, "endpoints": [entry]}))


def test_expired_and_unknown_health_entries_are_ignored(sim_env: dict[str, str]) -> None:
    clock = HeldClock()
    _write_health(sim_env, clock.now() - timedelta(seconds=1))

    async def plan_once() -> None:
        async with Router.from_env(sim_env, clock=clock) as router:
            assert router.health.snapshot() == {}
            assert [c.endpoint.provider for c in router.plan(_only_openai()).candidates] == ["openai"]

    anyio.run(plan_once)
    _write_health(sim_env, clock.now() + timedelta(seconds=600), provider="nosuch")
    anyio.run(plan_once)


def test_a_corrupt_health_json_does_not_stop_start_up(sim_env: dict[str, str]) -> None:
    home = Path(sim_env["MCP_ROUTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "health.json").write_text('{"endpoints": [')

    async def plan_once() -> list[str]:
        async with Router.from_env(sim_env, clock=HeldClock()) as router:
            return [c.endpoint.provider for c in router.plan(_only_openai()).candidates]

    with capture_logs() as logs:
        assert anyio.run(plan_once) == ["openai"]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["health_file_unreadable"]
