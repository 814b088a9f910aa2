"""Every command, run as the office runs it (a child process through the real entry point), in the
ways it can go wrong: a Vietnamese message, exit code 1 or 2, never a traceback (issue 10)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHIPPED_CONFIG, sqlite_only

# Every command that works on the store, with arguments that would succeed on a good one.
STORE_COMMANDS = [
    ["status", "--period", "2026-Q4"],
    ["remind"],
    ["plan", "--from", "01/12/2026", "--to", "31/12/2026"],
    ["report", "--period", "2026-Q4", "-o", "bao-cao.docx"],
    ["export", "--period", "2026-Q4", "-o", "so-lieu.xlsx"],
    ["template", "--period", "2026-Q4", "-o", "mau.xlsx"],
    ["request", "--title", "Báo cáo đột xuất về rét đậm", "--deadline", "20/12/2026"],
    ["close", "--period", "2026-Q4"],
    ["confirm-clock", "{today}"],
    ["submit", "--unit", "mt", "--period", "2026-Q4", "{units_yaml}"],
]


def baocao(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`baocao ARGS` as typed in a shell: no BAOCAO_* of ours leaks in; stdout and stderr together."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=cwd, env=clean | env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120)


def assert_refused(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode in (1, 2), result.stdout
    assert "Traceback" not in result.stdout and "Error:" not in result.stdout, result.stdout
    for text in expected:
        assert text in result.stdout, result.stdout


def fill(args: list[str], tmp_path: Path) -> list[str]:
    # The office's today (Asia/Ho_Chi_Minh), as confirm-clock checks it, not the host's: from
    # 17:00 UTC the two differ.
    from datetime import datetime

    from scheduler.clock import TZ

    today = f"{datetime.now(TZ):%d/%m/%Y}"
    return [a.replace("{today}", today).replace("{units_yaml}", str(tmp_path / "khong-co.yaml")) for a in args]


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder that is not the service's: where an admin types a command by mistake."""
    folder = tmp_path / "thu-muc-khac"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=lambda args: args[0])
def test_a_command_run_from_another_folder_creates_nothing_and_says_where_it_looked(elsewhere, tmp_path, args):
    (tmp_path / "khong-co.yaml").write_text("so_lieu: {}\n", encoding="utf-8")
    result = baocao(fill(args, tmp_path), elsewhere, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG),
                    BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"))
    assert_refused(result, f"chưa có cơ sở dữ liệu tại {elsewhere / 'var' / 'baocao.db'}",
                   f"thư mục hiện tại {elsewhere}", "đặt BAOCAO_DATABASE_URL",
                   "khởi động dịch vụ (baocao run) một lần để tạo cơ sở dữ liệu")
    assert result.returncode == 1
    assert list(elsewhere.iterdir()) == []  # no var/, no database, no key


def test_remind_with_the_service_s_database_but_not_its_key_makes_no_key_and_sends_nothing(db_url, tmp_path):
    result = baocao(["remind"], ROOT, BAOCAO_DATABASE_URL=db_url, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG),
                    BAOCAO_SECRET_KEY_FILE=str(tmp_path / "khoa-khac"), BAOCAO_OUTBOX_DIR=str(tmp_path / "outbox"))
    assert_refused(result, f"BAOCAO_SECRET_KEY_FILE: chưa có khoá ký đường dẫn tại {tmp_path / 'khoa-khac'}",
                   "khởi động dịch vụ (baocao run) một lần để tạo khoá")
    assert not (tmp_path / "khoa-khac").exists() and not (tmp_path / "outbox").exists()


@sqlite_only
def test_a_store_left_by_older_code_is_upgraded_by_run_only(db_url, tmp_path):
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    result = baocao(["status", "--period", "2026-Q4"], ROOT, BAOCAO_DATABASE_URL=db_url,
                    BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    assert_refused(result, "ở phiên bản 0003, mã nguồn cần", "khởi động lại dịch vụ (systemctl restart baocao")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)


def test_an_empty_postgresql_database_is_not_taken_for_the_service_s(pg_url):
    result = baocao(["status", "--period", "2026-Q4"], ROOT, BAOCAO_DATABASE_URL=pg_url,
                    BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    assert_refused(result, "chưa phải cơ sở dữ liệu của baocao", "(BAOCAO_DATABASE_URL)")
    import psycopg

    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


# ---------------------------------------------------------------- every command's failure cases


def _busy_port():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


FAILURES = [
    # (id, args, extra environment, what the person reads)
    ("status-unknown-period", ["status", "--period", "2026-Q9"], {}, "không có kỳ '2026-Q9'; các kỳ hiện có: 2026-Q2, 2026-Q3, 2026-Q4"),
    ("status-no-period", ["status"], {}, "Thiếu tuỳ chọn '--period'"),
    ("plan-backwards", ["plan", "--from", "31/12/2026", "--to", "01/12/2026"], {}, "ngày kết thúc trước ngày bắt đầu"),
    ("plan-bad-date", ["plan", "--from", "31/13/2026", "--to", "01/12/2027"], {}, "'31/13/2026' không phải ngày hợp lệ"),
    ("report-missing-folder", ["report", "--period", "2026-Q4", "-o", "{tmp}/khong-co/bao-cao.docx"], {},
     "không có thư mục {tmp}/khong-co"),
    ("template-missing-folder", ["template", "--period", "2026-Q4", "-o", "{tmp}/khong-co/mau.xlsx"], {},
     "không có thư mục {tmp}/khong-co"),
    ("export-missing-folder", ["export", "--period", "2026-Q4", "-o", "{tmp}/khong-co/so-lieu.xlsx"], {},
     "không có thư mục {tmp}/khong-co"),
    ("submit-missing-file", ["submit", "--unit", "MT", "--period", "2026-Q4", "{tmp}/khong-co.xlsx"], {},
     "Tệp '{tmp}/khong-co.xlsx' không tồn tại"),
    ("submit-unknown-unit", ["submit", "--unit", "XYZ", "--period", "2026-Q4", "{tmp}/so-lieu.yaml"], {},
     "không có đơn vị 'XYZ' trong units.yaml"),
    ("confirm-clock-wrong-day", ["confirm-clock", "01/01/2020"], {}, "đồng hồ máy đang báo ngày"),
    ("confirm-clock-typo", ["confirm-clock", "32/12/2026"], {}, "'32/12/2026' không phải ngày hợp lệ"),
    ("request-past-deadline", ["request", "--title", "Báo cáo đột xuất", "--deadline", "01/01/2020"], {},
     "hạn nộp phải sau hôm nay"),
    ("unknown-command", ["gui-bao-cao"], {}, "Không có lệnh 'gui-bao-cao'"),
    ("run-busy-port", ["run"], {"BAOCAO_HTTP_PORT": "{busy}"}, "không mở được cổng 127.0.0.1:{busy}"),
    ("run-database-under-a-file", ["run"], {"BAOCAO_DATABASE_URL": "sqlite:///{tmp}/so-lieu.yaml/baocao.db"},
     "BAOCAO_DATABASE_URL: không tạo được {tmp}/so-lieu.yaml/baocao.db: {tmp}/so-lieu.yaml không phải thư mục"),
    ("check-config-deep-yaml", ["check-config"], {"BAOCAO_CONFIG_DIR": "{tmp}/sau"},
     "{tmp}/sau/units.yaml:1: các khối lồng nhau quá sâu (hơn 50 cấp)"),
    ("submit-deep-yaml", ["submit", "--unit", "MT", "--period", "2026-Q4", "{tmp}/sau.yaml"], {},
     "{tmp}/sau.yaml:1: các khối lồng nhau quá sâu (hơn 50 cấp)"),
    ("status-corrupt-database", ["status", "--period", "2026-Q4"], {"BAOCAO_DATABASE_URL": "sqlite:///{tmp}/hong.db"},
     "tệp cơ sở dữ liệu hỏng hoặc không phải SQLite"),
]


@pytest.mark.parametrize(("args", "extra", "expected"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_every_command_fails_in_vietnamese_without_a_traceback(db_url, tmp_path, args, extra, expected):
    (tmp_path / "so-lieu.yaml").write_text("so_lieu: {}\n", encoding="utf-8")
    (tmp_path / "hong.db").write_bytes(b"Day khong phai co so du lieu SQLite\n" * 200)
    deep = "so_lieu: " + "[" * 20_000 + "]" * 20_000 + "\n"  # once a RecursionError
    (tmp_path / "sau.yaml").write_text(deep, encoding="utf-8")
    shutil.copytree(SHIPPED_CONFIG, tmp_path / "sau")
    (tmp_path / "sau" / "units.yaml").write_text(deep.replace("so_lieu", "units"), encoding="utf-8")
    with _busy_port() as busy:
        port = str(busy.getsockname()[1])

        def sub(text: str) -> str:
            return text.replace("{tmp}", str(tmp_path)).replace("{busy}", port)

        env = {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG),
               "BAOCAO_OUTBOX_DIR": str(tmp_path / "outbox"), "BAOCAO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
               "BAOCAO_HTTP_PORT": "0"} | {k: sub(v) for k, v in extra.items()}
        result = baocao([sub(a) for a in args], ROOT, **env)
    assert_refused(result, sub(expected))


@sqlite_only
def test_a_command_meeting_a_write_lock_held_past_the_busy_timeout_says_so(db_url, tmp_path):
    """Another process (a backup, an sqlite3 shell) holds the write lock for longer than the 30 s
    the command waits: the office reads what is happening, and nothing half-done is stored."""
    path = db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = baocao(["close", "--period", "2026-Q4"], ROOT, BAOCAO_DATABASE_URL=db_url,
                        BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    finally:
        holder.rollback()
        holder.close()
    assert_refused(result, "cơ sở dữ liệu đang bị một tiến trình khác khoá quá lâu", "thử lại sau ít phút")
    assert result.returncode == 1


def test_the_quick_start_keeps_the_database_and_the_outbox_private(tmp_path):
    """Each .eml holds a unit's working form link and the database every figure: 0600 in 0700."""
    import signal

    env = {"BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG), "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"),
           "BAOCAO_HTTP_PORT": "0", "PYTHONUNBUFFERED": "1"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "run_frozen.py"), "2026-11-27T10:00:00+07:00", "run"],
                             cwd=tmp_path, env=clean | env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        outbox = tmp_path / "var" / "outbox"
        while time.monotonic() < deadline and len(list(outbox.glob("*.eml"))) < 18:
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGTERM)
        output = child.communicate(timeout=30)[0]
    assert "Traceback" not in output
    emls = list(outbox.glob("*.eml"))
    assert len(emls) == 18, output
    modes = {p.name: p.stat().st_mode & 0o777 for p in [tmp_path / "var" / "baocao.db", tmp_path / "var" / "secret_key",
                                                         *emls]}
    assert set(modes.values()) == {0o600}, modes
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert outbox.stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------- found by trying it as a new admin


def test_ctrl_c_while_a_command_loads_is_a_quiet_cancel(db_url):
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    child = subprocess.Popen([sys.executable, "-m", "scheduler", "status", "--period", "2026-Q4"], cwd=ROOT,
                             env=clean | {"BAOCAO_DATABASE_URL": db_url, "BAOCAO_CONFIG_DIR": str(SHIPPED_CONFIG)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.15)  # still importing
    child.send_signal(signal.SIGINT)
    output = child.communicate(timeout=30)[0]
    assert child.returncode == 130 and "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert output.strip().endswith("Đã huỷ.")


def test_a_missing_config_folder_says_where_it_looked(db_url, elsewhere):
    result = baocao(["status", "--period", "2026-Q4"], elsewhere, BAOCAO_DATABASE_URL=db_url)
    assert_refused(result, f"không có thư mục cấu hình {elsewhere / 'config'} (thư mục hiện tại {elsewhere})",
                   "đặt BAOCAO_CONFIG_DIR (hay --config THƯ_MỤC)")


def test_a_received_date_before_the_period_began_is_refused_as_day_and_month_swapped(db_url, tmp_path):
    (tmp_path / "kl.yaml").write_text("so_lieu: {}\n", encoding="utf-8")
    env = dict(BAOCAO_DATABASE_URL=db_url, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG), BAOCAO_SECRET_KEY_FILE=str(
        tmp_path / "secret_key"))
    result = baocao(["submit", "--unit", "mt", "--period", "2026-Q4", "--received", "12/04/2026 16:30",
                     str(tmp_path / "kl.yaml")], ROOT, **env)
    assert_refused(result, "ngày nhận 12/04/2026 trước khi kỳ Quý IV/2026 bắt đầu (01/10/2026); kiểm tra lại "
                           "ngày/tháng (viết DD/MM/YYYY)")
    result = baocao(["submit", "--unit", "mt", "--period", "2026-Q4", "--received", "31/11/2026",
                     str(tmp_path / "kl.yaml")], ROOT, **env)
    assert_refused(result, "'31/11/2026' không phải thời điểm hợp lệ", "(ngày phải có thật)")


def test_a_tick_that_meets_a_locked_database_logs_it_in_vietnamese_without_a_traceback(caplog):
    import asyncio
    import logging

    from sqlalchemy.exc import OperationalError

    from scheduler.service.journal import guarded

    async def tick():
        raise OperationalError("INSERT INTO service_state …", {}, sqlite3.OperationalError("database is locked"))

    with caplog.at_level(logging.ERROR, logger="baocao.service"):
        asyncio.run(guarded(tick)())
    [record] = caplog.records
    assert record.exc_info is None  # no traceback in the journal
    assert record.getMessage().startswith("Lượt nhắc không chạy được, thử lại ở lượt kiểm tra tới: cơ sở dữ liệu "
                                          "đang bị một tiến trình khác khoá quá lâu (database is locked)")


def test_a_period_typed_in_lower_case_is_the_period(db_url):
    result = baocao(["status", "--period", "2026-q4"], ROOT, BAOCAO_DATABASE_URL=db_url,
                    BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    assert result.returncode == 0 and result.stdout.startswith("Quý IV/2026 (2026-Q4)"), result.stdout


def test_what_the_system_says_is_said_in_vietnamese(db_url):
    """The operating system's own words (strerror) are English whatever the locale."""
    result = baocao(["export", "--period", "2026-Q4", "-o", "/proc/so-lieu.xlsx"], ROOT, BAOCAO_DATABASE_URL=db_url,
                    BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG))
    assert_refused(result, "không ghi được /proc/so-lieu.xlsx: ")
    assert "No such file" not in result.stdout and "Read-only" not in result.stdout and "denied" not in result.stdout


def test_a_program_that_imports_the_cli_keeps_its_own_ctrl_c():
    """Only the `baocao` command makes Ctrl+C a quiet cancel; pytest, or an admin's script that
    imports the CLI, still stops on it."""
    probe = ("import signal, sys; sys.argv = ['script.py', 'run']; import scheduler.cli.main; "
             "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
             "signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True"], result.stdout + result.stderr
