"""The attempt loop end to end against the simulator (real HTTP on 127.0.0.1): what the wire and
the ledger see — metering rows, continuation request bodies, provider refusals as the adapters
classify them, cancellation of a live stream. The loop's rules themselves are tested without a
socket in test_attempt_loop.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from routing_helpers import catalog_of, ep, harness, model

from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message
from mcp_router.errors import AllRoutesFailed
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.sim import Fault

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"
MSG = [Message(role="user", content="Say something short.")]


def order(*providers: str, **kw: object) -> RouteRequest:
    prefs = ProviderPreferences(order=list(providers))
    return RouteRequest(messages=MSG, provider=prefs, **kw)


def only(*providers: str, **kw: object) -> RouteRequest:
    prefs = ProviderPreferences(only=list(providers))
    return RouteRequest(messages=MSG, provider=prefs, **kw)


async def test_happy_path_metered_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        r = await h.router.complete(order("openai", model=MINI))
        assert r.text and r.finish_reason == "stop" and r.provider == "openai" and r.model == MINI
        assert [a.outcome for a in r.attempts] == ["ok"]
        assert r.usage.output_tokens > 0 and r.cost_usd is not None and r.cost_usd > 0
        assert h.sim.hits("openai", "gpt-4o-mini") == 1
        rows = await h.attempts(r.request_id)
        assert len(rows) == 1 and rows[0][3] == "ok"
        assert rows[0][6] == round(r.cost_usd * 1e9)


async def test_503_then_200_two_hits_cost_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(503))
        r = await h.router.complete(only("openai", model=MINI))
        assert h.sim.hits("openai", "gpt-4o-mini") == 2
        assert h.sim.hits("openrouter", "openai/gpt-4o-mini") == 0
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "error"), ("openai", "ok")]
        assert r.attempts[0].error is not None and r.attempts[0].error.startswith("Overloaded")
        rows = await h.attempts(r.request_id)
        assert [row[3] for row in rows] == ["error", "ok"]
        assert rows[0][6] == 0  # the failed call billed nothing
        (req,) = [q for q in await h.requests() if q[0] == r.request_id]
        assert req[1] == "ok" and req[4] == 2
        assert req[5] == rows[1][6] == round(r.cost_usd * 1e9)  # counted once


async def test_stream_cut_continues_on_prefix_capable_fallback(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.cut_stream(after_chunks=3))
        r = await h.router.complete(order("openai", model=MINI))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "error"), ("openrouter", "ok")]
        (cont,) = h.sim.requests("openrouter", "openai/gpt-4o-mini")
        last = cont.body["messages"][-1]
        assert last["role"] == "assistant" and last["content"]
        assert r.text.startswith(last["content"]) and len(r.text) > len(last["content"])
        assert r.finish_reason == "stop" and r.error is None
        rows = await h.attempts(r.request_id)
        assert rows[0][5] > 0  # the cut attempt's partial output is metered (estimated) ...
        assert rows[1][5] > 0  # ... and so is the continuation, each once
        (req,) = [q for q in await h.requests() if q[0] == r.request_id]
        assert req[5] == rows[0][6] + rows[1][6]


async def test_all_fail_names_each_then_cooling_message(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.always("openai", "gpt-4o-mini", Fault.status(503))
        h.sim.always("openrouter", "openai/gpt-4o-mini", Fault.status(500))
        retries = h.router.policy.max_retries
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(order("openai", model=MINI))
        msg = str(info.value)
        assert "openai/gpt-4o-mini via openai: error — Overloaded" in msg
        assert "openai/gpt-4o-mini via openrouter: error — ServerError" in msg
        # calls = 1 + fallbacks + retries: openai once, then the last one standing retried
        assert h.sim.hits("openai", "gpt-4o-mini") == 1
        assert h.sim.hits("openrouter", "openai/gpt-4o-mini") == 1 + retries
        assert len(info.value.attempts) == 2 + retries
        # openrouter failed 3 times in a row and cools down; openai is now the last one standing.
        with pytest.raises(AllRoutesFailed):
            await h.router.complete(order("openai", model=MINI))
        # ... retried until its breaker trips (3 in a row, counting the first call's failure)
        assert h.sim.hits("openai", "gpt-4o-mini") == h.router.health.failure_threshold
        assert h.sim.hits("openrouter", "openai/gpt-4o-mini") == 1 + retries
        p = h.router.plan(order("openai", model=MINI))
        assert p.candidates == []
        assert {e.provider for e in p.exclusions if e.reason.startswith("cooling down until")} == {
            "openai",
            "openrouter",
        }
        with pytest.raises(AllRoutesFailed) as info2:
            await h.router.complete(order("openai", model=MINI))
        msg2 = str(info2.value)
        assert msg2.startswith("Every candidate is cooling down")
        assert "openai/gpt-4o-mini via openai frees at" in msg2
        assert "openai/gpt-4o-mini via openrouter frees at" in msg2
        assert h.sim.hits("openai", "gpt-4o-mini") == h.router.health.failure_threshold  # nobody called
        statuses = [q[1] for q in await h.requests()]
        assert statuses == ["error", "error", "error"]


async def test_cancelled_call_is_metered_cancelled(tmp_path: Path) -> None:
    import anyio

    async with harness(tmp_path) as h:
        h.sim.always("openai", "gpt-4o-mini", Fault.hang())
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                await h.router.complete(order("openai", model=MINI))

            tg.start_soon(call)
            with anyio.fail_after(10):
                await h.sim.wait_for_hits("openai", "gpt-4o-mini")
            tg.cancel_scope.cancel()
        reqs = await h.requests()
        assert [(q[1], q[6]) for q in reqs] == [("cancelled", "Cancelled")]
        rows = await h.attempts(reqs[0][0])
        assert [(r[1], r[3]) for r in rows] == [("openai", "cancelled")]
        assert h.router.health.state(("openai", MINI)) == "closed"  # a cancel is no verdict


async def test_budget_stops_call(tmp_path: Path) -> None:
    from mcp_router.errors import BudgetExceeded

    async with harness(tmp_path, budgets={"default": {"daily_usd": "0.0000001"}}) as h:
        with pytest.raises(BudgetExceeded):
            await h.router.complete(order("openai", model=MINI, max_tokens=100))
        assert h.sim.hits("openai", "gpt-4o-mini") == 0


def _unknown_at_openrouter_catalog() -> Catalog:
    """`openai/gpt-4.1-mini` listed at OpenRouter first (the tests below take it off the simulated
    OpenRouter: HTTP 400 "not a valid model ID") and at OpenAI direct (served); plus a Groq model."""
    return catalog_of(
        model(
            "openai/gpt-4.1-mini",
            ep("openrouter", 0.1, 0.1, native="openai/gpt-4.1-mini", ctx=128_000),
            ep("openai", 0.4, 1.6, native="gpt-4.1-mini", ctx=128_000),
        ),
        model(
            "openai/only-at-openrouter", ep("openrouter", 0.1, 0.1, native="openai/gpt-4.1-mini", ctx=128_000)
        ),
        model("meta-llama/llama-3.3-70b-instruct", ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile")),
    )


async def test_model_unknown_at_openrouter_falls_back_to_openai_direct(tmp_path: Path) -> None:
    """An id one endpoint does not serve says nothing about the protocol: OpenRouter's 400 must
    not knock out OpenAI direct, which speaks the same wire protocol."""
    async with harness(tmp_path, catalog=_unknown_at_openrouter_catalog()) as h:
        h.sim.remove_model("openrouter", "openai/gpt-4.1-mini")
        r = await h.router.complete(order("openrouter", "openai", model="openai/gpt-4.1-mini"))
        assert (r.provider, r.model) == ("openai", "openai/gpt-4.1-mini") and r.text
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openrouter", "error"), ("openai", "ok")]
        assert r.attempts[0].error is not None and r.attempts[0].error.startswith("ModelNotFound")
        assert h.sim.hits("openrouter", "openai/gpt-4.1-mini") == 1
        assert h.sim.hits("openai", "gpt-4.1-mini") == 1
        # The refusal was the request's business with that endpoint, not an endpoint failure.
        assert h.router.health.state(("openrouter", "openai/gpt-4.1-mini")) == "closed"


async def test_models_chain_survives_an_unknown_id_at_openrouter(tmp_path: Path) -> None:
    async with harness(tmp_path, catalog=_unknown_at_openrouter_catalog()) as h:
        h.sim.remove_model("openrouter", "openai/gpt-4.1-mini")
        chain = ["openai/only-at-openrouter", "meta-llama/llama-3.3-70b-instruct"]
        r = await h.router.complete(RouteRequest(messages=MSG, models=chain))
        assert (r.provider, r.model) == ("groq", "meta-llama/llama-3.3-70b-instruct")
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openrouter", "error"), ("groq", "ok")]
        assert h.sim.hits("openrouter", "openai/gpt-4.1-mini") == 1
        assert h.sim.hits("groq", "llama-3.3-70b-versatile") == 1


async def test_stream_stall_continues_on_prefix_capable_fallback(tmp_path: Path) -> None:
    """One token, then silence: the idle window ends the attempt long before the call's
    deadline, and OpenRouter continues the answer from the partial text."""
    policy = RoutingPolicy(stream_idle_timeout_s=0.3, first_token_timeout_s=5, backoff_base_s=0.01)
    async with harness(tmp_path, policy=policy) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.stall(after_chunks=2))
        r = await h.router.complete(order("openai", model=MINI, timeout_s=30))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "timeout"), ("openrouter", "ok")]
        assert r.attempts[0].error is not None and "stream stalled" in r.attempts[0].error
        assert r.finish_reason == "stop" and r.error is None
        assert h.sim.hits("openai", "gpt-4o-mini") == 1  # a stall is not retried on the same endpoint
        (cont,) = h.sim.requests("openrouter", "openai/gpt-4o-mini")
        last = cont.body["messages"][-1]
        assert last["role"] == "assistant" and last["content"]
        assert r.text.startswith(last["content"]) and len(r.text) > len(last["content"])
        rows = await h.attempts(r.request_id)
        assert [(row[3], row[4]) for row in rows] == [("timeout", "ProviderTimeout"), ("ok", None)]
        assert rows[0][5] > 0  # the stalled attempt's partial output is metered (estimated)
        assert h.router.health.get(("openai", MINI)).as_dict()["error_rate"] > 0  # the endpoint's fault
