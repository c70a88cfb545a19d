"""The attempt loop's rules (README "How routing chooses / Execution") over in-process fake
adapters: fallback order, retries, deadline shares, continuation, stops. No socket: what the
loop decides is asserted through the RoutedCompletion, the provider calls each fake received
and the metered request. Wire-level and end-to-end behaviour stays in test_execute.py."""

from __future__ import annotations

import anyio
import pytest
from routing_helpers import ManualClock, catalog_of, ep, fake_router, model

from mcp_router.core import Message
from mcp_router.errors import AllRoutesFailed, ServerError
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import RouteRequest
from mcp_router.testing import FakeAdapter, FakeCall, Script, reply

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
MSG = [Message(role="user", content="Say something short.")]


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
    rig = fake_router(
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
            await rig.router.complete(req)
        failures += 1

    async with anyio.create_task_group() as tg:
        for _ in range(burst):
            tg.start_soon(one)
    assert failures == burst and rig["openai"].hits() == burst
    until = health.cooling_until(("openai", MINI))
    assert until is not None and (until - clock.now()).total_seconds() == pytest.approx(5)
    healthy = True
    clock.advance(5.001)
    r = await rig.router.complete(req)
    assert (r.provider, r.text, [a.outcome for a in r.attempts]) == ("openai", "back again", ["ok"])
    assert health.state(("openai", MINI)) == "closed"
