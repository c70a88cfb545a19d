"""The attempt loop against the simulator: hit counts, outcomes, metering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from routing_helpers import catalog_of, ep, harness, model

from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message, TextDelta
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


async def test_retry_after_within_cap_retries_same_endpoint(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(429, retry_after=0.05))
        r = await h.router.complete(only("openai", model=MINI))
        assert h.sim.hits("openai", "gpt-4o-mini") == 2
        assert r.provider == "openai"


async def test_retry_after_over_cap_falls_back_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(429, retry_after=30))
        r = await h.router.complete(order("openai", model=MINI))
        assert h.sim.hits("openai", "gpt-4o-mini") == 1
        assert h.sim.hits("openrouter", "openai/gpt-4o-mini") == 1
        assert r.provider == "openrouter"
        assert [a.outcome for a in r.attempts] == ["error", "ok"]
        # The provider asked for 30 s: the endpoint cools down at least that long.
        p = h.router.plan(order("openai", model=MINI))
        assert [c.provider for c in p.candidates] == ["openrouter"]
        assert any(e.provider == "openai" and e.reason.startswith("cooling down") for e in p.exclusions)


async def test_hang_on_primary_falls_back_within_deadline(tmp_path: Path) -> None:
    policy = RoutingPolicy(first_token_timeout_s=0.3, backoff_base_s=0.01)
    async with harness(tmp_path, policy=policy) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.hang())
        r = await h.router.complete(order("openai", model=MINI, timeout_s=20))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "timeout"), ("openrouter", "ok")]
        assert h.sim.hits("openai", "gpt-4o-mini") == 1  # a first-token timeout is not retried
        assert r.text


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


async def test_stream_cut_without_prefix_support_is_explicitly_incomplete(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("groq", "llama-3.3-70b-versatile", Fault.cut_stream(after_chunks=2))
        req = RouteRequest(
            messages=MSG,
            model="meta-llama/llama-3.3-70b-instruct",
            provider=ProviderPreferences(order=["groq", "together"], allow_fallbacks=False),
        )
        r = await h.router.complete(req)
        assert r.finish_reason == "error"
        assert r.error is not None and "no fallback could continue" in r.error
        assert r.text  # the partial answer is returned, flagged
        assert [(a.provider, a.outcome) for a in r.attempts] == [("groq", "error"), ("together", "skipped")]
        assert h.sim.hits("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo") == 0
        (q,) = [q for q in await h.requests() if q[0] == r.request_id]
        assert q[1] == "incomplete"


async def test_auth_failure_moves_to_next_endpoint(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(401))
        r = await h.router.complete(order("openai", model=MINI))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "error"), ("openrouter", "ok")]
        assert r.attempts[0].error is not None and r.attempts[0].error.startswith("AuthFailed")
        assert h.sim.hits("openai", "gpt-4o-mini") == 1  # never retried


async def test_retryable_error_with_fallback_falls_back_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(503))
        r = await h.router.complete(order("openai", model=MINI))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("openai", "error"), ("openrouter", "ok")]
        assert h.sim.hits("openai", "gpt-4o-mini") == 1


async def test_retry_after_over_cap_on_last_endpoint_gives_up_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(429, retry_after=30))
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(only("openai", model=MINI))
        assert "RateLimited" in str(info.value)
        assert h.sim.hits("openai", "gpt-4o-mini") == 1


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


async def test_half_open_probe_closes_circuit(tmp_path: Path) -> None:
    from routing_helpers import ManualClock

    clock = ManualClock()
    async with harness(tmp_path, clock=clock) as h:
        h.sim.script("openai", "gpt-4o-mini", *[Fault.status(503)] * 3)
        with pytest.raises(AllRoutesFailed):
            await h.router.complete(only("openai", model=MINI))  # 1 + 2 retries, all 503
        key = ("openai", MINI)
        assert h.router.health.state(key) == "open"
        assert h.router.plan(order("openai", model=MINI)).candidates[0].provider == "openrouter"
        clock.advance(h.router.health.base_cooldown_s + 0.1)
        assert h.router.health.state(key) == "half_open"
        assert h.router.plan(order("openai", model=MINI)).candidates[0].provider == "openai"
        r = await h.router.complete(order("openai", model=MINI))
        assert r.provider == "openai"  # the probe went through and succeeded
        assert h.router.health.state(key) == "closed"
        assert h.sim.hits("openai", "gpt-4o-mini") == 4


async def test_failed_probe_is_not_retried(tmp_path: Path) -> None:
    from routing_helpers import ManualClock

    clock = ManualClock()
    async with harness(tmp_path, clock=clock) as h:
        h.sim.script("openai", "gpt-4o-mini", *[Fault.status(503)] * 4)
        with pytest.raises(AllRoutesFailed):
            await h.router.complete(only("openai", model=MINI))
        clock.advance(h.router.health.base_cooldown_s + 0.1)
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(only("openai", model=MINI))  # the probe, even as the last one standing
        assert [a.outcome for a in info.value.attempts] == ["error"]
        assert h.sim.hits("openai", "gpt-4o-mini") == 4
        assert h.router.health.state(("openai", MINI)) == "open"


async def test_bad_request_stops_same_protocol(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(400, message="temperature is invalid"))
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(order("openai", model=MINI))
        assert str(info.value).startswith("The request was rejected as invalid")
        assert h.sim.hits("openai", "gpt-4o-mini") == 1
        assert h.sim.hits("openrouter", "openai/gpt-4o-mini") == 0


async def test_bad_request_tries_another_protocol(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("anthropic", "claude-haiku-4-5", Fault.status(400, message="bad field"))
        r = await h.router.complete(order("anthropic", model="anthropic/claude-haiku-4.5"))
        assert [(a.provider, a.outcome) for a in r.attempts] == [("anthropic", "error"), ("openrouter", "ok")]


async def test_context_too_long_skips_to_larger_context(tmp_path: Path) -> None:
    from routing_helpers import Catalog, ep, model

    cat = Catalog(
        [
            model(
                "meta-llama/llama-3.3-70b-instruct",
                ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile", ctx=131_072),
                ep("together", 0.88, 0.88, native="meta-llama/Llama-3.3-70B-Instruct-Turbo", ctx=131_072),
                ep("openrouter", 0.9, 0.9, native="meta-llama/llama-3.3-70b-instruct", ctx=1_000_000),
            )
        ]
    )
    async with harness(tmp_path, catalog=cat) as h:
        h.sim.script("groq", "llama-3.3-70b-versatile", Fault.context_too_long())
        req = RouteRequest(
            messages=MSG,
            model="meta-llama/llama-3.3-70b-instruct",
            provider=ProviderPreferences(order=["groq", "together"]),
        )
        r = await h.router.complete(req)
        assert [(a.provider, a.outcome) for a in r.attempts] == [
            ("groq", "error"),
            ("together", "skipped"),
            ("openrouter", "ok"),
        ]
        assert h.sim.hits("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo") == 0
        assert h.router.health.state(("groq", "meta-llama/llama-3.3-70b-instruct")) == "closed"


async def test_empty_answer_is_free(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.empty())
        r = await h.router.complete(order("openai", model=MINI))
        assert r.text == "" and r.cost_usd == 0
        await h.meter.flush()
        assert h.store.query("SELECT empty_free, cost_nusd FROM attempts") == [(1, 0)]


async def test_progress_reports_chunks_and_chars(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    async def on_progress(chunks_so_far: int, chars_so_far: int) -> None:
        seen.append((chunks_so_far, chars_so_far))

    async with harness(tmp_path, policy=RoutingPolicy(progress_interval_s=0)) as h:
        r = await h.router.complete(order("openai", model=MINI), on_progress=on_progress)
        assert seen and seen[0][0] == 1 and 0 < seen[0][1] < len(r.text)
        assert seen[-1][1] == len(r.text)
        assert seen == sorted(seen)


async def test_deadline_all_hang(tmp_path: Path) -> None:
    async with harness(tmp_path, policy=RoutingPolicy(first_token_timeout_s=5)) as h:
        h.sim.always("openai", "gpt-4o-mini", Fault.hang())
        h.sim.always("openrouter", "openai/gpt-4o-mini", Fault.hang())
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(order("openai", model=MINI, timeout_s=0.4))
        assert [a.outcome for a in info.value.attempts] == ["timeout", "timeout"]
        assert "deadline" in str(info.value)


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


async def test_retries_stop_when_the_breaker_trips(tmp_path: Path) -> None:
    policy = RoutingPolicy(max_retries=6, backoff_base_s=0.001, backoff_cap_s=0.002)
    async with harness(tmp_path, policy=policy) as h:
        h.sim.always("openai", "gpt-4o-mini", Fault.status(503))
        with pytest.raises(AllRoutesFailed):
            await h.router.complete(only("openai", model=MINI))
        assert h.sim.hits("openai", "gpt-4o-mini") == h.router.health.failure_threshold == 3


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


async def test_stream_stall_without_continuation_is_explicitly_incomplete(tmp_path: Path) -> None:
    policy = RoutingPolicy(stream_idle_timeout_s=0.3, first_token_timeout_s=5)
    async with harness(tmp_path, policy=policy) as h:
        h.sim.script("groq", "llama-3.3-70b-versatile", Fault.stall(after_chunks=1))
        req = RouteRequest(
            messages=MSG,
            model="meta-llama/llama-3.3-70b-instruct",
            provider=ProviderPreferences(order=["groq", "together"], allow_fallbacks=False),
            timeout_s=30,
        )
        r = await h.router.complete(req)
        assert r.finish_reason == "error" and r.text
        assert r.error is not None and "stream stalled" in r.error and "no fallback could continue" in r.error
        assert [(a.provider, a.outcome) for a in r.attempts] == [("groq", "timeout"), ("together", "skipped")]
        assert h.sim.hits("groq", "llama-3.3-70b-versatile") == 1
        assert h.sim.hits("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo") == 0
        (q,) = [q for q in await h.requests() if q[0] == r.request_id]
        assert (q[1], q[6]) == ("incomplete", "ProviderTimeout")


class _BrokenAdapter:
    """A third-party adapter with a bug: its stream raises something that is no ProviderError."""

    def __init__(self) -> None:
        from mcp_router.providers.config import ProviderConfig

        self.config = ProviderConfig(name="broken", protocol="openai", base_url="http://127.0.0.1:9/v1")
        self.calls = 0

    @property
    def name(self) -> str:
        return "broken"

    async def complete(self, request: object, model: str) -> object:
        raise NotImplementedError

    async def stream(self, request: object, model: str) -> AsyncIterator[TextDelta]:
        self.calls += 1
        yield TextDelta(text="Hel")
        raise RuntimeError("adapter bug")

    async def list_models(self) -> list[object]:
        return []


async def test_unexpected_adapter_error_is_metered_as_error_not_cancelled(tmp_path: Path) -> None:
    from mcp_router.metering.store import UsageStore
    from mcp_router.metering.writer import MeterWriter
    from mcp_router.router import Router

    broken = _BrokenAdapter()
    store = UsageStore(tmp_path / "usage.db")
    meter = MeterWriter(store, flush_interval_s=0.01)
    cat = catalog_of(model("acme/broken", ep("broken", 1.0, 2.0, native="broken-1")))
    router = Router(cat, {"broken": broken}, meter=meter, store=store)  # type: ignore[dict-item]
    async with router:
        with pytest.raises(RuntimeError, match="adapter bug"):
            await router.complete(RouteRequest(messages=MSG, model="acme/broken"))
        await meter.flush()
        assert broken.calls == 1  # a bug is not a reason to fall back or retry
        assert store.query("SELECT status, error_class FROM requests") == [("error", "RuntimeError")]
        assert store.query("SELECT outcome, error_class FROM attempts") == [("error", "RuntimeError")]
        assert router.health.state(("broken", "acme/broken")) == "closed"  # no verdict on the endpoint


async def test_candidate_after_which_all_are_skipped_gets_all_the_time_left(tmp_path: Path) -> None:
    # [groq, anthropic, groq]: groq's key is refused (401), so the second groq candidate will be
    # skipped and anthropic is in fact the last. Its first token comes after 1.3 s: more than
    # the naive share (time left / 2 candidates ~ 1 s), less than the time left (~2 s).
    llama70, llama8 = "meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.1-8b-instruct"
    cat = catalog_of(
        model(llama70, ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile")),
        model(HAIKU, ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5")),
        model(llama8, ep("groq", 0.05, 0.08, native="llama-3.1-8b-instant")),
    )
    async with harness(tmp_path, catalog=cat, policy=RoutingPolicy(first_token_timeout_s=30)) as h:
        h.sim.script("groq", "llama-3.3-70b-versatile", Fault.status(401))
        h.sim.set_profile("anthropic", "claude-haiku-4-5", ttft_ms=1300)
        r = await h.router.complete(
            RouteRequest(messages=MSG, models=[llama70, HAIKU, llama8], timeout_s=2.0)
        )
        assert [(a.provider, a.outcome) for a in r.attempts] == [("groq", "error"), ("anthropic", "ok")]
        assert h.sim.hits("groq", "llama-3.1-8b-instant") == 0
