"""The official `openai` SDK (sync and async, streaming and not) against `serve --transport http`
over the simulated providers: answers, tool calls, images, usage and cost, fallbacks, errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import openai
import pytest
from gateway_serve import Served, ServeWith
from openai import AsyncOpenAI, OpenAI

from mcp_router.sim import Fault, Simulator
from mcp_router.sim.media import png

MODEL = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"
HI = [{"role": "user", "content": "Say hi"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def client(served: Served, key: str = "unused") -> OpenAI:
    return OpenAI(base_url=served.v1, api_key=key, max_retries=0)


def test_sync_completion_carries_text_usage_cost_and_provider(served: Served) -> None:
    done = client(served).chat.completions.create(model=MODEL, messages=HI)  # type: ignore[arg-type]
    (choice,) = done.choices
    assert choice.message.content is not None
    assert choice.message.content.startswith("Simulated reply from gpt-4o-mini:")
    assert choice.finish_reason == "stop" and done.object == "chat.completion"
    assert done.model == MODEL and done.id.startswith("chatcmpl-")
    extra = done.model_extra or {}
    assert extra["provider"] in ("openai", "openrouter")
    assert done.usage is not None and done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    assert (done.usage.model_extra or {})["cost"] > 0


def test_sync_stream_with_usage_ends_with_a_usage_chunk(served: Served) -> None:
    chunks = list(
        client(served).chat.completions.create(
            model=MODEL,
            messages=HI,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Simulated reply from gpt-4o-mini:")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    *body, last = chunks
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in body)
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)


def test_sync_stream_without_usage_has_no_usage_chunk(served: Served) -> None:
    chunks = list(client(served).chat.completions.create(model=MODEL, messages=HI, stream=True))  # type: ignore[arg-type]
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.anyio
async def test_async_completion_and_stream_agree(served: Served) -> None:
    async with AsyncOpenAI(base_url=served.v1, api_key="unused", max_retries=0) as aclient:
        done = await aclient.chat.completions.create(model=MODEL, messages=HI)  # type: ignore[arg-type]
        stream = await aclient.chat.completions.create(model=MODEL, messages=HI, stream=True)  # type: ignore[arg-type]
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == done.choices[0].message.content  # the simulator answers a request the same way


def test_tool_call_round_trip(served: Served) -> None:
    api = client(served)
    first = api.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Lima weather"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    (call,) = message.tool_calls or []
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Lima"}
    follow = [
        {"role": "user", "content": "Lima weather"},
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "foggy"},
    ]
    second = api.chat.completions.create(model=HAIKU, messages=follow, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    assert second.choices[0].message.content == "The tool returned: foggy"


def test_streamed_tool_call_has_indexed_deltas(served: Served) -> None:
    chunks = list(
        client(served).chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Lima weather"}],
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            stream=True,
        )
    )
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert calls and calls[0].index == 0 and calls[0].id and calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads("".join(t.function.arguments or "" for t in calls if t.function)) == {"city": "Lima"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_image_part_reaches_the_model(served: Served) -> None:
    url = "data:image/png;base64," + base64.b64encode(png(2, 3)).decode()
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]
    done = client(served).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}]
    )  # type: ignore[misc,list-item]
    assert "[saw image/png 2x3]" in (done.choices[0].message.content or "")


def test_models_fallback_chain_answers_from_the_next_model(serve_with: ServeWith, sim: Simulator) -> None:
    served = serve_with()  # its own server: the failures open circuits the other tests must not see
    sim.always("openai", "gpt-4o-mini", Fault.status(500))
    sim.always("openrouter", "openai/gpt-4o-mini", Fault.status(500))
    try:
        done = client(served).chat.completions.create(
            model=MODEL,
            messages=HI,  # type: ignore[arg-type]
            extra_body={"models": [HAIKU]},
        )
    finally:
        sim.always("openai", "gpt-4o-mini", None)
        sim.always("openrouter", "openai/gpt-4o-mini", None)
    assert done.model == HAIKU and (done.model_extra or {})["provider"] in ("anthropic", "openrouter")


def test_provider_preferences_choose_the_endpoint(served: Served) -> None:
    for only in ("anthropic", "openrouter"):
        done = client(served).chat.completions.create(
            model=HAIKU,
            messages=HI,  # type: ignore[arg-type]
            extra_body={"provider": {"only": [only], "sort": "price", "max_price": {"prompt": 10}}},
        )
        assert (done.model_extra or {})["provider"] == only


def test_errors_have_openai_status_and_body(served: Served) -> None:
    api = client(served)
    with pytest.raises(openai.NotFoundError) as missing:
        api.chat.completions.create(model="nobody/no-such-model", messages=HI)  # type: ignore[arg-type]
    assert missing.value.code == "model_not_found" and missing.value.param == "model"
    with pytest.raises(openai.NotFoundError) as unserved:  # nothing to try: no endpoint passes the filter
        api.chat.completions.create(model=MODEL, messages=HI, extra_body={"provider": {"only": ["groq"]}})  # type: ignore[arg-type]
    assert unserved.value.code == "no_endpoints" and "provider.only" in unserved.value.message
    with pytest.raises(openai.BadRequestError) as many:
        api.chat.completions.create(model=MODEL, messages=HI, n=2)  # type: ignore[arg-type]
    assert many.value.param == "n" and "`n`" in many.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        api.chat.completions.create(model=MODEL, messages=HI, temperature=7)  # type: ignore[arg-type]
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as streamed:  # refused before the stream starts
        list(api.chat.completions.create(model=MODEL, messages=HI, stream=True, logprobs=True))  # type: ignore[arg-type]
    assert streamed.value.param == "logprobs"


def test_every_route_failing_is_502(serve_with: ServeWith, sim: Simulator) -> None:
    served = serve_with()
    sim.always("anthropic", "claude-haiku-4-5-20251001", Fault.status(500))
    sim.always("openrouter", "anthropic/claude-haiku-4.5", Fault.status(500))
    try:
        with pytest.raises(openai.InternalServerError) as failed:
            client(served).chat.completions.create(model=HAIKU, messages=HI, stream=True)  # type: ignore[arg-type]
    finally:
        sim.always("anthropic", "claude-haiku-4-5-20251001", None)
        sim.always("openrouter", "anthropic/claude-haiku-4.5", None)
    assert failed.value.status_code == 502
    body: Any = failed.value.body
    assert body["code"] == "all_routes_failed"


@pytest.mark.anyio
async def test_sixteen_concurrent_streams_each_get_their_own_answer(served: Served) -> None:
    answers: dict[int, str] = {}
    async with AsyncOpenAI(base_url=served.v1, api_key="unused", max_retries=0) as aclient:

        async def one(i: int) -> None:
            stream = await aclient.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": f"question {i}"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            answers[i] = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, i)
    assert len(answers) == 16 and all(
        a.startswith("Simulated reply from gpt-4o-mini:") for a in answers.values()
    )
    assert len(set(answers.values())) > 8  # each stream carried its own request's answer


def test_reasoning_comes_back_in_openrouter_fields(served: Served) -> None:
    api = client(served)
    asked: Any = {
        "model": HAIKU,
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
        "max_tokens": 3000,
        "extra_body": {"reasoning": {"effort": "low"}},
    }
    done = api.chat.completions.create(**asked)
    assert (done.choices[0].message.model_extra or {})["reasoning"]
    assert done.usage is not None and done.usage.completion_tokens_details is not None
    assert (done.usage.completion_tokens_details.reasoning_tokens or 0) > 0
    chunks = list(api.chat.completions.create(**asked, stream=True))
    thinking = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks if c.choices
    )
    assert thinking and chunks[-1].choices[0].finish_reason == "stop"


def test_a_local_file_the_server_may_not_read_is_a_400(served: Served, tmp_path: Any) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(2, 3))
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": str(secret)}},
    ]
    messages: Any = [{"role": "user", "content": content}]
    with pytest.raises(openai.BadRequestError) as refused:
        client(served).chat.completions.create(model=MODEL, messages=messages)
    assert refused.value.code == "file_refused" and "outside the folders" in refused.value.message
