"""`baocao run`: the daemon around the tick. APScheduler ticks at the configured hour and every
few minutes; SIGHUP reloads the YAML, SIGTERM stops after the running tick's ledger writes;
the web form and the office's pages are served in the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.text import os_error
from scheduler.service import startup
from scheduler.clock import TZ
from scheduler.service.journal import guarded
from scheduler.service.tick import Service

log = logging.getLogger("baocao.service")


class StartError(Exception):
    """The service cannot start, for a reason the admin can fix (said in Vietnamese)."""


def _check_port(host: str, port: int) -> None:
    """uvicorn answers a busy port with an English traceback and exit 3: say it ourselves first."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartError(f"không mở được cổng {host}:{port} cho biểu mẫu và trang Văn phòng "
                             f"({os_error(exc)}): có thể baocao (hoặc chương trình khác) đang chạy trên cổng "
                             "này; dừng nó, hoặc đặt BAOCAO_HTTP_PORT khác") from None


class _WebServer:
    """uvicorn in our event loop, without its own signal handling (ours stops both)."""

    def __init__(self, service: Service):
        import uvicorn

        from scheduler.web import WebContext, create_app

        settings = service.settings
        ctx = WebContext(settings, service.clock, service.engine, lambda: service.config,
                         after_submit=service.deliver_soon)
        config = uvicorn.Config(create_app(ctx), host=settings.http_host, port=settings.http_port, log_config=None,
                                access_log=False, proxy_headers=settings.forwarded_allow_ips is not None,
                                forwarded_allow_ips=settings.forwarded_allow_ips, lifespan="off")

        class Server(uvicorn.Server):
            def capture_signals(self):  # type: ignore[override]
                return contextlib.nullcontext()

        self.server = Server(config)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # e.g. the port is taken: fail loudly at start-up
                raise RuntimeError("máy chủ web dừng ngay khi khởi động")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


async def serve(service: Service) -> None:
    """Run until SIGTERM/SIGINT: a tick now, at the configured hour every day and every few
    minutes (retries, catch-up); SIGHUP reloads the YAML."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    send_at = service.config.plan.reminders.send_at
    scheduler = AsyncIOScheduler(
        timezone=TZ,
        # Our tick asks the planner what is owed, so a missed run is caught up by the next;
        # these only keep APScheduler from dropping a run that is a little late.
        job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
    )
    scheduler.add_job(guarded(service.tick), CronTrigger(hour=send_at.hour, minute=send_at.minute, timezone=TZ),
                      id="tick", name="lượt nhắc hằng ngày", replace_existing=True)
    # Every few minutes a full tick too: it retries waiting sends and, should the machine have
    # slept through 08:00, catches the day's step up at once. The planner and the ledger make
    # an extra tick harmless: nothing is owed twice.
    scheduler.add_job(guarded(service.tick), IntervalTrigger(minutes=service.settings.retry_minutes, timezone=TZ),
                      id="recheck", name="kiểm tra định kỳ", replace_existing=True)

    def on_hup() -> None:
        if service.reload():
            new = service.config.plan.reminders.send_at
            scheduler.reschedule_job("tick", trigger=CronTrigger(hour=new.hour, minute=new.minute, timezone=TZ))

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    if startup.take_pending_hup():  # `systemctl reload` while we were starting: honour it now
        log.info("Đã nhận SIGHUP trong lúc khởi động: nạp lại cấu hình")
        on_hup()
    service.sync()  # the web form may be used before the first tick has run
    service.check_template()
    _check_port(service.settings.http_host, service.settings.http_port)
    web = _WebServer(service)
    await web.start()
    sockets = [s.getsockname() for server in web.server.servers for s in server.sockets]
    log.info("Biểu mẫu báo cáo và trang Văn phòng: %s (nghe tại %s)", service.settings.public_url,
             ", ".join(f"{host}:{port}" for host, port, *_ in sockets))
    if warning := service.settings.link_warning():
        log.warning("%s", warning)
    scheduler.start()
    log.info("baocao đang chạy: nhắc lúc %s hằng ngày (giờ Việt Nam), gửi thư %s",
             send_at.strftime("%H:%M"),
             f"qua {service.settings.smtp_host}:{service.settings.port}" if not service.settings.dry_run
             else f"vào thư mục {service.settings.outbox_dir} (chưa cấu hình SMTP)")
    await guarded(service.tick)()
    await stop.wait()
    log.info("Nhận tín hiệu dừng; chờ lượt gửi đang chạy kết thúc")
    scheduler.shutdown(wait=False)
    await web.stop()
    async with service.lock:  # a running tick finishes its ledger writes first
        pass
    service.engine.dispose()  # the last SQLite connection closes: WAL checkpointed, -wal/-shm removed
    log.info("Đã dừng.")
