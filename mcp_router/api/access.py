"""Who may read whose usage. Over HTTP each bearer token is a metering client: it reads its own
usage only, unless its client is an admin (`[server] admins` or `MCP_ROUTER_ADMINS`). A caller
without a token (stdio: one local user) reads everything.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from mcp_router.api.errors import InvalidArguments


@dataclass(frozen=True)
class Caller:
    """The client a call is metered as, and what it may see."""

    client: str
    authenticated: bool = False  # identified by a bearer token
    admin: bool = False

    def usage_client(self, requested: str | None) -> str | None:
        """The client filter for a usage read asking for `requested` (None: every client)."""
        if not self.authenticated or self.admin:
            return requested
        if requested is None or requested == self.client:
            return self.client
        raise InvalidArguments(
            f"`client`: this token reads only its own usage (client {self.client}). Omit `client`, "
            "or use a token whose client is an admin ([server] admins or MCP_ROUTER_ADMINS)."
        )


ADMIN_SCOPE = "admin"
"""The scope the token verifier gives an admin client's token or an `--admin` issued key."""


def token_caller(client: str, admins: Collection[str], scopes: Collection[str] = ()) -> Caller:
    """The caller a verified bearer token stands for: the one rule `/mcp`, the gateway and the
    dashboard share. An admin is a configured admin client or a token with the admin scope."""
    return Caller(client, authenticated=True, admin=client in admins or ADMIN_SCOPE in scopes)


def admins_from(env: Mapping[str, str], configured: Collection[str] = ()) -> frozenset[str]:
    """Admin clients: `MCP_ROUTER_ADMINS="a,b"` when set, else the config's `[server] admins`."""
    from_env = [a.strip() for a in env.get("MCP_ROUTER_ADMINS", "").split(",") if a.strip()]
    return frozenset(from_env or (a.strip() for a in configured if a.strip()))
