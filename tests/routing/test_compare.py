"""compare(): concurrent fan-out, error entries, cancellation of in-flight calls."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from routing_helpers import harness

from mcp_router.core import Message
from mcp_router.routing.types import RouteRequest
from mcp_router.sim import Fault, Simulator

pytestmark = pytest.mark.anyio

MSG = [Message(role="user", content="Compare me.")]
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "deepseek/deepseek-chat"]


async def test_compare_one_failing_model_is_an_error_entry(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.always("deepseek", "deepseek-chat", Fault.status(401))
        res = await h.router.compare(RouteRequest(messages=MSG), [*MODELS, "nope/unknown"], concurrency=2)
        by = {e.model: e for e in res.results}
        assert list(by) == [*MODELS, "nope/unknown"]
        assert by["openai/gpt-4o-mini"].error is None and by["openai/gpt-4o-mini"].text
        assert by["anthropic/claude-haiku-4.5"].error is None
        assert (
            by["deepseek/deepseek-chat"].error is not None
            and "AuthFailed" in by["deepseek/deepseek-chat"].error
        )
        assert by["nope/unknown"].error is not None and "Unknown model" in by["nope/unknown"].error
        assert res.cheapest == "openai/gpt-4o-mini"  # $0.15/$0.60 vs $1/$5
        assert res.fastest in {"openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"}
        reqs = await h.requests()
        assert len(reqs) == 3  # one request per routed model (the unknown one was never routed)
        assert sorted(q[6] or "" for q in reqs) == ["", "", "AuthFailed"]  # the error that ended it


async def test_compare_all_failing_has_no_winner(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.always("deepseek", "deepseek-chat", Fault.status(401))
        res = await h.router.compare(RouteRequest(messages=MSG), ["deepseek/deepseek-chat"])
        assert res.cheapest is None and res.fastest is None


async def first_hit(sim: Simulator, *endpoints: tuple[str, str]) -> None:
    """Return once any of `endpoints` (provider, native model) has a hit; the router's weighted
    pick decides which endpoint of a model goes first."""
    async with anyio.create_task_group() as tg:

        async def one(provider: str, native: str) -> None:
            await sim.wait_for_hits(provider, native)
            tg.cancel_scope.cancel()

        for provider, native in endpoints:
            tg.start_soon(one, provider, native)


async def test_compare_cancellation_cancels_in_flight_calls(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for provider, native in (("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini")):
            h.sim.always(provider, native, Fault.hang())
        h.sim.always("anthropic", "claude-haiku-4-5", Fault.hang())
        h.sim.always("openrouter", "anthropic/claude-haiku-4.5", Fault.hang())
        models = MODELS[:2]
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await h.router.compare(RouteRequest(messages=MSG, timeout_s=60), models)

            tg.start_soon(run)
            with anyio.fail_after(10):  # both models are in flight, each at one of its endpoints
                await first_hit(h.sim, ("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini"))
                await first_hit(
                    h.sim, ("anthropic", "claude-haiku-4-5"), ("openrouter", "anthropic/claude-haiku-4.5")
                )
            tg.cancel_scope.cancel()
        reqs = await h.requests()
        assert sorted(q[1] for q in reqs) == ["cancelled", "cancelled"]
        for q in reqs:
            rows = await h.attempts(q[0])
            assert [r[3] for r in rows] == ["cancelled"]


ALL_ENDPOINTS = (
    ("openai", "gpt-4o-mini"),
    ("openrouter", "openai/gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5"),
    ("openrouter", "anthropic/claude-haiku-4.5"),
    ("groq", "llama-3.3-70b-versatile"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("openrouter", "meta-llama/llama-3.3-70b-instruct"),
    ("deepseek", "deepseek-chat"),
)
FOUR = [*MODELS, "meta-llama/llama-3.3-70b-instruct"]


async def test_compare_respects_the_concurrency_limit(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for provider, native in ALL_ENDPOINTS:  # slow enough that unlimited calls would overlap
            h.sim.set_profile(provider, native, latency_ms=150)
        h.sim.always("deepseek", "deepseek-chat", Fault.status(401))
        res = await h.router.compare(RouteRequest(messages=MSG), FOUR, concurrency=2)
        assert 1 <= h.sim.max_in_flight <= 2
        by = {e.model: e for e in res.results}
        assert list(by) == FOUR
        assert [m for m, e in by.items() if e.error is not None] == ["deepseek/deepseek-chat"]
        assert all(e.text for m, e in by.items() if m != "deepseek/deepseek-chat")
        assert sum(h.sim.hits(p, n) for p, n in ALL_ENDPOINTS) == 4  # one call per model (401: no retry)
        # The counter is real: without the limit the same calls overlap beyond two. Every call hangs
        # at the provider, so all three are in flight together however slow the machine is.
        h.sim.reset()
        for provider, native in ALL_ENDPOINTS:
            h.sim.always(provider, native, Fault.hang())
        async with anyio.create_task_group() as tg:
            request = RouteRequest(messages=MSG, timeout_s=60)
            tg.start_soon(partial(h.router.compare, request, FOUR[:3], concurrency=8))
            with anyio.fail_after(10):
                await first_hit(h.sim, ("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini"))
                await first_hit(
                    h.sim, ("anthropic", "claude-haiku-4-5"), ("openrouter", "anthropic/claude-haiku-4.5")
                )
                await first_hit(h.sim, ("deepseek", "deepseek-chat"))
            # A hit is counted and entered in one step of the simulator, so all three are in flight.
            assert h.sim.max_in_flight >= 3
            tg.cancel_scope.cancel()


async def test_compare_estimates_the_prompt_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    plan_module = importlib.import_module("mcp_router.routing.plan")  # the package exports `plan()`
    real = plan_module.estimate_messages
    calls: list[int] = []

    def counted(messages: Any) -> int:
        calls.append(1)
        return real(messages)

    monkeypatch.setattr(plan_module, "estimate_messages", counted)
    async with harness(tmp_path) as h:
        res = await h.router.compare(RouteRequest(messages=MSG), MODELS)
        assert [e.error for e in res.results] == [None, None, None]
    assert len(calls) == 1  # one prompt, one estimate, however many models
