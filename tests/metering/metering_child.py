"""A separate OS process writing to a shared usage database (run by the metering tests).

python metering_child.py write DB PREFIX N BUSY_TIMEOUT_S   # waits for "go" on stdin
python metering_child.py crash DB MAX_QUEUE                  # records until killed
python metering_child.py route CALLS                         # a Router.from_env; waits for "go"
python metering_child.py probe CALLS                         # CALLS calls one after another
"""

from __future__ import annotations

import sys

import anyio
import anyio.to_thread
import structlog
from metering_helpers import request

from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeterWriter

ROUTE_PROMPT = "Summarise the plot of a short story about a lighthouse keeper in three sentences."
ROUTE_MAX_TOKENS = 200
ROUTE_ROUNDS = 5  # calls per concurrent caller, one after another, until refused


async def write(db: str, prefix: str, n: int, busy_timeout_s: float) -> None:
    store = SqliteStore(db, busy_timeout_s=busy_timeout_s)
    print("ready", flush=True)
    sys.stdin.readline()  # "go": both processes start together
    half = n // 2
    for i in range(half):  # one commit per row: maximal lock contention
        store.write_batch([request(f"{prefix}{i}")])
    async with MeterWriter(store, flush_interval_s=0.001, max_batch=7) as writer:
        for i in range(half, n):
            await writer.record(request(f"{prefix}{i}"))
    store.close()
    print("done", flush=True)


async def crash(db: str, max_queue: int) -> None:
    store = SqliteStore(db)
    writer = MeterWriter(store, flush_interval_s=0.01, max_batch=16, max_queue=max_queue)
    async with writer:
        acked = 0
        i = 0
        while True:
            await writer.record(request(f"c{i}"))
            i += 1
            print(f"recorded {i}", flush=True)
            if writer.committed != acked:
                acked = writer.committed
                print(f"acked {acked}", flush=True)


async def route(calls: int) -> None:
    """`calls` concurrent callers on a router configured from the environment (one database and
    budget shared with the other children); each calls again after every answer, up to
    ROUTE_ROUNDS times, and stops at its first refusal. Prints answered/refused counts."""
    from mcp_router.core import Message
    from mcp_router.errors import RouterError
    from mcp_router.router import Router
    from mcp_router.routing.types import ProviderPreferences, RouteRequest

    req = RouteRequest(
        messages=[Message(role="user", content=ROUTE_PROMPT)],
        model="openai/gpt-4o-mini",
        provider=ProviderPreferences(only=["openai"]),
        max_tokens=ROUTE_MAX_TOKENS,
    )
    answered = refused = 0
    async with Router.from_env() as router:

        async def caller() -> None:
            nonlocal answered, refused
            for _ in range(ROUTE_ROUNDS):
                try:
                    await router.complete(req)
                except RouterError:
                    refused += 1
                    return
                answered += 1

        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)  # "go": every child starts together
        async with anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(caller)
    print(f"answered {answered} refused {refused}", flush=True)


async def probe(calls: int) -> None:
    """`calls` calls one after another on a router configured from the environment; prints
    "ok" or the error's class and message for each."""
    from mcp_router.core import Message
    from mcp_router.errors import RouterError
    from mcp_router.router import Router
    from mcp_router.routing.types import ProviderPreferences, RouteRequest

    req = RouteRequest(
        messages=[Message(role="user", content=ROUTE_PROMPT)],
        model="openai/gpt-4o-mini",
        provider=ProviderPreferences(only=["openai"]),
        max_tokens=ROUTE_MAX_TOKENS,
    )
    async with Router.from_env() as router:
        for _ in range(calls):
            try:
                await router.complete(req)
                print("ok", flush=True)
            except RouterError as exc:
                print(f"err {type(exc).__name__}: {exc}", flush=True)


def main() -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the protocol
    mode, db = sys.argv[1], sys.argv[2]
    if mode == "route":
        anyio.run(route, int(sys.argv[2]))
    elif mode == "probe":
        anyio.run(probe, int(sys.argv[2]))
    elif mode == "write":
        anyio.run(write, db, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        anyio.run(crash, db, int(sys.argv[3]))


if __name__ == "__main__":
    main()
