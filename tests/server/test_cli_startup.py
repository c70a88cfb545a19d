"""`serve` answers `initialize` before the router exists, so its import path must stay light."""

from __future__ import annotations

import subprocess
import sys


def test_server_import_path_leaves_the_database_layer_for_later() -> None:
    # sqlite-utils (with its click/pluggy plugin machinery) costs ~100 ms; the server needs only
    # the report types until the router, built in the background, opens the database.
    code = (
        "import sys, mcp_router.cli, mcp_router.commands.serve, mcp_router.server.app, mcp_router.settings;"
        "import mcp_router.metering as m;"
        "print(sorted(n for n in ('sqlite_utils', 'mcp_router.metering.store',"
        " 'mcp_router.metering.writer') if n in sys.modules));"
        "print(m.UsageStore.__name__, m.MeterWriter.__name__, m.usage_report.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    first, second = out.stdout.splitlines()
    assert first == "[]"
    assert second == "UsageStore MeterWriter usage_report"  # the package's names still resolve
