"""`baocao run`: the daemon around the tick. APScheduler ticks at the configured hour and every
few minutes; SIGHUP reloads the YAML, SIGTERM stops after the running tick's ledger writes;
the web form and the office's pages are served by a process of their own (service/webproc), on
a socket bound here, so that a tick never makes a unit wait.

Several `run` may share one store: all serve the web, and only the one holding the store's
leader lock (store.leader) ticks. The others try to take the lock every FOLLOWER_RETRY seconds,
so one of them takes over within a minute of the leader's death."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.service import startup
from scheduler.clock import TZ
from scheduler.service.journal import guarded
from scheduler.service.webproc import WebProcess, bind
from scheduler.service.tick import Service
from scheduler.clock import to_local
from scheduler.store.leader import LeaderLock, describe

log = logging.getLogger("baocao.service")

LEADER_CHECK = 60.0  # seconds between the leader's checks that its lock's session is alive
FOLLOWER_RETRY = 15.0  # seconds between a follower's attempts to take the lock
WORK_NICE = 10  # how far this process's worker threads stand back for the web process


def _behind_the_web() -> None:
    """Lower the calling worker thread's priority: on Linux a nice value is the thread's own.

    The tick's heavy parts (planning, composing, recording) run in these threads; on a VM with
    two cores, a unit's form would otherwise wait for a share of the CPU while 1,000 notices are
    composed. The event loop's thread keeps its priority: it spawns the web process (which
    inherits the spawning thread's nice value, and could not lower it again) and answers its
    pings and systemd's watchdog."""
    try:  # relative to the service's own (systemd's Nice=, say): never a raise, which needs privilege
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORK_NICE))
    except OSError:  # not permitted here: the same work, at the same priority
        pass


class Leadership:
    """Whether this process runs the scheduler, kept true to the lock: taken when free, checked
    while held, given up (ticks stop at once) the moment its connection is found gone."""

    def __init__(self, service: Service, on_lead):
        self.service = service
        self.lock = LeaderLock(service.settings.database_url)
        self.where = describe(service.settings.database_url)
        self.leading = False
        self.on_lead = on_lead  # called when this process becomes the leader after start-up
        self.on_change: Callable[[], None] = lambda: None  # the role changed (the web process is told)
        self._told_follower = False

    async def attempt(self) -> bool:
        try:
            got = await asyncio.to_thread(self.lock.try_acquire)
        except Exception as exc:  # noqa: BLE001 - the database is down: stay a follower and retry
            log.error("Không kết nối được cơ sở dữ liệu %s để nhận quyền chạy lịch nhắc, thử lại sau %d giây: %s",
                      self.where, FOLLOWER_RETRY, exc)
            return False
        if got:
            self.leading, self._told_follower = True, False
            log.info("Tiến trình này (pid %d) chạy lịch nhắc và gửi thư nhắc cho cơ sở dữ liệu %s",
                     os.getpid(), self.where)
            startup.notify("STATUS=Chạy lịch nhắc và phục vụ biểu mẫu")
            self.on_change()
        elif not self._told_follower:
            holder = await asyncio.to_thread(self.lock.holder)
            log.info("Tiến trình khác (%s) đang chạy lịch nhắc cho cơ sở dữ liệu %s: tiến trình này (pid %d) chỉ "
                     "phục vụ biểu mẫu và trang Văn phòng, và sẽ thay thế nếu tiến trình kia dừng",
                     holder or "không rõ", self.where, os.getpid())
            startup.notify("STATUS=Dự phòng: chỉ phục vụ biểu mẫu")
            self._told_follower = True
        return got

    async def keep(self) -> None:
        """The rest of the process's life: check the lock while leading, try for it while not."""
        while True:
            if not self.leading:
                await asyncio.sleep(FOLLOWER_RETRY)
                if await self.attempt():
                    self.on_lead()
                continue
            await asyncio.sleep(LEADER_CHECK)
            if not await asyncio.to_thread(self.lock.check):
                self.leading = False
                self.on_change()
                log.error("Mất quyền chạy lịch nhắc: kết nối giữ khoá tới cơ sở dữ liệu %s đã bị ngắt. Ngừng lịch "
                          "nhắc ngay; thử nhận lại sau mỗi %d giây", self.where, FOLLOWER_RETRY)

    def release(self) -> None:
        self.leading = False
        self.lock.release()


def _health(service: Service, leadership: Leadership, scheduler: AsyncIOScheduler, loaded: list):
    """What /healthz says of this process (the store's part it asks the store itself)."""
    def state() -> dict:
        upcoming = [job.next_run_time for job in scheduler.get_jobs() if job.next_run_time is not None] \
            if scheduler.running else []
        next_tick = min(upcoming) if leadership.leading and upcoming else None
        return {"role": "leader" if leadership.leading else "follower",
                "next_tick": to_local(next_tick).isoformat(timespec="seconds") if next_tick else None,
                "config_loaded_at": to_local(loaded[0]).isoformat(timespec="seconds")}
    return state


def release_memory() -> None:
    """Give back to the system what a tick or a trial render used: Python frees its objects to
    the C allocator, which keeps the pages unless asked (glibc's malloc_trim). An idle service
    holds what it needs between ticks, not what its busiest moment needed."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the pages stay with the process, nothing breaks
        pass


async def _watchdog(interval: float) -> None:
    """Pinged from the event loop itself: a loop stuck in a synchronous call stops the pings, and
    systemd restarts the service (WatchdogSec=)."""
    while True:
        startup.notify("WATCHDOG=1")
        await asyncio.sleep(interval)


async def serve(service: Service) -> None:
    """Run until SIGTERM/SIGINT: a tick now, at the configured hour every day and every few
    minutes (retries, catch-up) while this process leads; SIGHUP reloads the YAML."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="baocao-work", initializer=_behind_the_web))
    stop = asyncio.Event()
    send_at = service.config.plan.reminders.send_at
    scheduler = AsyncIOScheduler(
        timezone=TZ,
        # Our tick asks the planner what is owed, so a missed run is caught up by the next;
        # these only keep APScheduler from dropping a run that is a little late.
        job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
    )
    tasks: set[asyncio.Task] = set()

    def spawn(coro) -> None:
        task = loop.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    leadership = Leadership(service, on_lead=lambda: spawn(guarded(service.tick)()))
    web: WebProcess | None = None

    async def tick() -> None:
        if leadership.leading:  # a follower's jobs keep their times but do nothing
            try:
                await service.tick()
            finally:
                release_memory()
                if web is not None:
                    web.push()  # its next run time has moved on
    tick.__name__ = "tick"

    scheduler.add_job(guarded(tick), CronTrigger(hour=send_at.hour, minute=send_at.minute, timezone=TZ),
                      id="tick", name="lượt nhắc hằng ngày", replace_existing=True)
    # Every few minutes a full tick too: it retries waiting sends and, should the machine have
    # slept through 08:00, catches the day's step up at once. The planner and the ledger make
    # an extra tick harmless: nothing is owed twice.
    scheduler.add_job(guarded(tick), IntervalTrigger(minutes=service.settings.retry_minutes, timezone=TZ),
                      id="recheck", name="kiểm tra định kỳ", replace_existing=True)
    loaded = [service.clock()]  # when the running config was read, for /healthz

    def on_hup() -> None:
        # MONOTONIC_USEC: systemd (253+) matches a reload's READY=1 to its start by it.
        startup.notify(f"RELOADING=1\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
        if service.reload():
            release_memory()
            loaded[0] = service.clock()
            new = service.config.plan.reminders.send_at
            scheduler.reschedule_job("tick", trigger=CronTrigger(hour=new.hour, minute=new.minute, timezone=TZ))
            if web is not None:  # else it is started with this config
                spawn(web.new_config())
                web.push()
        startup.notify("READY=1")

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    if startup.take_pending_hup():  # `systemctl reload` while we were starting: honour it now
        log.info("Đã nhận SIGHUP trong lúc khởi động: nạp lại cấu hình")
        on_hup()
    service.sync()  # the web form may be used before the first tick has run
    service.check_template()
    release_memory()  # the template's trial render with every unit: a province's is 150 MB
    sock = bind(service.settings.http_host, service.settings.http_port)
    web = WebProcess(sock, lambda: service.config, _health(service, leadership, scheduler, loaded),
                     hang_after=service.settings.web_hang_seconds)
    leadership.on_change = web.push
    await web.start()
    host, port, *_ = sock.getsockname()
    log.info("Biểu mẫu báo cáo và trang Văn phòng: %s (nghe tại %s:%s)", service.settings.public_url, host, port)
    if warning := service.settings.link_warning():
        log.warning("%s", warning)
    scheduler.start()
    log.info("baocao đang chạy: nhắc lúc %s hằng ngày (giờ Việt Nam), gửi thư %s",
             send_at.strftime("%H:%M"),
             f"qua {service.settings.smtp_host}:{service.settings.port}" if not service.settings.dry_run
             else f"vào thư mục {service.settings.outbox_dir} (chưa cấu hình SMTP)")
    await leadership.attempt()
    # The store was migrated before serve() (open_store) and the web listens: ready, leader or not.
    startup.notify("READY=1")
    if (interval := startup.watchdog_interval()) is not None:
        spawn(_watchdog(interval))
    spawn(leadership.keep())
    await guarded(tick)()
    await stop.wait()
    log.info("Nhận tín hiệu dừng; chờ lượt gửi đang chạy kết thúc")
    startup.notify("STOPPING=1")
    scheduler.shutdown(wait=False)
    await web.stop()
    async with service.lock:  # a running tick finishes its ledger writes first
        pass
    for task in list(tasks):
        task.cancel()
    leadership.release()  # after the last ledger write: a follower may take over now
    service.engine.dispose()  # the last SQLite connection closes: WAL checkpointed, -wal/-shm removed
    log.info("Đã dừng.")
