"""`compare(..., judge=...)` through the real MCP client: after the answers, the judge model gets
the task and the labelled answers and returns a `verdict` with its own cost, metered as its own
request (`tool = "judge"`) under the same client; a judge that fails never loses the answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Fault, Simulator

pytestmark = pytest.mark.anyio

COMPARED = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]
JUDGE = "deepseek/deepseek-chat"


async def compare(router: Router, **args: Any) -> Any:
    async with Client(build_server(router)) as client:
        return await client.call_tool(
            "compare", {"prompt": "Name a prime number.", "models": COMPARED, **args}
        )


def ledger(env: dict[str, str]) -> list[tuple[str, str, str, str, int]]:
    db = Path(env["MCP_ROUTER_HOME"]) / "usage.db"
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select tool, client, requested_model, status, cost_nusd from requests order by tool"
        ).fetchall()


def only_endpoints(router: Router, model: str) -> list[tuple[str, str]]:
    found = router.catalog.lookup(model)
    assert found is not None
    return [(e.provider, e.native_model) for e in found.endpoints if e.provider in router.available_providers]


def judge_saw(router: Router, sim: Simulator, provider: str) -> list[dict[str, Any]]:
    """The messages the judge's provider received last."""
    native = dict(only_endpoints(router, JUDGE))[provider]
    return list((sim.requests(provider, native)[-1].body or {})["messages"])


async def test_a_judged_compare_of_three_models(router: Router, sim: Simulator, env: dict[str, str]) -> None:
    for provider, native in only_endpoints(router, JUDGE):
        sim.set_profile(provider, native, reply="openai/gpt-4o-mini is best: it is right and short.")
    result = await compare(router, judge={"model": JUDGE, "instructions": "Be brief."})
    assert not result.is_error, result.content
    data = result.structured_content
    assert [r["model"] for r in data["results"]] == COMPARED
    assert all(r["error"] is None and r["text"] for r in data["results"])
    verdict = data["verdict"]
    assert verdict["model"] == JUDGE and verdict["provider"] in dict(only_endpoints(router, JUDGE))
    assert verdict["text"] == "openai/gpt-4o-mini is best: it is right and short."
    assert verdict["cost_usd"] > 0 and verdict["usage"]["input_tokens"] > 0 and verdict["error"] is None
    # The judge saw the task, every answer labelled with its model, and the instructions.
    prompt = " ".join(str(m["content"]) for m in judge_saw(router, sim, verdict["provider"]))
    assert "Name a prime number." in prompt and "Be brief." in prompt
    for entry in data["results"]:
        assert f'<answer model="{entry["model"]}">\n{entry["text"]}' in prompt
    # Its request is in the ledger under the same client, told apart by its tool.
    await router.flush_metering()
    rows = ledger(env)
    assert [r[0] for r in rows] == ["compare", "compare", "compare", "judge"]
    assert len({r[1] for r in rows}) == 1  # one client: the session's
    judge_row = rows[-1]
    assert judge_row[2] == JUDGE and judge_row[3] == "ok"
    assert judge_row[4] == round(verdict["cost_usd"] * 1e9)


async def test_the_default_instructions_ask_for_the_best_answer(router: Router, sim: Simulator) -> None:
    result = await compare(router, judge={"model": JUDGE})
    assert not result.is_error, result.content
    verdict = result.structured_content["verdict"]
    assert verdict["text"]
    assert "Pick the best answer and say why" in str(
        judge_saw(router, sim, verdict["provider"])[0]["content"]
    )


async def test_a_failing_judge_keeps_the_answers(router: Router, sim: Simulator, env: dict[str, str]) -> None:
    for provider, native in only_endpoints(router, JUDGE):
        sim.always(provider, native, Fault.status(500))
    result = await compare(router, judge={"model": JUDGE})
    assert not result.is_error, result.content
    data = result.structured_content
    assert all(r["error"] is None and r["text"] for r in data["results"])
    assert data["cheapest"] in COMPARED
    verdict = data["verdict"]
    assert verdict["model"] == JUDGE and verdict["text"] is None
    assert "AllRoutesFailed" in verdict["error"] or "failed" in verdict["error"]
    await router.flush_metering()
    assert [r[0] for r in ledger(env)] == ["compare", "compare", "compare", "judge"]
    assert ledger(env)[-1][3] == "error"


async def test_an_unknown_judge_is_refused_before_any_call(router: Router, sim: Simulator) -> None:
    result = await compare(router, judge={"model": "nobody/no-such-judge"})
    assert result.is_error and "no-such-judge" in result.content[0].text
    assert sim.hits("openai", "gpt-4o-mini") == 0


async def test_nothing_to_judge_when_every_model_failed(router: Router, sim: Simulator) -> None:
    for model in COMPARED:
        for provider, native in only_endpoints(router, model):
            sim.always(provider, native, Fault.status(500))
    result = await compare(router, judge={"model": JUDGE})
    assert not result.is_error, result.content
    assert "nothing to judge" in result.structured_content["verdict"]["error"]
    assert all(sim.hits(p, n) == 0 for p, n in only_endpoints(router, JUDGE))


async def test_judge_arguments_are_checked(router: Router) -> None:
    result = await compare(router, judge={"model": JUDGE, "style": "harsh"})
    assert result.is_error and "judge" in result.content[0].text


async def test_no_verdict_without_a_judge(router: Router) -> None:
    result = await compare(router)
    assert not result.is_error and "verdict" not in result.structured_content
