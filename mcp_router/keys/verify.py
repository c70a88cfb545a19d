"""The one bearer-token verifier of the HTTP server: `/mcp`, the HTTP API and the dashboard's
login all verify through the same object (`token_verifier`), so they accept the same tokens.

A token is either a configured static token (`MCP_ROUTER_TOKENS` / `[server] tokens`: compared
with every one in constant time, no early exit) or an issued key (`keys create`: found by the
hash of the secret, compared in constant time, refused once revoked). Either names a metering
client. An admin (a client in `[server] admins` / `MCP_ROUTER_ADMINS`, or a key created with
`--admin`) gets the `admin` scope, which `server/callers.py` reads.

`required` says whether the HTTP faces demand a token at all: once any static token or any
active issued key exists when `serve` starts (README "Keys"); without either, a loopback-only
server lets local callers in as its own client.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection, Mapping

from mcp.server.auth.provider import AccessToken

from mcp_router.errors import RouterError
from mcp_router.keys.book import KeyBook
from mcp_router.log import get_logger

ADMIN_SCOPE = "admin"
KeySource = Callable[[], Awaitable["KeyBook | None"]]
"""Where the issued keys are once the router is up (the server builds the router late)."""

log = get_logger(__name__)


class StaticTokens:
    """Bearer tokens from configuration; each token names a metering client.

    The presented token is compared with every configured one in constant time (no dict
    lookup, no early exit), so response timing says nothing about how close a guess was."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = [(token.encode(), client) for token, client in tokens.items()]

    def client_of(self, token: str) -> str | None:
        presented = token.encode()
        client: str | None = None
        for known, name in self._tokens:
            if hmac.compare_digest(known, presented):
                client = name
        return client

    async def verify_token(self, token: str) -> AccessToken | None:
        client = self.client_of(token)
        return None if client is None else AccessToken(token=token, client_id=client, scopes=[])


class RouterTokenVerifier:
    """An SDK `TokenVerifier` over the static tokens and the issued keys."""

    def __init__(
        self,
        tokens: Mapping[str, str],
        keys: KeySource | None = None,
        admins: Collection[str] = (),
        *,
        required: bool | None = None,
    ) -> None:
        self._static = StaticTokens(tokens)
        self._taken = frozenset(tokens.values())  # static-token clients: no key may stand for one
        self._keys = keys
        self.admins = frozenset(admins)
        self.required = bool(tokens) if required is None else required

    def _token(self, token: str, client: str, admin: bool) -> AccessToken:
        scopes = [ADMIN_SCOPE] if admin or client in self.admins else []
        return AccessToken(token=token, client_id=client, scopes=scopes)

    async def verify_token(self, token: str) -> AccessToken | None:
        client = self._static.client_of(token)
        if client is not None:
            return self._token(token, client, False)
        if self._keys is None:
            return None
        try:
            book = await self._keys()
            key = None if book is None else await book.verify(token)
        except RouterError as exc:  # no router, or its database cannot be read: not verified
            log.warning("key_verify_failed", error=type(exc).__name__)
            return None
        if key is None:
            return None
        if key.name in self._taken or key.name in self.admins:
            # A key named like a configured client would share its ledger, limits, conversations
            # and jobs (or its admin rights): refused until renamed (README "Keys").
            log.warning("key_name_collides_with_configured_client", key=key.name)
            return None
        return self._token(token, key.name, key.admin)


def token_verifier(
    tokens: Mapping[str, str],
    keys: KeySource | None,
    admins: Collection[str] = (),
    *,
    required: bool | None = None,
) -> RouterTokenVerifier:
    """The verifier `serve` builds once and hands to every HTTP face: `tokens` is {token:
    client}, `keys` returns the router's `KeyBook` (waiting while the router starts)."""
    return RouterTokenVerifier(tokens, keys, admins, required=required)


def is_admin(token: AccessToken) -> bool:
    return ADMIN_SCOPE in token.scopes


__all__ = ["ADMIN_SCOPE", "RouterTokenVerifier", "StaticTokens", "is_admin", "token_verifier"]
