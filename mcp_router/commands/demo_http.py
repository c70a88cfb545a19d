"""`mcp-router demo --dashboard`: the demo's server over HTTP, left running after its traffic.

`serve --transport http --port 0` runs as a child process; its listening line (stderr) gives
the real port. The demo's MCP session talks to it at `/mcp`, then the dashboard's URL is
printed and the server keeps running until Ctrl+C (which reaches the child too: it stops
gracefully, README "Dashboard").
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import IO

Echo = Callable[[str], None]
LISTENING = re.compile(r"serving MCP at (http://\S+)/mcp")
STOP_TIMEOUT_S = 30


def _forward(stream: IO[str]) -> None:
    """Copy the child's remaining stderr to ours (a full pipe would block it)."""
    for line in stream:
        sys.stderr.write(line)


def _await_url(process: subprocess.Popen[str]) -> str | None:
    """The server's root URL from its listening line; None when it exits first."""
    assert process.stderr is not None
    for line in process.stderr:
        found = LISTENING.search(line)
        if found:
            threading.Thread(target=_forward, args=(process.stderr,), daemon=True).start()
            return found.group(1)
        sys.stderr.write(line)
    return None


def serve_dashboard(env: Mapping[str, str], echo: Echo, traffic: Callable[[str], None]) -> int:
    """Start the HTTP server, run `traffic(url)` against it, then keep it up until Ctrl+C."""
    argv = [sys.executable, "-m", "mcp_router", "serve", "--transport", "http", "--port", "0"]
    process = subprocess.Popen(
        argv, env=dict(env), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = _await_url(process)
        if url is None:
            echo(f"the demo's server did not start (exit {process.wait()})")
            return 1
        traffic(url)
        echo(f"\nDashboard: {url}/  (spend, traffic, endpoint health, budgets, catalog)")
        echo("The server keeps running for the dashboard; Ctrl+C to stop.")
        try:
            process.wait()
        except KeyboardInterrupt:
            process.terminate()  # in case the signal reached only us
            echo("stopping")
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=STOP_TIMEOUT_S)
