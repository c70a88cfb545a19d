"""`mcp-router demo --dashboard`: after its traffic the demo's HTTP server keeps running, its
dashboard's URL printed, with the failing primary cooling down; Ctrl+C (SIGINT to the process
group, as a terminal sends it) stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
from dash_helpers import serve_env


def test_demo_dashboard_serves_the_page_until_ctrl_c(tmp_path: Path) -> None:
    env = serve_env({}, tmp_path / "home")
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_router", "demo", "--dashboard"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("w"),
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:  # bounded by the test's timeout
            lines.append(line)
            if line.startswith("Dashboard: "):
                break
        found = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+/) ", lines[-1])
        assert found, "".join(lines)
        url = found.group(1)
        page = httpx2.get(url)
        assert page.status_code == 200 and "mcp-router dashboard" in page.text
        health = httpx2.get(f"{url}api/health").json()["endpoints"]
        assert {"provider": "openai", "model": "openai/gpt-4o-mini", "state": "open"}.items() <= health[
            0
        ].items()
        series = httpx2.get(f"{url}api/series").json()
        assert "anthropic/claude-haiku-4.5" in series["keys"]  # the fallback's spend
    finally:
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0, (tmp_path / "stderr.log").read_text()[-2000:]
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()
