"""`complete(output_file=...)` through the real MCP client: the answer lands in a file under an
allowed root and the result carries its path, size and a preview instead of the text; a target
outside the roots, in a missing folder or already there (without `overwrite`) is refused before
any provider is called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator

pytestmark = pytest.mark.anyio

MODEL = ("openai", "gpt-4o-mini")
LONG = " ".join(f"word{i}" for i in range(300))  # ~2,700 characters: longer than any preview


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    return root


@pytest.fixture
async def router(env: dict[str, str], folder: Path) -> AsyncIterator[Router]:
    async with Router.from_env(env, file_roots=[folder]) as r:
        yield r


def ask(path: Path | str, **more: Any) -> dict[str, Any]:
    return {"prompt": "Write the report.", "model": "openai/gpt-4o-mini", "output_file": str(path), **more}


async def call(router: Router, args: dict[str, Any]) -> Any:
    async with Client(build_server(router)) as client:
        return await client.call_tool("complete", args)


async def test_the_answer_goes_to_the_file_and_only_a_preview_comes_back(
    router: Router, sim: Simulator, folder: Path
) -> None:
    sim.set_profile(*MODEL, reply=LONG)
    target = folder / "report.md"
    result = await call(router, ask(target))
    assert not result.is_error, result.content
    data = result.structured_content
    assert target.read_text(encoding="utf-8") == LONG
    assert data["output_file"] == {"path": str(target), "bytes": len(LONG.encode())}
    assert data["preview"] == LONG[:200]
    assert "text" not in data
    assert data["cost_usd"] > 0 and data["usage"]["output_tokens"] > 0 and data["request_id"]
    text = result.content[0].text
    assert str(target) in text and LONG[:200] in text and LONG not in text
    assert f"request {data['request_id']}" in text  # the receipt line as usual
    assert [p.name for p in folder.iterdir()] == ["report.md"]  # no temporary file left behind


@pytest.mark.parametrize(
    "where",
    [
        "outside",  # a folder that is not a root
        "missing",  # a folder that does not exist
        "relative",  # not an absolute path
        "escape",  # a symlinked folder inside the root that points outside it
    ],
)
async def test_an_unwritable_target_is_refused_before_any_call(
    router: Router, sim: Simulator, folder: Path, tmp_path: Path, where: str
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (folder / "link").symlink_to(tmp_path / "elsewhere")
    target = {
        "outside": tmp_path / "elsewhere" / "out.md",
        "missing": folder / "no" / "out.md",
        "relative": "out.md",
        "escape": folder / "link" / "out.md",
    }[where]
    result = await call(router, ask(target))
    assert result.is_error
    assert "out.md" in result.content[0].text
    assert sim.hits(*MODEL) == 0  # refused before a model was paid for
    assert not (tmp_path / "elsewhere" / "out.md").exists()


async def test_an_existing_file_is_kept_unless_overwrite(
    router: Router, sim: Simulator, folder: Path
) -> None:
    target = folder / "notes.md"
    target.write_text("mine", encoding="utf-8")
    refused = await call(router, ask(target))
    assert refused.is_error and "overwrite=true" in refused.content[0].text
    assert sim.hits(*MODEL) == 0 and target.read_text(encoding="utf-8") == "mine"

    sim.set_profile(*MODEL, reply="The new notes.")
    replaced = await call(router, ask(target, overwrite=True))
    assert not replaced.is_error, replaced.content
    assert target.read_text(encoding="utf-8") == "The new notes."
    assert replaced.structured_content["output_file"]["bytes"] == len("The new notes.")
    assert sim.hits(*MODEL) == 1


async def test_a_folder_is_never_replaced(router: Router, sim: Simulator, folder: Path) -> None:
    (folder / "sub").mkdir()
    result = await call(router, ask(folder / "sub", overwrite=True))
    assert result.is_error and "not a regular file" in result.content[0].text
    assert sim.hits(*MODEL) == 0 and (folder / "sub").is_dir()


async def test_sixteen_concurrent_answers_to_distinct_files(
    router: Router, sim: Simulator, folder: Path
) -> None:
    results: dict[int, Any] = {}
    async with Client(build_server(router)) as client:

        async def one(i: int) -> None:
            args = ask(folder / f"out-{i}.txt") | {"prompt": f"Write part {i}."}
            results[i] = await client.call_tool("complete", args)

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, i)
    assert sim.hits(*MODEL) == 16
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"out-{i}.txt" for i in range(16))
    for i, result in results.items():
        assert not result.is_error, result.content
        written = (folder / f"out-{i}.txt").read_bytes()
        assert result.structured_content["output_file"]["bytes"] == len(written) > 0
        assert written.decode().startswith(result.structured_content["preview"])
    previews = {r.structured_content["preview"] for r in results.values()}
    assert len(previews) == 16  # each file holds its own answer (the replies differ by prompt)


async def test_sixteen_concurrent_answers_to_one_name_leave_exactly_one_whole_file(
    router: Router, sim: Simulator, folder: Path
) -> None:
    target = folder / "race.md"
    results: list[Any] = []
    async with Client(build_server(router)) as client:

        async def one(i: int) -> None:
            results.append(await client.call_tool("complete", ask(target) | {"prompt": f"Write part {i}."}))

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, i)
    filed = [r for r in results if not r.is_error and "output_file" in r.structured_content]
    assert len(filed) == 1  # one writer won the name; nobody replaced it
    written = target.read_text(encoding="utf-8")
    assert written.startswith(filed[0].structured_content["preview"])
    assert filed[0].structured_content["output_file"]["bytes"] == len(written.encode())
    for r in results:
        if r is filed[0]:
            continue
        if r.is_error:  # refused before its call: the file was already there
            assert "already exists" in r.content[0].text
        else:  # answered while the winner wrote: the answer comes back as text, with why
            assert r.structured_content["text"] and "not written" in r.structured_content["error"]
    assert [p.name for p in folder.iterdir()] == ["race.md"]
