"""The MCPB bundle: `scripts/build_bundle.py` builds it, the official `mcpb` CLI (npm package
`@anthropic-ai/mcpb`) validates and unpacks it, and the unpacked bundle's server, started exactly
as its manifest says (`uv run --directory ${__dirname} server/main.py`, uv from the package index),
answers `tools/list`.

Marked `bundle`: it needs node and npm (the mcpb CLI is npm-installed into a cache directory once)
and the package index (uv installs the bundle's dependencies). Without node it is skipped locally
and fails in CI (`CI=true`). About 10 s with warm caches; the first run downloads more.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import platformdirs
import pytest
from cli_helpers import clean_env
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[2]
MCPB_PACKAGE = "@anthropic-ai/mcpb@^2"

pytestmark = [pytest.mark.bundle, pytest.mark.timeout(300)]


def _unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: the bundle test must run in CI")
    pytest.skip(f"{what} (install node and npm to run the MCPB bundle test)")


@pytest.fixture(scope="module")
def mcpb() -> Path:
    """The official MCPB CLI, npm-installed once into the user cache directory."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        _unavailable("node/npm not found")
    assert npm is not None
    prefix = platformdirs.user_cache_path("mcp-router-tests") / "mcpb-2"
    exe = prefix / "node_modules" / ".bin" / "mcpb"
    if not exe.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", MCPB_PACKAGE],
            check=True,
            timeout=240,
        )
    return exe


@pytest.fixture(scope="module")
def uv() -> str:
    """`uv` from the package index, pip-installed into this environment when absent."""
    beside = Path(sys.executable).parent / "uv"
    found = shutil.which("uv") or (str(beside) if beside.exists() else None)
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uv"], check=True, timeout=240)
        found = str(beside)
    return found


def _pip_config() -> dict[str, str]:
    """pip's settings (`pip config list`: files and PIP_* variables), last one wins per key."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
    ).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r"^[^.]*\.([\w-]+)='(.*)'$", line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def uv_index_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Point uv at the indexes pip uses: pip's index-url, extra-index-url, find-links and cert,
    resolved as pip does (the best version across every index). Explicit UV_* settings win."""
    pip = _pip_config()
    env = {"UV_INDEX_STRATEGY": "unsafe-best-match"}
    if pip.get("index-url"):
        env["UV_DEFAULT_INDEX"] = pip["index-url"]
    if pip.get("extra-index-url"):
        env["UV_INDEX"] = " ".join(pip["extra-index-url"].split())
    if pip.get("find-links"):
        env["UV_FIND_LINKS"] = ",".join(pip["find-links"].split())
    if pip.get("cert"):
        env["SSL_CERT_FILE"] = pip["cert"]
    return {k: v for k, v in env.items() if k not in environ}


def _substitute(value: str, bundle: Path, user_config: Mapping[str, str]) -> str:
    """The host's substitution: ${__dirname}; ${user_config.x} when the user set x, else left
    as text (as a host may leave an optional value it was not given)."""
    value = value.replace("${__dirname}", str(bundle))
    return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: user_config.get(m.group(1), m.group(0)), value)


def _build(tmp_path: Path) -> Path:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bundle.py"), "--stage", str(tmp_path / "stage"),
         "--out", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    bundle = Path(out.stdout.strip())
    assert bundle.name == "mcp-llm-router-0.1.0.mcpb" and bundle.is_file()
    return bundle


def _check_contents(bundle: Path) -> None:
    names = zipfile.ZipFile(bundle).namelist()
    assert names[0] == "manifest.json"
    assert {"pyproject.toml", "README.md", "server/main.py", ".mcpbignore"} <= set(names)
    assert "mcp_router/cli.py" in names and "mcp_router/catalog/snapshot.json" in names
    top = {n.split("/")[0] for n in names}
    assert top == {"manifest.json", "pyproject.toml", "README.md", ".mcpbignore", "server", "mcp_router"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    pyproject = zipfile.ZipFile(bundle).read("pyproject.toml").decode()
    assert "optional-dependencies" not in pyproject and "[tool.pytest" not in pyproject


async def _tools_via_manifest(bundle: Path, uv: str, env: dict[str, str]) -> tuple[set[str], Any]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    config = manifest["server"]["mcp_config"]
    user_config = {"ollama_host": manifest["user_config"]["ollama_host"]["default"]}  # keys left unset
    command = uv if config["command"] == "uv" else config["command"]
    args = [_substitute(a, bundle, user_config) for a in config["args"]]
    child = {**env, **{k: _substitute(v, bundle, user_config) for k, v in config["env"].items()}}
    params = StdioServerParameters(command=command, args=args, env=child, cwd=str(bundle))
    with (bundle.parent / "server-stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = await client.list_tools()
            models = await client.call_tool("list_models", {"limit": 5})
    return {t.name for t in tools.tools}, models


def test_bundle_builds_validates_and_serves(mcpb: Path, uv: str, tmp_path: Path) -> None:
    bundle = _build(tmp_path)
    _check_contents(bundle)
    validated = subprocess.run(
        [str(mcpb), "validate", str(tmp_path / "stage" / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ERROR" not in validated.stdout and "warning" not in validated.stdout.lower()
    unpacked = tmp_path / "installed" / "mcp-llm-router"
    done = subprocess.run(
        [str(mcpb), "unpack", str(bundle), str(unpacked)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and (unpacked / "manifest.json").is_file(), done.stdout + done.stderr

    env = clean_env(tmp_path / "home")
    env.pop("VIRTUAL_ENV", None)  # the host does not run inside our virtualenv
    env.update(uv_index_env(os.environ))
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # the interpreter of this test is a fine one
    env.setdefault("UV_PYTHON", sys.executable)
    names, models = anyio.run(_tools_via_manifest, unpacked, uv, env)
    assert names == {"complete", "list_models", "compare", "estimate_cost", "usage_report"}
    # Unexpanded ${user_config.*} keys enabled no provider: nothing is available to route to.
    assert not models.is_error and models.structured_content["total"] == 0
