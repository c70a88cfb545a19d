"""A separate OS process writing to a shared usage database (run by the metering tests).

python metering_child.py write DB PREFIX N BUSY_TIMEOUT_S   # waits for "go" on stdin
python metering_child.py crash DB MAX_QUEUE                  # records until killed
"""

from __future__ import annotations

import sys

import anyio
import structlog
from metering_helpers import request

from mcp_router.metering.store import UsageStore
from mcp_router.metering.writer import MeterWriter


async def write(db: str, prefix: str, n: int, busy_timeout_s: float) -> None:
    store = UsageStore(db, busy_timeout_s=busy_timeout_s)
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
    store = UsageStore(db)
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


def main() -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the protocol
    mode, db = sys.argv[1], sys.argv[2]
    if mode == "write":
        anyio.run(write, db, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        anyio.run(crash, db, int(sys.argv[3]))


if __name__ == "__main__":
    main()
