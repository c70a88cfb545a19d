"""The `bundle` marker; helpers are in cli_helpers.py."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bundle: builds the MCPB bundle, validates it with the official mcpb CLI (npm) and starts "
        "it with uv (about 10-60 s; needs node/npm, and the package index for uv)",
    )
