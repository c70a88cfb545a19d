"""`output_file` never writes the router's own files, even under an allowed root (README
"Answers to files"): the data directory, the usage database and its side files, the config
file, also through a symlink; refused before any provider is called, in the foreground and
(as the tool's immediate error) in the background."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from mcp_router.files import FileAccess, FileRefused, output_path
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator

pytestmark = pytest.mark.anyio

MODEL = ("openai", "gpt-4o-mini")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The allowed root; the data directory and the config file live inside it (as they may
    when the working folder over stdio is $HOME)."""
    return tmp_path


@pytest.fixture
def own_env(env: dict[str, str], work: Path) -> dict[str, str]:
    config = work / "router.toml"
    config.write_text("[jobs]\nkeep_hours = 1\n")
    return {**env, "MCP_ROUTER_HOME": str(work / "home"), "MCP_ROUTER_CONFIG": str(config)}


@pytest.fixture
async def router(own_env: dict[str, str], work: Path) -> AsyncIterator[Router]:
    async with Router.from_env(own_env, file_roots=[work]) as r:
        yield r


async def call(router: Router, target: Path, **more: Any) -> Any:
    args = {"prompt": "Write it.", "model": "openai/gpt-4o-mini", "output_file": str(target), **more}
    async with Client(build_server(router)) as client:
        return await client.call_tool("complete", args)


@pytest.mark.parametrize(
    "name",
    [
        "home/usage.db",
        "home/usage.db-wal",
        "home/usage.db-shm",
        "home/catalog.db",
        "home/new.txt",
        "router.toml",
        "link.toml",
    ],
)
@pytest.mark.parametrize("background", [False, True])
async def test_the_routers_own_files_are_refused_before_any_call(
    router: Router, sim: Simulator, work: Path, name: str, background: bool
) -> None:
    (work / "link.toml").symlink_to(work / "router.toml")
    (work / "home" / "usage.db-wal").touch()
    target = work / name
    before = target.read_bytes() if target.exists() else None
    result = await call(router, target, overwrite=True, background=background)
    assert result.is_error, result.content
    text = result.content[0].text
    assert "router's own file" in text and "write answers elsewhere" in text
    assert sim.hits(*MODEL) == 0
    assert (target.read_bytes() if target.exists() else None) == before


async def test_a_file_beside_them_is_still_written(router: Router, sim: Simulator, work: Path) -> None:
    result = await call(router, work / "usage.db.txt")
    assert not result.is_error, result.content
    assert (work / "usage.db.txt").read_text(encoding="utf-8") and sim.hits(*MODEL) == 1


def test_output_path_refuses_protected_paths_through_symlinked_folders(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "alias").symlink_to(data)
    access = FileAccess(roots=(tmp_path,)).with_protected(data)
    with pytest.raises(FileRefused, match="router's own file"):
        output_path(str(tmp_path / "alias" / "x.txt"), access, overwrite=False)
    assert output_path(str(tmp_path / "x.txt"), access, overwrite=False) == tmp_path.resolve() / "x.txt"


async def test_a_background_call_with_a_bad_output_file_is_refused_at_once(
    router: Router, sim: Simulator, work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (work / "taken.md").write_text("mine")
    outside = tmp_path_factory.mktemp("outside") / "a.md"
    for target, why in ((work / "taken.md", "already exists"), (outside, "outside the folders")):
        result = await call(router, target, background=True)
        assert result.is_error and why in result.content[0].text, result.content
    assert sim.hits(*MODEL) == 0 and (work / "taken.md").read_text() == "mine"
