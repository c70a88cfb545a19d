"""The dashboard: spend, traffic, endpoint health, budgets and the catalog in a browser, served
beside `/mcp` by `serve --transport http` (README "Dashboard", docs/architecture.md "Rooms")."""

from __future__ import annotations

from mcp_router.dashboard.app import Dashboard, RouterSource
from mcp_router.dashboard.gate import Gate
from mcp_router.dashboard.sessions import SessionStore

__all__ = ["Dashboard", "Gate", "RouterSource", "SessionStore"]
