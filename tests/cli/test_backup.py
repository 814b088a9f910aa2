"""`baocao backup` and `baocao restore` (issue 15): a copy taken while another process is writing
gives back, in a new database, the same submissions, revisions, ledger and reports row for row;
and every refusal says in Vietnamese what to do."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from scheduler.clock import TZ
from scheduler.store.db import SCHEMA_HEAD, make_engine
from tests.conftest import cli_run, full, sqlite_only, store_return, tick_at


def rows(url: str) -> dict[str, list[tuple]]:
    """Every table of the store, every row, in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = {"alembic_version": conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()}
            for table in SQLModel.metadata.sorted_tables:
                found[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key))]
        return found
    finally:
        engine.dispose()


@pytest.fixture
def busy_store(smtp_server, make_service, db_url):
    """A store as a quarter leaves it: mails sent, units' revisions (one corrected, one late),
    their links, and two versions of the consolidated report."""
    service = make_service(smtp_server.port)
    tick_at(service, "2026-11-24T08:00:00+07:00")  # the notices
    store_return(service, "BPMC", datetime(2026, 12, 2, 9, tzinfo=TZ), full())
    store_return(service, "BPMC", datetime(2026, 12, 3, 15, tzinfo=TZ), full(so_hoa={"num": 931, "den": 931}),
                 revision=2)
    store_return(service, "KL", datetime(2026, 12, 4, 16, tzinfo=TZ), full())
    with Session(service.engine) as session:
        service.link(session, "2026-Q4", "TTBVTV", datetime(2026, 12, 1, 9, tzinfo=TZ))
        session.commit()
    tick_at(service, "2026-12-07T08:00:00+07:00")  # overdue mails, the digest, report version 1
    store_return(service, "TTBVTV", datetime(2026, 12, 8, 9, tzinfo=TZ), full(hai_long={"num": 400, "den": 420}))
    tick_at(service, "2026-12-08T09:05:00+07:00")  # a late report: version 2
    service.engine.dispose()  # the service's own connections closed: only the writer below holds the file
    before = rows(db_url)
    assert len(before["submission"]) == 4 and len(before["report"]) == 2 and len(before["send"]) > 10
    assert before["link"]
    return db_url, before


def database(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@sqlite_only
def test_a_backup_taken_during_a_write_restores_into_a_new_database_row_for_row(busy_store, tmp_path):
    db_url, before = busy_store
    writer = sqlite3.connect(database(db_url), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the service in the middle of a tick: holds the write lock
    writer.execute("INSERT INTO service_state (key, value, updated_at) VALUES ('chua-ghi', 'x', '2026-12-08')")
    backup = tmp_path / "sao-luu" / "baocao-2026-12-08.db"
    backup.parent.mkdir()
    try:
        made = cli_run(["backup", "-o", str(backup)], db_url)
    finally:
        writer.execute("COMMIT")  # the tick ends after the copy was taken
        writer.close()
    assert made.exit_code == 0, made.output
    size = made.output.split(f"vào {backup} (")[1].split(";")[0]
    assert made.output.splitlines()[0] == (
        f"Đã sao lưu {database(db_url)} vào {backup} ({size}; 4 bản báo cáo của đơn vị (mọi lần gửi), "
        f"{len(before['send'])} thư trong sổ gửi thư, 2 bản báo cáo tổng hợp).")
    assert "Khoá ký đường dẫn" in made.output and "không nằm trong bản sao lưu" in made.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # figures and link tokens: the service's user only
    assert sorted(p.name for p in backup.parent.iterdir()) == [backup.name]  # no temporary file left, no -wal

    new_url = f"sqlite:///{tmp_path / 'may-moi' / 'baocao.db'}"
    restored = cli_run(["restore", str(backup)], new_url)
    assert restored.exit_code == 0, restored.output
    assert restored.output.splitlines() == [
        f"Đã khôi phục {database(new_url)} từ {backup} (4 bản báo cáo của đơn vị (mọi lần gửi), "
        f"{len(before['send'])} thư trong sổ gửi thư, 2 bản báo cáo tổng hợp).",
        "Khởi động lại dịch vụ (systemctl start baocao, hoặc baocao run)."]
    after = rows(new_url)
    assert after == before  # the write not committed when the copy began is not in it
    for table in ("submission", "send", "report", "link"):  # said again by name: what the issue asks for
        assert after[table] == before[table]
    assert stat.S_IMODE(database(new_url).stat().st_mode) == 0o600
    assert cli_run(["status", "--period", "2026-Q4"], new_url).exit_code == 0  # the service's commands use it


@sqlite_only
def test_restoring_over_the_service_database_keeps_the_one_it_replaces(busy_store, tmp_path):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    conn = sqlite3.connect(database(db_url))  # what happened after the backup, lost by the restore
    conn.execute("DELETE FROM report")
    conn.commit()
    conn.close()
    changed = rows(db_url)
    restored = cli_run(["restore", str(backup)], db_url)
    assert restored.exit_code == 0, restored.output
    [kept] = [p for p in database(db_url).parent.iterdir() if ".truoc-khoi-phuc-" in p.name]
    assert kept.name.startswith("baocao.db.truoc-khoi-phuc-")
    assert f"Cơ sở dữ liệu trước khi khôi phục được giữ tại {kept}." in restored.output
    assert rows(db_url) == before
    assert rows(f"sqlite:///{kept}") == changed  # the WAL was folded in: the kept file alone has everything


@sqlite_only
def test_a_damaged_database_is_replaced_and_kept_aside(busy_store, tmp_path):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    database(db_url).write_bytes(b"\x00" * 4096)  # the disk lost it
    restored = cli_run(["restore", str(backup)], db_url)
    assert restored.exit_code == 0, restored.output
    # Kept with whatever -wal and -shm it had: they belong to it, not to the restored file.
    [kept] = [p for p in database(db_url).parent.iterdir() if ".truoc-khoi-phuc-" in p.name and p.name[-4] != "-"]
    assert kept.read_bytes() == b"\x00" * 4096
    assert rows(db_url) == before


def test_backup_refuses_to_overwrite_a_file_unless_told_to(busy_store, tmp_path):
    db_url, _ = busy_store
    backup = tmp_path / "sao-luu.db"
    backup.write_bytes(b"ban sao luu hom qua")
    refused = cli_run(["backup", "-o", str(backup)], db_url)
    assert refused.exit_code == 1
    assert refused.output == f"Lỗi: đã có tệp {backup}; chọn tên khác, hoặc thêm --force để ghi đè\n"
    assert backup.read_bytes() == b"ban sao luu hom qua"
    forced = cli_run(["backup", "-o", str(backup), "--force"], db_url)
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    missing = cli_run(["backup", "-o", str(tmp_path / "khong-co" / "x.db")], db_url)
    assert missing.exit_code == 1 and "không có thư mục" in missing.output


def test_backup_of_a_database_that_does_not_exist_says_where_it_looked(tmp_path, service_key):
    url = f"sqlite:///{tmp_path / 'nham-cho.db'}"
    result = cli_run(["backup", "-o", str(tmp_path / "x.db")], url)
    assert result.exit_code == 1
    assert result.output.startswith(f"Lỗi: chưa có cơ sở dữ liệu tại {tmp_path / 'nham-cho.db'}")
    assert not (tmp_path / "nham-cho.db").exists() and not (tmp_path / "x.db").exists()


@sqlite_only
def test_restore_refuses_while_the_service_has_the_database_open(busy_store, make_service, tmp_path):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    service = make_service()  # running, idle between ticks: its pool keeps a connection open
    service.sync()
    refused = cli_run(["restore", str(backup)], db_url)
    assert refused.exit_code == 1
    assert refused.output == (
        f"Lỗi: cơ sở dữ liệu {database(db_url)} đang được một tiến trình khác mở (dịch vụ baocao đang chạy?); chưa "
        "khôi phục gì: dừng dịch vụ trước (systemctl stop baocao, hoặc Ctrl+C ở cửa sổ đang chạy baocao run) rồi chạy "
        "lại lệnh\n")
    service.engine.dispose()
    assert not [p for p in database(db_url).parent.iterdir() if "khoi-phuc" in p.name]  # nothing moved, no copy left
    assert rows(db_url) == before


@sqlite_only
def test_restore_refuses_while_another_process_is_writing(busy_store, tmp_path):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    writer = sqlite3.connect(database(db_url), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        refused = cli_run(["restore", str(backup)], db_url)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert refused.exit_code == 1 and "đang được một tiến trình khác mở" in refused.output
    assert rows(db_url) == before


def test_restore_refuses_a_file_that_is_no_baocao_backup(tmp_path, service_key):
    url = f"sqlite:///{tmp_path / 'baocao.db'}"
    text = tmp_path / "ghi-chu.txt"
    text.write_text("không phải cơ sở dữ liệu", encoding="utf-8")
    other = tmp_path / "khac.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE danh_ba (ten TEXT)")
    for wrong in (text, other):
        refused = cli_run(["restore", str(wrong)], url)
        assert refused.exit_code == 1
        assert refused.output == (f"Lỗi: {wrong} không phải bản sao lưu của baocao (không có bảng alembic_version); "
                                  "chọn tệp do baocao backup ghi\n")
    assert not (tmp_path / "baocao.db").exists()
    absent = cli_run(["restore", str(tmp_path / "khong-co.db")], url)
    assert absent.exit_code == 2 and "không tồn tại" in absent.output, absent.output


@sqlite_only
def test_restore_refuses_a_backup_newer_than_the_code(busy_store, tmp_path):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    with closing(sqlite3.connect(backup)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    refused = cli_run(["restore", str(backup)], db_url)
    assert refused.exit_code == 1
    assert refused.output == (
        f"Lỗi: bản sao lưu {backup} ở phiên bản 0099, mới hơn mã nguồn này ({SCHEMA_HEAD}): cài bản baocao đã ghi bản "
        "sao lưu này (hoặc mới hơn) rồi khôi phục\n")
    assert rows(db_url) == before


@sqlite_only
def test_an_older_backup_is_restored_and_upgraded_by_the_next_run(busy_store, tmp_path, make_service):
    db_url, before = busy_store
    backup = tmp_path / "sao-luu.db"
    assert cli_run(["backup", "-o", str(backup)], db_url).exit_code == 0
    with closing(sqlite3.connect(backup)) as conn, conn:  # as the previous release would have it (its columns still there)
        conn.execute("UPDATE alembic_version SET version_num = '0006'")
    new_url = f"sqlite:///{tmp_path / 'moi.db'}"
    restored = cli_run(["restore", str(backup)], new_url)
    assert restored.exit_code == 0, restored.output
    assert restored.output.splitlines()[-1] == (
        "Khởi động lại dịch vụ (systemctl start baocao, hoặc baocao run). Bản sao lưu ở phiên bản 0006; dịch vụ nâng "
        f"cấp lên {SCHEMA_HEAD} khi khởi động.")


needs_pg_dump = pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump (postgresql-client)")


@needs_pg_dump
def test_on_postgresql_backup_runs_pg_dump_and_restore_says_how(pg_url, tmp_path, service_key):
    from scheduler.store.db import open_store

    open_store(pg_url).dispose()
    backup = tmp_path / "baocao.dump"
    made = cli_run(["backup", "-o", str(backup)], pg_url)
    assert made.exit_code == 0, made.output
    assert made.output.startswith(f"Đã sao lưu {pg_url} vào {backup} (")
    assert "bằng: pg_dump --format=custom --no-owner --dbname=postgresql://postgres@127.0.0.1:5432/" in made.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    listing = subprocess.run(["pg_restore", "--list", str(backup)], capture_output=True, text=True, check=True).stdout
    assert "TABLE public submission" in listing and "TABLE DATA public alembic_version" in listing
    again = cli_run(["backup", "-o", str(backup)], pg_url)
    assert again.exit_code == 1 and "thêm --force để ghi đè" in again.output
    restore = cli_run(["restore", str(backup)], pg_url)
    assert restore.exit_code == 1
    assert restore.output.startswith("Lỗi: cơ sở dữ liệu là PostgreSQL: khôi phục bằng pg_restore. ")
    assert "pg_restore --clean --if-exists --no-owner --dbname=postgresql://postgres@127.0.0.1:5432/" in restore.output


def test_on_postgresql_without_pg_dump_backup_prints_the_command_without_the_password(tmp_path, service_key,
                                                                                      monkeypatch):
    nothing = tmp_path / "bin"
    nothing.mkdir()
    monkeypatch.setenv("PATH", str(nothing))
    url = "postgresql+psycopg://baocao:mat-khau-bi-mat@db.so.local:5432/baocao"
    result = cli_run(["backup", "-o", str(tmp_path / "baocao.dump")], url)
    assert result.exit_code == 1
    assert result.output == (
        "Lỗi: cơ sở dữ liệu là PostgreSQL và máy này không có pg_dump (cài gói postgresql-client); sao lưu bằng lệnh "
        "(mật khẩu: đặt biến PGPASSWORD hoặc ghi vào ~/.pgpass):\n"
        "  pg_dump --format=custom --no-owner --dbname=postgresql://baocao@db.so.local:5432/baocao "
        f"--file={tmp_path / 'baocao.dump'}\n")
    assert "mat-khau-bi-mat" not in result.output
