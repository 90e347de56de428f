"""Browser sessions for the dashboard: the token is checked once at login and never stored anywhere.

The cookie holds a random 256-bit session id; the server keeps only its SHA-256 with the principal,
the scopes and an expiry (an hour at most, never later than an OAuth token's own expiry). A stolen
cookie is worth an hour of read-only views on this process, not the token: it cannot call tools, and
logging out (or restarting the server) ends it. Sessions live in this process's memory, so behind
several replicas a browser stays on the one it logged in to — or sends the bearer token itself.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "polyroute_dashboard"
LIFETIME_S = 3600.0
MAX_SESSIONS = 10_000  # a flood of logins cannot grow memory without bound: the oldest go first


@dataclass(frozen=True)
class Session:
    principal: str
    scopes: frozenset[str]
    expires: float


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: str, scopes: frozenset[str], token_expires: float | None = None) -> str:
        """A new session; returns the id to put in the cookie (the only place it is ever kept)."""
        session_id = secrets.token_urlsafe(32)
        expires = self.clock() + LIFETIME_S
        if token_expires is not None:
            expires = min(expires, token_expires)
        with self._lock:
            self._drop_expired()
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[_key(session_id)] = Session(principal, scopes, expires)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(_key(session_id))
            if session is not None and session.expires <= self.clock():
                del self._sessions[_key(session_id)]
                return None
            return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(_key(session_id), None)

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]
