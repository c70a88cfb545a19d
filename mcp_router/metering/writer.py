"""The meter writer: batched, off-loop writes with a bounded queue and group commit.

`await writer.record(rec)` appends to an in-memory queue and returns at once; a dedicated
thread writes batches (one transaction each) when the oldest queued record has waited
`flush_interval_s`, when a batch is full, when someone awaits `flush()`/`record_durable()`, and
at close. The event loop never touches SQLite.

Back-pressure, never silent loss: at most `max_queue` records are ever *uncommitted* (queued or
in the batch being written). When that many are pending, `record()` awaits room (the flush thread
is then writing flat out); `try_record()` returns False instead, for callers that must not wait.

Worst-case loss on kill -9: only records not yet committed, so
  - never more than `max_queue` records (the hard bound, enforced by back-pressure);
  - in steady state, the records of the last `flush_interval_s` plus one commit's duration
    (≈ rate × (flush_interval_s + commit time); at 1,000 req/s and 0.2 s, about 200 rows);
  - nothing that `record_durable()` or `flush()` has returned for: those return after COMMIT,
    and a committed WAL transaction survives the process dying (and, with the store's default
    `synchronous=FULL`, a power cut).
A batch is one transaction, so a crash never leaves half a batch.

If the database keeps failing (disk full, read-only file), the batch stays queued and is retried
with backoff; `close()` waits `close_timeout_s` and then raises `MeteringError` with the count
of records it could not write, rather than pretending they were saved. Meanwhile:
  - `ensure_writable()` raises `LedgerUnavailable` (naming the database and the cause), and the
    router asks it before every paid call: no provider call is made that could not be recorded;
  - `record()` never waits for room (the queue then grows only by the calls already in flight,
    since new ones are refused), so a call that was answered is never left hanging;
  - `flush()` raises `LedgerUnavailable` as soon as a write attempt made after it was called
    fails, and every flush is bounded by `flush_timeout_s` in any case;
  - with nothing queued to retry (a budget hold was what failed), the thread probes the store
    every `retry_backoff_s`; the first write that succeeds clears the fault: recovery needs no
    restart.

Poison records: a batch that fails with anything but SQLITE_BUSY is split in halves and the
halves written in order, down to single records. A single record that fails on its own values
(`RecordRejected`: an int too big for SQLite, a lone surrogate, a constraint) would fail on every
retry, so it is rejected: logged as `metering_record_rejected` with its request id and counted in
`rejected`, and the records around it are committed. A single record failing for an
environmental reason stops the pass there: what came before it is committed, it and everything
after stay queued (order is kept, so `committed` stays a prefix) and are retried.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from types import TracebackType

import anyio
import anyio.to_thread

from mcp_router.errors import LedgerUnavailable, MeteringError, RecordRejected
from mcp_router.log import get_logger
from mcp_router.metering.protocol import UsageStore
from mcp_router.metering.records import RequestRecord

log = get_logger(__name__)
_IDLE_WAKE_S = 1.0  # an idle writer looks at the store's fault this often (probing it if set)


class MeterWriter:
    def __init__(
        self,
        store: UsageStore,
        *,
        flush_interval_s: float = 0.2,
        max_batch: int = 1000,
        max_queue: int = 10_000,
        close_timeout_s: float = 30.0,
        flush_timeout_s: float = 30.0,
        retry_backoff_s: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1 or max_queue < 1 or flush_interval_s < 0:
            raise ValueError("max_batch and max_queue must be >= 1 and flush_interval_s >= 0")
        self._store = store
        self._interval = flush_interval_s
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._close_timeout = close_timeout_s
        self._flush_timeout = flush_timeout_s
        self._backoff = retry_backoff_s
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._queue: deque[tuple[float, RequestRecord]] = deque()  # (monotonic enqueue time, record)
        self._enqueued = 0  # records accepted since start (sequence numbers 1..enqueued)
        # Records resolved (committed or rejected as poison); FIFO, so every sequence number
        # <= _committed is settled. Waiters (flush, record_durable) wait on this.
        self._committed = 0
        self._rejected = 0  # poison records dropped (logged); part of _committed
        self._urgent_upto = 0  # flush without waiting until `committed` reaches this
        self._failures = 0  # write passes that ended in an environmental error
        self._last_error: str | None = None
        self._closing = False
        self._thread: threading.Thread | None = None

    # -- state ------------------------------------------------------------------------------------

    @property
    def enqueued(self) -> int:
        return self._enqueued

    @property
    def committed(self) -> int:
        """How many records are committed (with no rejections: the first `committed` recorded)."""
        return self._committed - self._rejected

    @property
    def rejected(self) -> int:
        """Poison records that could never be written and were dropped (each one logged)."""
        return self._rejected

    @property
    def pending(self) -> int:
        with self._cond:
            return self._enqueued - self._committed

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> MeterWriter:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mcp-router-meter", daemon=True)
                self._thread.start()
        return self

    async def __aenter__(self) -> MeterWriter:
        return self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def close(self) -> None:
        """Flush everything, stop the thread. Raises MeteringError if records could not be written."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(self._close_timeout)
        with self._cond:
            lost = self._enqueued - self._committed
            if thread is not None and thread.is_alive():
                self._queue.clear()  # the thread drops what it holds when it sees the cleared queue
                self._cond.notify_all()
        if lost:
            raise MeteringError(f"{lost} usage records could not be written to {self._store.location}")

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.close)

    # -- producers --------------------------------------------------------------------------------

    def ensure_writable(self) -> None:
        """Raise LedgerUnavailable while the database cannot be written (cheap: no I/O)."""
        fault = self._store.write_fault()
        if fault is not None:
            raise LedgerUnavailable(self._store.location, fault)

    def try_record(self, rec: RequestRecord) -> bool:
        """Enqueue without waiting; False when `max_queue` records are already uncommitted
        and the database is writing (while it fails, the record is taken: see above)."""
        with self._cond:
            if self._closing:
                raise MeteringError("the meter writer is closed")
            pending = self._enqueued - self._committed
            if pending >= self._max_queue and self._store.write_fault() is None:
                self._urgent_upto = max(self._urgent_upto, self._enqueued)
                self._cond.notify_all()
                return False
            self._queue.append((self._monotonic(), rec))
            self._enqueued += 1
            # Wake the thread when a batch starts (its interval timer) or just filled; while it is
            # busy writing it re-checks the queue itself, so no wake-up per record.
            if len(self._queue) == 1 or len(self._queue) == min(self._max_batch, self._max_queue):
                self._cond.notify_all()
            return True

    async def record(self, rec: RequestRecord) -> None:
        """Enqueue a record; waits (without blocking the loop) only while the queue is full.

        Cancellation cannot drop the record: the wait for room is shielded, so a caller cancelled
        while the queue is full still has its provider call metered (the wait ends when the writer
        makes room, or at close, which raises MeteringError).
        """
        if self._thread is None:
            self.start()
        if self.try_record(rec):  # the common case: room at once, no cancel scope to pay for
            return
        with anyio.CancelScope(shield=True):
            while not self.try_record(rec):
                await anyio.to_thread.run_sync(self._wait_for_room)

    async def record_durable(self, rec: RequestRecord) -> None:
        """Enqueue and return only once the record is committed (group commit with others)."""
        await self.record(rec)
        with self._cond:
            seq = self._enqueued  # our record is at or before this sequence number
        await self._wait_committed(seq)

    async def flush(self, timeout_s: float | None = None) -> None:
        """Return once everything recorded before this call is committed. Raises
        LedgerUnavailable as soon as a write attempted after this call fails, and
        MeteringError after `timeout_s` (default `flush_timeout_s`) in any case."""
        if self._thread is None:
            self.start()
        with self._cond:
            seq = self._enqueued
        await self._wait_committed(seq, timeout_s)

    async def _wait_committed(self, seq: int, timeout_s: float | None = None) -> None:
        with self._cond:
            if self._committed >= seq:
                return
            self._urgent_upto = max(self._urgent_upto, seq)
            self._cond.notify_all()
            failures = self._failures
        deadline = time.monotonic() + (self._flush_timeout if timeout_s is None else timeout_s)
        await anyio.to_thread.run_sync(
            self._block_until_committed, seq, failures, deadline, abandon_on_cancel=True
        )

    def _block_until_committed(self, seq: int, failures: int, deadline: float) -> None:
        with self._cond:
            while self._committed < seq:
                if self._failures > failures:
                    raise LedgerUnavailable(self._store.location, self._last_error or "write failed")
                if self._closing and (self._thread is None or not self._thread.is_alive()):
                    raise MeteringError(f"{seq - self._committed} usage records were not written")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MeteringError(
                        f"{seq - self._committed} usage records were not committed to "
                        f"{self._store.location} in time"
                    )
                self._cond.wait(min(0.5, left))

    def _wait_for_room(self) -> None:
        with self._cond:
            while (
                self._enqueued - self._committed >= self._max_queue
                and not self._closing
                and self._store.write_fault() is None
            ):
                self._cond.wait(0.5)

    # -- the flush thread -------------------------------------------------------------------------

    def _due(self) -> float | None:
        """Seconds until the next batch is due (0: now); None when there is nothing to write."""
        if not self._queue:
            return None
        if (
            self._closing
            or self._committed < self._urgent_upto
            or len(self._queue) >= min(self._max_batch, self._max_queue)
        ):
            return 0.0
        return max(0.0, self._queue[0][0] + self._interval - self._monotonic())

    def _next_batch(self) -> list[RequestRecord] | None:
        """Wait until a batch is due: the batch; [] when idle with a faulty store (probe it);
        None when closing with nothing left."""
        with self._cond:
            while True:
                due = self._due()
                if due == 0.0:
                    return [rec for _, rec in islice(self._queue, self._max_batch)]
                if due is None and self._closing:
                    return None
                if due is None and self._store.write_fault() is not None:
                    return []  # nothing queued whose retry would tell when the disk is back
                self._cond.wait(_IDLE_WAKE_S if due is None else due)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if not batch:
                if not self._store.probe_writable():
                    with self._cond:
                        self._cond.wait(self._backoff)
                continue
            resolved, rejected, error = self._write(batch)
            with self._cond:
                # min(): close() may have given up on (cleared) the queue while we were writing.
                for _ in range(min(resolved, len(self._queue))):
                    self._queue.popleft()
                self._committed += resolved
                self._rejected += rejected
                self._cond.notify_all()
                if error is None:
                    continue
                # The database failed (not the records): keep the rest queued, retry, never drop.
                self._failures += 1
                self._last_error = str(error.cause) if isinstance(error, LedgerUnavailable) else repr(error)
                log.error(
                    "metering_write_failed",
                    error=type(error).__name__,
                    detail=str(error)[:200],
                    rows=len(batch) - resolved,
                )
                if not self._queue:  # close() gave up on these records
                    return
                self._cond.wait(self._backoff)

    def _write(self, batch: list[RequestRecord]) -> tuple[int, int, Exception | None]:
        """Write `batch` in order, isolating poison records.

        Returns (records resolved from the front of the batch, how many of those were rejected,
        the environmental error that stopped the pass or None).
        """
        try:
            self._store.write_batch(batch)
        except Exception as exc:  # classified below; whatever it is, no record is dropped unseen
            if isinstance(exc, LedgerUnavailable) and exc.busy:
                return 0, 0, exc  # the store already waited out its retry window
            if len(batch) == 1:
                if not isinstance(exc, RecordRejected):
                    return 0, 0, exc
                rec = batch[0]
                log.error(
                    "metering_record_rejected",
                    request_id=rec.request_id,
                    client=rec.client,
                    error=type(exc.__cause__ or exc).__name__,
                    detail=str(exc)[:200],
                )
                return 1, 1, None
            mid = len(batch) // 2
            done, rejected, error = self._write(batch[:mid])
            if error is not None:
                return done, rejected, error
            done2, rejected2, error = self._write(batch[mid:])
            return done + done2, rejected + rejected2, error
        return len(batch), 0, None
