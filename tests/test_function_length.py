"""House rule: no function in routing/ or providers/ over 60 lines (decorators excluded,
docstring included), so the attempt loop and the wire adapters stay readable in one screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mcp_router

MAX_LINES = 60
PACKAGE = Path(mcp_router.__file__).parent
ROOMS = ("routing", "providers")


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function or method in `source` longer than `limit`."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    if lines > limit:
                        found.append((name, lines))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_the_check_finds_a_long_method() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    src = f"class C:\n    def short(self):\n        pass\n\n    async def long(self):\n{body}\n"
    assert long_functions(src) == [("C.long", 61)]


@pytest.mark.parametrize("room", ROOMS)
def test_no_function_over_60_lines(room: str) -> None:
    files = sorted((PACKAGE / room).rglob("*.py"))
    assert files, f"no modules found under {room}/"
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name} is {lines} lines"
        for path in files
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"split these (limit {MAX_LINES} lines): " + "; ".join(offenders)
