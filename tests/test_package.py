import subprocess
import sys
from pathlib import Path

import mcp_router


def test_module_entry_point_prints_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mcp_router", "--version"], capture_output=True, text=True, check=True
    )
    assert mcp_router.__version__ in out.stdout


def test_no_merge_conflict_markers_are_left_in_the_docs_or_the_code() -> None:
    root = Path(__file__).resolve().parents[1]
    files = [
        root / "README.md",
        *root.joinpath("docs").rglob("*.md"),
        *root.joinpath("mcp_router").rglob("*.py"),
    ]
    marked = [
        f"{path.relative_to(root)}:{n}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "======="
    ]
    assert not marked, marked
