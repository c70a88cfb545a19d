import subprocess
import sys

import mcp_router


def test_module_entry_point_prints_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "--version"], capture_output=True, text=True, check=True
    )
    assert mcp_router.__version__ in out.stdout
