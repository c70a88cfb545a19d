"""Fixtures for the dashboard tests: the simulated providers in a thread, `mcp-router serve
--transport http` in a subprocess pointed at them, and headless Chromium driven by Playwright.

The browser is the distribution's `/usr/bin/chromium` (`.ci/chromium.sh` installs it; never
`playwright install`). Without it the browser tests skip, saying why; under `CI=true` they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_router.sim import Simulator

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium, or a skip (a failure under CI=true) naming what is missing."""
    reason = None
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"no browser at {CHROMIUM}: run .ci/chromium.sh (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = 'the playwright package is missing: pip install -e ".[test]"'
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"
