"""Every CLI command keeps stdout for its own output: logging is configured to stderr once,
at the `mcp-router` group's entry, so `--json` output stays parseable at any log level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# A command added to the real group in a child process: it logs through structlog (as library
# code does) and prints JSON. Without configuration, structlog would print to stdout.
PROBE = """
import json, click, structlog
from mcp_router.cli import main

@main.command("probe")
def probe() -> None:
    structlog.get_logger("probe").info("probe_event", detail="x")
    click.echo(json.dumps({"ok": True}))

main(["probe"])
"""


def _env(tmp_path: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT")
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        "MCP_ROUTER_HOME": str(tmp_path),
        "MCP_ROUTER_LOG_LEVEL": "debug",
    }


def test_any_command_logs_to_stderr_not_stdout(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ok": True}
    assert "probe_event" in out.stderr


def test_usage_json_is_clean_at_debug_level(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "usage", "--json"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["totals"]["requests"] == 0
