"""The streams between the SDK's stdio transport and the server, guarded.

`GuardedRead` wraps the read stream: an item the SDK could not parse (it arrives as an
exception, which the server would drop, leaving the client waiting until its timeout) is
answered with the JSON-RPC error it deserves, or repaired and served (server/malformed.py).
With `TrackedWrite` on the write stream it also knows which requests still await an answer, so a
stop (server/shutdown.py) stops reading and lets them finish before the session ends.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from types import TracebackType
from typing import Any, Protocol

import anyio
import mcp_types as types
import structlog
from mcp.shared.message import SessionMessage

from mcp_router.server.malformed import Rejected, Repaired, triage
from mcp_router.server.shutdown import LONG_LIVED, StopRequest

log = structlog.get_logger(__name__)

Item = SessionMessage | Exception


class Receiver(Protocol):
    """The read side the SDK's stdio transport yields."""

    async def receive(self) -> Item: ...
    async def aclose(self) -> None: ...


class Sender(Protocol):
    """The write side the SDK's stdio transport yields."""

    async def send(self, item: SessionMessage, /) -> None: ...
    async def aclose(self) -> None: ...


class OpenRequests:
    """Ids of client requests read but not yet answered."""

    def __init__(self) -> None:
        self._ids: Counter[types.RequestId] = Counter()
        self._idle = anyio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return sum(self._ids.values())

    def opened(self, id_: types.RequestId) -> None:
        if not self._ids:
            self._idle = anyio.Event()
        self._ids[id_] += 1

    def closed(self, id_: types.RequestId) -> None:
        if self._ids[id_] > 1:
            self._ids[id_] -= 1
        else:
            self._ids.pop(id_, None)
        if not self._ids:
            self._idle.set()

    async def wait_idle(self) -> None:
        while self._ids:
            await self._idle.wait()


class GuardedRead:
    """The server's read stream: malformed lines answered, requests tracked, drained on stop."""

    def __init__(
        self,
        inner: Receiver,
        write: Sender,
        open_requests: OpenRequests,
        stop: StopRequest | None = None,
    ) -> None:
        self._inner = inner
        self._write = write
        self._open = open_requests
        self._stop = stop

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender's context of the last item (the dispatcher runs handlers in it)."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            try:
                item = await self._inner.receive()
            except anyio.EndOfStream:
                if self._stop is not None and self._stop.requested.is_set():
                    await self._stop.drain(self._open.wait_idle)
                raise
            if isinstance(item, Exception):
                repaired = await self._answer(item)
                if repaired is None:
                    continue
                item = SessionMessage(repaired)
            self._note(item.message)
            return item

    def _note(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest) and message.method not in LONG_LIVED:
            self._open.opened(message.id)
        elif isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
            # A cancelled request gets no answer: stop waiting for one.
            request_id = (message.params or {}).get("requestId")
            if isinstance(request_id, int | str):
                self._open.closed(request_id)

    async def _answer(self, exc: Exception) -> types.JSONRPCMessage | None:
        outcome = triage(exc)
        if isinstance(outcome, Repaired):
            log.warning("stdio_message_repaired", detail="lone UTF-16 surrogates replaced by U+FFFD")
            return outcome.message
        if isinstance(outcome, Rejected):
            log.warning("stdio_message_rejected", code=outcome.code, id=outcome.id, reason=outcome.reason)
            try:
                await self._write.send(SessionMessage(outcome.error()))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                log.debug("stdio_error_not_sent", detail="the write stream is closed")
        return None

    def __aiter__(self) -> GuardedRead:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> GuardedRead:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class TrackedWrite:
    """The server's write stream: an answer sent closes its request in `OpenRequests`."""

    def __init__(self, inner: Sender, open_requests: OpenRequests) -> None:
        self._inner = inner
        self._open = open_requests

    async def send(self, item: SessionMessage, /) -> None:
        await self._inner.send(item)
        message: Any = item.message
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError) and message.id is not None:
            self._open.closed(message.id)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> TrackedWrite:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
