"""Issued keys end to end: `keys create|list|revoke` in subprocesses, then a real
`serve --transport http` subprocess and the MCP SDK's client. A revoked key gets 401, a key's
rpm gives a tool error naming the retry time, a key restricted to `openai/*` cannot use another
vendor (and `auto` picks within it); the secret appears nowhere: not in the database file, the
logs or `keys list`; the data directory and the database are the owner's only."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cli_helpers import assert_one_line_error, clean_env, run_cli
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_router.sim import Simulator

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


def create(env: dict[str, str], name: str, *options: str) -> str:
    out = run_cli(["keys", "create", name, *options], env)
    assert out.returncode == 0, out.stderr
    assert "shown only this once" in out.stderr and "Bearer" in out.stderr
    (secret,) = out.stdout.split()  # the secret alone on stdout
    return secret


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """`serve --transport http` on a free port; its stderr lines are collected as they come."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"],
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: list[str] = []
    found: list[str] = []
    listening = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if not found and (m := re.search(r"(http://\S+/mcp)", line)):
                found.append(m.group(1))
                listening.set()
        listening.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert listening.wait(60) and found, "".join(lines)
        yield found[0], lines
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=30)


async def call(url: str, secret: str, tool: str, args: dict[str, Any]) -> tuple[bool, str, Any]:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {secret}"}, timeout=60)
    async with http, Client(streamable_http_client(url, http_client=http)) as session:
        result = await session.call_tool(tool, args)
        return result.is_error, str(result.content[0].text), result.structured_content  # type: ignore[union-attr]


async def status_of(url: str, secret: str | None) -> int:
    headers = {**HEADERS, **({"authorization": f"Bearer {secret}"} if secret else {})}
    async with httpx2.AsyncClient() as http:
        return (await http.post(url, json=INIT, headers=headers)).status_code


@pytest.mark.anyio
async def test_keys_over_http(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Simulator().in_thread() as sim:
        env = clean_env(home, **sim.env(), MCP_ROUTER_LOG_LEVEL="DEBUG")
        secrets = {
            "open": create(env, "open"),
            "slow": create(env, "slow", "--rpm", "1"),
            "oai": create(env, "oai", "--models", "openai/*", "--daily-usd", "5"),
            "gone": create(env, "gone"),
        }
        assert run_cli(["keys", "revoke", "gone"], env).returncode == 0
        assert_one_line_error(run_cli(["keys", "create", "open"], env), 2, "exists already")
        assert_one_line_error(run_cli(["keys", "revoke", "nobody"], env), 2, "no key named 'nobody'")
        planned = run_cli(
            ["plan", "hi", "--key", "oai", "--model", "anthropic/claude-haiku-4.5", "--json"], env
        )
        assert planned.returncode == 1 and "allowlist (openai/*)" in planned.stdout  # nothing left
        assert_one_line_error(run_cli(["plan", "hi", "--key", "nobody"], env), 2, "--key 'nobody'")
        listed = run_cli(["keys", "list"], env).stdout + run_cli(["keys", "list", "--json"], env).stdout
        rows = json.loads(run_cli(["keys", "list", "--json"], env).stdout)
        assert {r["name"]: r["revoked"] is not None for r in rows} == {
            "gone": True, "oai": False, "open": False, "slow": False,
        }  # fmt: skip
        with serving(env) as (url, log):
            # Keys exist, so a token is required even on loopback; a revoked key is refused.
            assert await status_of(url, None) == 401
            assert await status_of(url, secrets["gone"]) == 401
            assert await status_of(url, secrets["open"]) == 200

            ask = {"prompt": "hi", "model": "openai/gpt-4o-mini", "max_tokens": 20}
            assert not (await call(url, secrets["slow"], "complete", ask))[0]
            refused, text, _ = await call(url, secrets["slow"], "complete", ask)
            assert refused and "1 requests per minute" in text and re.search(r"Retry after \d+ s", text)

            other = {"prompt": "hi", "model": "anthropic/claude-haiku-4.5", "max_tokens": 20}
            refused, text, _ = await call(url, secrets["oai"], "complete", other)
            assert refused and "allowlist" in text and "openai/*" in text
            auto = {"prompt": "hi", "max_tokens": 20}
            refused, text, done = await call(url, secrets["oai"], "complete", auto)
            assert not refused and done["model"].startswith("openai/"), text
            refused, _, report = await call(url, secrets["oai"], "usage_report", {})
            assert not refused and report["totals"]["requests"] == 1  # its own client only
            assert [b["cap_usd"] for b in report["budgets"]] == [5]
        served_log = "".join(log)
        assert "attempt" in served_log  # DEBUG logs were read: the secrets are not in them

    db = home / "usage.db"
    stored = db.read_bytes() + b"".join(p.read_bytes() for p in home.glob("usage.db-*"))
    for secret in secrets.values():
        assert secret.encode() not in stored and secret[6:].encode() not in stored
        assert secret not in served_log and secret not in listed
    assert "sha256:" not in listed
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
