"""`Router.stream`: the answer's text as it arrives, then the receipt; errors from the iteration;
a reader that leaves early cancels the call (metered as cancelled). Over fake adapters."""

from __future__ import annotations

import anyio
import pytest
from routing_helpers import fake_router, sim_catalog

from mcp_router.core import Message, TextDelta
from mcp_router.errors import AllRoutesFailed, Overloaded
from mcp_router.routing.types import ProviderPreferences, RoutedCompletion, RouteRequest
from mcp_router.testing import FakeAdapter, FakeCall, Script, hang, reply, stall

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
MSG = [Message(role="user", content="Count to four.")]


def request(*providers: str) -> RouteRequest:
    return RouteRequest(messages=MSG, model=MINI, provider=ProviderPreferences(order=list(providers)))


async def test_deltas_arrive_in_order_then_the_receipt() -> None:
    rig = fake_router(sim_catalog(), FakeAdapter("openai", lambda call: reply("one two three four")))
    events = []
    async with rig.router.stream(request("openai")) as stream:
        async for ev in stream:
            events.append(ev)
    *deltas, receipt = events
    assert all(isinstance(d, TextDelta) for d in deltas) and len(deltas) == 4
    assert isinstance(receipt, RoutedCompletion)
    assert "".join(d.text for d in deltas) == receipt.text == "one two three four"
    assert rig.meter.last().status == "ok"


async def test_a_continued_answer_streams_once_without_repeating_the_prefix() -> None:
    def cut(call: FakeCall) -> Script:
        if call.number > 1:  # openrouter's other model fails before its first token
            raise Overloaded("openrouter", "busy", status=503)
        return ["one ", "two ", Overloaded("openrouter", "gone", status=503)]

    def rest(call: FakeCall) -> Script:
        assert call.prefix == "one two "
        return reply("three four")

    rig = fake_router(
        sim_catalog(),
        FakeAdapter("openrouter", cut, supports_assistant_prefix=True),
        FakeAdapter("anthropic", rest, "anthropic", supports_assistant_prefix=True),
    )
    req = RouteRequest(messages=MSG, models=[MINI, "anthropic/claude-haiku-4.5"])
    req = req.model_copy(
        update={"model": None, "provider": ProviderPreferences(only=["openrouter", "anthropic"])}
    )
    texts: list[str] = []
    async with rig.router.stream(req) as stream:
        async for ev in stream:
            if isinstance(ev, TextDelta):
                texts.append(ev.text)
            else:
                receipt = ev
    assert "".join(texts) == receipt.text == "one two three four"
    assert receipt.provider == "anthropic"


async def test_failure_is_raised_from_the_iteration() -> None:
    def down(call: FakeCall) -> Script:
        raise Overloaded("openai", "busy", status=503)

    rig = fake_router(sim_catalog(), FakeAdapter("openai", down))
    req = RouteRequest(messages=MSG, model=MINI, provider=ProviderPreferences(only=["openai"]))
    with pytest.raises(AllRoutesFailed):
        async with rig.router.stream(req) as stream:
            async for _ in stream:
                pass


async def test_leaving_early_cancels_the_call_and_meters_it_cancelled() -> None:
    rig = fake_router(sim_catalog(), FakeAdapter("openai", lambda call: stall("first ")))
    async with rig.router.stream(request("openai")) as stream:
        async for ev in stream:
            assert isinstance(ev, TextDelta) and ev.text == "first "
            break
    assert rig.meter.last().status == "cancelled"
    assert rig["openai"].hits() == 1


async def test_leaving_before_the_first_token_cancels_the_provider_call() -> None:
    started = anyio.Event()

    def waiting(call: FakeCall) -> Script:
        started.set()
        return hang()

    rig = fake_router(sim_catalog(), FakeAdapter("openai", waiting))
    async with rig.router.stream(request("openai")):
        await started.wait()  # the provider call is in flight; the reader leaves unread
    assert rig.meter.last().status == "cancelled"
    assert [a.outcome for a in rig.meter.last().attempts] == ["cancelled"]
