"""One leader among several `baocao run` on one store: real processes, a real SMTP server, a
leader killed with SIGKILL in the middle of its batch."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter

from tests.conftest import Process, SmtpServer
from tests.service.test_exactly_once import MOMENT, SlowRecorder, child_env, ledger_rows, many_units, stop, wait_until
from tests.service.test_healthz import healthz, listening_port

LEADS = "chạy lịch nhắc và gửi thư nhắc cho cơ sở dữ liệu"
FOLLOWS = "chỉ phục vụ biểu mẫu và trang Văn phòng"


def pid_of(child: Process) -> int:
    return child.proc.pid  # run_frozen.py runs the CLI in the child's own process


def test_two_runs_on_postgresql_one_ticks_and_the_other_takes_over_a_leader_killed_mid_batch(tmp_path, config_dir,
                                                                                             pg_url):
    smtp = SmtpServer()
    smtp.recorder = SlowRecorder(delay=0.1)
    smtp.start()
    many_units(config_dir, 100)
    # One SMTP connection: at most one message is in flight when the leader dies. A short SMTP
    # timeout and no back-off make its lease (ledger.lease_for) about a minute, and a recheck
    # every minute sends it again soon after.
    env = child_env(tmp_path, config_dir, pg_url, smtp.port, BAOCAO_SMTP_CONNECTIONS="1", BAOCAO_SMTP_TIMEOUT="2",
                    BAOCAO_SMTP_ATTEMPTS="1", BAOCAO_SMTP_RETRY_BASE="0", BAOCAO_RETRY_MINUTES="1")
    children = [Process([MOMENT, "run"], env) for _ in range(2)]
    try:
        wait_until(lambda: all(c.saw(LEADS) or c.saw(FOLLOWS) for c in children), timeout=60,
                   what="both roles", children=children)
        leader, follower = sorted(children, key=lambda c: not c.saw(LEADS))
        assert leader.saw(LEADS) and not leader.saw(FOLLOWS)
        assert follower.saw(FOLLOWS) and not follower.saw(LEADS)
        assert follower.saw(f"Tiến trình khác (baocao run (pid {pid_of(leader)})")
        wait_until(lambda: len(smtp.recorder.messages) >= 30, timeout=60, what="30 messages", children=children)
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait(timeout=10)
        killed_at = time.monotonic()
        # Only the leader ticked and delivered; the follower served the web and waited.
        assert not any("Lượt nhắc" in line or "Đã gửi" in line for line in follower.lines), follower.lines
        time.sleep(0.5)  # the server finishes what it had been given
        at_kill = ledger_rows(pg_url)
        assert len(at_kill) == 100  # every send was claimed before delivery began
        # "sending": taken by the dead leader, a chunk at a time (service/delivery); most of them
        # never reached the server and wait for their lease like the one that did.
        in_flight = {r["message_id"] for r in at_kill if r["status"] == "sending"}
        sent_before = {r["message_id"] for r in at_kill if r["status"] == "sent"}
        assert 28 <= len(sent_before) < 100

        wait_until(lambda: follower.saw(LEADS), timeout=60, what="the follower to take over", children=[follower])
        assert time.monotonic() - killed_at < 60
        wait_until(lambda: all(r["status"] == "sent" for r in ledger_rows(pg_url)), timeout=240,
                   what="every reminder delivered", children=[follower])
        time.sleep(2)  # a duplicate would arrive now
    finally:
        stop(children)
        smtp.stop()
    assert not any("Traceback" in line for c in children for line in c.lines)
    received = Counter(m["Message-ID"] for m in smtp.recorder.messages)
    rows = ledger_rows(pg_url)
    assert set(received) == {r["message_id"] for r in rows} and len(received) == 100  # every one arrived
    repeated = {mid for mid, n in received.items() if n > 1}
    assert repeated <= in_flight  # only a message whose acceptance the dead leader never recorded:
    assert len(repeated) <= 2  # the one on its connection, and one waiting in the outcomes' group commit
    assert all(received[mid] == 1 for mid in sent_before)
    assert any(re.search(r"Lượt nhắc 02/12/2026", line) for line in follower.lines)  # the new leader ticks


def test_a_second_run_on_one_sqlite_file_serves_the_web_names_the_leader_and_takes_over_when_it_stops(
        tmp_path, config_dir, smtp_server):
    db_file = tmp_path / "db.sqlite"
    env = child_env(tmp_path, config_dir, f"sqlite:///{db_file}", smtp_server.port)
    first = Process([MOMENT, "run"], env)
    second = None
    try:
        first.wait_for(lambda: first.saw("Lượt nhắc 02/12/2026"), what="the first run's tick")
        second = Process([MOMENT, "run"], env)
        second.wait_for(lambda: second.saw(FOLLOWS), what="the second run to follow")
        assert second.saw(f"Tiến trình khác (pid {pid_of(first)}) đang chạy lịch nhắc cho cơ sở dữ liệu "
                          f"{db_file.resolve()}")
        assert healthz(listening_port(first))[1]["role"] == "leader"
        status, body = healthz(listening_port(second))
        assert status == 200 and body["role"] == "follower" and body["next_tick"] is None
        assert body["last_tick"] is not None  # the leader's, read from the store
        assert not second.saw("Lượt nhắc")
        assert len(smtp_server.recorder.messages) == 18

        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(timeout=30) == 0
        second.wait_for(lambda: second.saw(LEADS), timeout=30, what="the second run to take over")
        second.wait_for(lambda: second.saw("Lượt nhắc 02/12/2026"), timeout=30, what="its tick")
        assert healthz(listening_port(second))[1]["role"] == "leader"
    finally:
        stop([c for c in (first, second) if c is not None])
    assert len(smtp_server.recorder.messages) == 18  # the new leader owes nothing more
    assert not any("Traceback" in line for c in (first, second) for line in c.lines)
