"""The official `anthropic` SDK against `/v1/messages` of `serve --transport http` (the way
Claude Code and Anthropic SDK clients use the gateway through `ANTHROPIC_BASE_URL`)."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic
from gateway_serve import Served, ServeWith
from openai import OpenAI

from mcp_router.sim import Fault, Simulator
from mcp_router.sim.media import png

HAIKU = "anthropic/claude-haiku-4.5"
MINI = "openai/gpt-4o-mini"
WEATHER: Any = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(served: Served) -> Anthropic:
    return Anthropic(base_url=served.url, api_key="unused", max_retries=0)


def test_message_with_text_and_usage(served: Served) -> None:
    message = client(served).messages.create(
        model=HAIKU, max_tokens=200, system="Be brief.", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    (block,) = message.content
    assert block.type == "text" and block.text.startswith("Simulated reply from")
    assert message.stop_reason == "end_turn" and message.model == HAIKU
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_any_model_answers_in_anthropic_format(served: Served) -> None:
    message = client(served).messages.create(
        model=MINI, max_tokens=200, messages=[{"role": "user", "content": "Say hi"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("Simulated reply from gpt-4o-mini:")


def test_stream_events_build_the_same_message(served: Served) -> None:
    api = client(served)
    # One endpoint only, so both calls reach the same simulated model and get the same answer.
    asked: Any = {"model": MINI, "max_tokens": 200, "messages": [{"role": "user", "content": "Say hi"}]}
    whole = api.messages.create(**asked)
    with api.messages.stream(**asked) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds and "message_delta" in kinds
    assert final.content[0].type == "text" and whole.content[0].type == "text"
    assert final.content[0].text == whole.content[0].text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.usage.input_tokens == whole.usage.input_tokens  # carried by message_delta


@pytest.mark.anyio
async def test_async_tool_use_round_trip_streamed(served: Served) -> None:
    async with AsyncAnthropic(base_url=served.url, api_key="unused", max_retries=0) as api:
        asked: Any = {
            "model": HAIKU,
            "max_tokens": 300,
            "tools": [WEATHER],
            "messages": [{"role": "user", "content": "Lima weather"}],
        }
        async with api.messages.stream(**asked) as stream:
            first = await stream.get_final_message()
        assert first.stop_reason == "tool_use"
        (use,) = [b for b in first.content if b.type == "tool_use"]
        assert use.name == "get_weather" and use.input == {"city": "Lima"}
        result = {"type": "tool_result", "tool_use_id": use.id, "content": "foggy"}
        asked["messages"] += [
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": [result]},
        ]
        second = await api.messages.create(**asked)
    assert second.content[0].type == "text" and second.content[0].text == "The tool returned: foggy"


def test_image_block_reaches_the_model(served: Served) -> None:
    data = base64.b64encode(png(2, 3)).decode()
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
    ]
    message = client(served).messages.create(
        model=HAIKU, max_tokens=200, messages=[{"role": "user", "content": content}]
    )
    assert message.content[0].type == "text" and "[saw image/png 2x3]" in message.content[0].text


def test_errors_come_in_anthropic_shape(served: Served) -> None:
    api = client(served)
    with pytest.raises(anthropic.NotFoundError) as missing:
        api.messages.create(
            model="nobody/no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    body: Any = missing.value.body
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as bad:
        api.messages.create(
            model=HAIKU, max_tokens=10, messages=[{"role": "user", "content": "hi"}], extra_body={"top_k": 5}
        )
    body = bad.value.body
    assert body["error"]["type"] == "invalid_request_error" and "`top_k`" in body["error"]["message"]


def test_a_stream_that_breaks_off_ends_in_an_error_event(serve_with: ServeWith, sim: Simulator) -> None:
    served = serve_with()  # its own server: the failures open a circuit other tests must not see
    sim.always("openai", "gpt-4o-mini", Fault.cut_stream(after_chunks=3))
    try:
        api = client(served)
        asked: Any = {"model": MINI, "max_tokens": 200, "messages": [{"role": "user", "content": "Say hi"}]}
        with pytest.raises(anthropic.APIStatusError) as whole:
            api.messages.create(**asked)
        kinds: list[str] = []
        with pytest.raises(anthropic.APIError) as streamed, api.messages.stream(**asked) as stream:
            kinds.extend(event.type for event in stream)
        chunks = list(
            OpenAI(base_url=served.v1, api_key="unused", max_retries=0).chat.completions.create(
                model=MINI, messages=asked["messages"], stream=True
            )
        )
    finally:
        sim.always("openai", "gpt-4o-mini", None)
    assert whole.value.status_code == 502 and "broke off" in whole.value.message
    assert "broke off" in streamed.value.message and kinds[0] == "message_start"
    assert "message_stop" not in kinds
    assert chunks[-1].choices[0].finish_reason == "error"  # the OpenAI face says so in the stream


def test_thinking_comes_back_as_a_thinking_block(served: Served) -> None:
    asked: Any = {
        "model": HAIKU,
        "max_tokens": 3000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    message = client(served).messages.create(**asked)
    assert [b.type for b in message.content] == ["thinking", "text"]
    with client(served).messages.stream(**asked) as stream:
        final = stream.get_final_message()
    assert {b.type for b in final.content} == {"thinking", "text"}
