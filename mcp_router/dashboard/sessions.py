"""Dashboard sessions: a random id in a cookie stands for a verified bearer token.

A browser cannot attach a bearer header when it navigates, so `/login` checks the token once
with the MCP server's own verifier and hands back a session id (README "Dashboard"). Sessions
live in this process's memory only: a restart signs everyone out. Each expires `ttl_s` after
login; at most `max_sessions` are kept (the oldest goes first). The token is kept with its
session so every request re-verifies it: a token removed from the configuration (or a key
revoked) ends its sessions at once. Ids and tokens never leave this object except the id
in the cookie.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_TTL_S = 12 * 3600.0
MAX_SESSIONS = 1000


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires_at: float  # on the store's monotonic clock


class SessionStore:
    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_sessions: int = MAX_SESSIONS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._max = max_sessions
        self._now = monotonic
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, token: str) -> str:
        """A new session for a verified `token`; returns its id (256 random bits)."""
        self._drop_expired()
        while len(self._sessions) >= self._max:
            self._sessions.popitem(last=False)
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = Session(token, self._now() + self.ttl_s)
        return session_id

    def token_of(self, session_id: str | None) -> str | None:
        """The token behind a live session, or None (unknown, or expired: then it is dropped)."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= self._now():
            del self._sessions[session_id]
            return None
        return session.token

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop_expired(self) -> None:
        now = self._now()
        for session_id in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[session_id]
