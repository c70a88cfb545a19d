"""Who may call the gateway and what it costs them: the same bearer tokens as `/mcp`
(`MCP_ROUTER_TOKENS`), one ledger for both faces, budgets answered with 402, `/v1/key`, and the
Host/Origin checks that keep a web page on another origin out."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import openai
import pytest
from anthropic import Anthropic
from gateway_serve import OTHER_TOKEN, TOKEN, Served, ServeWith, stop_serve
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from openai import AsyncOpenAI, OpenAI

from mcp_router.sim import Fault, Simulator

MODEL = "openai/gpt-4o-mini"
HI: Any = [{"role": "user", "content": "Say hi"}]
TOKENS = f"alice:{TOKEN},bob:{OTHER_TOKEN}"


def usage_by_client(served: Served) -> dict[str, int]:
    """Requests per client, from the ledger through the public `usage` command, once the server
    stopped (a stop flushes the ledger)."""
    stop_serve(served)
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "usage", "--json", "--group-by", "client"],
        env=served.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {row["key"]: row["requests"] for row in json.loads(out.stdout)["rows"]}


def test_a_bad_or_missing_token_is_401_and_a_good_one_is_metered_as_its_client(serve_with: ServeWith) -> None:
    served = serve_with(MCP_ROUTER_TOKENS=TOKENS)
    with pytest.raises(openai.AuthenticationError) as bad:
        OpenAI(base_url=served.v1, api_key="wrong-token", max_retries=0).chat.completions.create(
            model=MODEL, messages=HI
        )
    assert bad.value.status_code == 401 and bad.value.code == "invalid_api_key"
    missing = httpx2.get(f"{served.v1}/models")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    done = OpenAI(base_url=served.v1, api_key=TOKEN, max_retries=0).chat.completions.create(
        model=MODEL, messages=HI
    )
    assert done.choices[0].message.content
    # Anthropic's SDKs send the key as x-api-key.
    message = Anthropic(base_url=served.url, api_key=OTHER_TOKEN, max_retries=0).messages.create(
        model=MODEL, max_tokens=100, messages=HI
    )
    assert message.content[0].type == "text"
    assert usage_by_client(served) == {"alice": 1, "bob": 1}


def test_budget_cap_is_402_and_key_status_shows_it(serve_with: ServeWith, tmp_path: Path) -> None:
    config = tmp_path / "router.toml"
    config.write_text("[budgets.bob]\ndaily_usd = 0.000001\n\n[budgets.alice]\ndaily_usd = 5\n")
    served = serve_with(MCP_ROUTER_TOKENS=TOKENS, MCP_ROUTER_CONFIG=str(config))
    with pytest.raises(openai.APIStatusError) as refused:
        OpenAI(base_url=served.v1, api_key=OTHER_TOKEN, max_retries=0).chat.completions.create(
            model=MODEL, messages=HI, stream=True
        )
    assert refused.value.status_code == 402
    assert (
        "budget" in refused.value.message.lower() and (refused.value.body or {})["code"] == "budget_exceeded"
    )
    OpenAI(base_url=served.v1, api_key=TOKEN, max_retries=0).chat.completions.create(model=MODEL, messages=HI)
    alice = httpx2.get(f"{served.v1}/key", headers={"authorization": f"Bearer {TOKEN}"}).json()["data"]
    bob = httpx2.get(f"{served.v1}/key", headers={"x-api-key": OTHER_TOKEN}).json()["data"]
    (daily,) = alice["budgets"]
    assert alice["label"] == "alice" and daily["period"] == "daily" and daily["cap_usd"] == 5
    assert 0 < daily["spent_usd"] == pytest.approx(alice["usage"]) and alice["limit"] == 5
    assert daily["remaining_usd"] == pytest.approx(5 - daily["spent_usd"] - daily["reserved_usd"])
    assert alice["limit_remaining"] == daily["remaining_usd"] and daily["resets_at"]
    assert bob["label"] == "bob" and bob["usage"] == 0 and bob["budgets"][0]["cap_usd"] == 0.000001


def test_a_foreign_origin_or_a_form_post_is_refused(served: Served) -> None:
    body = {"model": MODEL, "messages": HI}
    foreign = httpx2.post(
        f"{served.v1}/chat/completions", json=body, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "invalid_origin"
    form = httpx2.post(
        f"{served.v1}/chat/completions", content=json.dumps(body), headers={"content-type": "text/plain"}
    )
    assert form.status_code == 415
    rebound = httpx2.get(f"{served.v1}/models", headers={"host": "attacker.example"})
    assert rebound.status_code == 421
    local = httpx2.post(
        f"{served.v1}/chat/completions", json=body, headers={"origin": "http://localhost:3000"}
    )
    assert local.status_code == 200


@pytest.mark.anyio
async def test_mcp_and_openai_clients_at_once_land_in_one_ledger(serve_with: ServeWith) -> None:
    served = await anyio.to_thread.run_sync(lambda: serve_with(MCP_ROUTER_TOKENS=TOKENS))
    results: list[str] = []

    async def mcp_calls() -> None:
        http = httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"})
        transport = streamable_http_client(f"{served.url}/mcp", http_client=http)
        async with http, Client(transport) as client, anyio.create_task_group() as tg:
            for i in range(8):

                async def one(i: int = i) -> None:
                    result = await client.call_tool("complete", {"prompt": f"mcp {i}", "model": MODEL})
                    assert not result.is_error, result.content
                    results.append("mcp")

                tg.start_soon(one)

    async def openai_calls() -> None:
        api = AsyncOpenAI(base_url=served.v1, api_key=OTHER_TOKEN, max_retries=0)
        async with api, anyio.create_task_group() as tg:
            for i in range(8):

                async def one(i: int = i) -> None:
                    stream = await api.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": f"api {i}"}], stream=True
                    )
                    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
                    results.append("openai")

                tg.start_soon(one)

    async with anyio.create_task_group() as tg:
        tg.start_soon(mcp_calls)
        tg.start_soon(openai_calls)
    assert sorted(results) == ["mcp"] * 8 + ["openai"] * 8
    ledger = await anyio.to_thread.run_sync(usage_by_client, served)
    assert ledger == {"alice": 8, "bob": 8}


def test_a_client_leaving_a_stream_cancels_the_call(serve_with: ServeWith, sim: Simulator) -> None:
    served = serve_with(MCP_ROUTER_STOP_GRACE_S="3600")  # a stop waits for calls still in flight
    sim.always("openai", "gpt-4o-mini", Fault.stall(after_chunks=2))  # then silent, connection open
    try:
        body = {"model": MODEL, "messages": HI, "stream": True}
        with httpx2.stream("POST", f"{served.v1}/chat/completions", json=body, timeout=30) as response:
            lines = response.iter_lines()
            assert any('"content":"Simulated' in line for line in lines)  # the answer began; leave
        stop_serve(served)  # without the cancel, the stop would wait for the stalled call
    finally:
        sim.always("openai", "gpt-4o-mini", None)
    with sqlite3.connect(Path(served.env["MCP_ROUTER_HOME"]) / "usage.db") as db:
        outcomes = [row[0] for row in db.execute("SELECT outcome FROM attempts")]
    assert outcomes == ["cancelled"]
