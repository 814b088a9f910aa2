"""/healthz of a real `baocao run`, and what it tells systemd over NOTIFY_SOCKET."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.conftest import PG_ADMIN, Process
from tests.service.test_exactly_once import MOMENT, child_env, stop, wait_until


def healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def listening_port(child: Process) -> int:
    child.wait_for(lambda: child.saw("nghe tại"), what="the web server")
    line = next(line for line in child.lines if "nghe tại" in line)
    return int(re.search(r"nghe tại [\d.]+:(\d+)", line).group(1))


@pytest.fixture
def notify_socket(tmp_path):
    """A datagram socket standing in for systemd's, collecting what the service says."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    received: list[str] = []

    def drain() -> list[str]:
        while True:
            try:
                received.append(sock.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                return received
    yield path, drain
    sock.close()


def test_healthz_on_sqlite_is_503_while_the_file_is_gone_and_200_once_it_is_back(tmp_path, config_dir, smtp_server,
                                                                                 notify_socket):
    path, drain = notify_socket
    db_file = tmp_path / "db.sqlite"
    env = child_env(tmp_path, config_dir, f"sqlite:///{db_file}", smtp_server.port, NOTIFY_SOCKET=str(path),
                    WATCHDOG_USEC="1000000")
    child = Process([MOMENT, "run"], env)
    try:
        port = listening_port(child)
        child.wait_for(lambda: child.saw("Lượt nhắc 02/12/2026"), what="the start-up tick")
        wait_until(lambda: "READY=1" in drain() and drain().count("WATCHDOG=1") >= 2, timeout=10,
                   what="READY=1 and two watchdog pings", children=[child])
        said = drain()
        assert said.index("READY=1") < said.index("WATCHDOG=1")  # pings only once it is up
        status, body = healthz(port)
        assert status == 200, body
        assert body["status"] == "ok" and body["database"] == {"reachable": True}
        assert body["role"] == "leader"
        assert body["last_tick"].startswith("2026-12-02T08:0") and body["last_tick"].endswith("+07:00")
        assert body["next_tick"] > body["last_tick"] and body["next_tick"].endswith("+07:00")
        assert body["config_loaded_at"].startswith("2026-12-02T08:00")
        assert body["ledger"] == {"pending": 0, "sending": 0, "failed": 0}

        # The file moved away (a disk unmounted, a careless admin): the probe must not create an
        # empty database in its place, and says 503 within its short timeout.
        db_file.rename(tmp_path / "moved.sqlite")
        status, body = healthz(port)
        assert status == 503, body
        assert body["status"] == "lỗi" and body["database"]["reachable"] is False
        assert "không truy cập được cơ sở dữ liệu" in body["database"]["error"]
        assert body["role"] == "leader" and body["ledger"] is None
        assert not db_file.exists()
        (tmp_path / "moved.sqlite").rename(db_file)
        status, body = healthz(port)
        assert status == 200 and body["database"] == {"reachable": True}
        # The journal lines come through a pipe and a reader thread: they may trail the answer.
        child.wait_for(lambda: child.saw("Kiểm tra sức khoẻ: không truy cập được cơ sở dữ liệu"), timeout=5,
                       what="the outage in the journal")
        child.wait_for(lambda: child.saw("cơ sở dữ liệu đã truy cập được trở lại"), timeout=5,
                       what="the recovery in the journal")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/suc-khoe", timeout=5) as response:
            assert json.loads(response.read()) == {"ok": True}
    finally:
        stop([child])
    assert child.proc.returncode == 0
    assert "STOPPING=1" in drain()
    assert not any("Traceback" in line for line in child.lines), "\n".join(child.lines)


def test_healthz_on_postgresql_is_503_while_the_database_refuses_connections_and_200_after(tmp_path, config_dir,
                                                                                           smtp_server, pg_url):
    name = pg_url.rsplit("/", 1)[1]
    env = child_env(tmp_path, config_dir, pg_url, smtp_server.port)
    env.pop("NOTIFY_SOCKET", None)  # started by hand: nothing is sent, nothing fails
    child = Process([MOMENT, "run"], env)
    try:
        port = listening_port(child)
        child.wait_for(lambda: child.saw("Lượt nhắc 02/12/2026"), what="the start-up tick")
        status, body = healthz(port)
        assert status == 200 and body["role"] == "leader", body
        assert body["ledger"]["failed"] == 0
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            # The database goes away for new sessions (as during a restore, or a server going
            # down): no new connection is allowed, and every current one is ended.
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            try:
                status, body = healthz(port)
                assert status == 503, body
                assert body["database"]["reachable"] is False
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        status, body = healthz(port)
        assert status == 200 and body["database"] == {"reachable": True}, body
    finally:
        stop([child])
    assert not any("Traceback" in line for line in child.lines), "\n".join(child.lines)
