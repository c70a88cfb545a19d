"""Who is looking at the dashboard, and whether the request may be served at all.

Without tokens (loopback only, as `/mcp`) every request is the server's local caller, who reads
everything. With tokens a request is identified by its session cookie (after `/login`) or by a
bearer header (scripts reading `/api/`), both checked by the MCP server's own token verifier;
the caller reads only its own client's usage unless that client is an admin (`api/access.py`).
Host and Origin are checked as for `/mcp` (DNS rebinding); a form POST must also come from
this origin (README "Dashboard").
"""

from __future__ import annotations

import time
from collections.abc import Collection
from urllib.parse import urlsplit

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response

from mcp_router.api.access import Caller, token_caller
from mcp_router.dashboard.sessions import SessionStore

COOKIE = "mcp_router_session"


class Gate:
    def __init__(
        self,
        verifier: TokenVerifier | None,
        *,
        local_client: str,
        admins: Collection[str] = (),
        security: TransportSecuritySettings | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.verifier = verifier
        self.local = Caller(local_client)
        self.admins = frozenset(admins)
        self.sessions = SessionStore() if sessions is None else sessions
        self._security = TransportSecurityMiddleware(security)

    @property
    def open(self) -> bool:
        """No tokens configured: the dashboard needs no login (loopback only, as /mcp)."""
        return self.verifier is None

    async def refuse(self, request: Request) -> Response | None:
        """A Host/Origin the server does not answer (421/403), or a POST from another origin."""
        refused = await self._security.validate_request(request, is_post=False)
        if refused is not None:
            return refused
        if request.method == "POST" and not _same_origin(request):
            return Response("Cross-origin form posts are refused.", status_code=403)
        return None

    async def caller(self, request: Request) -> Caller | None:
        """The caller, or None when a login is needed."""
        if self.verifier is None:
            return self.local
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        session_id = request.cookies.get(COOKIE)
        if token is None:
            token = self.sessions.token_of(session_id)
        access = await self.verify(token) if token else None
        if access is None:
            self.sessions.end(session_id)
            return None
        return token_caller(access.client_id, self.admins, access.scopes)

    async def verify(self, token: str) -> AccessToken | None:
        """What the MCP server's verifier says of a token (never logged, never echoed)."""
        if self.verifier is None or not token:
            return None
        access = await self.verifier.verify_token(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None  # expired: as the SDK's bearer check treats it
        return access

    def set_cookie(self, response: Response, session_id: str, request: Request) -> None:
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(self.sessions.ttl_s),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear_cookie(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def _same_origin(request: Request) -> bool:
    """A browser's form POST carries Origin; it must be this server's. None: not a browser."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.headers.get("host", "").lower() and parts.scheme in (
        "http",
        "https",
    )
