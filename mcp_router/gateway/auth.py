"""Who is calling the gateway, and from where.

The key is `Authorization: Bearer KEY` (OpenAI's SDKs) or `x-api-key: KEY` (Anthropic's),
checked by the same token verifier as `/mcp`, so a configured token (or an issued key) is one
metering client on both faces. Without tokens the server is loopback-only and open: calls are
metered as its local client. Host and Origin are checked as for `/mcp` (transports.py
`security_for`): a page on another origin gets 403, and a POST must be JSON, which a browser
cannot send cross-site without a preflight this server never answers.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request

from mcp_router.api.access import Caller, token_caller
from mcp_router.gateway.errors import GatewayError, unauthorized


def _matches(value: str, allowed: Collection[str]) -> bool:
    """Exact, or `name:*` for any port (the MCP SDK's rule)."""
    return value in allowed or any(a.endswith(":*") and value.startswith(a[:-1]) for a in allowed)


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


@dataclass(frozen=True)
class Gatekeeper:
    """Checks where a request comes from and resolves its `Caller`."""

    verifier: TokenVerifier | None
    local: Caller
    admins: frozenset[str] = frozenset()
    security: TransportSecuritySettings | None = None

    def check_origin(self, request: Request) -> GatewayError | None:
        """421 for a Host this server does not answer to, 403 for a foreign Origin, 415 for a
        POST that is not JSON."""
        if request.method == "POST":
            kind = request.headers.get("content-type", "").lower()
            if not kind.startswith("application/json"):
                return GatewayError(
                    415, "Send the body as JSON (Content-Type: application/json).", "invalid_content_type"
                )
        settings = self.security
        if settings is None or not settings.enable_dns_rebinding_protection:
            return None
        if not _matches(request.headers.get("host", ""), settings.allowed_hosts):
            return GatewayError(421, "This server does not answer to that Host header.", "invalid_host")
        origin = request.headers.get("origin")
        if origin and not _matches(origin, settings.allowed_origins):
            return GatewayError(403, "Requests from this Origin are not allowed.", "invalid_origin")
        return None

    async def caller(self, request: Request) -> Caller:
        """The caller; raises a 401 `GatewayError` for a missing or unknown key."""
        if self.verifier is None:
            return self.local
        user = request.scope.get("user")
        if isinstance(user, AuthenticatedUser):  # the MCP app's bearer middleware verified it already
            return self._of(user.access_token)
        key = presented_key(request)
        if key is None:
            raise unauthorized(
                "Missing API key: send `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key: <key>` "
                "(Anthropic SDKs) with a key from `mcp-router keys create` or a configured token."
            )
        token = await self.verifier.verify_token(key)
        if token is None or (token.expires_at is not None and token.expires_at < time.time()):
            raise unauthorized(
                "Invalid API key: it is unknown, expired or revoked. Check the key you configured."
            )
        return self._of(token)

    def _of(self, token: AccessToken) -> Caller:
        return token_caller(token.client_id, self.admins, token.scopes)
