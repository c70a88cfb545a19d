"""Least privilege on disk and wire: a private data directory and health.json, long bearer
tokens off loopback compared in constant time, and every spelling of the loopback names accepted
by the Host/Origin checks."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from mcp_router.keys import verify as verify_module
from mcp_router.router import Router
from mcp_router.routing.health import HealthTracker, SystemClock
from mcp_router.routing.health_file import FILE_NAME, HealthFile
from mcp_router.server.app import StaticTokens, build_server
from mcp_router.server.transports import (
    MIN_TOKEN_CHARS,
    ServeConfigError,
    bind,
    check_binding,
    http_app,
    uvicorn_server,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.anyio
async def test_a_new_data_directory_is_private(env: dict[str, str]) -> None:
    with _umask(0o022):
        async with Router.from_env(env):
            pass
    assert _mode(Path(env["MCP_ROUTER_HOME"])) == 0o700


@pytest.mark.anyio
async def test_an_open_data_directory_from_an_earlier_version_is_tightened(env: dict[str, str]) -> None:
    home = Path(env["MCP_ROUTER_HOME"])
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    async with Router.from_env(env):
        pass
    assert _mode(home) == 0o700


def test_health_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "home" / FILE_NAME
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)  # an earlier, readable copy is replaced, not kept
    clock = SystemClock()
    with _umask(0):
        health_file = HealthFile(path, clock, min_interval_s=0)
        tracker = HealthTracker(clock, failure_threshold=1, on_state_change=health_file.write)
        tracker.record_failure(("openai", "openai/gpt-4o-mini"))
        health_file.close()
    assert _mode(path) == 0o600
    assert "gpt-4o-mini" in path.read_text()


def test_short_tokens_are_refused_off_loopback() -> None:
    short = "abc123"
    with pytest.raises(ServeConfigError) as caught:
        check_binding("0.0.0.0", {short: "laptop", "x" * MIN_TOKEN_CHARS: "ci"})
    message = str(caught.value)
    assert "laptop" in message and str(MIN_TOKEN_CHARS) in message
    assert "ci" not in message.split("client(s)")[1].split("is shorter")[0]
    assert short not in message  # the secret itself is never repeated
    check_binding("0.0.0.0", {"y" * MIN_TOKEN_CHARS: "ci"})
    check_binding("127.0.0.1", {short: "laptop"})  # loopback: the token is not the only guard


@pytest.mark.anyio
async def test_serve_refuses_a_short_token_before_starting(env: dict[str, str]) -> None:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    argv = [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--host", "0.0.0.0"]
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [*argv, "--port", "0"], env={**keep, **env, "MCP_ROUTER_TOKENS": "laptop:hunter2"}, check=False
        )
    stderr = done.stderr.decode()
    assert done.returncode != 0
    assert "shorter than 16 characters" in stderr and "laptop" in stderr
    assert "hunter2" not in stderr


@pytest.mark.anyio
async def test_static_tokens_compare_every_token_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = verify_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verify_module.hmac, "compare_digest", spy)
    verifier = StaticTokens({"a" * 20: "laptop", "b" * 20: "ci"})
    token = await verifier.verify_token("a" * 20)
    assert token is not None and token.client_id == "laptop"
    assert len(compared) == 2  # no early exit on a match
    assert await verifier.verify_token("a" * 19) is None
    assert await verifier.verify_token("") is None
    assert len(compared) == 6


@asynccontextmanager
async def _loopback_server(router: Any, env: dict[str, str]) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn_server(http_app(build_server(router), host="127.0.0.1", env=env))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.mark.anyio
async def test_loopback_names_are_accepted_in_any_case_with_or_without_a_port(
    router: Any, env: dict[str, str]
) -> None:
    async with _loopback_server(router, env) as root, httpx2.AsyncClient() as http:
        port = root.rsplit(":", 1)[1]

        async def status(**headers: str) -> int:
            response = await http.post(f"{root}/mcp", json=INIT, headers={**HEADERS, **headers})
            return response.status_code

        assert await status(origin="http://localhost") == 200
        assert await status(origin="http://127.0.0.1") == 200
        assert await status(origin="http://LocalHost:3000") == 200
        assert await status(host=f"LOCALHOST:{port}") == 200
        assert await status(host="LOCALHOST") == 200
        assert await status(origin="http://localhost.evil.example") == 403
        assert await status(origin="http://evil.example") == 403
        assert await status(host=f"evil.example:{port}") == 421
