"""Database edge: the engine, migrations on start, syncing units/periods from the config,
and reading the facts the planner decides from. Callers own the transactions."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from scheduler.policy.periods import Period
from scheduler.config.model import Config
from scheduler.store import reviews
from scheduler.store import dialect
from scheduler.store.tables import PeriodRow, SendRow, StateRow, Submission, UnitRow
from scheduler.policy.planner import Facts

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Checked against Alembic's own view by a test; lets every command skip
# importing and running Alembic (a fifth of `baocao report`'s time) when the schema is current.
SCHEMA_HEAD = "0007"
BUSY_TIMEOUT_S = 30  # how long SQLite waits for another process's write lock, unless a caller says less
NOT_STEPS = ("receipt", reviews.APPROVAL, reviews.RETURNED)  # ledger kinds that stand for no reminder step


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file gets its folder created, WAL and a busy timeout
    (the web form and the scheduler write from different threads)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                # Created private before SQLite opens it (its -wal and -shm files take the same
                # mode): the store holds every unit's figures and the link tokens.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "checkout")
        def _patience(dbapi_conn, _record, _proxy):  # pragma: no cover - trivial
            # Every use starts with the service's own patience for the write lock: a web request
            # that shortened it for itself (web.unit_form.patient) gave the connection back so.
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def schema_is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return _current(conn)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (runs at every start)."""
    if schema_is_current(engine):
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Several processes may start on a new store at once (two instances, a cron `remind`):
    # one migrates, the others wait for it and find the schema current.
    with _migration_lock(engine):
        if schema_is_current(engine):
            return
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite runs DDL outside any transaction: a start stopped half-way would leave a
                # table made and its revision unrecorded, and every later start failing. SQLite's DDL
                # is transactional once a transaction is open; the driver's commit() ends it.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7410330001)"))  # baocao's migration key
                if _current(conn):
                    return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


def _current(conn) -> bool:
    if not sa.inspect(conn).has_table("alembic_version"):
        return False
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD


@contextmanager
def _migration_lock(engine: Engine):
    """Keeps two processes from migrating one store at once. SQLite: an flock on the database's
    folder — never on the database file itself, whose open and close would drop the POSIX locks
    SQLite holds on it in this process (another process would then delete the WAL under us).
    PostgreSQL takes an advisory lock inside the migration's transaction instead."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    fd = os.open(Path(database).resolve().parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


class StoreMissing(Exception):
    """The database a command was pointed at holds no baocao store, or one of another version.
    The message says where it looked and how to point at the right one."""


def _where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{Path(parsed.database).resolve()} (BAOCAO_DATABASE_URL={url}, thư mục hiện tại {Path.cwd()})"
    return f"{parsed.render_as_string(hide_password=True)} (BAOCAO_DATABASE_URL)"


POINT_AT_IT = ("Chạy lệnh với cùng thiết lập như dịch vụ (trong thư mục của dịch vụ, hoặc đặt BAOCAO_DATABASE_URL "
               "trỏ tới cơ sở dữ liệu dịch vụ đang dùng); nếu mới cài đặt, khởi động dịch vụ (baocao run) một lần để "
               "tạo cơ sở dữ liệu.")


def open_existing(url: str) -> Engine:
    """The store every command but `run` uses: it must exist and be at this code's version.

    Only `run` creates or upgrades a store: a command typed in the wrong folder would otherwise
    make a new empty database and report every unit missing, and one typed after an upgrade
    would change the schema under the service still running the old code."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreMissing(f"BAOCAO_DATABASE_URL={url} không trỏ tới tệp cơ sở dữ liệu nào. {POINT_AT_IT}")
        path = Path(parsed.database)
        if not path.is_file() or path.stat().st_size == 0:
            raise StoreMissing(f"chưa có cơ sở dữ liệu tại {_where(url)}. {POINT_AT_IT}")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            has_table = sa.inspect(conn).has_table("alembic_version")
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() if has_table else None
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreMissing(f"không mở được cơ sở dữ liệu {_where(url)}: {exc.orig}") from None
    if revision is None:
        engine.dispose()
        raise StoreMissing(f"{_where(url)} chưa phải cơ sở dữ liệu của baocao. {POINT_AT_IT}")
    if revision > SCHEMA_HEAD:  # revisions are zero-padded numbers
        engine.dispose()
        raise StoreMissing(f"cơ sở dữ liệu {_where(url)} ở phiên bản {revision}, mới hơn mã nguồn này ({SCHEMA_HEAD}): "
                           "lệnh đang chạy từ bản cài đặt cũ; dùng đúng bản cài đặt của dịch vụ.")
    if revision != SCHEMA_HEAD:
        engine.dispose()
        raise StoreMissing(
            f"cơ sở dữ liệu {_where(url)} ở phiên bản {revision}, mã nguồn cần {SCHEMA_HEAD}: khởi động lại dịch vụ "
            "(systemctl restart baocao, hoặc baocao run) để nó nâng cấp cơ sở dữ liệu, rồi chạy lại lệnh này.")
    return engine


def open_store(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


def sync_config(session: Session, config: Config, now: datetime) -> None:
    """Mirror units.yaml and the plan's periods into the store.

    Units present at the very first sync owe every step of the campaign; a unit that
    appears later joins from its first step after `now`. Units removed from the file are
    kept (their history stays) but made inactive.
    """
    # Plain rows, not ORM objects: a province's thousand units are read at every tick.
    units = UnitRow.__table__
    rows = {code: (name, active) for code, name, active in
            session.execute(sa.select(units.c.code, units.c.name, units.c.active)).all()}
    first_sync = not rows
    # New rows are inserted with ON CONFLICT DO NOTHING: several processes starting together on
    # a new store all sync, and the ones that lose the race must not fail.
    insert = _insert(session)
    new = []
    for unit in config.units:
        row = rows.pop(unit.code, None)
        if row is None:
            new.append(dict(code=unit.code, name=unit.name, active=unit.active,
                            joined_at=None if first_sync else now, updated_at=now))
        elif row != (unit.name, unit.active):
            session.execute(sa.update(units).where(units.c.code == unit.code)
                            .values(name=unit.name, active=unit.active, updated_at=now))
    for start in range(0, len(new), 100):
        session.execute(insert(units).values(new[start:start + 100]).on_conflict_do_nothing(index_elements=["code"]))
    gone = [code for code, (_, active) in rows.items() if active]
    if gone:
        session.execute(sa.update(units).where(units.c.code.in_(gone)).values(active=False, updated_at=now))
    stored = {p.key: p for p in session.exec(select(PeriodRow).where(PeriodRow.source == "plan")).all()}
    for period in config.periods:
        row = stored.get(period.key)
        if row is None:
            session.execute(insert(PeriodRow).values(key=period.key, obligation=period.obligation, title=period.title,
                                                     start=period.start, end=period.end, due=period.due,
                                                     source="plan", created_at=now)
                            .on_conflict_do_nothing(index_elements=["key"]))
        elif (row.obligation, row.title, row.start, row.end, row.due) != (
            period.obligation, period.title, period.start, period.end, period.due
        ):
            row.obligation, row.title, row.start, row.end, row.due = (
                period.obligation, period.title, period.start, period.end, period.due)
            session.add(row)


def request_period(row: PeriodRow) -> Period:
    """An on-request report opened by the office, as a period the planner treats like any other."""
    return Period(row.key, row.obligation, row.title, row.start, row.end, row.due,
                  frozenset(row.units) if row.units is not None else None,
                  indicators=frozenset(row.indicators) if row.indicators is not None else None,
                  headings=frozenset(row.headings) if row.headings is not None else None,
                  data_from=row.data_from, data_to=row.data_to)


def request_periods(session: Session) -> list[Period]:
    return [request_period(r) for r in session.exec(select(PeriodRow).where(PeriodRow.source == "request")).all()]


def all_periods(session: Session, config: Config) -> list[Period]:
    """The plan's periods and the office's on-request reports: everything the planner, the
    form and the report treat alike."""
    return list(config.periods) + request_periods(session)


def reported_pairs(session: Session) -> set[tuple[str, str]]:
    """(period key, unit code) for every unit that has reported a period: sent a revision that
    counts (one its head approved, when the plan asks approval; see reviews)."""
    return reviews.reported_pairs(session)


def submitted_among(session: Session, period_keys: set[str], unit_codes: set[str]) -> frozenset[tuple[str, str]]:
    """(period key, unit code) of those units that have sent at least one revision of those
    periods, counted or not: one query for a delivery chunk."""
    if not unit_codes:
        return frozenset()
    sub = Submission.__table__
    rows = session.execute(sa.select(sub.c.period_key, sub.c.unit_code).distinct()
                           .where(sub.c.period_key.in_(period_keys), sub.c.unit_code.in_(unit_codes))).all()
    return frozenset((p, u) for p, u in rows)


REPORT_ERROR = "report-error:"  # service_state key prefix: the newest failure to make a period's report


def closed_periods(session: Session) -> frozenset[str]:
    """Keys of the periods the office has closed."""
    return frozenset(session.exec(select(PeriodRow.key).where(PeriodRow.closed_at.is_not(None))).all())  # type: ignore[union-attr]


def load_facts(session: Session, config: Config, now: datetime) -> Facts:
    """What the planner needs to know from the store, read in one go."""
    reported = reported_pairs(session)
    sent: dict[tuple[str, str, str], datetime] = {}
    reached: dict[tuple[str, str], datetime] = {}
    for p, a, s, kind, at in session.exec(
        select(SendRow.period_key, SendRow.audience, SendRow.step, SendRow.kind, SendRow.scheduled_at)
    ).all():
        sent[(p, a, s)] = at
        # A send planned after now came from a clock that ran ahead; one that gave its step back
        # after the clock was put right (ledger.void_premature, "step~id") stands for no step.
        # Receipts and a revision's approval or return mails are no step of the reminders.
        if kind not in NOT_STEPS and at <= now and "~" not in s:
            reached[(p, a)] = max(reached.get((p, a), at), at)
    units = session.exec(select(UnitRow)).all()
    joined = {u.code: u.joined_at for u in units if u.joined_at is not None}
    if units:
        # Units not synced yet (a preview before the service ran) join from now, as they will.
        known = {u.code for u in units}
        joined.update({u.code: now for u in config.units if u.code not in known})
    closed = closed_periods(session)
    return Facts(reported=frozenset(reported), sent=sent, joined=joined, closed=frozenset(closed),
                 reached=reached)


def read_state(session: Session) -> dict[str, StateRow]:
    return {row.key: row for row in session.exec(select(StateRow)).all()}


def _insert(session: Session):
    return dialect.insert(session)


def put_state(session: Session, key: str, now: datetime, at: datetime | None = None, value: str | None = None) -> None:
    """Upsert one state row: two processes writing the same key at once both succeed. Caller commits."""
    stmt = _insert(session)(StateRow).values(key=key, at=at, value=value, updated_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                               set_={"at": at, "value": value, "updated_at": now}))


def database_problem(exc: BaseException) -> str | None:
    """What a person can do about a database that cannot be used, or None if it is not that."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return None
    detail = str(exc.orig).strip()
    lowered = detail.lower()
    if "locked" in lowered or "busy" in lowered:
        return (f"cơ sở dữ liệu đang bị một tiến trình khác khoá quá lâu ({detail}); thử lại sau ít phút. Nếu lỗi lặp "
                "lại, kiểm tra tiến trình nào đang giữ tệp (fuser -v TỆP) — có thể một lệnh sao lưu hoặc sqlite3 đang mở.")
    if "not a database" in lowered or "malformed" in lowered:
        return (f"tệp cơ sở dữ liệu hỏng hoặc không phải SQLite ({detail}); kiểm tra BAOCAO_DATABASE_URL, hoặc khôi phục "
                "từ bản sao lưu.")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered or "permission" in lowered:
        return (f"không ghi được vào cơ sở dữ liệu ({detail}); người dùng chạy lệnh cần quyền ghi tệp cơ sở dữ liệu và "
                "thư mục chứa nó (chạy bằng đúng người dùng của dịch vụ, ví dụ sudo -u baocao).")
    return f"lỗi cơ sở dữ liệu: {detail}; kiểm tra BAOCAO_DATABASE_URL và máy chủ cơ sở dữ liệu."
