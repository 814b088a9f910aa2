"""The web form and the office's pages, served by a process of their own.

A tick composing a thousand mails holds the interpreter for seconds, and a unit's GET waited its
turn (issue 16: up to 18 s, still 0.8 s once the tick was made lighter). So `baocao run` binds
the port itself and starts one web process on it: the same command line again (the console
script, `python -m scheduler`, or a test's pinned clock), told by BAOCAO_WEB_CHILD which
inherited descriptors are the listening socket and its link to the parent. The parent keeps the
scheduler, the leader lock and systemd's notifications; the web process never ticks. It
delivers its own submissions' receipts at once, as a follower does (a row is taken by one
conditional UPDATE, whoever takes it).

Over the link the parent sends the config (at start and after each SIGHUP that loaded one, so
both processes always run the same config and it is validated once) and what /healthz says of
the scheduler: its role, next tick and when the config was loaded. The web process leaves when
the link closes, so a parent killed with SIGKILL does not leave it serving; a web process that
dies is started again on the same socket (connections wait in its backlog meanwhile). systemd's
watchdog sees only the parent's loop, so the parent pings the web process's loop every few
seconds and kills one that has not answered for BAOCAO_WEB_HANG_SECONDS, to be started again.

One web process, not one per core: the login and link throttles and the form cache live in its
memory and stay exact only while one process holds them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

from scheduler.text import os_error

log = logging.getLogger("baocao.service")

CHILD_ENV = "BAOCAO_WEB_CHILD"
START_TIMEOUT = 120.0  # seconds for the web process to import, read its config and listen
RESTART_DELAYS = (1.0, 5.0, 30.0)  # after an unexpected death, growing while it keeps dying at once
# Seconds between the parent's pings of the web process's loop: four to a hang
# (BAOCAO_WEB_HANG_SECONDS, 120 s by default), at most this far apart: each ping wakes both
# idle processes, and a wake from idle costs a VM's CPU some milliseconds.
PING_EVERY = 30.0
SEND_TIMEOUT = 10  # seconds a send to the web process may wait for it to read (SO_SNDTIMEO)


class StartError(Exception):
    """The service cannot start, for a reason the admin can fix (said in Vietnamese)."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port is said in Vietnamese (uvicorn would
    print an English traceback) and survives the web process's restarts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's own backlog
    except OSError as exc:
        sock.close()
        raise StartError(f"không mở được cổng {host}:{port} cho biểu mẫu và trang Văn phòng "
                         f"({os_error(exc)}): có thể baocao (hoặc chương trình khác) đang chạy trên cổng "
                         "này; dừng nó, hoặc đặt BAOCAO_HTTP_PORT khác") from None
    return sock


class WebProcess:
    """The parent's side: start the web process, keep it running, tell it what changes."""

    def __init__(self, sock: socket.socket, config: Callable[[], Any], state: Callable[[], dict],
                 hang_after: float = 120.0):
        self.sock = sock
        self.hang_after = hang_after
        # Pings sent since the web process last answered. Counted, not timed: the loop's sleeps
        # are the one clock both this task and the reader thread agree on (a test's frozen clock
        # fakes time.monotonic for some callers and not others).
        self._unanswered = 0
        self.config = config
        self.state = state
        self.proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()
        self._stopping = False
        self._watcher: asyncio.Task | None = None
        self._pinger: asyncio.Task | None = None
        self._serving = False

    async def start(self) -> None:
        await self._launch()
        loop = asyncio.get_running_loop()
        self._watcher = loop.create_task(self._watch())
        self._pinger = loop.create_task(self._ping())

    async def _launch(self) -> None:
        self._serving = False  # no pings until it says it is ready: starting is not hanging
        ours, theirs = socket.socketpair()
        conn = Connection(ours.detach())
        their_fd = theirs.detach()
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env[CHILD_ENV] = f"{self.sock.fileno()},{their_fd}"
        try:
            # The same command line: the console script, `python -m scheduler`, a test's pinned clock.
            self.proc = subprocess.Popen([sys.executable, *sys.orig_argv[1:]], env=env, stdin=subprocess.DEVNULL,
                                         pass_fds=(self.sock.fileno(), their_fd))
        finally:
            os.close(their_fd)
        with self._send_lock:
            old, self._conn = self._conn, conn
        if old is not None:
            _hang_up(old)  # the link of a web process that died: its reader thread ends
        try:
            await asyncio.to_thread(self._send, ("config", self.config()))
            self.push()
            ready = await asyncio.wait_for(asyncio.to_thread(conn.recv), START_TIMEOUT)
        except (OSError, EOFError, asyncio.TimeoutError):
            ready = None
        if ready != ("ready",):
            code = self.proc.poll()
            if code is None:
                self.proc.kill()
                code = await asyncio.to_thread(self.proc.wait)
            raise StartError(f"tiến trình phục vụ biểu mẫu không khởi động được (mã thoát {code}); xem các dòng "
                             "nhật ký ngay trên")
        # Once it serves, a hung web process stops reading: when the socket's buffer is full (a
        # province's config is larger than it), a send would wait for ever, holding the lock
        # that the pings and the loop's state pushes need. Bounded, it fails and the web process
        # is replaced. (Not before: the first config waits while the web process imports.)
        with contextlib.suppress(OSError), _socket_of(conn) as link:
            link.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT, 0))
        self._unanswered, self._serving = 0, True
        threading.Thread(target=self._listen, args=(conn,), name="web-link", daemon=True).start()

    def _listen(self, conn: Connection) -> None:
        """The web process's answers to pings, read until its link closes (it died, or a new one
        replaced it)."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            if message == ("pong",) and conn is self._conn:
                self._unanswered = 0

    async def _ping(self) -> None:
        """A web process whose loop is stuck still holds the port and answers nobody: kill it, and
        the watcher starts another."""
        every = max(0.5, min(PING_EVERY, self.hang_after / 4))
        while True:
            await asyncio.sleep(every)
            proc = self.proc
            if proc is None or proc.poll() is not None or not self._serving:
                continue  # the watcher is starting one again
            silent = self._unanswered * every
            if silent >= self.hang_after:
                log.error("Tiến trình phục vụ biểu mẫu (pid %d) không trả lời đã %d giây: dừng nó để khởi động lại",
                          proc.pid, silent)
                proc.kill()
                self._unanswered = 0  # until the new one has started
                continue
            self._unanswered += 1  # before sending: the answer may come back before the send returns
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self._send, ("ping",))

    def _send(self, message: tuple) -> None:
        with self._send_lock:
            if self._conn is None:
                return
            try:
                self._conn.send(message)
            except OSError:
                # It did not read for SEND_TIMEOUT (or it died): the link may now hold half a
                # message, which only a new web process can recover from.
                proc = self.proc
                if proc is not None and proc.poll() is None:
                    log.error("Tiến trình phục vụ biểu mẫu (pid %d) không nhận dữ liệu đã %d giây: dừng nó để "
                              "khởi động lại", proc.pid, SEND_TIMEOUT)
                    proc.kill()
                raise

    def push(self) -> None:
        """Tell the web process what /healthz says of the scheduler now (small: sent at once)."""
        with contextlib.suppress(OSError):  # it has just died: the watcher starts it again
            self._send(("state", self.state()))

    async def new_config(self) -> None:
        """After a SIGHUP that loaded a config: the web process serves it from now on."""
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self._send, ("config", self.config()))

    async def _watch(self) -> None:
        failures = 0
        while True:
            assert self.proc is not None
            code = await asyncio.to_thread(self.proc.wait)
            if self._stopping:
                return
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            log.error("Tiến trình phục vụ biểu mẫu (pid %d) dừng bất ngờ (mã thoát %s): khởi động lại sau %g giây",
                      self.proc.pid, code, delay)
            await asyncio.sleep(delay)
            try:
                await self._launch()
                failures = 0
                log.info("Đã khởi động lại tiến trình phục vụ biểu mẫu (pid %d)", self.proc.pid)
            except StartError as exc:
                failures += 1
                log.error("%s", exc)

    async def stop(self) -> None:
        """Close the link, and wait: requests being answered are finished, receipts being sent go
        out. (Not a signal: systemd's stop and a terminal's Ctrl+C signal both processes at once,
        and the web process must not look, to the watcher, as if it had died on its own.)"""
        self._stopping = True
        for task in (self._watcher, self._pinger):
            if task is not None:
                task.cancel()
        if self._conn is not None:
            _hang_up(self._conn)
        if self.proc is not None and self.proc.poll() is None:
            try:
                await asyncio.to_thread(self.proc.wait, 60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        self.sock.close()


def _hang_up(conn: Connection) -> None:
    """End a link for both sides: the other process reads EOF and our reader thread wakes (a bare
    close() of a descriptor another thread is reading wakes neither)."""
    with contextlib.suppress(OSError), _socket_of(conn) as end:
        end.shutdown(socket.SHUT_RDWR)
    conn.close()


def _socket_of(conn: Connection) -> socket.socket:
    """The link's socket, for what Connection does not offer (options, shutdown): a second
    descriptor of it, closed after use; the socket itself lives on in conn."""
    return socket.socket(fileno=os.dup(conn.fileno()))


# ----------------------------------------------------------------------------- the web process


def is_child() -> bool:
    return CHILD_ENV in os.environ


class _WebServer:
    """uvicorn on the inherited socket, without its own signal handling (ours stops it)."""

    def __init__(self, service, health, sock: socket.socket):
        import uvicorn

        from scheduler.web import WebContext, create_app
        from scheduler.web.dated import Dated

        settings = service.settings
        ctx = WebContext(settings, service.clock, service.engine, lambda: service.config,
                         after_submit=service.deliver_soon)
        app = create_app(ctx, health=health)
        app.state.warm()  # the first unit after a (re)start does not wait for the templates' compiling
        self.forget_pages, self.warm_store = app.state.forget_pages, app.state.warm_store
        config = uvicorn.Config(Dated(app), date_header=False, log_config=None, access_log=False,
                                proxy_headers=settings.forwarded_allow_ips is not None,
                                forwarded_allow_ips=settings.forwarded_allow_ips, lifespan="off")
        wake = self._wake = asyncio.Event()

        class Server(uvicorn.Server):
            def capture_signals(self):  # type: ignore[override]
                return contextlib.nullcontext()

            async def main_loop(self) -> None:  # type: ignore[override]
                # uvicorn's own loop wakes ten times a second to refresh its Date header and see
                # whether to stop: most of an idle service's CPU. The header is written as each
                # response starts (Dated), and stop() wakes this loop: it sleeps until then.
                while not await self.on_tick(1):  # not a multiple of ten: no header of its own
                    await wake.wait()

        self.server = Server(config)
        self.sock = sock
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("máy chủ web dừng ngay khi khởi động")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.server.should_exit = True
        self._wake.set()
        if self.task is not None:
            await self.task


def child_main(settings, clock) -> None:
    """The web process's life: the config from the parent, the store, uvicorn until told to stop."""
    from scheduler.service.tick import Service
    from scheduler.store import db

    sock_fd, conn_fd = (int(part) for part in os.environ.pop(CHILD_ENV).split(","))
    conn = Connection(conn_fd)
    sock = socket.socket(fileno=sock_fd)  # family and type read from the descriptor
    try:
        kind, config = conn.recv()
    except (EOFError, OSError):
        return  # the parent went away before we started
    assert kind == "config"
    service = Service(settings, clock, config, db.open_existing(settings.database_url))
    asyncio.run(_serve(service, sock, conn))


def _freeze() -> None:
    """Keep what lives as long as the config (its objects, the compiled pages) out of the
    collector's full passes: at 1,000 units each one walked them for 54-64 ms, and a unit's form
    waited that long mid-tick (the allocations of serving trigger them)."""
    gc.collect()
    gc.freeze()


SETTLE = 10.0  # seconds a reload leaves the requests begun under the old config to finish


def take_config(service, config, forget: Callable[[], None]) -> None:
    """A reloaded config in the web process. The old one must become garbage to be freed: the
    form cache (`forget`) lets go of it, and the collector may take it once unfrozen. The
    caller freezes again (`_freeze`) once the requests begun under it are done."""
    service.config = config
    forget()
    gc.unfreeze()


async def _serve(service, sock: socket.socket, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    state: list[dict] = [{"role": None, "next_tick": None, "config_loaded_at": None}]
    settling: list[asyncio.TimerHandle | None] = [None]
    # Before the link is read: a reload's config is applied to this server. Its pages compile
    # now, and what lives as long as the config is frozen before the first request is served.
    web = _WebServer(service, lambda: dict(state[0]), sock)
    _freeze()

    def apply(message: tuple) -> None:
        kind, *rest = message
        if kind == "ping":  # answered from this loop: its answer says the loop turns
            with contextlib.suppress(OSError):
                conn.send(("pong",))
            return
        value = rest[0]
        if kind == "state":
            state[0] = value
        elif kind == "config":
            take_config(service, value, web.forget_pages)
            if settling[0] is not None:
                settling[0].cancel()
            settling[0] = loop.call_later(SETTLE, _freeze)

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone (stopped, or killed): stop serving
                loop.call_soon_threadsafe(stop.set)
                return
            loop.call_soon_threadsafe(apply, message)

    # The parent says when to stop, by closing the link: systemd's stop and a terminal's Ctrl+C
    # reach both processes, and the parent must see its web process leave because it asked.
    # (SIGKILL still works; a parent killed that way closes the link too.)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: the parent reloads, then sends the config
        loop.add_signal_handler(signum, lambda: None)
    threading.Thread(target=read, name="parent-link", daemon=True).start()
    await web.start()
    with contextlib.suppress(OSError):
        conn.send(("ready",))
    # Its own thread, once serving: a database that does not answer (a PostgreSQL host
    # unreachable) must hold up neither the start nor the stop.
    threading.Thread(target=web.warm_store, name="warm-store", daemon=True).start()
    await stop.wait()
    await web.stop()
    async with service.lock:  # a receipt being sent is recorded first
        pass
    service.engine.dispose()
