"""The official OpenAI and Anthropic SDKs, pointed at the simulator, get valid answers and streams."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from mcp_router.sim import Fault, Simulator


def test_openai_sync_sdk() -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content and reply.choices[0].finish_reason == "stop"
        assert reply.usage is not None and reply.usage.completion_tokens > 0
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage:
                usage = chunk.usage
        assert text == reply.choices[0].message.content
        assert usage is not None and usage.completion_tokens == reply.usage.completion_tokens
        listed = [m.id for m in client.models.list()]
        assert listed[:3] == ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o"] and "o3-mini" in listed
        sim.script("openai", "gpt-4o-mini", Fault.status(429, retry_after=1))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="o3-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=9
            )
        assert sim.hits("openai", "gpt-4o-mini") == 3


@pytest.mark.anyio
async def test_openai_async_sdk_against_openrouter_and_groq() -> None:
    async with Simulator().running() as sim:
        for provider, model in (
            ("openrouter", "deepseek/deepseek-chat"),
            ("groq", "llama-3.3-70b-versatile"),
        ):
            client = openai.AsyncOpenAI(base_url=sim.url(provider), api_key=sim.key(provider), max_retries=0)
            stream = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            pieces = [c async for c in stream]
            assert "".join(c.choices[0].delta.content or "" for c in pieces if c.choices).startswith(
                "Simulated"
            )
            assert pieces[-1].usage is not None and pieces[-1].usage.prompt_tokens > 0
            await client.close()


def test_anthropic_sync_sdk() -> None:
    with Simulator().in_thread() as sim:
        client = anthropic.Anthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.content[0].type == "text" and message.stop_reason == "end_turn"
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert message.content[0].text == text
        assert final.usage.output_tokens == message.usage.output_tokens
        assert [m.id for m in client.models.list()] == [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929",
        ]
        sim.script("anthropic", "claude-haiku-4-5", Fault.status(529))
        with pytest.raises(anthropic.InternalServerError) as caught:
            client.messages.create(
                model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 529


@pytest.mark.anyio
async def test_anthropic_async_sdk_stream_error_event() -> None:
    async with Simulator().running() as sim:
        client = anthropic.AsyncAnthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        sim.script("anthropic", "claude-haiku-4-5", Fault.stream_error_event())
        with pytest.raises(anthropic.APIStatusError):
            async with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                async for _ in stream.text_stream:
                    pass
        await client.close()


def test_in_thread_serves_sync_clients_and_stops() -> None:
    sim = Simulator()
    with sim.in_thread():
        root = sim.root_url
        assert httpx2.get(f"{root}/api/tags").status_code == 200
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{root}/api/tags")
