"""Helpers for the CLI tests: each runs the real `mcp-router` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mcp_router.registry import PROVIDERS


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without any provider or mcp-router setting, plus `extra`."""
    drop = {v for p in PROVIDERS for v in (*p.key_env, p.base_url_env)}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MCP_ROUTER_")}
    env.update({"MCP_ROUTER_HOME": str(home), "MCP_ROUTER_REFRESH_S": "0"})
    env.update(extra)
    return env


def run_cli(
    args: list[str],
    env: Mapping[str, str],
    *,
    stdin: str | None = None,
    timeout: float = 60,
    user: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m mcp_router ARGS` (this checkout's code), stdin closed unless given."""
    return subprocess.run(
        [sys.executable, "-m", "mcp_router", *args],
        env=dict(env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=user,
    )


def assert_one_line_error(out: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """Exit `code`, one `Error: ...` line on stderr containing every needle, no traceback."""
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, out.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
