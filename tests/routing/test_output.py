"""Answers written to files (routing/output.py): the target checked before the call, the write
atomic and never replacing a file that appeared meanwhile unless `overwrite`."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mcp_router.core import Usage
from mcp_router.files import FileAccess, FileRefused, output_path
from mcp_router.routing import output
from mcp_router.routing.output import complete_to_file, write_atomically
from mcp_router.routing.types import RoutedCompletion

pytestmark = pytest.mark.anyio


def answered(text: str) -> RoutedCompletion:
    return RoutedCompletion(
        text=text,
        model="openai/gpt-4o-mini",
        provider="openai",
        finish_reason="stop",
        usage=Usage(input_tokens=3, output_tokens=5),
        cost_usd=0.001,
        latency_ms=1.0,
        ttft_ms=None,
        attempts=[],
        request_id="r1",
        reasoning="long thoughts",
    )


def test_an_existing_file_is_never_replaced_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(FileExistsError):
        write_atomically(target, b"new", overwrite=False)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # the temporary file is gone
    write_atomically(target, b"new", overwrite=True)
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_without_hard_links_the_name_is_still_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(output.os, "link", no_links)
    write_atomically(tmp_path / "b.txt", b"answer", overwrite=False)
    assert (tmp_path / "b.txt").read_bytes() == b"answer"
    with pytest.raises(FileExistsError):
        write_atomically(tmp_path / "b.txt", b"again", overwrite=False)
    assert (tmp_path / "b.txt").read_bytes() == b"answer"
    assert [p.name for p in tmp_path.iterdir()] == ["b.txt"]


async def test_a_file_that_appears_during_the_call_is_kept_and_the_answer_returned(tmp_path: Path) -> None:
    target = tmp_path / "c.md"

    async def run() -> RoutedCompletion:
        target.write_text("someone else's")  # created while the model answered
        return answered("the answer")

    result = await complete_to_file(run, str(target), FileAccess(roots=(tmp_path,)), overwrite=False)
    assert target.read_text() == "someone else's"
    assert result.text == "the answer" and result.output_file is None
    assert result.error is not None and "not written" in result.error


async def test_the_filed_result_has_a_preview_and_no_text_or_reasoning(tmp_path: Path) -> None:
    async def run() -> RoutedCompletion:
        return answered("x" * 500)

    result = await complete_to_file(
        run, (tmp_path / "d.md").as_uri(), FileAccess(roots=(tmp_path,)), overwrite=False
    )
    data = result.model_dump(mode="json")
    assert "text" not in data and data["preview"] == "x" * 200 and data["reasoning"] is None
    assert data["output_file"] == {"path": str(tmp_path / "d.md"), "bytes": 500}
    assert "output_file" not in answered("hi").model_dump() and "preview" not in answered("hi").model_dump()


async def test_a_refused_target_never_runs_the_call(tmp_path: Path) -> None:
    async def run() -> RoutedCompletion:
        raise AssertionError("the model must not be called")

    with pytest.raises(FileRefused, match="none configured"):
        await complete_to_file(run, str(tmp_path / "e.md"), FileAccess(), overwrite=False)


def test_output_path_follows_the_read_rules(tmp_path: Path) -> None:
    access = FileAccess(roots=(tmp_path,))
    assert output_path(str(tmp_path / "f.md"), access, overwrite=False) == tmp_path.resolve() / "f.md"
    os.symlink(tmp_path / "f.md", tmp_path / "link.md")  # a dangling link is still a name in use
    with pytest.raises(FileRefused, match="already exists"):
        output_path(str(tmp_path / "link.md"), access, overwrite=False)
    with pytest.raises(FileRefused, match="not a regular file"):
        output_path(str(tmp_path / "link.md"), access, overwrite=True)
