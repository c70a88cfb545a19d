"""The package's public surface: `Router` and its request/result types are exported, and
`import mcp_router` stays cheap (nothing heavy is imported until a name is used)."""

from __future__ import annotations

import json
import subprocess
import sys

import mcp_router


def test_router_and_its_types_are_exported() -> None:
    for name in ("Router", "RouteRequest", "RoutedCompletion", "Message", "AllRoutesFailed"):
        assert name in mcp_router.__all__
    for name in mcp_router.__all__:
        assert getattr(mcp_router, name) is not None
    from mcp_router.router import Router
    from mcp_router.routing.types import RoutedCompletion, RouteRequest

    assert mcp_router.Router is Router
    assert mcp_router.RouteRequest is RouteRequest
    assert mcp_router.RoutedCompletion is RoutedCompletion
    assert "Router" in dir(mcp_router)


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(mcp_router, "NoSuchThing")


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import json, sys, mcp_router; "
        "print(json.dumps([m for m in ('mcp_router.router', 'mcp_router.routing', 'pydantic', 'httpx2',"
        " 'sqlite_utils', 'mcp') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
