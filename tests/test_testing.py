"""mcp_router.testing: the in-process fake adapter behaves like an adapter."""

from __future__ import annotations

import anyio
import pytest

from mcp_router.core import CompletionRequest, Message, StreamEnd, TextDelta
from mcp_router.errors import Overloaded
from mcp_router.providers.base import Adapter, RemoteModel
from mcp_router.testing import FakeAdapter, FakeCall, Script, hang, reply, sequence

pytestmark = pytest.mark.anyio

REQ = CompletionRequest(messages=[Message(role="user", content="hi")])


def test_reply_splits_into_words_or_chunks_and_ends_with_usage() -> None:
    *words, end = reply("one two  three")
    assert words == ["one ", "two  ", "three"]
    assert isinstance(end, StreamEnd) and (end.usage.output_tokens, end.finish_reason) == (3, "stop")
    assert reply("abcdefg", chunks=3)[:-1] == ["abc", "def", "g"]
    assert reply("")[:-1] == []


async def test_stream_records_calls_and_complete_joins_the_answer() -> None:
    fake = FakeAdapter("acme", lambda call: reply(f"call {call.number} to {call.model}"))
    adapter: Adapter = fake  # the protocol, checked by mypy
    events = [ev async for ev in adapter.stream(REQ, "m1")]
    assert [ev.text for ev in events if isinstance(ev, TextDelta)] == ["call ", "1 ", "to ", "m1"]
    done = await adapter.complete(REQ, "m2")
    assert done.text == "call 2 to m2" and done.finish_reason == "stop"
    assert (fake.hits(), fake.hits("m1"), fake.calls[1].request is REQ) == (2, 1, True)
    assert adapter.name == "acme" and adapter.config.protocol == "openai"


async def test_sequence_raises_then_answers_and_an_item_exception_breaks_the_stream() -> None:
    fake = FakeAdapter("acme", sequence(Overloaded("acme", "busy", status=503), ["part", ValueError("cut")]))
    with pytest.raises(Overloaded):
        await fake.complete(REQ, "m")
    got: list[str] = []
    with pytest.raises(ValueError, match="cut"):
        async for ev in fake.stream(REQ, "m"):
            got.append(ev.text if isinstance(ev, TextDelta) else "end")
    assert got == ["part"]
    assert (await fake.complete(REQ, "m")).text == "Hello from the fake provider."  # `then`: reply()


async def test_hang_waits_until_cancelled_and_an_async_handler_is_awaited() -> None:
    gate = anyio.Event()
    finished = False

    async def handler(call: FakeCall) -> Script:
        await gate.wait()
        return hang()

    async def call() -> None:
        nonlocal finished
        await fake.complete(REQ, "m")
        finished = True

    fake = FakeAdapter("acme", handler)
    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()  # waiting in the handler
        gate.set()
        await anyio.wait_all_tasks_blocked()  # now waiting in hang()
        tg.cancel_scope.cancel()
    assert fake.hits() == 1 and not finished


async def test_list_models_returns_what_it_was_given() -> None:
    models = [RemoteModel(provider="acme", native_id="m")]
    assert await FakeAdapter("acme", models=models).list_models() == models
