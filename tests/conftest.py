"""Shared fixtures: the shipped config, a scratch copy an admin can break, a fresh SQLite file."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pydantic.v1  # noqa: F401  (FastAPI imports it lazily; under freezegun that import fails)
import pytest

from scheduler.clock import TZ
from scheduler.config.load import load_config
from scheduler.config.model import Config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "config"

# Named instants, all Asia/Ho_Chi_Minh.
Q2_2026_DEADLINE = datetime(2026, 6, 5, tzinfo=TZ)
Q3_2026_DEADLINE = datetime(2026, 9, 5, tzinfo=TZ)
Q4_2026_DEADLINE = datetime(2026, 12, 5, tzinfo=TZ)


@pytest.fixture(scope="session")
def shipped_config() -> Config:
    return load_config(SHIPPED_CONFIG)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config the test may edit."""
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    return target


@pytest.fixture
def db_url(tmp_path: Path, service_key) -> str:
    """A new, empty store, as the service's first start leaves it: only `run` creates one, and
    every other command refuses a missing database (issue 10)."""
    from scheduler.store.db import open_store

    url = f"sqlite:///{tmp_path / 'baocao.db'}"
    open_store(url).dispose()
    return url


@pytest.fixture
def service_key(tmp_path: Path, monkeypatch) -> Path:
    """The link-signing key `run` makes on its first start, at tmp_path/secret_key, and the
    environment pointing every command of the test at it."""
    from scheduler.settings import Settings

    path = tmp_path / "secret_key"
    Settings(secret_key_file=path).secret(create=True)
    monkeypatch.setenv("BAOCAO_SECRET_KEY_FILE", str(path))
    return path


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a config file the way an admin would, failing loudly if `old` is absent."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the nth line containing `needle`."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


# ---------------------------------------------------------------- a real SMTP server

import asyncio  # noqa: E402
import email  # noqa: E402
import socket  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.policy import default as default_policy  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402


class MailRecorder:
    """aiosmtpd handler that keeps what it accepts and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}  # address → SMTP reply, e.g. "550 5.1.1 ..."

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        # Stored as a mailbox keeps it (LF line ends), as the recipient's client reads it.
        self.messages.append(email.message_from_bytes(envelope.content.replace(b"\r\n", b"\n"),
                                                      policy=default_policy))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def take(self) -> list[EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that a test can stop and start (to play 'SMTP down')."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = MailRecorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_service(tmp_path, db_url):
    """Build a Service the way `baocao run` does, on a fresh SQLite file, mailing to a port."""
    from scheduler.clock import system_clock
    from scheduler.service.tick import Service
    from scheduler.settings import Settings
    from scheduler.store.db import open_store

    engines = []

    def build(port: int | None = None, config_dir: Path = SHIPPED_CONFIG, **overrides):
        values = dict(
            database_url=db_url, config_dir=config_dir, templates_dir=ROOT / "templates",
            outbox_dir=tmp_path / "outbox", smtp_retry_base=0.01, smtp_timeout=5,
            secret_key_file=tmp_path / "secret_key", public_url="http://127.0.0.1:8080",
        )
        if port is not None:
            values |= dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        settings = Settings(**(values | overrides))
        engine = open_store(settings.database_url)
        engines.append(engine)
        return Service(settings, system_clock, load_config(config_dir), engine)

    yield build
    for engine in engines:
        engine.dispose()


def tick_at(service, moment: str):
    """Run one tick with the clock pinned at `moment` (ISO, with offset)."""
    from freezegun import freeze_time

    with freeze_time(moment, real_asyncio=True):
        return asyncio.run(service.tick())


def retry_at(service, moment: str):
    """Deliver what is waiting, with the clock pinned at `moment` (ISO, with offset)."""
    from freezegun import freeze_time

    with freeze_time(moment, real_asyncio=True):
        return asyncio.run(service.retry())


# ---------------------------------------------------------------- the web app over real HTTP

import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402


class SettableClock:
    """The clock passed to the web app; a test moves it (e.g. past the deadline)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


OFFICE_PASSWORD = "mật khẩu Văn phòng 2026"


@dataclass
class Web:
    base: str
    service: object
    clock: SettableClock
    ctx: object

    def link(self, unit: str, period: str = "2026-Q4") -> str:
        """The path of a unit's form, as its reminder mail would carry it."""
        from sqlmodel import Session

        with Session(self.service.engine) as session:
            url = self.service.link(session, period, unit, self.clock())
            session.commit()
        return url.replace(self.service.settings.public_url, "")


@pytest.fixture
def web(tmp_path, db_url, smtp_server):
    import uvicorn
    from sqlmodel import Session

    from scheduler.store import db
    from scheduler.service.tick import Service
    from scheduler.settings import Settings
    from scheduler.web import WebContext, create_app
    from scheduler.web.security import hash_password

    port = free_port()
    clock = SettableClock(Q4_2026_DEADLINE.replace(day=2, hour=9))
    settings = Settings(
        database_url=db_url, config_dir=SHIPPED_CONFIG, templates_dir=ROOT / "templates",
        secret_key_file=tmp_path / "secret_key", public_url=f"http://127.0.0.1:{port}",
        office_password_hash=hash_password(OFFICE_PASSWORD), smtp_host="127.0.0.1", smtp_port=smtp_server.port,
        smtp_security="none", smtp_retry_base=0.01,
    )
    engine = db.open_store(db_url)
    service = Service(settings, clock, load_config(SHIPPED_CONFIG), engine)
    with Session(engine) as session:
        db.sync_config(session, service.config, clock())
        session.commit()
    ctx = WebContext(settings, clock, engine, lambda: service.config, after_submit=service.deliver_soon)
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    import time as _time
    deadline = _time.monotonic() + 10
    while not server.started and _time.monotonic() < deadline:
        _time.sleep(0.02)
    assert server.started, "the web app did not start"
    yield Web(f"http://127.0.0.1:{port}", service, clock, ctx)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


# ---------------------------------------------------------------- PostgreSQL (127.0.0.1:5432)

import uuid  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards. In CI the server
    is always there: a missing server fails the test rather than skipping it silently."""
    import os

    import psycopg

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (pg_ctlcluster 15 main start)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"baocao_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path):
    """The same test on a SQLite file and on PostgreSQL, both not yet holding a store (unlike
    db_url, which another fixture of the same test may have created beside it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any-backend.db'}"
    return request.getfixturevalue("pg_url")
