"""`doctor` checks every key with one cheap authenticated request (OpenRouter's `GET /key`, the
model list elsewhere), and the simulated OpenRouter answers `GET /key` as OpenRouter does."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cli_helpers import clean_env, run_cli

from mcp_router.commands.keycheck import openrouter_key_summary
from mcp_router.sim import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


def test_simulated_openrouter_key_endpoint(sim: Simulator) -> None:
    url = f"{sim.url('openrouter')}/key"
    ok = httpx2.get(url, headers={"Authorization": f"Bearer {sim.key('openrouter')}"})
    assert ok.status_code == 200
    data = ok.json()["data"]
    # OpenRouter's documented fields (API reference, "Get current API key").
    for field in ("label", "limit", "limit_remaining", "usage", "usage_daily", "is_free_tier", "rate_limit"):
        assert field in data
    assert data["limit"] is None and data["usage"] == 0 and sim.key("openrouter") not in data["label"]
    wrong = httpx2.get(url, headers={"Authorization": "Bearer sk-or-v1-wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 401
    missing = httpx2.get(url)
    assert missing.status_code == 401 and missing.json()["error"]["message"] == "No auth credentials found"


def test_openrouter_key_summary() -> None:
    capped = {"data": {"usage": 25.5, "limit": 100, "limit_remaining": 74.5, "is_free_tier": True}}
    assert (
        openrouter_key_summary(capped) == "ok (key accepted; $25.50 used, $74.50 left of $100.00, free tier)"
    )
    assert (
        openrouter_key_summary({"data": {"usage": 0, "limit": None}})
        == "ok (key accepted; $0.00 used, no limit)"
    )
    assert openrouter_key_summary([]) == "ok (key accepted)"


def test_doctor_accepts_good_keys(sim: Simulator, tmp_path: Path) -> None:
    out = run_cli(["doctor", "--json"], clean_env(tmp_path / "home", **sim.env()))
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["problems"] == []
    assert report["providers"]["openrouter"] == "ok (key accepted; $0.00 used, no limit)"
    assert report["providers"]["openai"].startswith("ok (key accepted,")
    assert report["providers"]["ollama"].startswith("ok (reachable,")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_doctor_names_the_variable_of_each_rejected_key(sim: Simulator, tmp_path: Path) -> None:
    wrong = {
        "OPENROUTER_API_KEY": "sk-or-v1-0000wrong0000",
        "ANTHROPIC_API_KEY": "sk-ant-api03-0000wrong0000",
        "GEMINI_API_KEY": "AIzaSy0000wrong0000wrong0000wrong000",
        "OPENAI_API_KEY": "sk-proj-0000wrong0000",
        "GROQ_BASE_URL": f"http://127.0.0.1:{_closed_port()}/openai/v1",
    }
    out = run_cli(
        ["doctor", "--json", "--timeout", "5"], clean_env(tmp_path / "home", **{**sim.env(), **wrong})
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = json.loads(out.stdout)["providers"]
    for provider, var in [
        ("openrouter", "OPENROUTER_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
        ("gemini", "GEMINI_API_KEY"),
        ("openai", "OPENAI_API_KEY"),
    ]:
        assert "key rejected" in lines[provider] and f"check {var}" in lines[provider], lines[provider]
    assert "unreachable" in lines["groq"] and "GROQ_BASE_URL" in lines["groq"]
    assert "ok" in lines["mistral"]
    assert "retry later" not in out.stdout.lower()
    assert not any(v in out.stdout + out.stderr for k, v in wrong.items() if k.endswith("_KEY"))
