"""Exactly once between real processes: several deliverers on one store, a deliverer killed with
SIGKILL mid-batch, signals at start-up. A real aiosmtpd server counts what arrives."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import MailRecorder, Process, ROOT, SmtpServer, sqlite_only

MOMENT = "2026-12-02T08:00:30+07:00"  # reminder-3 of Q4 2026 for every unit (no digest that day)


class SlowRecorder(MailRecorder):
    """An SMTP server that takes its time over each message, so that deliveries overlap and a
    kill lands mid-batch. A message counts as received once its DATA is complete, before the 250:
    a client killed in that instant is a message in flight."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp():
    server = SmtpServer()
    server.recorder = SlowRecorder(delay=0.05)
    server.start()
    yield server
    server.stop()


def many_units(config_dir, count: int) -> None:
    """units.yaml with `count` units, as a province's office would have."""
    lines = ["units:"]
    for n in range(1, count + 1):
        code = f"DV{n:03d}"
        lines += [f"  - code: {code}", f"    name: Đơn vị số {n}", "    active: true",
                  "    head:", f"      name: Thủ trưởng đơn vị {n}", f"      email: {code.lower()}.truong@example.org",
                  "    focal_points:", f"      - name: Đầu mối {n}", f"        email: {code.lower()}.daumoi@example.org",
                  "    obligations: [quy]", ""]
    (config_dir / "units.yaml").write_text("\n".join(lines), encoding="utf-8")


def child_env(tmp_path, config_dir, db_url, smtp_port, **extra) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", BAOCAO_DATABASE_URL=db_url, BAOCAO_CONFIG_DIR=str(config_dir),
               BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=str(tmp_path / "secret"),
               BAOCAO_SECRET_KEY="k" * 40, BAOCAO_HTTP_PORT="0", BAOCAO_SMTP_HOST="127.0.0.1",
               BAOCAO_SMTP_PORT=str(smtp_port), BAOCAO_SMTP_SECURITY="none", BAOCAO_OUTBOX_DIR=str(tmp_path / "outbox"))
    env.update(extra)
    return env


def ledger_rows(db_url: str) -> list[dict]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(
                "SELECT audience, step, status, message_id, attempts FROM send"))]
    finally:
        engine.dispose()


def _store_ready(db_url: str) -> bool:
    from scheduler.store.db import StoreMissing, open_existing

    try:
        open_existing(db_url).dispose()
        return True
    except StoreMissing:
        return False


def wait_until(predicate, timeout: float, what: str, children=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    output = "\n".join(line for c in children for line in c.lines[-30:])
    raise AssertionError(f"timed out waiting for {what}; output:\n{output}")


def stop(children) -> None:
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.proc.kill()


def test_two_runs_and_two_reminds_at_once_deliver_each_message_exactly_once(tmp_path, config_dir, any_db_url,
                                                                              slow_smtp):
    # Enough units that the delivery outlasts the later processes' start: each takes rows a chunk
    # at a time (service/delivery), and the race must be real (checked at the end).
    many_units(config_dir, 240)
    env = child_env(tmp_path, config_dir, any_db_url, slow_smtp.port)
    # The two services race to create the store; the reminds (a cron job, the admin) join as soon
    # as it exists: only `run` creates a store, and the others refuse a missing one (issue 10).
    children = [Process([MOMENT, "run"], env) for _ in range(2)]
    try:
        wait_until(lambda: _store_ready(any_db_url), timeout=60, what="the store", children=children)
        children[1:1] = [Process([MOMENT, "remind"], env)]
        children.append(Process([MOMENT, "remind"], env))
        # 240 reminders, everyone settled, nothing left waiting
        wait_until(lambda: len(slow_smtp.recorder.messages) >= 240 and all(
            r["status"] == "sent" for r in ledger_rows(any_db_url)) and len(ledger_rows(any_db_url)) == 240,
            timeout=240, what="all 240 sends", children=children)
        time.sleep(2)  # a duplicate would arrive now
        reminds = [c for c in children if c.proc.args[-1] == "remind"]
        for child in reminds:
            assert child.proc.wait(timeout=60) == 0, "\n".join(child.lines)
    finally:
        stop(children)
    for child in children:
        assert not any("Traceback" in line for line in child.lines), "\n".join(child.lines)
    received = Counter(m["Message-ID"] for m in slow_smtp.recorder.messages)
    rows = ledger_rows(any_db_url)
    assert len(rows) == 240
    assert set(received) == {r["message_id"] for r in rows}
    assert [mid for mid, n in received.items() if n > 1] == []  # nobody got a message twice
    focal = Counter(a for _, rcpts in slow_smtp.recorder.envelopes for a in rcpts if a.endswith(".daumoi@example.org"))
    assert len(focal) == 240 and set(focal.values()) == {1}
    # The race was real: more than one process delivered part of the batch.
    delivering = [c for c in children if any(line.startswith("INFO baocao.service: Đã gửi") for line in c.lines)]
    assert len(delivering) >= 2, [c.lines[-5:] for c in children]


def test_a_run_killed_mid_batch_resends_after_the_lease_only_what_was_in_flight(tmp_path, config_dir, db_url):
    from scheduler.store import ledger
    from scheduler.settings import Settings

    smtp = SmtpServer()
    smtp.recorder = SlowRecorder(delay=0.1)
    smtp.start()
    try:
        many_units(config_dir, 100)
        env = child_env(tmp_path, config_dir, db_url, smtp.port)
        first = Process([MOMENT, "run"], env)
        try:
            wait_until(lambda: len(smtp.recorder.messages) >= 40, timeout=60, what="40 messages", children=[first])
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(timeout=10)
        finally:
            if first.proc.poll() is None:
                first.proc.kill()
        time.sleep(0.5)  # let the server finish what it had been given
        at_kill = ledger_rows(db_url)
        sent_before = {r["message_id"] for r in at_kill if r["status"] == "sent"}
        in_flight = {r["message_id"] for r in at_kill if r["status"] == "sending"}
        received_before = Counter(m["Message-ID"] for m in smtp.recorder.messages)
        assert len(at_kill) == 100  # every send was claimed before delivery began
        connections = Settings().smtp_connections
        # "sending": taken by the killed run, a chunk at a time (service/delivery); most of them
        # never reached the server. Only those SMTP had accepted can arrive twice (below).
        assert 40 - 2 * connections <= len(sent_before) < 100
        assert sent_before <= set(received_before)

        # Restarted once the lease has run out (the clock of the new process says so).
        defaults = Settings()
        lease = ledger.lease_for(defaults.smtp_timeout, defaults.smtp_attempts, defaults.smtp_retry_base)
        later = (datetime.fromisoformat(MOMENT) + lease + timedelta(minutes=1)).isoformat()
        second = Process([later, "run"], env)
        try:
            wait_until(lambda: all(r["status"] == "sent" for r in ledger_rows(db_url)), timeout=60,
                       what="every send delivered", children=[second])
            time.sleep(1)
        finally:
            stop([second])
        assert not any("Traceback" in line for line in first.lines + second.lines)
    finally:
        smtp.stop()
    received = Counter(m["Message-ID"] for m in smtp.recorder.messages)
    rows = ledger_rows(db_url)
    assert set(received) == {r["message_id"] for r in rows}  # none lost
    repeated = {mid for mid, n in received.items() if n > 1}
    assert repeated <= in_flight  # only messages in flight at the kill went twice, with their Message-ID:
    # one per connection, and those whose outcome waited in the group commit being written
    assert len(repeated) <= 2 * connections
    assert all(received[mid] == 1 for mid in sent_before)  # nothing recorded as sent went again
    assert len(received) == 100 and sum(received.values()) <= 100 + len(in_flight)


def _catches(pid: int, sig: int) -> bool:
    """Whether the process has a handler for sig (the SigCgt mask in /proc/<pid>/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask >> (sig - 1) & 1)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_a_tenth_of_a_second_after_start_is_handled_not_fatal(tmp_path, config_dir, sig):
    """The real entry point (`python -m scheduler run`), as systemd starts it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
               BAOCAO_CONFIG_DIR=str(config_dir), BAOCAO_OUTBOX_DIR=str(tmp_path / "outbox"),
               BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=str(tmp_path / "secret"),
               BAOCAO_HTTP_PORT="0")
    env.pop("BAOCAO_SMTP_HOST", None)
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # As early as the process can hear it: the moment its handler is in place, while `run`
        # is still importing. (Before that, no program can handle a signal, and systemd sends
        # none: a reload waits for the start job. A fixed 0.1 s raced the interpreter's own
        # start on a loaded machine and killed it with the default action.)
        wait_until(lambda: _catches(proc.pid, sig) or proc.poll() is not None, timeout=30, what="the handler")
        proc.send_signal(sig)
        if sig == signal.SIGTERM:
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0, out  # a clean stop, as systemd expects
            assert "Traceback" not in out
            return
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("baocao đang chạy" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert proc.poll() is None, "".join(lines)  # still running
        assert any("Đã nạp lại cấu hình" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Đã dừng." in out
        assert "Traceback" not in "".join(lines) + out
    finally:
        if proc.poll() is None:
            proc.kill()


@sqlite_only
def test_a_run_that_migrated_a_new_store_keeps_its_locks_while_other_commands_come_and_go(tmp_path, config_dir, db_url,
                                                                                          smtp_server):
    """`run` migrates a new SQLite store (as on every upgrade); `status` and `remind` open and
    close it beside the running service. SQLite's own locks must survive the migration, or the
    last of them to close deletes the WAL that `run` still writes to."""
    env = child_env(tmp_path, config_dir, db_url, smtp_server.port)
    service = Process(["2026-12-02T07:59:45+07:00", "run"], env)
    try:
        service.wait_for(lambda: service.saw("baocao đang chạy"), what="the service to start")
        status = subprocess.run([sys.executable, str(ROOT / "tests" / "run_frozen.py"), "2026-12-02T07:59:50+07:00",
                                 "status", "--period", "2026-Q4"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        service.wait_for(lambda: service.saw("Lượt nhắc 02/12/2026 08:00"), timeout=60, what="the 08:00 tick")
        remind = subprocess.run([sys.executable, str(ROOT / "tests" / "run_frozen.py"), "2026-12-02T08:01:30+07:00",
                                 "remind"], env=env, capture_output=True, text=True, timeout=60)
        assert remind.returncode == 0, remind.stdout + remind.stderr
        assert remind.stdout.strip().endswith("mới: 0, đã gửi: 0, lỗi vĩnh viễn: 0, chờ gửi lại: 0, huỷ: 0.")
    finally:
        stop([service])
    assert not any("Traceback" in line or "disk I/O error" in line for line in service.lines), "\n".join(service.lines)
    received = Counter(m["Message-ID"] for m in smtp_server.recorder.messages)
    assert len(received) == 18 and set(received.values()) == {1}
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM send WHERE status = 'sent'").fetchone() == (18,)


def test_a_second_run_on_a_busy_port_says_so_in_vietnamese(tmp_path, config_dir):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
                   BAOCAO_CONFIG_DIR=str(config_dir), BAOCAO_OUTBOX_DIR=str(tmp_path / "outbox"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=str(tmp_path / "secret"),
                   BAOCAO_HTTP_PORT=str(port))
        env.pop("BAOCAO_SMTP_HOST", None)
        done = subprocess.run([sys.executable, "-m", "scheduler", "run"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 1
    assert f"không mở được cổng 127.0.0.1:{port}" in done.stderr and "BAOCAO_HTTP_PORT" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
