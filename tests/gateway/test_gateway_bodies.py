"""How the gateway reads request bodies (no server needed): 413 past the limit whether or not the
length is declared, 400 for JSON nested too deeply, and large bodies parsed a bounded number at a
time while small ones never wait (README "Gateway")."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from starlette.requests import Request
from starlette.types import Message

from mcp_router.gateway.app import BodyReader
from mcp_router.gateway.errors import GatewayError


def request(chunks: list[bytes], declared: int | None = None) -> tuple[Request, list[bytes]]:
    """A POST whose body arrives in `chunks`; the list it returns fills as the body is read."""
    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    read: list[bytes] = []
    pending = list(chunks)

    async def receive() -> Message:
        chunk = pending.pop(0) if pending else b""
        read.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    scope = {"type": "http", "method": "POST", "path": "/v1/messages", "headers": headers}
    return Request(scope, receive), read


async def parsed(reader: BodyReader, req: Request) -> Any:
    async with reader.json(req) as body:
        return body


@pytest.mark.anyio
async def test_a_body_past_the_limit_is_a_413_declared_or_not() -> None:
    reader = BodyReader(limit=100)
    declared, read = request([b"[" + b"1," * 60 + b"1]"], declared=200)
    with pytest.raises(GatewayError) as caught:
        await parsed(reader, declared)
    assert caught.value.status == 413 and caught.value.code == "request_too_large"
    assert read == []  # refused on the header alone
    chunked, read = request([b"[" + b"1," * 30, b"1," * 30, b"1]"])
    with pytest.raises(GatewayError) as caught:
        await parsed(reader, chunked)
    assert caught.value.status == 413 and len(read) == 2  # stopped reading at the limit
    assert await parsed(reader, request([b"[1,", b"2]"])[0]) == [1, 2]


@pytest.mark.anyio
async def test_json_nested_past_the_parser_is_a_400_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(GatewayError) as caught:
        await parsed(BodyReader(), request([deep])[0])
    assert caught.value.status == 400 and "nested too deeply" in caught.value.message


@pytest.mark.anyio
async def test_large_bodies_take_turns_and_small_ones_never_wait() -> None:
    reader = BodyReader(limit=1000, large=10, at_once=1)
    big = b'"' + b"x" * 50 + b'"'
    order: list[str] = []

    async def read(name: str, req: Request, release: anyio.Event) -> None:
        async with reader.json(req):
            order.append(f"{name} parsed")
            await release.wait()
        order.append(f"{name} done")

    first, second, small = anyio.Event(), anyio.Event(), anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(read, "first", request([big], declared=len(big))[0], first)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(read, "second", request([big[:5], big[5:]])[0], second)  # no declared length
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(read, "small", request([b"[1]"], declared=3)[0], small)
        await anyio.wait_all_tasks_blocked()
        assert order == ["first parsed", "small parsed"]  # the second large body waits its turn
        small.set()
        first.set()
        await anyio.wait_all_tasks_blocked()
        assert order[-1] == "second parsed"
        second.set()
    assert order.count("second done") == 1
