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


# BAOCAO_TEST_DATABASE=postgresql runs the whole suite with its store on PostgreSQL (127.0.0.1:5432),
# as .ci/run's third pass does; tests about SQLite itself (its file, its write lock, its backup
# API) are marked sqlite_only and skipped there.
ON_POSTGRESQL = __import__("os").environ.get("BAOCAO_TEST_DATABASE") == "postgresql"
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="about SQLite itself (its file, its locks); not this pass's store")


@pytest.fixture
def db_url(tmp_path: Path, service_key):
    """A new, empty store, as the service's first start leaves it: only `run` creates one, and
    every other command refuses a missing database (issue 10). A SQLite file; with
    BAOCAO_TEST_DATABASE=postgresql, a fresh PostgreSQL database dropped afterwards."""
    from scheduler.store.db import open_store

    if ON_POSTGRESQL:
        import uuid

        import psycopg

        name = f"baocao_s_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        open_store(url).dispose()
        yield url
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    url = f"sqlite:///{tmp_path / 'baocao.db'}"
    open_store(url).dispose()
    yield url


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
import contextlib  # noqa: E402
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


@contextlib.contextmanager
def serving(tmp_path: Path, db_url: str, smtp_server, config_dir: Path, now: datetime):
    """The web app on `config_dir` with its clock at `now`, over real HTTP on a free port,
    mailing to the test's SMTP server; stopped when the block ends."""
    import uvicorn
    from sqlmodel import Session

    from scheduler.store import db
    from scheduler.service.tick import Service
    from scheduler.settings import Settings
    from scheduler.web import WebContext, create_app
    from scheduler.web.security import hash_password

    port = free_port()
    clock = SettableClock(now)
    settings = Settings(
        database_url=db_url, config_dir=config_dir, templates_dir=ROOT / "templates",
        secret_key_file=tmp_path / "secret_key", public_url=f"http://127.0.0.1:{port}",
        office_password_hash=hash_password(OFFICE_PASSWORD), smtp_host="127.0.0.1", smtp_port=smtp_server.port,
        smtp_security="none", smtp_retry_base=0.01, outbox_dir=tmp_path / "outbox",
    )
    engine = db.open_store(db_url)
    service = Service(settings, clock, load_config(config_dir), engine)
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
    try:
        yield Web(f"http://127.0.0.1:{port}", service, clock, ctx)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def web(tmp_path, db_url, smtp_server):
    with serving(tmp_path, db_url, smtp_server, SHIPPED_CONFIG, Q4_2026_DEADLINE.replace(day=2, hour=9)) as running:
        yield running


def example_config(tmp_path: Path, name: str) -> Path:
    """A copy of config/examples/<name> (e.g. "003-kiem-soat-tthc") the test may edit."""
    target = tmp_path / f"config-{name}"
    shutil.copytree(SHIPPED_CONFIG / "examples" / name, target)
    return target


@pytest.fixture
def web_at(tmp_path, db_url, smtp_server):
    """Like `web`, for another config and moment: `web_at(config_dir, now)` starts the app on
    that config with the clock at `now`, over real HTTP, and returns the same Web handle."""
    with contextlib.ExitStack() as stack:
        yield lambda config_dir, now: stack.enter_context(serving(tmp_path, db_url, smtp_server, config_dir, now))


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


# ---------------------------------------------------------------- helpers several test modules use

import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402

import httpx  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from scheduler.cli.main import cli  # noqa: E402
from scheduler.report.consolidate import Returned  # noqa: E402
from scheduler.report.docx import TEMPLATE  # noqa: E402
from scheduler.store.tables import Submission  # noqa: E402

SHIPPED_DOCX = ROOT / "templates" / "docx"
HOSTILE = "Đã tuyên truyền <script>alert(\"x\")</script> & 'trích dẫn' — “ngoặc kép” ở xã Tân Tiến"


# (was in tests/cli/test_cli.py)
def cli_run(args, db_url, config_dir=SHIPPED_CONFIG):
    env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(config_dir)}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


# (was in tests/report/test_report.py)
def returned(code, figures, on_time=True, revision=1, narrative=None):
    return Returned(code, revision, on_time, datetime(2026, 12, 3, 9, tzinfo=TZ), figures, narrative or {})


# (was in tests/report/test_report.py)
def full(**overrides):
    base = {"quan_triet": {"num": 6, "den": 6}, "cam_tay_chi_viec": {"num": 6, "den": 6},
            "huong_dan": {"num": 1250, "den": 1250}, "tu_thao_tac": {"num": 1180, "den": 1250},
            "so_hoa": {"num": 930, "den": 930}, "truc_tuyen": {"num": 880, "den": 930}, "thanh_toan": None,
            "ket_qua_dien_tu": {"num": 870, "den": 930}, "hai_long": {"num": 410, "den": 420},
            "tai_su_dung": {"num": 800, "den": 930}, "toan_trinh": {"num": 15, "den": 15}}
    return base | overrides


# (was in tests/report/test_report.py)
def store_return(service, unit, moment, figures, revision=1):
    service.sync()  # units and periods in the store, as the running service has them
    with Session(service.engine) as session:
        session.add(Submission(period_key="2026-Q4", unit_code=unit, revision=revision, received_at=moment,
                               on_time=moment < Q4_2026_DEADLINE, channel="form", figures=figures,
                               narrative={"tuyen_truyen": "Đã làm."}))
        session.commit()


# (was in tests/report/test_report_template.py)
def templates_with(tmp_path: Path, old: str, new: str, part: str = "word/document.xml") -> Path:
    """A copy of templates/ whose bao-cao.docx has `old` replaced by `new` inside the zip, as a
    clerk retyping a placeholder in Word leaves it."""
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    docx = target / "docx" / TEMPLATE
    with zipfile.ZipFile(SHIPPED_DOCX / TEMPLATE) as source, zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                text = data.decode("utf-8")
                assert old in text, f"{old!r} not in {part}"
                data = text.replace(old, new, 1).encode("utf-8")
            out.writestr(item, data)
    return target


# (was in tests/service/test_service_process.py)
def children_of(pid: int) -> list[int]:
    """The pids a process has started and that still run (for `run`: its web process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


class Process:
    """A child `baocao` whose stdout is collected line by line as it runs."""

    def __init__(self, args, env):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "run_frozen.py"), *args], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._drained = False

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout=30.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None and not predicate():
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; output:\n" + "\n".join(self.lines))

    def saw(self, text: str) -> bool:
        if not self._drained and self.proc.poll() is not None:
            # Once it has exited, every line it wrote counts. Waited for once and bounded: a
            # process it started may still hold the pipe open.
            self._reader.join(timeout=5)
            self._drained = True
        return any(text in line for line in self.lines)


# (was in tests/web/test_office.py)
FIGURES = {"quan_triet": (6, 6), "cam_tay_chi_viec": (6, 6), "huong_dan": (1250, 1250), "tu_thao_tac": (1180, 1250),
           "so_hoa": (930, 930), "truc_tuyen": (880, 930), "thanh_toan": None, "ket_qua_dien_tu": (870, 930),
           "hai_long": (410, 420), "tai_su_dung": (800, 930), "toan_trinh": (15, 15)}


# (was in tests/web/test_office.py)
NARRATIVE = {"tuyen_truyen": HOSTILE, "truc_tuyen_thanh_toan": "Nội dung truc_tuyen_thanh_toan.",
             "so_hoa": "Nội dung so_hoa.", "chat_luong": "Nội dung chat_luong.", "phuong_huong": "Nội dung phuong_huong."}


# (was in tests/web/test_office.py)
BY = "Nguyễn Thị Hồng Nhung, chuyên viên"


# (was in tests/web/test_office.py)
def login(client: httpx.Client, password: str = OFFICE_PASSWORD) -> httpx.Response:
    page = client.get("/vp/dang-nhap")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    return client.post("/vp/dang-nhap", data={"csrf": csrf, "user": "vanphong", "password": password})


# (was in tests/web/test_office.py)
def office_run(web, *args):
    """The CLI as the office runs it, on the same database and clock as the web app."""
    from scheduler.cli.main import App

    return CliRunner().invoke(cli, list(args), obj=App(web.service.settings, web.clock), catch_exceptions=False)


# (was in tests/web/test_office.py)
def fill_template(path, figures, narrative, by):
    """What a focal point does in Excel: type numbers, an x, the texts; then save."""
    wb = load_workbook(path)
    ws = wb["Báo cáo"]
    ws["C5"] = by
    rows = {ws[f"A{r}"].value: r for r in range(8, ws.max_row + 1)}
    for key, value in figures.items():
        if value is None:
            ws[f"F{rows[key]}"] = "x"
        else:
            ws[f"D{rows[key]}"], ws[f"E{rows[key]}"] = value
    for key, text in narrative.items():
        ws[f"C{rows['h:' + key]}"] = text
    wb.save(path)




# (was in tests/web/test_web_form.py)
def valid_form(**overrides) -> dict[str, str]:
    """Every field filled as a careful focal point would, all targets met."""
    data = {"submitted_by": "Nguyễn Thị Hồng Nhung, chuyên viên"}
    counts = {"quan_triet": (6, 6), "cam_tay_chi_viec": (6, 6), "huong_dan": (1250, 1250), "tu_thao_tac": (1180, 1250),
              "so_hoa": (930, 930), "truc_tuyen": (880, 930), "thanh_toan": None, "ket_qua_dien_tu": (870, 930),
              "hai_long": (410, 420), "tai_su_dung": (800, 930), "toan_trinh": (15, 15)}
    for key, value in counts.items():
        if value is None:
            data[f"{key}__kps"] = "1"
        else:
            data[f"{key}__num"], data[f"{key}__den"] = str(value[0]), str(value[1])
    for heading in ("tuyen_truyen", "truc_tuyen_thanh_toan", "so_hoa", "chat_luong", "phuong_huong"):
        data[f"h__{heading}"] = f"Nội dung {heading}."
    data["h__tuyen_truyen"] = HOSTILE
    return data | overrides


# (was in tests/web/test_web_form.py)
def open_form(client: httpx.Client, path: str) -> tuple[httpx.Response, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    return page, csrf


# (was in tests/web/test_web_form.py)
def stored(web, unit: str) -> list[Submission]:
    with Session(web.service.engine) as session:
        return list(session.exec(select(Submission).where(Submission.unit_code == unit)
                                 .order_by(Submission.revision)).all())
