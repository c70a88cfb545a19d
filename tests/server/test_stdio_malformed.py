"""stdio never drops a request silently: a line that is not JSON-RPC gets the JSON-RPC error it
deserves (with its id when one can be read) and a log line; a lone UTF-16 surrogate escape is
valid JSON and is served. Over a real `serve` subprocess, on the fast path (stdin a pipe) and on
the SDK's own transport (stdin a terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from serve_wire import Wire, child_env, serve_stdio

from mcp_router.server.malformed import PARSE_ERROR, Rejected, Repaired, triage
from mcp_router.sim import Simulator

DEEP = "[" * 300 + "]" * 300  # valid JSON, deeper than the SDK's parser takes
# (line, expected id, expected code)
REJECTED: list[tuple[str | bytes, int | str | None, int]] = [
    ("this is not json", None, PARSE_ERROR),
    ('{"jsonrpc": "2.0", "id": 11, "method": "ping", "params": {"x": "a\x00b"}}', 11, PARSE_ERROR),
    (b'{"jsonrpc": "2.0", "id": 12, \x00 "method": "ping"}', None, PARSE_ERROR),
    ('{"jsonrpc": "2.0", "id": 13, "method": "ping", "params": {"a": ' + DEEP + "}}", 13, PARSE_ERROR),
    ("[" * 5000 + "]" * 5000, None, PARSE_ERROR),
    ('[{"jsonrpc": "2.0", "id": 14, "method": "ping"}]', None, -32600),
    ('{"jsonrpc": "1.0", "id": 15, "method": "ping"}', 15, -32600),
    ('{"id": "sixteen", "method": "ping"}', "sixteen", -32600),
    ('{"jsonrpc": "2.0", "id": 17}', 17, -32600),
    ('{"jsonrpc": "2.0", "id": 18, "method": 5}', 18, -32600),
    ('{"jsonrpc": "2.0", "id": 19, "method": "ping", "params": "x"}', 19, -32600),
    ("42", None, -32600),
]


async def _check_session(wire: Wire, stderr: Path) -> None:
    await wire.initialize()
    secret = "do-not-echo-this-line-" + "z" * 200
    for i, (line, id_, code) in enumerate(REJECTED):
        text = line if isinstance(line, bytes) else line.encode()
        await wire.send_line(text.replace(b'"ping"', f'"ping", "note": "{secret}"'.encode(), 1))
        answer = await wire.answer(id_)
        assert answer["error"]["code"] == code, (i, answer)
        assert secret not in json.dumps(answer)
        assert len(answer["error"]["message"]) < 200
    # Half an emoji, as JavaScript's JSON.stringify writes it: served, the surrogate replaced.
    await wire.send_line(
        '{"jsonrpc": "2.0", "id": 30, "method": "tools/call", "params": {"name": "estimate_cost", '
        '"arguments": {"prompt": "caf\\ud83d", "models": ["openai/gpt-4o-mini"]}}}'
    )
    answer = await wire.answer(30)
    assert answer["result"]["isError"] is False, answer
    assert answer["result"]["structuredContent"]["input_tokens"] > 0
    await wire.send(31, "ping", {})
    assert (await wire.answer(31))["result"] == {}  # still serving after all of that
    log = stderr.read_text()
    assert log.count("stdio_message_rejected") == len(REJECTED)
    assert "stdio_message_repaired" in log
    assert secret not in log


@pytest.mark.anyio
@pytest.mark.parametrize("stdin_tty", [False, True], ids=["fast-path", "sdk-transport"])
async def test_malformed_lines_get_an_answer(
    sim: Simulator, env: dict[str, str], tmp_path: Path, stdin_tty: bool
) -> None:
    stderr = tmp_path / "stderr.log"
    with anyio.fail_after(60):
        async with serve_stdio(child_env(env), stderr, stdin_tty=stdin_tty) as wire:
            await _check_session(wire, stderr)


def _exception_for(line: str) -> Exception:
    import mcp_types as types

    try:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception as exc:
        return exc
    raise AssertionError("the SDK accepted the line")


def test_triage_repairs_lone_surrogates_in_keys_and_values() -> None:
    line = '{"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"\\udc00": "\\ud800!"}}'
    outcome = triage(_exception_for(line))
    assert isinstance(outcome, Repaired)
    assert outcome.message.params == {"\ufffd": "\ufffd!"}  # type: ignore[union-attr]


def test_triage_ignores_blank_lines_and_malformed_responses() -> None:
    assert triage(_exception_for("   ")) is None
    assert triage(_exception_for('{"jsonrpc": "1.0", "id": 1, "result": {}}')) is None


def test_triage_does_not_echo_a_huge_string_id() -> None:
    outcome = triage(_exception_for('{"jsonrpc": "1.0", "id": "' + "i" * 10_000 + '", "method": "ping"}'))
    assert isinstance(outcome, Rejected)
    assert outcome.id is None
