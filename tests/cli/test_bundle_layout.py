"""scripts/build_bundle.py's pure parts: the runtime-only pyproject and the .mcpbignore rules
(no node needed; the `bundle` test checks the real thing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_bundle", ROOT / "scripts" / "build_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runtime_pyproject_keeps_what_installing_needs() -> None:
    import tomllib

    text = _script().runtime_pyproject((ROOT / "pyproject.toml").read_text())
    data = tomllib.loads(text)
    assert set(data) == {"build-system", "project", "tool"}
    assert "optional-dependencies" not in data["project"]
    assert set(data["project"]["scripts"]) == {"mcp-router", "mcp-llm-router"}
    assert data["tool"] == {"hatch": {"build": {"targets": {"wheel": {"packages": ["mcp_router"]}}}}}


def test_mcpbignore_rules() -> None:
    script = _script()
    patterns = script.ignore_patterns(ROOT / "manifests" / "mcpb" / ".mcpbignore")
    ignored = script.ignored
    assert ignored(Path("mcp_router/__pycache__"), True, patterns)
    assert ignored(Path("mcp_router/cli.cpython-311.pyc"), False, patterns)
    assert ignored(Path("tests"), True, patterns) and ignored(Path(".venv"), True, patterns)
    assert not ignored(Path("mcp_router/catalog/snapshot.json"), False, patterns)
    assert not ignored(Path("server/main.py"), False, patterns)
    staged = [p.as_posix() for p in script.walk(ROOT, patterns, Path("mcp_router"))]
    assert "mcp_router/cli.py" in staged and not [p for p in staged if "__pycache__" in p]
