"""Budgets through the real Router, simulator and Budgets: per-attempt holds, settled once,
refusals that tell spent and reserved apart, budgets visible in the usage tools."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from routing_helpers import catalog_of, ep, harness, model

from mcp_router.core import Message
from mcp_router.errors import AllRoutesFailed, BudgetExceeded
from mcp_router.routing.types import ProviderPreferences, RouteRequest
from mcp_router.sim import Fault

pytestmark = pytest.mark.anyio

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4.5"
MSG = [Message(role="user", content="Say something short.")]


async def test_spend_is_counted_once_and_no_hold_outlives_its_request(tmp_path: Path) -> None:
    async with harness(tmp_path, budgets={"default": {"daily_usd": "10", "monthly_usd": "20"}}) as h:
        req = RouteRequest(messages=MSG, model=MINI, provider=ProviderPreferences(only=["openai"]))
        h.sim.script("openai", "gpt-4o-mini", Fault.status(503))  # a retried attempt, same request
        results = [await h.router.complete(req) for _ in range(5)]
        assert all(r.cost_usd for r in results)
        await h.router.flush_metering()
        report = await h.store.usage_report(client="default", now=datetime.now(UTC))
        stored = Decimal(str(report.totals.cost_usd))
        assert stored == sum(Decimal(str(r.cost_usd)) for r in results) > 0
        status = await h.budgets.budget_status("default")
        assert [s.period for s in status] == ["daily", "monthly"]
        for s in status:  # not twice: each hold went when its request's record committed
            assert Decimal(str(s.spent_usd)) == stored and s.reserved_usd == 0
            assert Decimal(str(s.remaining_usd)) == Decimal(str(s.cap_usd)) - stored


async def test_fallback_over_the_cap_is_skipped_with_the_reason(tmp_path: Path) -> None:
    # Worst cases at 1000 max_tokens: gpt-4o-mini ~$0.0006, claude-haiku ~$0.005; the cap is
    # $0.002, so the primary may be tried and the fallback may not.
    async with harness(tmp_path, budgets={"default": {"daily_usd": "0.002"}}) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.status(503))
        req = RouteRequest(
            messages=MSG,
            model=MINI,
            models=[HAIKU],
            provider=ProviderPreferences(only=["openai", "anthropic"]),
            max_tokens=1000,
        )
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(req)
        attempts = info.value.attempts
        assert [(a.provider, a.outcome) for a in attempts] == [("openai", "error"), ("anthropic", "skipped")]
        why = attempts[1].error or ""
        assert "spent $0 of $0.002" in why and "resets at" in why and "budget" in why
        assert "reserved" not in why  # the failed first attempt's hold was given back
        assert "max_tokens (1000); a lower max_tokens lowers the hold" in why
        assert "spent $0 of $0.002" in str(info.value)
        assert h.sim.hits("openai", "gpt-4o-mini") == 1
        assert h.sim.hits("anthropic", "claude-haiku-4-5") == 0


async def test_reservation_is_the_candidates_worst_case_output(tmp_path: Path) -> None:
    # No max_tokens: the hold is the endpoint's max output (64000 x $5/M = $0.32), not a
    # default 500 tokens ($0.0025) nor the policy's 4096 ($0.02), so a $0.1 cap refuses it.
    cat = catalog_of(
        model(HAIKU, ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5", ctx=200_000, max_out=64_000))
    )
    async with harness(tmp_path, budgets={"default": {"daily_usd": "0.1"}}, catalog=cat) as h:
        with pytest.raises(BudgetExceeded) as info:
            await h.router.complete(RouteRequest(messages=MSG, model=HAIKU))
        assert info.value.cap_usd == Decimal("0.1") and info.value.requested_usd > Decimal("0.32")
        text = str(info.value)
        assert "this call would hold $0.32" in text and "64000 output tokens" in text
        assert "max_tokens is not set; setting max_tokens lowers the hold" in text
        assert h.sim.hits("anthropic", "claude-haiku-4-5") == 0
        (req,) = await h.requests()
        assert (req[1], req[6]) == ("error", "BudgetExceeded")
        r = await h.router.complete(RouteRequest(messages=MSG, model=HAIKU, max_tokens=100))
        assert r.provider == "anthropic"  # a bounded answer fits


async def test_unpriced_endpoint_is_refused_under_a_budget_only(tmp_path: Path) -> None:
    cat = catalog_of(model(MINI, ep("openai", None, None, native="gpt-4o-mini", ctx=128_000)))
    async with harness(tmp_path, budgets={"alice": {"daily_usd": "5"}}, catalog=cat) as h:
        with pytest.raises(AllRoutesFailed) as info:
            await h.router.complete(RouteRequest(messages=MSG, model=MINI, client="alice"))
        (attempt,) = info.value.attempts
        assert attempt.outcome == "skipped" and "price unknown" in (attempt.error or "")
        assert h.sim.hits("openai", "gpt-4o-mini") == 0
        r = await h.router.complete(RouteRequest(messages=MSG, model=MINI, client="bob"))  # no budget
        assert r.provider == "openai" and r.cost_usd is None


async def test_cancel_while_holding_budget_frees_the_half_open_probe(tmp_path: Path) -> None:
    import anyio
    from routing_helpers import ManualClock

    clock = ManualClock()
    async with harness(tmp_path, clock=clock, budgets={"default": {"daily_usd": "10"}}) as h:
        key, health = ("openai", MINI), h.router.health
        for _ in range(health.failure_threshold):
            health.record_failure(key)
        clock.advance(10_000)  # the cooldown is over: the next call is the recovery probe
        assert health.state(key) == "half_open"
        req = RouteRequest(messages=MSG, model=MINI, provider=ProviderPreferences(only=["openai"]))
        async with anyio.create_task_group() as tg:
            await h.budgets._lock.acquire()  # white-box: the real Budgets blocks the hold
            try:
                tg.start_soon(h.router.complete, req)
                await anyio.wait_all_tasks_blocked()  # the call now waits on the budget lock
                tg.cancel_scope.cancel()
            finally:
                h.budgets._lock.release()
        assert h.sim.hits("openai", "gpt-4o-mini") == 0
        ok = await h.router.complete(req)  # the probe was given back, so the endpoint is tried
        assert ok.provider == "openai" and health.state(key) == "closed"


async def test_deadline_passing_during_the_hold_charges_no_endpoint(tmp_path: Path) -> None:
    import anyio

    async with harness(tmp_path, budgets={"default": {"daily_usd": "10"}}) as h:
        req = RouteRequest(
            messages=MSG, model=MINI, provider=ProviderPreferences(only=["openai"]), timeout_s=0.05
        )
        async with anyio.create_task_group() as tg:
            await h.budgets._lock.acquire()  # white-box: the hold outlasts the call's deadline

            async def call() -> None:
                with pytest.raises(AllRoutesFailed, match="deadline"):
                    await h.router.complete(req)

            tg.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            await anyio.sleep(0.1)  # let the 0.05 s deadline pass while the hold waits
            h.budgets._lock.release()
        assert h.sim.hits("openai", "gpt-4o-mini") == 0
        snap = h.router.health.get(("openai", MINI))
        assert snap is None or not snap.error_rate  # a call never made is no failure


async def test_refusal_while_another_call_holds_reports_it_as_reserved_not_spent(tmp_path: Path) -> None:
    # Worst case at 1000 max_tokens ~$0.0006 (gpt-4o-mini): a $0.001 cap admits one hold at a time.
    import anyio

    async with harness(tmp_path, budgets={"default": {"daily_usd": "0.001"}}) as h:
        h.sim.script("openai", "gpt-4o-mini", Fault.hang())
        req = RouteRequest(
            messages=MSG,
            model=MINI,
            provider=ProviderPreferences(only=["openai"]),
            max_tokens=1000,
            timeout_s=30,
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(h.router.complete, req)  # hangs at the provider, holding its worst case
            await h.sim.wait_for_hits("openai", "gpt-4o-mini", 1)
            with pytest.raises(BudgetExceeded) as info:
                await h.router.complete(req)
            tg.cancel_scope.cancel()
        exc = info.value
        assert exc.spent_usd == 0 and exc.reserved_usd > 0
        text = str(exc)
        assert "spent $0 of $0.001 and $0.0006" in text and "is reserved by calls in flight" in text
        assert h.sim.hits("openai", "gpt-4o-mini") == 1  # the refused call reached no provider
        (status,) = await h.budgets.budget_status("default")  # the cancelled call's hold is gone
        assert status.reserved_usd == 0


async def test_usage_tools_show_the_callers_budgets(tmp_path: Path) -> None:
    import json

    from mcp.client import Client

    from mcp_router.server.app import build_server

    async with harness(tmp_path, budgets={"default": {"daily_usd": "2", "monthly_usd": "30"}}) as h:
        await h.router.complete(
            RouteRequest(messages=MSG, model=MINI, provider=ProviderPreferences(only=["openai"]))
        )
        async with Client(build_server(h.router)) as client:
            report = (await client.call_tool("usage_report", {})).structured_content
            summary = json.loads((await client.read_resource("usage://summary")).contents[0].text)  # type: ignore[union-attr]
            other = (await client.call_tool("usage_report", {"client": "nobody"})).structured_content
    assert report is not None and other is not None
    spent = report["totals"]["cost_usd"]
    assert spent > 0
    for budgets in (report["budgets"], summary["budgets"]):
        daily, monthly = budgets
        assert daily["period"] == "daily" and monthly["period"] == "monthly"
        assert (daily["cap_usd"], daily["spent_usd"], daily["reserved_usd"]) == (2, spent, 0)
        assert daily["remaining_usd"] == pytest.approx(2 - spent, abs=1e-9)
        assert daily["resets_at"].endswith("T00:00:00Z") and monthly["resets_at"].endswith("-01T00:00:00Z")
    assert other["budgets"] == []  # a client without a budget: an empty list


async def test_reasoning_budget_is_held_on_top_of_max_tokens(tmp_path: Path) -> None:
    # max_tokens=100 alone holds 100 x $5/M = $0.0005, under the $0.005 cap; with a 2,000-token
    # thinking budget the wire may be sent max_tokens=2,100 ($0.0105), so the hold must cover it.
    from mcp_router.core import Reasoning

    cat = catalog_of(
        model(
            HAIKU,
            ep("anthropic", 1.0, 5.0, native="claude-haiku-4-5", ctx=200_000, max_out=64_000),
            caps=("reasoning",),
        )
    )
    async with harness(tmp_path, budgets={"default": {"daily_usd": "0.005"}}, catalog=cat) as h:
        plain = await h.router.complete(RouteRequest(messages=MSG, model=HAIKU, max_tokens=100))
        assert plain.provider == "anthropic"
        thinking = RouteRequest(
            messages=MSG, model=HAIKU, max_tokens=100, reasoning=Reasoning(max_tokens=2000)
        )
        with pytest.raises(BudgetExceeded) as info:
            await h.router.complete(thinking)
        assert info.value.requested_usd is not None and info.value.requested_usd >= Decimal("0.0105")
        assert h.sim.hits("anthropic", "claude-haiku-4-5") == 1  # the refused call reached no provider
