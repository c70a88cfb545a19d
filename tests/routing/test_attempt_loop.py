"""The attempt loop's rules (README "How routing chooses / Execution") over in-process fake
adapters: fallback order, retries, deadline shares, continuation, stops. No socket: what the
loop decides is asserted through the RoutedCompletion (or AllRoutesFailed), the calls each fake
received and the metered request. Wire-level and end-to-end behaviour stays in test_execute.py."""

from __future__ import annotations

import re

import anyio
import pytest
from routing_helpers import FakeRig, ManualClock, catalog_of, ep, fake_router, model, sim_catalog

from mcp_router.catalog.catalog import Catalog
from mcp_router.core import Message
from mcp_router.errors import (
    AllRoutesFailed,
    AuthFailed,
    BadRequest,
    ConnectionFailed,
    ContextTooLong,
    ModelNotFound,
    Overloaded,
    RateLimited,
    ServerError,
)
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.testing import FakeAdapter, FakeCall, Handler, Script, hang, reply, sequence, stall

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
MSG = [Message(role="user", content="Say something short.")]

# provider -> (wire protocol, continues an assistant prefix), as the real providers are configured
PROVIDERS = {
    "openai": ("openai", False),
    "openrouter": ("openai", True),
    "anthropic": ("anthropic", True),
    "groq": ("openai", False),
    "together": ("openai", False),
}


def rig(
    catalog: Catalog | None = None,
    *,
    policy: RoutingPolicy | None = None,
    clock: ManualClock | None = None,
    **handlers: Handler,
) -> FakeRig:
    """A router over a fake of every provider in PROVIDERS; each answers with `reply()` unless
    `handlers` names it."""
    fakes = [
        FakeAdapter(
            name, handlers.get(name, lambda call: reply()), protocol, supports_assistant_prefix=prefix
        )
        for name, (protocol, prefix) in PROVIDERS.items()
    ]
    return fake_router(catalog or sim_catalog(), *fakes, policy=policy, clock=clock)


def order(*providers: str, allow_fallbacks: bool = True, **kw: object) -> RouteRequest:
    prefs = ProviderPreferences(order=list(providers), allow_fallbacks=allow_fallbacks)
    return RouteRequest(messages=MSG, provider=prefs, **kw)


def only(*providers: str, **kw: object) -> RouteRequest:
    return RouteRequest(messages=MSG, provider=ProviderPreferences(only=list(providers)), **kw)


def fail(err: Exception) -> Handler:
    """Every call fails with `err` before its first token."""

    def handler(call: FakeCall) -> Script:
        raise err

    return handler


def outcomes(attempts: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(a.provider, a.outcome) for a in attempts]


def busy(status: int = 503) -> Overloaded:
    return Overloaded("fake", "busy", status=status)


# -- retries and fallback -----------------------------------------------------------------------


async def test_last_candidate_standing_is_retried_and_billed_once() -> None:
    r = rig(openai=sequence(busy()))
    res = await r.router.complete(only("openai", model=MINI))
    assert (r["openai"].hits(), r["openrouter"].hits()) == (2, 0)
    assert outcomes(res.attempts) == [("openai", "error"), ("openai", "ok")]
    assert res.attempts[0].error is not None and res.attempts[0].error.startswith("Overloaded")
    rec = r.meter.last()
    assert rec.status == "ok" and rec.attempts[0].cost_usd == 0  # the failed call is free
    assert rec.cost_usd == rec.attempts[1].cost_usd > 0 and res.cost_usd == float(rec.cost_usd)


async def test_retryable_error_with_a_fallback_left_falls_back_at_once() -> None:
    r = rig(openai=fail(busy()))
    res = await r.router.complete(order("openai", model=MINI))
    assert outcomes(res.attempts) == [("openai", "error"), ("openrouter", "ok")]
    assert r["openai"].hits() == 1


async def test_retry_after_within_the_cap_retries_the_same_endpoint() -> None:
    r = rig(openai=sequence(RateLimited("openai", "slow down", status=429, retry_after=0.01)))
    res = await r.router.complete(only("openai", model=MINI))
    assert r["openai"].hits() == 2 and res.provider == "openai"


async def test_retry_after_over_the_cap_falls_back_at_once_and_cools_the_endpoint() -> None:
    r = rig(openai=sequence(RateLimited("openai", "slow down", status=429, retry_after=30)))
    res = await r.router.complete(order("openai", model=MINI))
    assert (r["openai"].hits(), r["openrouter"].hits()) == (1, 1)
    assert outcomes(res.attempts) == [("openai", "error"), ("openrouter", "ok")]
    # The provider asked for 30 s: the endpoint cools down at least that long.
    p = r.router.plan(order("openai", model=MINI))
    assert [c.provider for c in p.candidates] == ["openrouter"]
    assert [(e.provider, e.kind) for e in p.exclusions] == [("openai", ExclusionKind.COOLING)]


async def test_retry_after_over_the_cap_on_the_last_endpoint_gives_up_at_once() -> None:
    r = rig(openai=fail(RateLimited("openai", "slow down", status=429, retry_after=30)))
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(only("openai", model=MINI))
    assert "RateLimited" in str(info.value) and r["openai"].hits() == 1


async def test_calls_never_exceed_one_plus_fallbacks_plus_retries() -> None:
    r = rig(openai=fail(busy()), openrouter=fail(ServerError("openrouter", "boom", status=500)))
    retries = r.router.policy.max_retries
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(order("openai", model=MINI))
    assert (r["openai"].hits(), r["openrouter"].hits()) == (1, 1 + retries)
    assert len(info.value.attempts) == 2 + retries
    assert r.meter.last().status == "error"


async def test_retries_stop_when_the_breaker_trips() -> None:
    policy = RoutingPolicy(max_retries=6, backoff_base_s=0.001, backoff_cap_s=0.002)
    r = rig(policy=policy, openai=fail(busy()))
    with pytest.raises(AllRoutesFailed):
        await r.router.complete(only("openai", model=MINI))
    assert r["openai"].hits() == r.health.failure_threshold == 3


async def test_auth_failure_skips_the_providers_other_endpoints() -> None:
    llama8 = "meta-llama/llama-3.1-8b-instruct"
    cat = catalog_of(
        model(LLAMA, ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile")),
        model(llama8, ep("groq", 0.05, 0.08, native="llama-3.1-8b-instant")),
        model(HAIKU, ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5")),
    )
    r = rig(cat, groq=fail(AuthFailed("groq", "bad key", status=401)))
    res = await r.router.complete(RouteRequest(messages=MSG, models=[LLAMA, llama8, HAIKU]))
    assert outcomes(res.attempts) == [("groq", "error"), ("groq", "skipped"), ("anthropic", "ok")]
    assert res.attempts[1].error == "AuthFailed earlier on provider groq"
    assert r["groq"].hits() == 1  # never retried, and its other endpoint never called


# -- requests the provider refuses ----------------------------------------------------------------


async def test_bad_request_stops_when_no_other_protocol_is_left() -> None:
    r = rig(openai=fail(BadRequest("openai", "temperature is invalid", status=400)))
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(order("openai", model=MINI))
    assert str(info.value).startswith("The request was rejected as invalid")
    assert outcomes(info.value.attempts) == [("openai", "error")]
    assert (r["openai"].hits(), r["openrouter"].hits()) == (1, 0)
    assert r.health.state(("openai", MINI)) == "closed"  # the request's fault, not the endpoint's


async def test_bad_request_skips_its_protocol_and_tries_another() -> None:
    cat = catalog_of(
        model(
            HAIKU,
            ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5"),
            ep("together", 1.0, 5.0, native="haiku-at-together"),
            ep("openrouter", 1.0, 5.0, native=HAIKU),
        )
    )
    r = rig(cat, together=fail(BadRequest("together", "bad field", status=400)))
    res = await r.router.complete(order("together", "openrouter", "anthropic", model=HAIKU))
    # together's 400 rules out every openai-protocol endpoint (openrouter); anthropic answers.
    assert outcomes(res.attempts) == [("together", "error"), ("openrouter", "skipped"), ("anthropic", "ok")]
    assert res.attempts[1].error == "BadRequest earlier on a openai provider"


async def test_an_endpoint_specific_refusal_falls_back_within_the_protocol() -> None:
    r = rig(openrouter=fail(ModelNotFound("openrouter", "not a valid model ID", status=400)))
    res = await r.router.complete(order("openrouter", "openai", model=MINI))
    assert outcomes(res.attempts) == [("openrouter", "error"), ("openai", "ok")]
    assert r.health.state(("openrouter", MINI)) == "closed"


async def test_context_too_long_skips_to_a_larger_context() -> None:
    cat = catalog_of(
        model(
            LLAMA,
            ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile", ctx=131_072),
            ep("together", 0.88, 0.88, native="llama-together", ctx=131_072),
            ep("openrouter", 0.9, 0.9, native=LLAMA, ctx=1_000_000),
        )
    )
    r = rig(cat, groq=fail(ContextTooLong("groq", "prompt is too long", status=400)))
    res = await r.router.complete(order("groq", "together", model=LLAMA))
    assert outcomes(res.attempts) == [("groq", "error"), ("together", "skipped"), ("openrouter", "ok")]
    assert r["together"].hits() == 0
    assert r.health.state(("groq", LLAMA)) == "closed"


# -- deadlines ------------------------------------------------------------------------------------


def _slice_s(error: str | None) -> float:
    """The first-token slice an attempt had, from its record ("no first token within 0.123s")."""
    found = re.search(r"no first token within ([0-9.]+)s", error or "")
    assert found is not None, error
    return float(found.group(1))


async def test_a_first_token_timeout_falls_back_without_a_retry() -> None:
    r = rig(policy=RoutingPolicy(first_token_timeout_s=0.05), openai=lambda call: hang())
    res = await r.router.complete(order("openai", model=MINI, timeout_s=20))
    assert outcomes(res.attempts) == [("openai", "timeout"), ("openrouter", "ok")]
    assert r["openai"].hits() == 1 and _slice_s(res.attempts[0].error) == 0.05


async def test_the_time_left_is_shared_with_the_candidates_left() -> None:
    r = rig(policy=RoutingPolicy(first_token_timeout_s=30), openai=lambda call: hang())
    res = await r.router.complete(order("openai", model=MINI, timeout_s=0.4))
    assert outcomes(res.attempts) == [("openai", "timeout"), ("openrouter", "ok")]
    assert 0.15 < _slice_s(res.attempts[0].error) <= 0.2  # half of the time, for two candidates


async def test_a_candidate_after_which_all_are_skipped_gets_all_the_time_left() -> None:
    # [groq, anthropic, groq]: groq's key is refused, so the second groq candidate will be
    # skipped and anthropic is in fact the last: it gets all the time left, not a third or half.
    llama8 = "meta-llama/llama-3.1-8b-instruct"
    cat = catalog_of(
        model(LLAMA, ep("groq", 0.59, 0.79, native="llama-3.3-70b-versatile")),
        model(HAIKU, ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5")),
        model(llama8, ep("groq", 0.05, 0.08, native="llama-3.1-8b-instant")),
    )
    r = rig(
        cat,
        policy=RoutingPolicy(first_token_timeout_s=30),
        groq=fail(AuthFailed("groq", "bad key", status=401)),
        anthropic=lambda call: hang(),
    )
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(RouteRequest(messages=MSG, models=[LLAMA, HAIKU, llama8], timeout_s=0.4))
    attempts = info.value.attempts
    assert outcomes(attempts) == [("groq", "error"), ("anthropic", "timeout"), ("groq", "skipped")]
    assert _slice_s(attempts[1].error) > 0.3  # ~0.4 s; a share with the skipped one would be 0.2


async def test_every_candidate_hanging_ends_at_the_calls_deadline() -> None:
    r = rig(
        policy=RoutingPolicy(first_token_timeout_s=5), openai=lambda c: hang(), openrouter=lambda c: hang()
    )
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(order("openai", model=MINI, timeout_s=0.2))
    assert [a.outcome for a in info.value.attempts] == ["timeout", "timeout"]
    assert "deadline of 0.2s passed" in str(info.value)
    assert r.meter.last().error_class == "ProviderTimeout"


async def test_the_deadline_passing_mid_stream_returns_the_answer_flagged_incomplete() -> None:
    policy = RoutingPolicy(stream_idle_timeout_s=30, first_token_timeout_s=5)
    r = rig(policy=policy, openai=lambda call: stall("Hello", " there"))
    res = await r.router.complete(only("openai", model=MINI, timeout_s=0.2))
    assert (res.text, res.finish_reason, res.provider) == ("Hello there", "error", "openai")
    assert res.error == "timeout: call deadline of 0.2s passed mid-stream"
    assert outcomes(res.attempts) == [("openai", "timeout")]
    assert r.health.state(("openai", MINI)) == "closed" and r.meter.last().status == "incomplete"


# -- continuing a cut answer ----------------------------------------------------------------------


async def test_a_stream_cut_continues_on_a_prefix_capable_fallback() -> None:
    cut = ConnectionFailed("openai", "connection reset")
    seen: list[str | None] = []

    def openrouter(call: FakeCall) -> Script:
        seen.append(call.prefix)
        return reply("and the rest.")

    r = rig(openai=lambda call: ["The answer ", "begins ", cut], openrouter=openrouter)
    res = await r.router.complete(order("openai", model=MINI))
    assert seen == ["The answer begins "]  # the partial answer, sent as the assistant prefix
    assert (res.text, res.finish_reason, res.error) == ("The answer begins and the rest.", "stop", None)
    assert outcomes(res.attempts) == [("openai", "error"), ("openrouter", "ok")]
    cut_attempt, continuation = r.meter.last().attempts
    assert cut_attempt.usage.output_tokens > 0  # the cut stream's partial output is billed
    assert continuation.usage.output_tokens > 0


async def test_a_stream_cut_without_prefix_support_left_is_explicitly_incomplete() -> None:
    cut = ConnectionFailed("groq", "connection reset")
    r = rig(groq=lambda call: ["Partial ", "answer", cut])
    res = await r.router.complete(order("groq", "together", allow_fallbacks=False, model=LLAMA))
    assert (res.text, res.finish_reason) == ("Partial answer", "error")
    assert res.error is not None and "no fallback could continue" in res.error
    assert outcomes(res.attempts) == [("groq", "error"), ("together", "skipped")]
    assert r["together"].hits() == 0
    assert (r.meter.last().status, r.meter.last().error_class) == ("incomplete", "ConnectionFailed")


async def test_a_stalled_stream_continues_on_a_prefix_capable_fallback() -> None:
    policy = RoutingPolicy(stream_idle_timeout_s=0.05, first_token_timeout_s=5)
    r = rig(policy=policy, openai=lambda call: stall("One ", "two "))
    res = await r.router.complete(order("openai", model=MINI, timeout_s=30))
    assert outcomes(res.attempts) == [("openai", "timeout"), ("openrouter", "ok")]
    assert res.attempts[0].error is not None and "stream stalled" in res.attempts[0].error
    assert r["openrouter"].calls[0].prefix == "One two "
    assert res.text.startswith("One two ") and res.finish_reason == "stop"
    assert r["openai"].hits() == 1  # a stall is not retried on the same endpoint
    assert r.health.get(("openai", MINI)).error_rate == 1.0  # the endpoint's fault


async def test_a_stalled_stream_without_continuation_is_explicitly_incomplete() -> None:
    policy = RoutingPolicy(stream_idle_timeout_s=0.05, first_token_timeout_s=5)
    r = rig(policy=policy, groq=lambda call: stall("Half"))
    res = await r.router.complete(order("groq", "together", allow_fallbacks=False, model=LLAMA, timeout_s=30))
    assert (res.text, res.finish_reason) == ("Half", "error")
    assert (
        res.error is not None and "stream stalled" in res.error and "no fallback could continue" in res.error
    )
    assert outcomes(res.attempts) == [("groq", "timeout"), ("together", "skipped")]
    assert (r.meter.last().status, r.meter.last().error_class) == ("incomplete", "ProviderTimeout")


# -- circuits ---------------------------------------------------------------------------------------


async def test_a_half_open_probe_that_succeeds_closes_the_circuit() -> None:
    clock = ManualClock()
    r = rig(clock=clock, openai=sequence(busy(), busy(), busy()))
    with pytest.raises(AllRoutesFailed):
        await r.router.complete(only("openai", model=MINI))  # 1 + 2 retries, all 503
    key = ("openai", MINI)
    assert r.health.state(key) == "open"
    assert r.router.plan(order("openai", model=MINI)).candidates[0].provider == "openrouter"
    clock.advance(r.health.base_cooldown_s + 0.1)
    res = await r.router.complete(order("openai", model=MINI))
    assert res.provider == "openai" and r.health.state(key) == "closed" and r["openai"].hits() == 4


async def test_a_failed_probe_is_not_retried() -> None:
    clock = ManualClock()
    r = rig(clock=clock, openai=fail(busy()))
    with pytest.raises(AllRoutesFailed):
        await r.router.complete(only("openai", model=MINI))
    clock.advance(r.health.base_cooldown_s + 0.1)
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(only("openai", model=MINI))  # the probe, even as the last one standing
    assert [a.outcome for a in info.value.attempts] == ["error"]
    assert r["openai"].hits() == 4 and r.health.state(("openai", MINI)) == "open"


async def test_a_burst_of_failures_opens_the_circuit_for_the_base_cooldown_only() -> None:
    """16 calls in flight fail together: the circuit opens once, for the base cooldown; failures
    that land while it is already open do not lengthen it. Once it ends the endpoint is healthy
    again and the next call (the half-open probe) is answered."""
    burst = 16
    in_flight = anyio.Event()
    healthy = False

    async def handler(call: FakeCall) -> Script:
        if healthy:
            return reply("back again")
        if call.number >= burst:
            in_flight.set()
        await in_flight.wait()  # every call of the burst is in flight before any fails
        raise ServerError(call.provider, "upstream down", status=503)

    clock = ManualClock()
    health = HealthTracker(clock, failure_threshold=3, base_cooldown_s=5, max_cooldown_s=300)
    r = fake_router(
        catalog_of(model(MINI, ep("openai", native="gpt-4o-mini"))),
        FakeAdapter("openai", handler),
        health=health,
        policy=RoutingPolicy(max_retries=0),
    )
    req = RouteRequest(messages=MSG, model=MINI)
    failures = 0

    async def one() -> None:
        nonlocal failures
        with pytest.raises(AllRoutesFailed):
            await r.router.complete(req)
        failures += 1

    async with anyio.create_task_group() as tg:
        for _ in range(burst):
            tg.start_soon(one)
    assert failures == burst and r["openai"].hits() == burst
    until = health.cooling_until(("openai", MINI))
    assert until is not None and (until - clock.now()).total_seconds() == pytest.approx(5)
    healthy = True
    clock.advance(5.001)
    res = await r.router.complete(req)
    assert (res.provider, res.text, [a.outcome for a in res.attempts]) == ("openai", "back again", ["ok"])
    assert health.state(("openai", MINI)) == "closed"


# -- what the caller sees ---------------------------------------------------------------------------


async def test_progress_reports_chunks_and_chars() -> None:
    seen: list[tuple[int, int]] = []

    async def on_progress(chunks_so_far: int, chars_so_far: int) -> None:
        seen.append((chunks_so_far, chars_so_far))

    r = rig(policy=RoutingPolicy(progress_interval_s=0), openai=lambda call: reply("one two three", chunks=3))
    res = await r.router.complete(order("openai", model=MINI), on_progress=on_progress)
    assert seen == [(1, 5), (2, 10), (3, 13)] and len(res.text) == 13


async def test_an_empty_answer_is_free() -> None:
    r = rig(openai=lambda call: reply(""))
    res = await r.router.complete(order("openai", model=MINI))
    assert res.text == "" and res.cost_usd == 0
    (attempt,) = r.meter.last().attempts
    assert attempt.empty_free and attempt.cost_usd == 0


async def test_a_cancelled_call_is_metered_cancelled_with_no_verdict() -> None:
    started = anyio.Event()

    async def openai(call: FakeCall) -> Script:
        started.set()
        return hang()

    r = rig(openai=openai)
    async with anyio.create_task_group() as tg:
        tg.start_soon(r.router.complete, order("openai", model=MINI))
        await started.wait()
        tg.cancel_scope.cancel()
    rec = r.meter.last()
    assert (rec.status, rec.error_class) == ("cancelled", "Cancelled")
    assert [(a.provider, a.outcome) for a in rec.attempts] == [("openai", "cancelled")]
    assert r.health.state(("openai", MINI)) == "closed"  # a cancel is no verdict


async def test_an_adapter_bug_is_metered_as_error_and_not_retried() -> None:
    r = rig(openai=lambda call: ["Hel", RuntimeError("adapter bug")])
    with pytest.raises(RuntimeError, match="adapter bug"):
        await r.router.complete(order("openai", model=MINI))
    assert (r["openai"].hits(), r["openrouter"].hits()) == (1, 0)  # no fallback on a bug
    rec = r.meter.last()
    assert (rec.status, rec.error_class) == ("error", "RuntimeError")
    assert [(a.outcome, a.error_class) for a in rec.attempts] == [("error", "RuntimeError")]
    assert r.health.state(("openai", MINI)) == "closed"  # no verdict on the endpoint


async def test_when_every_configured_endpoint_cools_the_error_says_when_each_frees() -> None:
    """Endpoints of providers without credentials do not hide that the others are cooling."""
    clock = ManualClock()
    r = fake_router(sim_catalog(), FakeAdapter("openai", fail(busy())), clock=clock)  # no openrouter key
    with pytest.raises(AllRoutesFailed):
        await r.router.complete(RouteRequest(messages=MSG, model=MINI))  # 1 + 2 retries: the circuit opens
    with pytest.raises(AllRoutesFailed) as info:
        await r.router.complete(RouteRequest(messages=MSG, model=MINI))
    assert str(info.value).startswith("Every candidate is cooling down after recent failures: ")
    assert "openai/gpt-4o-mini via openai frees at 2026-07-01T12:00:05+00:00" in str(info.value)
    assert "openrouter" not in str(info.value) and r["openai"].hits() == 3
