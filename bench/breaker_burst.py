"""How long a burst of concurrent failures locks one endpoint out (README "Cooldowns").

N calls (default 16) are in flight on one endpoint at once and all fail (HTTP 503); the
endpoint is then healthy again. The figure is the cooldown its circuit got, on a manual clock
and the router's default breaker (3 failures open it for 5 s, doubling per reopening, at most
300 s): only the transition to open may set it, so it should be the base 5 s, not 5 s doubled
once per failure. Then the clock moves past that first cooldown and one more call is made: it
should be answered (the half-open probe). Deterministic: one run is the figure.

    .venv/bin/python bench/breaker_burst.py [--burst 16]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random


class ManualClock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class NullMeter:
    async def record(self, rec: object) -> None:
        return None


async def run(burst: int) -> None:
    import anyio

    from mcp_router.catalog.catalog import Catalog
    from mcp_router.catalog.models import Endpoint, Model, Pricing
    from mcp_router.core import Message
    from mcp_router.errors import AllRoutesFailed, ServerError
    from mcp_router.log import configure_logging
    from mcp_router.router import Router
    from mcp_router.routing.health import HealthTracker
    from mcp_router.routing.policy import RoutingPolicy
    from mcp_router.routing.types import RouteRequest
    from mcp_router.testing import FakeAdapter, FakeCall, Script, reply

    configure_logging({})
    in_flight = anyio.Event()
    healthy = False

    async def handler(call: FakeCall) -> Script:
        if healthy:
            return reply("back")
        if call.number >= burst:
            in_flight.set()
        await in_flight.wait()  # every call of the burst is in flight before any fails
        raise ServerError(call.provider, "upstream down", status=503)

    price = Pricing(input=Decimal("0.000001"), output=Decimal("0.000002"))
    catalog = Catalog(
        [
            Model(
                id="acme/m", name="m", endpoints=(Endpoint(provider="acme", native_model="m", pricing=price),)
            )
        ]
    )
    clock = ManualClock()
    health = HealthTracker(clock)
    adapter = FakeAdapter("acme", handler)
    router = Router(
        catalog,
        {"acme": adapter},
        meter=NullMeter(),
        health=health,
        policy=RoutingPolicy(max_retries=0),
        rng=Random(0),
    )
    req = RouteRequest(messages=[Message(role="user", content="hi")], model="acme/m")
    failed = 0

    async def one() -> None:
        nonlocal failed
        try:
            await router.complete(req)
        except AllRoutesFailed:
            failed += 1

    async with anyio.create_task_group() as tg:
        for _ in range(burst):
            tg.start_soon(one)
    until = health.cooling_until(("acme", "acme/m"))
    cooldown = (until - clock.now()).total_seconds() if until else 0.0
    healthy = True
    clock.advance(health.base_cooldown_s + 0.001)
    try:
        res = await router.complete(req)
        after = f"answered by {res.provider}"
    except AllRoutesFailed as exc:
        after = f"refused: {str(exc)[:80]}..."
    print(
        f"burst of {burst} concurrent failures ({failed} failed calls, {adapter.hits()} provider calls): "
        f"circuit open for {cooldown:.1f} s (base cooldown {health.base_cooldown_s:.0f} s, "
        f"cap {health.max_cooldown_s:.0f} s); first call after {health.base_cooldown_s:.0f} s: {after}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--burst", type=int, default=16)
    asyncio.run(run(ap.parse_args().burst))


if __name__ == "__main__":
    main()
