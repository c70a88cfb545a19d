"""`mcp-router ask --image PATH --file PATH`: images and files from the terminal, against the
simulated providers, as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, clean_env, run_cli

from mcp_router.commands.ask import attachments
from mcp_router.sim import Simulator
from mcp_router.sim.media import pdf, png


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    with simulator.in_thread():
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path / "home", **sim.env())


def test_ask_about_an_image_and_a_pdf(sim: Simulator, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(png(2, 3))
    (tmp_path / "report.pdf").write_bytes(pdf(2))
    args = ["ask", "What are these?", "-m", "anthropic/claude-haiku-4.5", "--max-tokens", "40"]
    out = run_cli([*args, "--image", str(tmp_path / "cat.png"), "--file", str(tmp_path / "report.pdf")], env)
    assert out.returncode == 0, out.stderr
    assert "[saw image/png 2x3; application/pdf 2p]" in out.stdout
    assert "anthropic/claude-haiku-4.5 via" in out.stderr


def test_a_file_that_is_not_what_the_option_says_is_one_line_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a picture")
    out = run_cli(["ask", "What is this?", "--image", str(tmp_path / "notes.txt")], env)
    assert_one_line_error(out, 2, "notes.txt: not a PNG, JPEG, GIF or WebP image")


def test_attachments_allow_exactly_the_named_files(tmp_path: Path) -> None:
    content, allowed = attachments("q", ["cat.png", "https://example.com/a.png"], ["~/r.pdf"])
    assert allowed == [str(Path.cwd() / "cat.png"), str(Path.home() / "r.pdf")]
    assert content == [
        {"type": "text", "text": "q"},
        {"type": "image_url", "image_url": {"url": str(Path.cwd() / "cat.png")}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "file", "file": {"filename": "r.pdf", "file_data": str(Path.home() / "r.pdf")}},
    ]
    assert attachments("q", [], []) == ("q", [])


def test_ask_output_writes_the_answer_to_a_file(sim: Simulator, env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "out" / "answer.md"
    target.parent.mkdir()
    args = ["ask", "Write a haiku.", "-m", "openai/gpt-4o-mini", "--output", str(target)]
    out = run_cli(args, env)
    assert out.returncode == 0, out.stderr
    written = target.read_text(encoding="utf-8")
    assert written.startswith("Simulated reply from") and out.stdout == ""
    assert f"wrote {len(written.encode())} bytes to {target}" in out.stderr
    again = run_cli(args, env)  # never over an existing file without --overwrite
    assert_one_line_error(again, 2, "answer.md: already exists")
    assert sim.hits("openai", "gpt-4o-mini") == 1
    assert run_cli([*args, "--overwrite"], env).returncode == 0
    assert sim.hits("openai", "gpt-4o-mini") == 2
