"""`mcp-router simulate` startup, and the deterministic text/token functions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx2

from mcp_router.sim import text


def test_simulate_command_prints_urls_and_serves() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "simulate", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("mcp-router simulator listening on http://127.0.0.1:")
        root = first.split()[-1]
        lines = [proc.stdout.readline() for _ in range(30)]
        joined = "".join(lines)
        assert f"{root}/v1" in joined and f"{root}/api/v1" in joined and f"{root}/compat/groq/v1" in joined
        assert f"export OPENAI_BASE_URL={root}/v1\n" in lines
        assert f"export OLLAMA_HOST={root}\n" in lines
        key = next(
            line.split("=", 1)[1].strip() for line in lines if line.startswith("export OPENAI_API_KEY=")
        )
        reply = httpx2.post(
            f"{root}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert reply.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_token_counts() -> None:
    assert text.count_tokens("") == 0
    assert text.count_tokens("abcd") == 1
    assert text.count_tokens("abcde") == 2
    assert text.prompt_tokens("", [("user", "abcd")]) == text.PROMPT_OVERHEAD + text.MESSAGE_OVERHEAD + 1


def test_reply_is_deterministic_and_depends_on_input() -> None:
    a = text.reply_chunks("hello", "m1")
    assert a == text.reply_chunks("hello", "m1")
    assert a != text.reply_chunks("hello!", "m1") and a != text.reply_chunks("hello", "m2")
    assert "".join(a).startswith("Simulated reply from m1: ") and "".join(a).endswith(".")


def test_apply_limits() -> None:
    chunks = ["Simulated", " reply", " from", " m:", " amber", " river."]
    assert text.apply_limits(chunks, 2, []) == text.Limited(["Simulated", " reply"], "length", None)
    cut = text.apply_limits(chunks, None, [" river", "from"])
    assert cut == text.Limited(["Simulated", " reply", " "], "stop_sequence", "from")
    assert text.apply_limits(chunks, 99, ["zzz"]).finish == "stop"
    # A stop sequence before the token limit wins; one after it does not.
    assert text.apply_limits(chunks, 5, [" reply"]).finish == "stop_sequence"
    assert text.apply_limits(chunks, 2, [" river"]).finish == "length"


def test_json_reply_follows_schema() -> None:
    import json

    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"enum": ["x", "y"]}}}
    value = json.loads(text.json_reply("seed", "m", schema))
    assert set(value) == {"a", "b"} and value["b"] in ("x", "y")
