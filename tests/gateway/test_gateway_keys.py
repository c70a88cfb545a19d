"""Issued keys on the gateway, with the official `openai` SDK as the client of a real
`serve --transport http`: a revoked key is 401, a key's rpm is 429 with Retry-After, a key
restricted to `openai/*` cannot reach another vendor (403 naming the allowlist) while `auto`
stays inside it, `/v1/key` shows the key's limits, and 50 concurrent calls on a key with a
daily cap never overspend by more than the largest single reservation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import httpx2
import openai
import pytest
from gateway_serve import Served, child_env, start_serve, stop_serve

from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import Message
from mcp_router.router import Router
from mcp_router.routing.costs import estimate_cost
from mcp_router.sim import Simulator

MODEL = "openai/gpt-4o-mini"
PROMPT = "Write one sentence about budgets."
MAX_TOKENS = 200


def create_key(env: dict[str, str], name: str, *options: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "keys", "create", name, *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    (secret,) = out.stdout.split()
    return secret


def revoke_key(env: dict[str, str], name: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "keys", "revoke", name], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return child_env(sim, tmp_path / "home")


@pytest.fixture
def keyed(env: dict[str, str]) -> Iterator[tuple[Served, dict[str, str]]]:
    """A server started after four keys were issued and one of them revoked."""
    secrets = {
        "open": create_key(env, "open"),
        "slow": create_key(env, "slow", "--rpm", "2"),
        "oa": create_key(env, "oa", "--models", "openai/*"),
        "gone": create_key(env, "gone"),
    }
    revoke_key(env, "gone")
    served = start_serve(env)
    yield served, secrets
    stop_serve(served)


def client(served: Served, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key=secret, max_retries=0)


def ask(c: openai.OpenAI, model: str = MODEL) -> str:
    done = c.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hi."}], max_tokens=20
    )
    return done.model


def test_revoked_rate_limited_and_allowlisted_keys(keyed: tuple[Served, dict[str, str]]) -> None:
    served, secrets = keyed
    assert ask(client(served, secrets["open"])) == MODEL
    with pytest.raises(openai.AuthenticationError):
        ask(client(served, secrets["gone"]))
    slow = client(served, secrets["slow"])
    ask(slow)
    ask(slow)
    with pytest.raises(openai.RateLimitError) as limited:
        ask(slow)
    assert int(limited.value.response.headers["retry-after"]) >= 1
    oa = client(served, secrets["oa"])
    with pytest.raises(openai.PermissionDeniedError) as denied:
        ask(oa, "anthropic/claude-haiku-4.5")
    assert "openai/*" in str(denied.value)
    assert ask(oa, "auto").startswith("openai/")


def test_key_status_shows_the_keys_limits(keyed: tuple[Served, dict[str, str]]) -> None:
    served, secrets = keyed
    for name, check in (("slow", "rate"), ("oa", "models")):
        got = httpx2.get(f"{served.v1}/key", headers={"authorization": f"Bearer {secrets[name]}"})
        assert got.status_code == 200, got.text
        data = got.json()["data"]
        assert data["label"] == name and data["is_key"] is True
        if check == "rate":
            assert data["rate_limit"]["requests"] == 2
        else:
            assert data["models"] == ["openai/*"]


def largest_reservation(env: dict[str, str]) -> Decimal:
    """One call's hold: its worst case at the dearest endpoint of MODEL."""

    async def hold() -> Decimal:
        async with Router.from_env(env) as router:
            tokens = estimate_messages([Message(role="user", content=PROMPT)])
            worst = [
                estimate_cost(e.pricing, tokens, MAX_TOKENS) for e in router.catalog.resolve(MODEL).endpoints
            ]
            return max(w for w in worst if w is not None)

    return anyio.run(hold)


def test_fifty_concurrent_calls_on_a_capped_key_never_overspend(env: dict[str, str]) -> None:
    hold = largest_reservation(env)
    cap = hold * 3  # three worst cases at once; fifty answers cost more
    secret = create_key(env, "capped", "--daily-usd", str(cap))
    served = start_serve(env)
    outcomes: list[str] = []
    try:

        async def burst() -> None:
            async with openai.AsyncOpenAI(base_url=served.v1, api_key=secret, max_retries=0) as oc:

                async def one() -> None:
                    try:
                        await oc.chat.completions.create(
                            model=MODEL, messages=[{"role": "user", "content": PROMPT}], max_tokens=MAX_TOKENS
                        )
                        outcomes.append("ok")
                    except openai.APIStatusError as exc:
                        outcomes.append(str(exc.status_code))

                async with anyio.create_task_group() as tg:
                    for _ in range(50):
                        tg.start_soon(one)

        anyio.run(burst)
    finally:
        stop_serve(served)
    assert len(outcomes) == 50 and "ok" in outcomes
    assert set(outcomes) <= {"ok", "402"} and "402" in outcomes

    async def spent() -> Decimal:
        async with Router.from_env(env) as router:
            report = await router.usage_report(client="capped")
            return Decimal(str(report.totals.cost_usd))

    total = anyio.run(spent)
    assert 0 < total <= cap + hold
