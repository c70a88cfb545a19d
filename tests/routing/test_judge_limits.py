"""The judge keeps the compare's limits (routing/judge.py): only what the answers left of the
call's `timeout_s` (a clear verdict error when nothing is left), and the caller's `provider`
and `max_price`, for a named judge and for `auto`. In-process fake adapters, a manual clock."""

from __future__ import annotations

import anyio
import pytest
from routing_helpers import FakeRig, ManualClock, catalog_of, ep, fake_router, model

from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message
from mcp_router.routing.judge import Judge
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import MaxPrice, ProviderPreferences, RouteRequest
from mcp_router.testing import FakeAdapter, FakeCall, Script, hang, reply

pytestmark = pytest.mark.anyio

MSG = [Message(role="user", content="Name a prime.")]
ANSWERER = "v/answerer"  # served by ollama only
JUDGE = "v/judge"  # far cheaper on openai than on ollama: the default order sends it there


def catalog() -> Catalog:
    return catalog_of(
        model(ANSWERER, ep("ollama", 0.0, 0.0, native="answerer")),
        model(JUDGE, ep("openai", 0.01, 0.01, native="judge"), ep("ollama", 50.0, 50.0, native="judge")),
    )


def rig(clock: ManualClock, *, answer_takes_s: float = 0.0, judge_hangs: bool = False) -> FakeRig:
    def ollama(call: FakeCall) -> Script:
        if call.model == "answerer":
            clock.advance(answer_takes_s)  # the answer used this much of the deadline
            return reply("7")
        return hang() if judge_hangs else reply("ollama judged: 7 is right")

    policy = RoutingPolicy(
        tiers={"standard": (JUDGE,)}, backoff_base_s=0.001, backoff_cap_s=0.002, first_token_timeout_s=30
    )
    return fake_router(
        catalog(),
        FakeAdapter("ollama", ollama),
        FakeAdapter("openai", lambda call: reply("openai judged")),
        clock=clock,
        policy=policy,
    )


@pytest.mark.parametrize("judge_model", [JUDGE, "auto"])
async def test_a_caller_limited_to_ollama_keeps_the_judge_there(clock: ManualClock, judge_model: str) -> None:
    r = rig(clock)
    req = RouteRequest(messages=MSG, provider=ProviderPreferences(only=["ollama"]))
    result = await r.router.compare(req, [ANSWERER], judge=Judge(model=judge_model))
    assert result.verdict is not None and result.verdict.error is None, result.verdict
    assert result.verdict.provider == "ollama" and result.verdict.text == "ollama judged: 7 is right"
    assert r["openai"].hits() == 0
    # Without the restriction the same judge goes to the cheaper openai endpoint.
    free = await r.router.compare(RouteRequest(messages=MSG), [ANSWERER], judge=Judge(model=judge_model))
    assert free.verdict is not None and free.verdict.provider == "openai"


async def test_the_judge_keeps_the_callers_max_price(clock: ManualClock) -> None:
    r = rig(clock)
    req = RouteRequest(messages=MSG, max_price=MaxPrice(prompt=1.0, completion=1.0))
    result = await r.router.compare(req, [ANSWERER], judge=Judge(model=JUDGE))
    assert result.verdict is not None and result.verdict.provider == "openai"
    costly = RouteRequest(
        messages=MSG, max_price=MaxPrice(prompt=1.0), provider=ProviderPreferences(only=["ollama"])
    )
    refused = await r.router.compare(costly, [ANSWERER], judge=Judge(model=JUDGE))
    assert refused.verdict is not None and refused.verdict.text is None and refused.verdict.error
    assert r["openai"].hits() == 1 and r["ollama"].hits("judge") == 0


async def test_no_time_left_is_a_verdict_error_and_no_judge_call(clock: ManualClock) -> None:
    r = rig(clock, answer_takes_s=30.0)
    result = await r.router.compare(
        RouteRequest(messages=MSG, timeout_s=30), [ANSWERER], judge=Judge(model=JUDGE)
    )
    assert result.results[0].text == "7"
    assert result.verdict is not None and result.verdict.text is None
    assert result.verdict.error is not None and "no time left" in result.verdict.error
    assert "timeout_s" in result.verdict.error
    assert r["openai"].hits() == 0 and r["ollama"].hits("judge") == 0


async def test_the_judge_has_only_what_the_answers_left(clock: ManualClock) -> None:
    # The answers used 29.95 of 30 s: a judge that never answers is cut when the call's
    # deadline passes, not after a fresh 30 s (the guard below only stops a broken build).
    r = rig(clock, answer_takes_s=29.95, judge_hangs=True)
    req = RouteRequest(messages=MSG, timeout_s=30, provider=ProviderPreferences(only=["ollama"]))
    with anyio.fail_after(10):
        result = await r.router.compare(req, [ANSWERER], judge=Judge(model=JUDGE))
    assert result.verdict is not None and result.verdict.text is None
    assert result.verdict.error is not None and result.results[0].text == "7"
    assert r["ollama"].hits("judge") == 1
