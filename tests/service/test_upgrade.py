"""Upgrades (issue 15): the migrations build the models' schema from nothing on SQLite and on
PostgreSQL, carry a store of the previous release (0006) holding data to the newest revision the
way `baocao run` does, never drop a table or a column, and agree with the models."""

from __future__ import annotations

import ast
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

from scheduler.store import db
from scheduler.store.db import MIGRATIONS, SCHEMA_HEAD, make_engine, open_store
from scheduler.store.tables import LinkRow, PeriodRow, ReportRow, SendRow, StateRow, Submission, UnitRow

PREVIOUS_RELEASE = "0006"
VERSIONS = MIGRATIONS / "versions"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def test_the_newest_migration_is_the_one_the_code_expects():
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def test_an_empty_database_is_migrated_to_the_models_schema(any_db_url):
    engine = open_store(any_db_url)  # as the first `baocao run` does
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
            tables = set(sa.inspect(conn).get_table_names())
        assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
        open_store(any_db_url).dispose()  # a second start finds it current and changes nothing
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_describe_the_same_schema(any_db_url):
    """Adding a column to tables.py without a migration (or the reverse) fails here."""
    engine = open_store(any_db_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                           SQLModel.metadata)
        assert differences == []
    finally:
        engine.dispose()


# ---------------------------------------------------------------- a store of the previous release

DOCX = b"PK\x03\x04 bao cao ban 1"
PDF = b"%PDF-1.7 bao cao ban 1"


def fill_previous_release(url: str) -> None:
    """What a 0006 store holds after a quarter, written with plain SQL as that release wrote it."""
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"

    def at(text: str) -> str:  # UTC; SQLite keeps it without an offset (tables.UTCDateTime)
        return f"'{text}+00'" if pg else f"'{text}'"

    statements = [
        "INSERT INTO unit (code, name, active, joined_at, updated_at) VALUES "
        f"('BPMC', 'Bộ phận Một cửa', TRUE, NULL, {at('2026-11-24 01:00:00')}), "
        f"('TTBVTV', 'Chi cục Trồng trọt và Bảo vệ thực vật', TRUE, {at('2026-11-30 02:00:00')}, "
        f"{at('2026-11-30 02:00:00')}), "
        f"('KL', 'Chi cục Kiểm lâm', FALSE, NULL, {at('2026-12-01 01:00:00')})",
        'INSERT INTO period (key, obligation, title, start, "end", due, source, units, created_at, closed_at) VALUES '
        f"('2026-Q4', 'quy', 'Quý IV năm 2026', '2026-09-15', '2026-12-14', '2026-12-05', 'plan', NULL, "
        f"{at('2026-11-24 01:00:00')}, NULL), "
        f"('YC-20261220-1', 'quy', 'Báo cáo rà soát thủ tục hành chính', '2026-12-10', '2026-12-20', '2026-12-20', "
        f"'request', '[\"BPMC\", \"TTBVTV\"]', {at('2026-12-10 03:00:00')}, {at('2026-12-21 01:00:00')})",
        "INSERT INTO submission (id, period_key, unit_code, revision, received_at, on_time, channel, figures, narrative, "
        "submitted_by) VALUES "
        f"(1, '2026-Q4', 'BPMC', 1, {at('2026-12-02 02:00:00')}, TRUE, 'form', "
        "'{\"so_hoa\": {\"num\": 930, \"den\": 930}, \"thanh_toan\": null}', "
        "'{\"tuyen_truyen\": \"Đã niêm yết quy trình “một cửa”.\"}', 'Hà Thị Thu Trang, chuyên viên'), "
        f"(2, '2026-Q4', 'BPMC', 2, {at('2026-12-03 08:30:00')}, TRUE, 'file', "
        "'{\"so_hoa\": {\"num\": 931, \"den\": 931}}', '{}', 'Hà Thị Thu Trang'), "
        f"(3, '2026-Q4', 'TTBVTV', 1, {at('2026-12-08 02:00:00')}, FALSE, 'office', NULL, NULL, NULL)",
        "INSERT INTO send (id, period_key, audience, step, kind, scheduled_at, created_at, status, attempts, last_error, "
        "message_id, to_addrs, cc_addrs, next_attempt_at, sent_at, retry_rcpts, ref) VALUES "
        f"(1, '2026-Q4', 'TTBVTV', 'overdue+1', 'overdue', {at('2026-12-07 01:00:00')}, {at('2026-12-07 01:00:01')}, "
        "'sent', 1, NULL, '<2026-Q4.TTBVTV.overdue+1@baocao>', '[\"ttbvtv.daumoi@example.org\"]', "
        f"'[\"ttbvtv.truongdonvi@example.org\"]', NULL, {at('2026-12-07 01:00:03')}, NULL, NULL), "
        f"(2, '2026-Q4', 'BPMC', 'receipt#2', 'receipt', {at('2026-12-03 08:30:00')}, {at('2026-12-03 08:30:00')}, "
        f"'pending', 2, '421 4.7.0 thử lại sau', NULL, '[\"a@example.org\", \"b@example.org\"]', NULL, "
        f"{at('2026-12-03 08:40:00')}, NULL, '[\"b@example.org\"]', 2), "
        f"(3, '2026-Q4', '*', 'report-v1', 'report', {at('2026-12-07 01:00:00')}, {at('2026-12-07 01:00:00')}, "
        f"'failed', 3, '550 5.1.1 không có hộp thư', NULL, '[\"vanphong@example.org\"]', NULL, NULL, NULL, NULL, 1)",
        "INSERT INTO link (id, period_key, unit_code, salt, token_hash, created_at, revoked_at) VALUES "
        f"(1, '2026-Q4', 'TTBVTV', 'muoi-1', '{'a' * 64}', {at('2026-11-24 01:00:00')}, NULL), "
        f"(2, '2026-Q4', 'BPMC', 'muoi-2', '{'b' * 64}', {at('2026-11-24 01:00:00')}, {at('2026-12-21 01:00:00')})",
        "INSERT INTO service_state (key, at, value, updated_at) VALUES "
        f"('first_tick', {at('2026-11-24 01:00:00')}, NULL, {at('2026-11-24 01:00:00')}), "
        f"('clock_confirmed', {at('2026-12-07 01:30:00')}, '07/12/2026', {at('2026-12-07 01:30:00')})",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(
            "INSERT INTO report (id, period_key, version, created_at, filename, content, pdf, sources, mailed_at) "
            f"VALUES (1, '2026-Q4', 1, {at('2026-12-07 01:00:00')}, 'bao-cao-2026-Q4-ban-1.docx', :docx, :pdf, "
            f"'{{\"BPMC\": 2}}', NULL), (2, '2026-Q4', 2, {at('2026-12-08 02:05:00')}, 'bao-cao-2026-Q4-ban-2.docx', "
            f":docx, NULL, '{{\"BPMC\": 2, \"TTBVTV\": 1}}', {at('2026-12-08 02:05:09')})"),
            {"docx": DOCX, "pdf": PDF})
    engine.dispose()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_a_store_of_the_previous_release_keeps_everything_when_run_upgrades_it(any_db_url):
    upgrade_to(any_db_url, PREVIOUS_RELEASE)
    fill_previous_release(any_db_url)
    engine = open_store(any_db_url)  # what `baocao run` does at its start after the upgrade
    try:
        with Session(engine) as session:
            units = session.exec(select(UnitRow).order_by(UnitRow.code)).all()
            assert [(u.code, u.name, u.active, u.joined_at) for u in units] == [
                ("BPMC", "Bộ phận Một cửa", True, None), ("KL", "Chi cục Kiểm lâm", False, None),
                ("TTBVTV", "Chi cục Trồng trọt và Bảo vệ thực vật", True, utc(2026, 11, 30, 2))]
            periods = session.exec(select(PeriodRow).order_by(PeriodRow.key)).all()
            assert [(p.key, p.source, p.start, p.end, p.due, p.units, p.closed_at) for p in periods] == [
                ("2026-Q4", "plan", date(2026, 9, 15), date(2026, 12, 14), date(2026, 12, 5), None, None),
                ("YC-20261220-1", "request", date(2026, 12, 10), date(2026, 12, 20), date(2026, 12, 20),
                 ["BPMC", "TTBVTV"], utc(2026, 12, 21, 1))]
            # The columns 0007 added: a request made before asks everything, over days not said.
            assert {(p.indicators, p.headings, p.data_from, p.data_to) for p in periods} == {(None, None, None, None)}
            subs = session.exec(select(Submission).order_by(Submission.id)).all()
            assert [(s.unit_code, s.revision, s.received_at, s.on_time, s.channel, s.figures, s.narrative,
                     s.submitted_by, s.note) for s in subs] == [
                ("BPMC", 1, utc(2026, 12, 2, 2), True, "form", {"so_hoa": {"num": 930, "den": 930}, "thanh_toan": None},
                 {"tuyen_truyen": "Đã niêm yết quy trình “một cửa”."}, "Hà Thị Thu Trang, chuyên viên", None),
                ("BPMC", 2, utc(2026, 12, 3, 8, 30), True, "file", {"so_hoa": {"num": 931, "den": 931}}, {},
                 "Hà Thị Thu Trang", None),
                ("TTBVTV", 1, utc(2026, 12, 8, 2), False, "office", None, None, None, None)]
            sends = session.exec(select(SendRow).order_by(SendRow.id)).all()
            assert [(s.audience, s.step, s.status, s.attempts, s.last_error, s.message_id, s.to_addrs, s.cc_addrs,
                     s.next_attempt_at, s.sent_at, s.retry_rcpts, s.ref) for s in sends] == [
                ("TTBVTV", "overdue+1", "sent", 1, None, "<2026-Q4.TTBVTV.overdue+1@baocao>",
                 ["ttbvtv.daumoi@example.org"], ["ttbvtv.truongdonvi@example.org"], None, utc(2026, 12, 7, 1, 0, 3),
                 None, None),
                ("BPMC", "receipt#2", "pending", 2, "421 4.7.0 thử lại sau", None, ["a@example.org", "b@example.org"],
                 None, utc(2026, 12, 3, 8, 40), None, ["b@example.org"], 2),
                ("*", "report-v1", "failed", 3, "550 5.1.1 không có hộp thư", None, ["vanphong@example.org"], None,
                 None, None, None, 1)]
            reports = session.exec(select(ReportRow).order_by(ReportRow.id)).all()
            assert [(r.version, r.filename, r.content, r.pdf, r.sources, r.created_at, r.mailed_at)
                    for r in reports] == [
                (1, "bao-cao-2026-Q4-ban-1.docx", DOCX, PDF, {"BPMC": 2}, utc(2026, 12, 7, 1), None),
                (2, "bao-cao-2026-Q4-ban-2.docx", DOCX, None, {"BPMC": 2, "TTBVTV": 1}, utc(2026, 12, 8, 2, 5),
                 utc(2026, 12, 8, 2, 5, 9))]
            links = session.exec(select(LinkRow).order_by(LinkRow.id)).all()
            assert [(k.unit_code, k.salt, k.token_hash, k.revoked_at, k.role) for k in links] == [
                ("TTBVTV", "muoi-1", "a" * 64, None, "unit"),  # every old link opened a unit's form
                ("BPMC", "muoi-2", "b" * 64, utc(2026, 12, 21, 1), "unit")]
            state = {s.key: (s.at, s.value) for s in session.exec(select(StateRow)).all()}
            assert state == {"first_tick": (utc(2026, 11, 24, 1), None),
                             "clock_confirmed": (utc(2026, 12, 7, 1, 30), "07/12/2026")}
            # What the service reads from it: the revisions count as reported (no approval then).
            assert db.reported_pairs(session) == {("2026-Q4", "BPMC"), ("2026-Q4", "TTBVTV")}
        inspector = sa.inspect(engine)
        assert {"review", "audit"} <= set(inspector.get_table_names())
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM review")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM audit")).scalar() == 0
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    SQLModel.metadata) == []
    finally:
        engine.dispose()


# ---------------------------------------------------------------- migrations only add

DROPS = {"drop_table", "drop_column", "drop_table_comment"}
DROP_SQL = ("DROP TABLE", "DROP COLUMN", "DELETE FROM", "TRUNCATE")


def data_lost_by_upgrade(name: str, source: str) -> list[str]:
    """What upgrade() of one migration drops or deletes, read from its source."""
    tree = ast.parse(source, filename=name)
    [upgrade] = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"]
    found = []
    for node in ast.walk(upgrade):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DROPS:
            found.append(f"{name}:{node.lineno}: {node.func.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for sql in DROP_SQL:
                if sql in node.value.upper():
                    found.append(f"{name}:{node.lineno}: {sql}")
    return found


def test_no_migration_drops_a_table_or_a_column_or_deletes_rows():
    migrations = sorted(VERSIONS.glob("[0-9]*.py"))
    assert migrations[-1].name[:4] == SCHEMA_HEAD
    lost = {p.name: data_lost_by_upgrade(p.name, p.read_text(encoding="utf-8")) for p in migrations}
    assert lost == {p.name: [] for p in migrations}


def test_the_check_sees_a_drop():
    """0007's downgrade() drops tables and columns: read as an upgrade(), the check reports each."""
    source = (VERSIONS / "0007_console.py").read_text(encoding="utf-8")
    as_upgrade = source.replace("def upgrade()", "def old_upgrade()").replace("def downgrade()", "def upgrade()")
    lost = data_lost_by_upgrade("0007_console.py", as_upgrade)
    assert {entry.rsplit(": ", 1)[1] for entry in lost} == {"drop_table", "drop_column"}
    assert len(lost) == 8
