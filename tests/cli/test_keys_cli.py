"""`mcp-router keys`: the secret alone on stdout, limits as given, bad input as one line naming
the fix, `list` never showing a secret or its hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import clean_env
from click.testing import CliRunner

from mcp_router.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path / "home", MCP_ROUTER_TOKENS="laptop:tok-laptop-0123456789abcdef")


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(main, list(args), env=env)
    return out.exit_code, out.stdout, out.stderr


def test_create_and_list(env: dict[str, str]) -> None:
    code, secret, err = run(env, "keys", "create", "ci", "--models", "openai/*", "anthropic/*", "--rpm", "3")
    assert code == 0 and secret.startswith("sk-mr-") and len(secret.split()) == 1 and "Bearer" in err
    code, out, _ = run(
        env, "keys", "create", "ops", "--daily-usd", "0.5", "--models", "x/*", "--admin", "--json"
    )
    made = json.loads(out)
    assert code == 0 and made["secret"].startswith("sk-mr-") and made["daily_usd"] == 0.5 and made["admin"]
    code, out, _ = run(env, "keys", "list", "--json")
    listed = {k["name"]: k for k in json.loads(out)}
    assert listed["ci"]["models"] == ["openai/*", "anthropic/*"] and listed["ci"]["rpm"] == 3
    table = run(env, "keys", "list")[1]
    assert "ci" in table and "openai/*,anthropic/*" in table
    for text in (out, table):
        assert secret.strip() not in text and made["secret"] not in text and "sha256" not in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--daily-usd", "-1"], "--daily-usd is USD, a number >= 0"),
        (["--monthly-usd", "lots"], "--monthly-usd is USD"),
        (["--models", "gpt-4o"], "ids are vendor/model"),
        (["extra"], "unexpected argument 'extra'"),
    ],
)
def test_bad_input_is_one_line_with_the_fix(env: dict[str, str], args: list[str], needle: str) -> None:
    code, out, err = run(env, "keys", "create", "k1", *args)
    assert code == 2 and out == "" and err.count("Error: ") == 1 and needle in err, err


def test_names_taken_by_the_server_or_a_token_are_refused(env: dict[str, str]) -> None:
    for name, needle in (
        ("laptop", "configured token"),
        ("default", "already a client"),
        ("a b", "key name"),
    ):
        code, _, err = run(env, "keys", "create", name)
        assert code == 2 and needle in err, err
    code, _, err = run(env, "keys", "revoke", "nobody")
    assert code == 2 and "no key named 'nobody'" in err
