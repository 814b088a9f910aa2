"""Small security pieces of the web side, each simple enough to check by reading.

- CSRF: a signed double-submit cookie (OWASP): a random cookie, and in every form a hidden
  field holding its HMAC under the secret key. A cross-site page can neither read the cookie
  nor forge the HMAC.
- Throttle: repeated bad tokens from one address, or failed logins for one user name from one
  address, are answered ever more slowly, then refused for a while (two separate counters).
- Office password: an argon2 hash from the environment, checked with argon2-cffi off the event
  loop (Verifier); office sessions the store can forget (OfficeSessions).
- Bounded form reading (read_form).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import deque
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import parse_qsl

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from scheduler.store.tables import StateRow

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
    """Failure counter per key (an address; a user name and an address) over a sliding window.
    In memory: one process serves the web, and a restart forgetting a few failures is harmless.
    While blocked, attempts are refused without being counted, so a block ends at most `window`
    seconds after the failures that caused it."""

    def __init__(self, window: float = 600.0, free: int = 5, block_after: int = 30, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.window, self.free, self.block_after, self.max_addresses = window, free, block_after, max_addresses
        self.clock = clock  # seconds, only ever compared with each other: the window ages on it
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        hits = self.failures.setdefault(address, deque())
        while hits and hits[0] < now - self.window:
            hits.popleft()
        return hits

    def blocked(self, address: str) -> bool:
        return len(self._recent(address, self.clock())) >= self.block_after

    def fail(self, address: str) -> float:
        """Record a failure; returns how long to wait before answering it."""
        now = self.clock()
        if len(self.failures) >= self.max_addresses:
            self.failures.clear()  # crude but bounded; an attacker only resets his own delay too
        hits = self._recent(address, now)
        hits.append(now)
        extra = len(hits) - self.free
        return 0.0 if extra <= 0 else min(5.0, 0.25 * 2 ** (extra - 1))

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)


class OfficeSessions:
    """What a signed cookie alone cannot do: forget a session at logout, also after a restart.

    Each login gets a random id, carried in the signed cookie, and a row in the store that says
    until when it is good (LIFETIME after the login, a working day). Logging out deletes the row,
    so a copy of the cookie stops working with it, whatever happens to the process afterwards.
    Only a hash of the id is stored: a copy of the database is no session. The rows live in
    `service_state` under their own prefix (`vp-session:`), expired ones removed at each login.
    A password change ends every session too: the cookie carries a fingerprint of the hash."""

    PREFIX = "vp-session:"
    LIFETIME = timedelta(hours=8)

    def __init__(self, engine: Engine, clock: Callable[[], datetime]):
        self.engine, self.clock = engine, clock

    def _key(self, session_id: str) -> str:
        return self.PREFIX + hashlib.sha256(session_id.encode()).hexdigest()[:28]  # fits the 40-character key

    def start(self, user: str) -> str:
        session_id, now = secrets.token_urlsafe(24), self.clock()
        with Session(self.engine) as db:
            db.exec(delete(StateRow).where(col(StateRow.key).startswith(self.PREFIX), col(StateRow.at) < now))
            db.add(StateRow(key=self._key(session_id), at=now + self.LIFETIME, value=user, updated_at=now))
            db.commit()
        return session_id

    def alive(self, session_id: object, user: str) -> bool:
        if not isinstance(session_id, str) or not session_id:
            return False
        with Session(self.engine) as db:
            row = db.get(StateRow, self._key(session_id))
        return row is not None and row.value == user and row.at is not None and row.at > self.clock()

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            with Session(self.engine) as db:
                db.exec(delete(StateRow).where(col(StateRow.key) == self._key(session_id)))
                db.commit()


class Verifier:
    """argon2 checks, each ~0.1-0.2 s of CPU: in the thread pool, so the pages (and the mail sent
    from the same event loop) never wait for one; at most `concurrency` at once, so a burst of
    logins cannot take every core; and one at a time per address, so a burst from one address
    queues behind itself while a login from anywhere else waits for at most one check per busy
    address. One per app: an app serves on one event loop."""

    def __init__(self, concurrency: int = 2):
        self.slots = asyncio.Semaphore(concurrency)
        self.queues: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, address: str):
        lock, users = self.queues.get(address, (asyncio.Lock(), 0))
        self.queues[address] = (lock, users + 1)
        try:
            async with lock, self.slots:
                yield
        finally:
            lock, users = self.queues[address]
            if users <= 1:
                del self.queues[address]
            else:
                self.queues[address] = (lock, users - 1)

    async def check(self, stored_hash: str | None, password: str) -> bool:
        """Call within turn()."""
        return await asyncio.to_thread(check_password, stored_hash, password)


class BodyTooLarge(Exception):
    pass


async def read_form(request: Request, max_body: int, max_fields: int) -> dict[str, str]:
    """A form's fields, read within `max_body` bytes and `max_fields` fields whatever the request
    says about itself (a chunked body has no length to check beforehand). Raises BodyTooLarge.
    Starlette's own parser has no bound on a urlencoded body and answers an over-long
    multipart field in English, losing the whole form."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_body:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise BodyTooLarge
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":  # not what our forms send, but a browser may
        whole = bytes(body)

        async def replay() -> dict:
            return {"type": "http.request", "body": whole, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=0, max_fields=max_fields,
                                                               max_part_size=max_body)
        except HTTPException:  # too many fields, or a malformed body
            raise BodyTooLarge from None
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise BodyTooLarge from None
    return dict(pairs)

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
