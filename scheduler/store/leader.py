"""Who runs the scheduler, and how the store looks to a health check.

Any number of `baocao run` may serve the web on one store; one of them, the leader, ticks (plans,
claims, delivers, makes reports). Leadership is a lock the operating system or the database drops
by itself when its holder dies, so a SIGKILLed leader never has to be cleaned up after:

- PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on a connection of its own,
  outside the pool — a pooled connection could be closed or recycled under it, and with it the
  lock. PostgreSQL releases the lock when the session ends (the process died, the network
  dropped), and another instance takes it.
- SQLite: an flock on a hidden file beside the database (`.<name>.leader`), never on the database
  itself (closing any descriptor of that file would drop SQLite's own POSIX locks in this process).
  The file holds the leader's pid, so a second instance can say who leads.

Exactly-once is the ledger's (ledger.take is one conditional UPDATE): the lock only keeps one
planner, so a lost or doubled leadership costs a duplicate tick at most, never a duplicate mail.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from scheduler.policy import clockcheck
from scheduler.store.tables import SendRow, StateRow

LEADER_KEY = 7410330002  # baocao's scheduler key; 7410330001 is the migrations' (store.db)
PROBE_TIMEOUT = 2  # seconds: a health check answers well before a load balancer gives up on it


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def describe(url: str) -> str:
    """The store as the journal names it: the file, or the server and database without a password."""
    path = _sqlite_path(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


class LeaderLock:
    """The scheduler's lock for one store. Every method blocks (call it from a thread)."""

    def __init__(self, url: str):
        self.url = url
        self.path = _sqlite_path(url)
        self.postgres = make_url(url).get_backend_name() == "postgresql"
        self._fd: int | None = None
        self._conn: sa.Connection | None = None
        self._engine: Engine | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits for it."""
        if self.held:
            return True
        if self.postgres:
            return self._try_postgres()
        if self.path is None:  # an in-memory store: nobody else can share it
            self._fd = -1
            return True
        return self._try_flock()

    def _try_flock(self) -> bool:
        import fcntl

        lock_file = self.path.with_name(f".{self.path.name}.leader")
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _try_postgres(self) -> bool:
        if self._engine is None:
            # TCP keepalives: a leader whose server went away (or the network between) finds out
            # at the next check instead of believing it still leads.
            self._engine = sa.create_engine(self.url, poolclass=NullPool, connect_args={
                "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 20, "keepalives_interval": 5,
                "keepalives_count": 3, "application_name": f"baocao run (pid {os.getpid()})"})
        conn = self._engine.connect()
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}).scalar()
            conn.commit()  # the lock is the session's: no transaction left open on this connection
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self) -> bool:
        """Whether this process still holds the lock. An flock cannot be lost while the process
        lives; an advisory lock lives exactly as long as its session, so the session is asked."""
        if self._conn is None:
            return self._fd is not None
        try:
            alive = self._conn.execute(sa.text("SELECT 1")).scalar() == 1
            self._conn.commit()
            return alive
        except Exception:  # noqa: BLE001 - a dropped connection in whatever form the driver says it
            self._drop()
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is gone already; nothing to release
                pass

    def holder(self) -> str | None:
        """Who holds the lock, as far as the store can tell: a pid, and a client address."""
        if self.postgres:
            try:
                engine = sa.create_engine(self.url, poolclass=NullPool, connect_args={"connect_timeout": 5})
                try:
                    with engine.connect() as conn:
                        row = conn.execute(sa.text(
                            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a "
                            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                            "l.classid = :hi AND l.objid = :lo AND l.objsubid = 1 AND "
                            # an advisory lock is the database's: another store on the server
                            # (another office, a test database) holds its own under the same key
                            "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                            {"hi": LEADER_KEY >> 32, "lo": LEADER_KEY & 0xFFFFFFFF}).first()
                finally:
                    engine.dispose()
            except Exception:  # noqa: BLE001 - only for the journal's wording
                return None
            if row is None:
                return None
            return f"{row[0] or 'tiến trình khác'}" + (f" từ {row[1]}" if row[1] else "")
        if self.path is None:
            return None
        try:
            pid = self.path.with_name(f".{self.path.name}.leader").read_text().strip()
        except OSError:
            return None
        return f"pid {pid}" if pid else None

    def release(self) -> None:
        if self._fd is not None:
            if self._fd >= 0:
                os.close(self._fd)  # releases the flock
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_KEY})
                self._conn.commit()
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
            self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@functools.lru_cache(maxsize=4)
def _probe_engine(url: str) -> Engine:
    """A connection of its own for every probe (NullPool), with short timeouts: the pool's
    connections wait 30 s for a SQLite lock, and a fresh connection is what finds a database
    dropped or unreadable. The engine itself is made once: a load balancer asks every few
    seconds, and each new engine set up its dialect again."""
    path = _sqlite_path(url)
    if path is not None:
        # Read-only: a probe must never create an empty database where the real one went missing.
        return sa.create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=PROBE_TIMEOUT, check_same_thread=False))
    if make_url(url).get_backend_name() == "postgresql":
        return sa.create_engine(url, poolclass=NullPool, connect_args={
            "connect_timeout": PROBE_TIMEOUT, "options": f"-c statement_timeout={PROBE_TIMEOUT * 1000}"})
    return sa.create_engine(url, poolclass=NullPool)


def probe(url: str) -> dict:
    """The store as a health check sees it: reachable, the ledger's backlog and failures, and the
    newest tick any instance recorded. Raises whatever the database raised when it cannot answer."""
    send, state = SendRow.__table__, StateRow.__table__
    with _probe_engine(url).connect() as conn:  # a new connection, closed after (NullPool)
        conn.execute(sa.text("SELECT 1"))
        counts = dict(conn.execute(sa.select(send.c.status, sa.func.count()).group_by(send.c.status)).all())
        newest = conn.execute(sa.select(state.c.at).where(state.c.key == clockcheck.NEWEST_TICK)).scalar()
    return {"pending": counts.get("pending", 0), "sending": counts.get("sending", 0),
            "failed": counts.get("failed", 0), "last_tick": newest}
