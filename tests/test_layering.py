"""The rooms of docs/architecture.md and what each may import, checked against the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mcp_router"

# room -> rooms it may import (besides itself); see docs/architecture.md, "Rooms".
BASE = {"core", "errors", "registry", "log", "permissions"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "errors": set(),
    "registry": set(),
    "log": set(),
    "permissions": set(),
    "files": BASE,
    "fetch": BASE | {"files"},
    "catalog": BASE,
    "providers": BASE,
    "metering": BASE | {"catalog"},
    "routing": BASE | {"catalog", "providers", "files", "fetch", "metering.records", "metering.billing"},
    "api": BASE | {"catalog", "routing", "metering", "keys"},
    "jobs": BASE | {"metering"},
    "conversations": BASE | {"metering.documents", "routing.types"},
    "keys": BASE | {"metering"},
    "sim": {"core", "registry"},
}
# Rooms above the library may use it, but never the faces above them.
FACES = {"server", "gateway", "dashboard", "commands", "cli"}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    """`mcp_router.x.y` imported anywhere in the file (also inside functions) -> {"x", "x.y"}."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "mcp_router" and len(parts) > 1:
                found.add(parts[1])
                if len(parts) > 2:
                    found.add(f"{parts[1]}.{parts[2]}")
    return found


FILES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_room_imports_only_what_it_may(path: Path) -> None:
    room = _room(path)
    imported = _imports(path)
    if room in ALLOWED:
        rooms = {i for i in imported if "." not in i} - {room}
        # A room allowed only in part ("metering.records") passes when every module of it
        # imported is an allowed part.
        refused = sorted(
            r
            for r in rooms
            if r not in ALLOWED[room]
            and not (
                {i for i in imported if i.startswith(f"{r}.")}
                and {i for i in imported if i.startswith(f"{r}.")} <= ALLOWED[room]
            )
        )
        assert not refused, f"{room} may not import {refused} (docs/architecture.md, Rooms)"
    elif room in ("router", "bootstrap", "settings", "environment", "api"):
        assert not imported & FACES, f"{room} may not import the server or the CLI"
    elif room == "server":
        assert not imported & {"commands", "cli", "gateway", "dashboard"}, (
            "server/ may not import the CLI, the gateway or the dashboard"
        )
    elif room in ("gateway", "dashboard"):
        assert not imported & {"commands", "cli", "server"}, f"{room}/ may not import the CLI or server/"
    elif room in ("commands", "cli") and path.name != "serve.py":
        assert "dashboard" not in imported, "only commands/serve.py may import dashboard/"
        # cli.py's `serve` command names the server's configuration error; nothing else may.
        reached = {i for i in imported if i.startswith("server")} - {"server", "server.transports"}
        if room == "commands" or reached:
            assert "server" not in imported, "only commands/serve.py may import server/"
        assert "gateway" not in imported, "only commands/serve.py may import gateway/"
