"""Reading response bodies under bounds: the SSE and NDJSON stream parsers, the drain that
lets a finished stream's connection go back to the pool, and the capped read of an error body.

Framing only: what an event or line means is each protocol's business, and turning transport
failures and error statuses into `ProviderError`s is `providers.http_errors`'. Every buffer here is
bounded (`MAX_EVENT_BYTES` per streamed event or line, `MAX_ERROR_BODY_BYTES` per error body):
an event or line over its bound, or an NDJSON line that is not JSON, is a `MalformedResponse`,
so a broken or hostile server cannot make us hold more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from typing import Any, NamedTuple, TypeVar

import anyio
import httpx2

from mcp_router.core import StreamEvent, TextDelta
from mcp_router.errors import MalformedResponse, ProviderError
from mcp_router.providers.wire import Wire

# After a stream's terminal event, read at most this much (and wait at most this long) for
# the rest of the body — normally just the chunked terminator — so the connection goes back
# to the pool. Beyond either bound the connection is closed instead: a reconnect is cheaper
# than waiting on a server that keeps talking.
_DRAIN_MAX_BYTES = 64 * 1024
_DRAIN_MAX_SECONDS = 0.25

# Bounds on what a provider can make us buffer. One streamed event (an SSE event, an NDJSON
# line) is a few hundred bytes; 1 MiB without a terminator is a broken or hostile server, and
# holding it would only grow memory until the read timeout. An error body is read for its
# message only: the first 64 KiB say everything a classifier needs.
MAX_EVENT_BYTES = 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
E = TypeVar("E")  # one framed item of a read: an SSE event, an NDJSON line


class SSEEvent(NamedTuple):
    # A tuple, not a dataclass: one is built per streamed chunk, and a tuple is the cheapest.
    event: str  # "message" when the server sent no `event:` line
    data: str


class SSEParser:
    """Server-sent events from raw body chunks, split wherever the network split them.

    WHATWG rules: lines end in LF, CRLF or a lone CR (also across a chunk boundary); multi-line
    `data` joins with "\n"; comment lines starting with ':' are ignored; an event is dispatched
    on a blank line; an unterminated event at EOF is never dispatched (a cut stream must not
    look like a complete last event); a leading BOM is dropped.

    Bytes, not decoded lines: events are split on b"\n\n" and only each field's value is
    decoded (newline bytes never occur inside a UTF-8 sequence, so this is the same text).
    Per chunk this is a couple of C-level scans, where a line iterator costs several Python
    generator steps per line — the parser runs once per streamed token.

    An unterminated event is kept as a list of chunks and only each new chunk is scanned, so
    an event split into many chunks costs linear time; one over `max_event_bytes` is a
    `MalformedResponse`.
    """

    __slots__ = ("_bom", "_cr", "_lf", "_limit", "_provider", "_size", "_started", "_tail")

    def __init__(self, provider: str = "stream", *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._provider = provider
        self._limit = max_event_bytes
        self._tail: list[bytes] = []  # the unterminated event's chunks: LF-only line endings already
        self._size = 0  # bytes in `_tail`
        self._lf = False  # `_tail` ends in LF: a LF starting the next chunk ends the event
        self._cr = False  # the previous chunk ended in CR: a LF starting the next one is its pair
        self._started = False
        self._bom = b""  # the first bytes while they may still be a split byte-order mark

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events `chunk` completes, in order."""
        if self._cr or not self._started or b"\r" in chunk:
            chunk = self._normalize(chunk)
        if b"\n\n" not in chunk and not (self._lf and chunk[:1] == b"\n"):
            if chunk:
                self._tail.append(chunk)
                self._size += len(chunk)
                self._lf = chunk[-1] == 10  # b"\n"
                if self._size - self._lf > self._limit:  # a pending line end is not content
                    raise self._too_big()
            return []
        events = []
        for block in self._blocks(chunk):
            # The common shape, one `data:` line (OpenAI, Gemini), without the line loop.
            if block.startswith(b"data: ") and b"\n" not in block:
                events.append(SSEEvent("message", block[6:].decode("utf-8", "replace")))
            elif (event := _sse_block(block)) is not None:
                events.append(event)
        return events

    def _blocks(self, chunk: bytes) -> list[bytes]:
        """The event blocks `chunk` completes (it holds an event end); keeps the rest as the tail."""
        tail = self._tail
        if not tail:
            buf = chunk
        elif len(tail) == 1:
            buf = tail[0] + chunk  # the usual case: an event split in two
        else:
            buf = b"".join((*tail, chunk))
        *blocks, rest = buf.split(b"\n\n")
        if rest:
            self._tail = [rest]
            self._size = len(rest)
            self._lf = rest[-1] == 10
        elif self._tail:
            self._tail = []
            self._size = 0
            self._lf = False
        if len(buf) > self._limit and (
            self._size - self._lf > self._limit or any(len(block) > self._limit for block in blocks)
        ):
            raise self._too_big()
        return blocks

    def _too_big(self) -> MalformedResponse:
        return MalformedResponse(
            self._provider, f"server-sent event larger than {self._limit} bytes", status=200
        )

    def _normalize(self, chunk: bytes) -> bytes:
        """LF line endings only, and no BOM (off the per-chunk fast path: rarely needed)."""
        if not self._started and chunk:
            chunk, self._bom = self._bom + chunk, b""
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._bom = chunk  # a BOM split across chunks: decide when more bytes come
                return b""
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._cr:
            self._cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return chunk


_BOM = b"\xef\xbb\xbf"


class ReadBatch:
    """The stream events one network read completes, in order, consecutive text joined into
    one `TextDelta`. One read usually holds many tokens, so every layer above (the adapter's
    generator, the router's stream loop, progress) takes one step per read, not per token."""

    __slots__ = ("_events", "_text")

    def __init__(self) -> None:
        self._events: list[StreamEvent] = []
        self._text: list[str] = []

    def text(self, piece: str) -> None:
        self._text.append(piece)

    def add(self, event: StreamEvent) -> None:
        if type(event) is TextDelta:
            self._text.append(event.text)
            return
        self._join()
        self._events.append(event)

    def events(self) -> list[StreamEvent]:
        self._join()
        return self._events

    def _join(self) -> None:
        if self._text:
            text = self._text[0] if len(self._text) == 1 else "".join(self._text)
            self._events.append(TextDelta(text=text))
            self._text = []


def fold_read(
    events: Iterable[E], fold: Callable[[E, ReadBatch], bool]
) -> tuple[list[StreamEvent], ProviderError | None]:
    """Fold one network read's items (SSE events, NDJSON lines) into a `ReadBatch` (`fold`
    returns True at the terminal one); the batch's events and the `ProviderError` that ended
    the read, which the adapter raises after yielding the events that came before it."""
    batch = ReadBatch()
    try:
        for event in events:
            if fold(event, batch):
                break
    except ProviderError as exc:
        return batch.events(), exc
    return batch.events(), None


def _sse_block(block: bytes) -> SSEEvent | None:
    """One event's lines (LF-separated, no blank line but possibly a leading one)."""
    name = b""
    data: list[bytes] = []
    pending = False
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        field, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
            pending = True
        elif field == b"event":
            name = value
            pending = True
        # id / retry / unknown fields carry nothing adapters need
    if not pending:
        return None
    return SSEEvent(name.decode("utf-8", "replace") or "message", b"\n".join(data).decode("utf-8", "replace"))


async def iter_sse(chunks: AsyncIterator[bytes], provider: str = "stream") -> AsyncIterator[SSEEvent]:
    """`SSEParser` over an async stream of body chunks (adapters on the hot path use the
    parser directly, saving this generator step per event)."""
    parser = SSEParser(provider)
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event


async def drain(
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int = _DRAIN_MAX_BYTES,
    max_seconds: float = _DRAIN_MAX_SECONDS,
) -> bool:
    """Consume what is left of a finished stream so httpx2 can pool the connection.

    httpx2 returns a streamed connection to the pool only when the body was read to its end;
    stopping at the terminal event leaves the chunked terminator unread and the connection is
    closed (one TCP + TLS handshake per call). Returns whether EOF was reached. A transport
    error here is swallowed: the answer is already complete, only the reuse is lost.
    """
    seen = 0
    with anyio.move_on_after(max_seconds):
        try:
            async for chunk in chunks:
                seen += len(chunk)
                if seen > max_bytes:
                    return False
        except (ProviderError, httpx2.HTTPError, httpx2.StreamError):
            return False
        return True
    return False


class NDJSONLines:
    """NDJSON framing: the non-blank lines each body chunk completes, and at EOF (`end`) an
    unterminated last line (NDJSON needs no final newline, and a cut line fails to parse
    anyway). As in `SSEParser`, an unterminated line is kept as chunks (linear time) and one over
    `max_line_bytes` is a `MalformedResponse`."""

    __slots__ = ("_limit", "_size", "_tail", "_wire")

    def __init__(self, wire: Wire, *, max_line_bytes: int = MAX_EVENT_BYTES) -> None:
        self._wire = wire
        self._limit = max_line_bytes
        self._tail: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        limit = self._limit
        if b"\n" not in chunk:
            self._tail.append(chunk)
            self._size += len(chunk)
            if self._size > limit:
                self._wire.fail(f"NDJSON line larger than {limit} bytes")
            return []
        buf = b"".join((*self._tail, chunk)) if self._tail else chunk
        *lines, rest = buf.split(b"\n")
        self._tail = [rest] if rest else []
        self._size = len(rest)
        if len(buf) > limit and (self._size > limit or any(len(line) > limit for line in lines)):
            self._wire.fail(f"NDJSON line larger than {limit} bytes")
        return [line for line in lines if line.strip()]

    def end(self) -> list[bytes]:
        last = b"".join(self._tail)
        self._tail, self._size = [], 0
        return [last] if last.strip() else []


async def iter_ndjson(
    chunks: AsyncIterator[bytes], wire: Wire, *, max_line_bytes: int = MAX_EVENT_BYTES
) -> AsyncIterator[Any]:
    """One decoded JSON value per non-blank line of raw body chunks (`NDJSONLines`); a bad line
    is a `MalformedResponse`."""
    lines = NDJSONLines(wire, max_line_bytes=max_line_bytes)
    async for chunk in chunks:
        for line in lines.feed(chunk):
            yield wire.parse(line)
    for line in lines.end():
        yield wire.parse(line)


async def read_error_body(response: httpx2.Response, max_bytes: int = MAX_ERROR_BODY_BYTES) -> bytes:
    """At most `max_bytes` of a streamed response's (decoded) body: enough for an error
    message, and a bound on what a misbehaving server or proxy can make us hold. The rest is
    left unread, so the connection is closed rather than pooled — rare, and cheap."""
    parts: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as chunks:
        async for chunk in chunks:
            parts.append(chunk[: max_bytes - size])
            size += len(parts[-1])
            if size >= max_bytes:
                break
    return b"".join(parts)
