"""The web process of `baocao run` (service/webproc): real processes, signals and a real port.
It is started again when it dies or hangs, and never outlives its parent."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

from tests.conftest import Process, children_of
from tests.service.test_exactly_once import MOMENT, child_env, many_units, stop, wait_until
from tests.service.test_healthz import healthz, listening_port


def web_child(parent: Process) -> int:
    """The pid of the parent's one child process: its web process."""
    wait_until(lambda: len(children_of(parent.proc.pid)) == 1, timeout=30, what="one web process",
               children=[parent])
    return children_of(parent.proc.pid)[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_web_process_that_dies_or_hangs_is_started_again_and_the_form_answers(tmp_path, config_dir, smtp_server):
    env = child_env(tmp_path, config_dir, f"sqlite:///{tmp_path / 'db.sqlite'}", smtp_server.port,
                    BAOCAO_WEB_HANG_SECONDS="3")
    run = Process([MOMENT, "run"], env)
    try:
        port = listening_port(run)
        assert healthz(port)[0] == 200
        # Every answer is dated, an error page too, once (the loop no longer wakes to date them).
        answer = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        answer.request("GET", "/khong-co-trang-nay")
        response = answer.getresponse()
        dates = response.headers.get_all("Date")
        assert response.status == 404 and len(dates) == 1 and parsedate_to_datetime(dates[0]).tzname() == "UTC"
        answer.close()
        first = web_child(run)
        # Answering its pings (a quarter of the limit apart), it lives on well past the limit.
        time.sleep(12)
        assert not run.saw("không trả lời") and web_child(run) == first

        os.kill(first, signal.SIGKILL)
        run.wait_for(lambda: run.saw(f"Tiến trình phục vụ biểu mẫu (pid {first}) dừng bất ngờ"), what="the death")
        run.wait_for(lambda: run.saw("Đã khởi động lại tiến trình phục vụ biểu mẫu"), what="the restart")
        second = web_child(run)
        assert second != first
        status, body = healthz(port)  # the same port: the socket is the parent's
        assert status == 200 and body["role"] == "leader"

        # A loop that no longer turns (here: stopped) holds the port and answers nobody.
        os.kill(second, signal.SIGSTOP)
        run.wait_for(lambda: run.saw(f"Tiến trình phục vụ biểu mẫu (pid {second}) không trả lời"), timeout=30,
                     what="the hang noticed")
        run.wait_for(lambda: sum("Đã khởi động lại" in line for line in run.lines) == 2, timeout=30,
                     what="the second restart")
        assert not alive(second)
        assert healthz(port)[0] == 200
        assert run.proc.poll() is None

        # systemd's stop signals every process of the unit at once (KillMode=control-group), as
        # a terminal's Ctrl+C does its process group: a clean stop, not a crash and a restart.
        third = web_child(run)
        before = len(run.lines)
        os.kill(third, signal.SIGTERM)  # the web process's signal first: it waits for its parent
        time.sleep(1)
        assert alive(third) and healthz(port)[0] == 200
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(timeout=30)
        assert run.proc.returncode == 0 and run.saw("Đã dừng.")
        assert not any("dừng bất ngờ" in line or "khởi động lại" in line for line in run.lines[before:])
        wait_until(lambda: not alive(third), timeout=10, what="the web process to stop with its parent")
        assert not any("Traceback" in line for line in run.lines)
    finally:
        stop([run])


def test_a_parent_killed_with_sigkill_leaves_no_web_process_serving(tmp_path, config_dir, smtp_server):
    env = child_env(tmp_path, config_dir, f"sqlite:///{tmp_path / 'db.sqlite'}", smtp_server.port)
    run = Process([MOMENT, "run"], env)
    try:
        port = listening_port(run)
        web = web_child(run)
        assert healthz(port)[0] == 200
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=10)
        # The link closes with the parent: the web process stops serving and leaves.
        wait_until(lambda: not alive(web), timeout=15, what="the orphaned web process to leave")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
        # A new run takes the store and the port over as after any crash.
        again = Process([MOMENT, "run"], dict(env, BAOCAO_HTTP_PORT=str(port)))
        try:
            assert listening_port(again) == port
            deadline = time.monotonic() + 10
            while healthz(port)[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert healthz(port)[0] == 200
        finally:
            stop([again])
        assert again.proc.returncode == 0
    finally:
        stop([run])


def test_a_reload_while_the_web_process_hangs_replaces_it_instead_of_stalling_run(tmp_path, config_dir, smtp_server):
    """A province's config is larger than the link's buffers: sent to a web process that no
    longer reads, it must not hold `run` (and the pings that would replace it) for ever."""
    many_units(config_dir, 999)
    env = child_env(tmp_path, config_dir, f"sqlite:///{tmp_path / 'db.sqlite'}", smtp_server.port,
                    BAOCAO_WEB_HANG_SECONDS="600")  # the pings alone would wait ten minutes
    run = Process([MOMENT, "run"], env)
    try:
        port = listening_port(run)
        run.wait_for(lambda: run.saw("Lượt nhắc 02/12/2026"), timeout=120, what="the first tick")
        hung = web_child(run)
        os.kill(hung, signal.SIGSTOP)
        for _ in range(3):  # each reload sends the whole config again
            run.proc.send_signal(signal.SIGHUP)
            time.sleep(2)
        run.wait_for(lambda: run.saw(f"Tiến trình phục vụ biểu mẫu (pid {hung}) không nhận dữ liệu"), timeout=60,
                     what="the stuck send given up")
        run.wait_for(lambda: run.saw("Đã khởi động lại tiến trình phục vụ biểu mẫu"), timeout=60, what="the restart")
        assert not alive(hung)
        wait_until(lambda: healthz(port)[0] == 200, timeout=30, what="the form again", children=[run])
        stop([run])
        assert run.proc.returncode == 0 and run.saw("Đã dừng.")
        assert not any("Traceback" in line for line in run.lines)
    finally:
        stop([run])
        with contextlib.suppress(NameError, ProcessLookupError):
            os.kill(hung, signal.SIGKILL)  # a failed test must not leave it stopped for ever


def nice_values(pid: int) -> dict[int, int]:
    """Each thread's nice value, by thread id (field 19 of /proc/…/stat)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
    return found


def test_the_ticks_work_stands_back_for_the_web_process_also_once_it_is_restarted(tmp_path, config_dir, smtp_server):
    # On two cores, composing 1,000 notices at the same priority as the web process made a unit's
    # form wait up to 200 ms (bench/web_bench.py --only d beside a busy core; 80 ms once niced).
    env = child_env(tmp_path, config_dir, f"sqlite:///{tmp_path / 'db.sqlite'}", smtp_server.port)
    run = Process([MOMENT, "run"], env)
    try:
        run.wait_for(lambda: run.saw("Lượt nhắc 02/12/2026"), timeout=60, what="the start-up tick")
        assert smtp_server.recorder.messages, "the tick sent nothing: its worker threads were not used"
        parent = nice_values(run.proc.pid)
        assert parent.pop(run.proc.pid) == 0  # the event loop: pings, watchdog, the web process's start
        # The planning, composing and recording threads (the link to the web process has one at 0).
        assert list(parent.values()).count(10) >= 2, parent
        first = web_child(run)
        assert set(nice_values(first).values()) == {0}

        os.kill(first, signal.SIGKILL)
        run.wait_for(lambda: run.saw("Đã khởi động lại tiến trình phục vụ biểu mẫu"), what="the restart")
        second = web_child(run)
        assert second != first and set(nice_values(second).values()) == {0}
        assert healthz(listening_port(run))[0] == 200
    finally:
        stop([run])


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it, never a reference count


def test_the_web_process_frees_the_old_config_on_a_reload_though_it_keeps_configs_out_of_full_collections():
    import gc
    import weakref
    from types import SimpleNamespace

    from scheduler.service.webproc import _freeze, take_config

    service = SimpleNamespace(config=None)
    old = _Node()
    gone = weakref.ref(old)
    pages = [old]  # what the form cache holds: the config its pages were rendered under
    take_config(service, old, forget=lambda: None)
    _freeze()
    try:
        assert gc.get_freeze_count() > 0  # the running config: no full pass walks it
        del old
        take_config(service, _Node(), forget=pages.clear)
        _freeze()  # as the web process does once the requests begun under the old config are done
        assert gone() is None and isinstance(service.config, _Node)  # frozen still, it would stay for ever
    finally:
        gc.unfreeze()


def test_warming_the_forms_statements_on_a_store_that_cannot_be_opened_is_no_fault(tmp_path):
    # It runs in the web process once it serves; the first request then says, in Vietnamese,
    # that the database cannot be reached (tests/web/test_busy_store.py).
    from types import SimpleNamespace

    import sqlalchemy as sa

    from scheduler.config.load import load_config
    from scheduler.web.unit_form import warm_store
    from tests.conftest import SHIPPED_CONFIG

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'baocao.db'}")
    config = load_config(SHIPPED_CONFIG)
    warm_store(SimpleNamespace(config=lambda: config, engine=engine))  # returns, raises nothing
    assert not (tmp_path / "missing").exists()
