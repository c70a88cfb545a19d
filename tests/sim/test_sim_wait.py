"""`Simulator.wait_for_hits`: tests wait for the provider to see a request by event, not by polling."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from mcp_router.sim import Fault, Simulator

from .wire import Target

pytestmark = pytest.mark.anyio

OPENAI = Target("openai", "gpt-4o-mini")


async def test_a_waiter_started_before_the_request_wakes_after_it(
    sim: Simulator, client: httpx2.AsyncClient
) -> None:
    woken = anyio.Event()

    async def wait() -> None:
        await sim.wait_for_hits("openai", "gpt-4o-mini")
        woken.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            await anyio.wait_all_tasks_blocked()  # the waiter is parked before any hit exists
            assert not woken.is_set()
            assert (await OPENAI.send(sim, client)).status_code == 200
            await woken.wait()
    assert sim.hits("openai", "gpt-4o-mini") == 1


async def test_waiting_for_n_hits_needs_all_n(sim: Simulator, client: httpx2.AsyncClient) -> None:
    woken = anyio.Event()

    async def wait() -> None:
        await sim.wait_for_hits("openai", "gpt-4o-mini", n=3)
        woken.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            for _ in range(2):
                assert (await OPENAI.send(sim, client)).status_code == 200
            # Two full round trips went by (each a real hit): the waiter still waits for the third.
            await anyio.wait_all_tasks_blocked()
            assert not woken.is_set() and sim.hits("openai", "gpt-4o-mini") == 2
            assert (await OPENAI.send(sim, client)).status_code == 200
            await woken.wait()


async def test_a_reached_count_returns_at_once_and_other_models_do_not_count(
    sim: Simulator, client: httpx2.AsyncClient
) -> None:
    assert (await OPENAI.send(sim, client)).status_code == 200
    with anyio.fail_after(10):
        await sim.wait_for_hits("openai", "gpt-4o-mini")  # already there
        await sim.wait_for_hits("openai", "gpt-4o-mini", n=0)
    woken = anyio.Event()

    async def wait() -> None:
        await sim.wait_for_hits("openai", "gpt-4o-mini", n=2)
        woken.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        other = Target("anthropic", "claude-haiku-4-5")
        assert (await other.send(sim, client)).status_code == 200
        await anyio.wait_all_tasks_blocked()
        assert not woken.is_set()  # a hit on another model is not a hit on this one
        tg.cancel_scope.cancel()


async def test_a_hung_request_counts_and_ollama_names_normalize(
    sim: Simulator, client: httpx2.AsyncClient
) -> None:
    sim.always("ollama", "llama3.2", Fault.hang())
    async with anyio.create_task_group() as tg:
        tg.start_soon(Target("ollama", "llama3.2").send, sim, client)
        with anyio.fail_after(10):
            await sim.wait_for_hits("ollama", "llama3.2:latest")  # the request never answers
        tg.cancel_scope.cancel()
    assert sim.hits("ollama", "llama3.2") == 1


async def test_a_cancelled_wait_leaves_the_simulator_serving(
    sim: Simulator, client: httpx2.AsyncClient
) -> None:
    with anyio.CancelScope() as scope:
        scope.cancel()
        await sim.wait_for_hits("openai", "gpt-4o-mini")
    assert scope.cancelled_caught
    assert sim._state.hit_waiters == []  # the abandoned waiter does not linger
    # The hit it waited for is served normally, and a fresh wait sees it.
    assert (await OPENAI.send(sim, client)).status_code == 200
    with anyio.fail_after(10):
        await sim.wait_for_hits("openai", "gpt-4o-mini")


async def test_wait_works_across_threads_with_in_thread() -> None:
    sim = Simulator()
    with sim.in_thread():
        url, headers, body = OPENAI.request(sim)

        def post() -> int:
            return httpx2.post(url, headers=headers, json=body, timeout=10).status_code

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(sim.wait_for_hits, "openai", "gpt-4o-mini", 2)
                assert await anyio.to_thread.run_sync(post) == 200
                assert await anyio.to_thread.run_sync(post) == 200
            # The task group exited: the waiter, served from the sim's own thread, was woken.
        assert sim.hits("openai", "gpt-4o-mini") == 2
