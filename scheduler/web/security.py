"""Small security pieces of the web side, each simple enough to check by reading.

- CSRF: a signed double-submit cookie (OWASP): a random cookie, and in every form a hidden
  field holding its HMAC under the secret key. A cross-site page can neither read the cookie
  nor forge the HMAC.
- Throttle: repeated bad tokens or failed logins from one address are answered ever more
  slowly, then refused for a while.
- Office password: an argon2 hash from the environment, checked with argon2-cffi.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "baocao_csrf"
CSRF_FIELD = "csrf"


class Csrf:
    def __init__(self, secret: bytes, secure: bool):
        self.key = hmac.new(secret, b"csrf", hashlib.sha256).digest()
        self.secure = secure

    def _sign(self, value: str) -> str:
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()

    def token_for(self, request: Request, scope: str) -> tuple[str, str | None]:
        """(hidden field value, new cookie value or None when the browser already has one).
        The value is bound to `scope` (a unit's link, or the office pages), so a cookie and
        token pair fetched from one form is worth nothing on another."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and len(cookie) == 43:
            return self._sign(f"{scope}|{cookie}"), None
        fresh = secrets.token_urlsafe(32)
        return self._sign(f"{scope}|{fresh}"), fresh

    def set_cookie(self, response: Response, value: str | None) -> None:
        if value:
            response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="lax", secure=self.secure, path="/")

    def valid(self, request: Request, submitted: str | None, scope: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE)
        return bool(cookie and submitted and hmac.compare_digest(self._sign(f"{scope}|{cookie}"), str(submitted)))


class Throttle:
    """Per-address failure counter over a sliding window (in memory: one process serves the web)."""

    def __init__(self, window: float = 600.0, free: int = 5, block_after: int = 30, max_addresses: int = 10_000):
        self.window, self.free, self.block_after, self.max_addresses = window, free, block_after, max_addresses
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        hits = self.failures.setdefault(address, deque())
        while hits and hits[0] < now - self.window:
            hits.popleft()
        return hits

    def blocked(self, address: str) -> bool:
        return len(self._recent(address, time.monotonic())) >= self.block_after

    def fail(self, address: str) -> float:
        """Record a failure; returns how long to wait before answering it."""
        now = time.monotonic()
        if len(self.failures) >= self.max_addresses:
            self.failures.clear()  # crude but bounded; an attacker only resets his own delay too
        hits = self._recent(address, now)
        hits.append(now)
        extra = len(hits) - self.free
        return 0.0 if extra <= 0 else min(5.0, 0.25 * 2 ** (extra - 1))


class Sessions:
    """What a signed cookie alone cannot do: forget a session at logout. Each login gets an id;
    logging out revokes it (kept in memory, as long as a session lives). A password change
    ends every session, because the session also carries a fingerprint of the password hash."""

    def __init__(self, lifetime: float = 8 * 3600):
        self.lifetime = lifetime
        self.revoked: dict[str, float] = {}

    def revoke(self, session_id: str) -> None:
        now = time.monotonic()
        self.revoked = {k: t for k, t in self.revoked.items() if t > now - self.lifetime}
        self.revoked[session_id] = now

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked


def fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
