"""Placeholder keys never enable a provider, and `doctor` names the variable holding one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import clean_env, run_cli

from mcp_router.providers.config import placeholder_reason, placeholder_settings, providers_from_env
from mcp_router.settings import parse_settings
from mcp_router.sim.catalogue import sim_key

PLACEHOLDERS = [
    "",
    "   ",
    "sk-...",
    "sk-ant-...",
    "sk-or-…",
    "sk-ant-your-anthropic-key",
    "sk-your-openai-key",
    "your-key",
    "YOUR_API_KEY",
    "<OPENAI_API_KEY>",
    "<your key here>",
    "change-me",
    "CHANGEME",
    "replace_me",
    "${OPENAI_API_KEY}",
    "${user_config.openai_api_key}",
    "${env:OPENAI_API_KEY}",
    "$OPENAI_API_KEY",
    "%OPENAI_API_KEY%",
    "sk-xxxxxxxxxxxxxxxx",
    "sk-****************",
    "placeholder",
]
REAL_LOOKING = [
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "sk-ant-api03-Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf",
    "AIzaSyD3x4mpl3K3y0nlyF0rT3st1ngPurp0s3s",
    "gsk_2b9YourFancyKeyWithoutSeparators01",  # "your" inside a word is not a placeholder
    "sk-or-v1-abc",
    "ollama",
    "http://127.0.0.1:11434",
    *(sim_key(p) for p in ("openai", "anthropic", "gemini", "openrouter", "groq")),
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_are_recognised(value: str) -> None:
    assert placeholder_reason(value) is not None


@pytest.mark.parametrize("value", REAL_LOOKING)
def test_real_looking_values_are_not(value: str) -> None:
    assert placeholder_reason(value) is None


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_a_placeholder_key_enables_nothing(value: str) -> None:
    env = {"OPENAI_API_KEY": value, "ANTHROPIC_API_KEY": value, "OLLAMA_HOST": value}
    assert providers_from_env(env) == []


def test_the_first_real_key_of_several_names_wins() -> None:
    (gemini,) = providers_from_env(
        {"GEMINI_API_KEY": "your-gemini-key", "GOOGLE_API_KEY": "AIzaSyRealKey123"}
    )
    assert gemini.api_key is not None and gemini.api_key.get_secret_value() == "AIzaSyRealKey123"


def test_a_placeholder_base_url_falls_back_to_the_default() -> None:
    (openai,) = providers_from_env(
        {"OPENAI_API_KEY": "sk-real-0123456789", "OPENAI_BASE_URL": "${OPENAI_BASE_URL}"}
    )
    assert openai.base_url == "https://api.openai.com/v1"


def test_custom_endpoint_key_placeholder_is_not_sent() -> None:
    settings = parse_settings(
        '[[endpoints]]\nname = "local"\nbase_url = "http://127.0.0.1:8000/v1"\napi_key_env = "LOCAL_KEY"\n'
        'models = [{id = "meta/llama"}]\n'
    )
    (config,) = settings.provider_configs({"LOCAL_KEY": "<your key>"})
    assert config.api_key is None


def test_placeholder_settings_names_each_variable() -> None:
    found = placeholder_settings(
        {"OPENAI_API_KEY": "sk-...", "GROQ_API_KEY": "gsk_real123456", "XAI_API_KEY": ""}
    )
    assert found == {"OPENAI_API_KEY": "a placeholder", "XAI_API_KEY": "empty"}


def test_doctor_names_the_variable_holding_a_placeholder(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", OPENAI_API_KEY="sk-...", ANTHROPIC_API_KEY="${ANTHROPIC_API_KEY}")
    out = run_cli(["doctor", "--json", "--timeout", "2"], env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    assert report["providers"] == {}  # neither enabled
    problems = " ".join(report["problems"])
    assert "OPENAI_API_KEY is a placeholder" in problems and "ANTHROPIC_API_KEY is a placeholder" in problems
    assert "sk-..." not in problems  # names the variable, does not echo values
