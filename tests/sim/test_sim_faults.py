"""Every fault, on every protocol, observed over raw HTTP."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx2
import pytest

from mcp_router.sim import Fault, Simulator

from .wire import KNOWN_FINISH, Target, error_kind, error_message, finish_of, output_tokens_of, stream_finish

pytestmark = pytest.mark.anyio

RATE_LIMIT_KIND = {
    "openai": "tokens",
    "anthropic": "rate_limit_error",
    "gemini": "RESOURCE_EXHAUSTED",
    "ollama": "ollama",
    "openrouter": "429",
    "groq": "tokens",
}


async def test_happy_path_single_and_stream_agree(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    single = await target.send(sim, client)
    assert single.status_code == 200
    text = target.text_of(single.json())
    assert text.startswith("Simulated reply from")
    stream = await target.send(sim, client, stream=True)
    assert stream.status_code == 200
    assert target.stream_text(stream.text) == text
    assert stream_finish(target, stream.text) == finish_of(target, single.json())
    assert sim.hits(target.provider, target.model) == 2
    recorded = sim.requests(target.provider, target.model)
    assert [r.method for r in recorded] == ["POST", "POST"]
    assert recorded[0].body is not None and "hello there" in json.dumps(recorded[0].body)


async def test_status_with_retry_after_seconds(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    sim.script(target.provider, target.model, Fault.status(429, retry_after=7))
    response = await target.send(sim, client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert error_kind(target, response.json()) == RATE_LIMIT_KIND[target.provider]
    # The script is used up: the next hit is a normal answer.
    assert (await target.send(sim, client)).status_code == 200
    assert sim.hits(target.provider, target.model) == 2


async def test_retry_after_as_http_date(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.status(503, retry_after=120, retry_after_http_date=True))
    response = await target.send(sim, client)
    assert response.status_code == 503
    when = parsedate_to_datetime(response.headers["retry-after"])
    assert 60 < (when - datetime.now(UTC)).total_seconds() <= 121
    error_kind(target, response.json())


async def test_status_custom_message(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.status(500, message="boom at the sim"))
    response = await target.send(sim, client)
    assert response.status_code == 500
    assert error_message(target, response.json()) == "boom at the sim"


def assert_context_error(target: Target, body: dict[str, object]) -> None:
    message = error_message(target, body)
    if target.provider in ("openai", "groq"):
        assert body["error"]["code"] == "context_length_exceeded"  # type: ignore[index]
    elif target.protocol == "anthropic":
        assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert message.startswith("prompt is too long: ") and "maximum" in message
    elif target.protocol == "gemini":
        assert body["error"]["status"] == "INVALID_ARGUMENT"  # type: ignore[index]
        assert "exceeds the maximum number of tokens allowed" in message
    else:
        assert "context length" in message


async def test_context_too_long(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.context_too_long())
    response = await target.send(sim, client)
    assert response.status_code == 400
    assert_context_error(target, response.json())


async def test_prompt_over_the_context_length_is_rejected_without_a_fault(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    sim.add_model(target.provider, target.model, context_length=50)
    response = await target.send(sim, client, prompt="word " * 400)
    assert response.status_code == 400
    assert_context_error(target, response.json())


async def test_hang_until_client_gives_up(sim: Simulator, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.hang())
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(5.0, read=0.3)) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await target.send(sim, client)
        assert (await target.send(sim, client)).status_code == 200


async def test_reset_before_any_response(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.reset())
    with pytest.raises(httpx2.TransportError):
        await target.send(sim, client)
    assert (await target.send(sim, client)).status_code == 200
    assert sim.hits(target.provider, target.model) == 2


async def test_cut_stream_after_chunks(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    full = target.text_of((await target.send(sim, client)).json())
    sim.script(target.provider, target.model, Fault.cut_stream(after_chunks=2))
    url, headers, body = target.request(sim, stream=True)
    received = b""
    with pytest.raises(httpx2.RemoteProtocolError):
        async with client.stream("POST", url, headers=headers, json=body) as response:
            assert response.status_code == 200
            async for part in response.aiter_bytes():
                received += part
    got = target.stream_text(received.decode())
    assert got == "Simulated reply"
    assert full.startswith(got) and len(got) < len(full)


async def test_cut_non_stream_body(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.cut_stream(after_chunks=0))
    with pytest.raises(httpx2.TransportError):
        await target.send(sim, client)


async def test_malformed_json(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.malformed_json(), Fault.malformed_json())
    response = await target.send(sim, client)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    stream = await target.send(sim, client, stream=True)
    assert stream.status_code == 200
    with pytest.raises(ValueError):
        target.stream_text(stream.text)


async def test_missing_fields(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.missing_fields(), Fault.missing_fields())
    response = await target.send(sim, client)
    assert response.status_code == 200
    with pytest.raises((KeyError, IndexError, TypeError)):
        target.text_of(response.json())
    stream = await target.send(sim, client, stream=True)
    assert stream.status_code == 200
    # Either a chunk lacks the fields a parser needs, or the stream never reports a finish.
    with contextlib.suppress(KeyError, IndexError, TypeError):
        assert stream_finish(target, stream.text) is None
    assert stream_finish(target, (await target.send(sim, client, stream=True)).text) is not None


async def test_error_event_inside_a_200_stream(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    sim.script(target.provider, target.model, Fault.stream_error_event(), Fault.stream_error_event())
    stream = await target.send(sim, client, stream=True)
    assert stream.status_code == 200
    raw = stream.text
    if target.protocol == "anthropic":
        assert "event: error\n" in raw and '"overloaded_error"' in raw
        assert "message_stop" not in raw
    elif target.protocol == "ollama":
        last = json.loads(raw.strip().splitlines()[-1])
        assert "error" in last
    else:
        assert '"error"' in raw and "[DONE]" not in raw
    single = await target.send(sim, client)
    assert single.status_code in (503, 529)
    error_kind(target, single.json())


async def test_empty_answer(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.empty())
    response = await target.send(sim, client)
    assert response.status_code == 200
    body = response.json()
    assert output_tokens_of(target, body) == 0
    if target.protocol == "gemini":
        assert body["candidates"][0]["content"]["parts"] == []
    elif target.protocol == "anthropic":
        assert body["content"] == []
    else:
        assert target.text_of(body) == ""


async def test_unknown_finish_reason(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.script(target.provider, target.model, Fault.unknown_finish_reason())
    body = (await target.send(sim, client)).json()
    assert finish_of(target, body) not in KNOWN_FINISH[target.protocol]
    normal = (await target.send(sim, client)).json()
    assert finish_of(target, normal) in KNOWN_FINISH[target.protocol]


async def test_always_then_cleared(sim: Simulator, client: httpx2.AsyncClient, target: Target) -> None:
    sim.always(target.provider, target.model, Fault.status(502))
    sim.script(target.provider, target.model, Fault.status(401))
    codes = [(await target.send(sim, client)).status_code for _ in range(3)]
    assert codes == [401, 502, 502]
    sim.always(target.provider, target.model, None)
    assert (await target.send(sim, client)).status_code == 200
    assert sim.hits(target.provider, target.model) == 4
    sim.reset()
    assert sim.hits(target.provider, target.model) == 0
    assert sim.requests(target.provider, target.model) == []


async def test_unknown_model_is_the_providers_404(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    response = await Target(target.provider, "no-such-model").send(sim, client)
    # OpenRouter's documented error codes have no 404: an unknown slug is a 400.
    assert response.status_code == (400 if target.provider == "openrouter" else 404)
    body = response.json()
    if target.provider == "openrouter":
        assert body["error"] == {"code": 400, "message": "no-such-model is not a valid model ID"}
    kind = error_kind(target, body)
    if target.protocol == "anthropic":
        assert kind == "not_found_error"
    elif target.protocol == "gemini":
        assert kind == "NOT_FOUND"
    elif target.protocol == "ollama":
        assert body["error"] == 'model "no-such-model" not found, try pulling it first'
    elif target.provider != "openrouter":
        assert body["error"]["code"] == "model_not_found"
    assert sim.hits(target.provider, "no-such-model") == 1


async def test_latency_and_pacing_are_applied(
    sim: Simulator, client: httpx2.AsyncClient, target: Target
) -> None:
    # Behaviour only (no timing assertion): a paced stream still delivers the same text.
    expected = target.text_of((await target.send(sim, client)).json())
    sim.set_profile(target.provider, target.model, latency_ms=5, ttft_ms=5, tokens_per_s=2000)
    assert sim.profile(target.provider, target.model).tokens_per_s == 2000
    assert target.stream_text((await target.send(sim, client, stream=True)).text) == expected


async def test_shutdown_does_not_wait_for_a_hung_request(target: Target) -> None:
    sim = Simulator()
    failures: list[BaseException] = []

    async def hang_request(client: httpx2.AsyncClient) -> None:
        try:
            await target.send(sim, client)
        except httpx2.TransportError as exc:
            failures.append(exc)

    # Contexts exit innermost first: running() closes the server (and the hung connection with
    # it) before the task group waits for the request to finish.
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(30.0)) as client,
        anyio.create_task_group() as tg,
        sim.running(),
    ):
        sim.always(target.provider, target.model, Fault.hang())
        tg.start_soon(hang_request, client)
        with anyio.fail_after(10):
            await sim.wait_for_hits(target.provider, target.model)
    assert len(failures) == 1
