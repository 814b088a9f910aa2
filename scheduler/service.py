"""The service: the tick (plan → claim → deliver), retries, and the long-running loop.

One tick: read the clock once, sync the config into the store, ask the planner what is
owed, claim those sends in the ledger in one transaction, then deliver every waiting row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scheduler import collection, ledger, links, reports, store
from scheduler.calendar import Period
from scheduler.clock import TZ, Clock
from scheduler.config import Config, load_config
from scheduler.mail import Composer
from scheduler.mailer import Outgoing, Transport, make_transport
from scheduler.outcome import Outcome
from scheduler.models import ReportRow, SendRow, Submission
from scheduler.planner import OFFICE, owed_at, sending_hours
from scheduler.settings import Settings
from scheduler.yamlsource import ConfigError

log = logging.getLogger("baocao.service")


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    cancelled: int = 0

    def __str__(self) -> str:
        return (f"mới: {self.claimed}, đã gửi: {self.sent}, lỗi vĩnh viễn: {self.failed}, "
                f"chờ gửi lại: {self.waiting}, huỷ: {self.cancelled}")


class Service:
    def __init__(self, settings: Settings, clock: Clock, config: Config, engine: Engine,
                 transport: Transport | None = None):
        self.settings = settings
        self.clock = clock
        self.config = config
        self.engine = engine
        self.transport = transport or make_transport(settings)
        self.lock = asyncio.Lock()
        self._ticked = False
        self._background: set[asyncio.Task] = set()

    def sync(self) -> None:
        """Mirror the current config into the store (units, periods)."""
        with Session(self.engine) as session:
            store.sync_config(session, self.config, self.clock())
            session.commit()

    def reload(self) -> bool:
        """Re-read the YAML (SIGHUP). A broken file is logged and the running config kept."""
        try:
            config = load_config(self.settings.config_dir)
        except ConfigError as exc:
            log.error("Cấu hình mới có %d lỗi, vẫn dùng cấu hình cũ:", len(exc.issues))
            for issue in exc.issues:
                log.error("  %s", issue)
            return False
        except Exception:  # noqa: BLE001 - whatever is wrong with the file, keep running on the old one
            log.exception("Không đọc được cấu hình mới, vẫn dùng cấu hình cũ")
            return False
        self.config = config
        self.sync()
        log.info("Đã nạp lại cấu hình: %d đơn vị đang theo dõi", sum(u.active for u in config.units))
        return True

    async def tick(self) -> TickReport:
        async with self.lock:
            now = self.clock()
            with Session(self.engine) as session:
                store.sync_config(session, self.config, now)
                session.commit()
                facts = store.load_facts(session, self.config, now)
                periods = store.all_periods(session, self.config)
                owed = owed_at(self.config, periods, facts, now)
                claimed = ledger.claim(session, owed, now, self.settings.mail_from)
                session.commit()
                made = self._reports(session, periods, facts.closed, now)
                session.commit()
            today = now.astimezone(TZ).date()
            if not self.config.calendar.is_working_day(today) and not self._ticked:
                reason = self.config.calendar.holiday_name(today) or "ngày nghỉ cuối tuần"
                log.info("Hôm nay %s không phải ngày làm việc (%s): không gửi thư nhắc mới.",
                         today.strftime("%d/%m/%Y"), reason)
            report = await self._deliver(now)
            report.claimed = claimed + made
            quiet = not (report.claimed or report.sent or report.failed or report.waiting or report.cancelled)
            # The periodic re-check runs every few minutes: only say something when it did something.
            log.log(logging.DEBUG if quiet and self._ticked else logging.INFO, "Lượt nhắc %s: %s",
                    now.astimezone(TZ).strftime("%d/%m/%Y %H:%M"), report)
            self._ticked = True
            return report

    def deliver_soon(self) -> None:
        """After a submission: send its receipt now rather than at the next periodic tick."""
        task = asyncio.get_running_loop().create_task(_guarded(self.retry)())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _reports(self, session: Session, periods: list[Period], closed: frozenset[str], now: datetime) -> int:
        """Consolidated reports for periods past their deadline: version 1 at the first working-day
        tick after it, a new version whenever a late report or a correction changes the figures.
        Periods that ended over a month ago are left alone (a service started in November does
        not mail June's report); `baocao report` still makes any period's on demand."""
        if not sending_hours(self.config, now):
            return 0
        today = now.astimezone(TZ)
        made = 0
        for period in periods:
            if now < period.deadline or today.date() > period.end + timedelta(days=30) or period.key in closed:
                continue
            row = reports.make_version(session, self.config, period, now,
                                       self.settings.templates_dir / "docx", self.settings.mail_from)
            if row is not None:
                made += 1
                log.info("Đã lập báo cáo tổng hợp %s, bản %d (%d đơn vị có số liệu)", period.key, row.version,
                         len(row.sources or {}))
        return made

    async def retry(self) -> TickReport:
        """Deliver whatever is waiting (transient failures, crashed sends); plans nothing new."""
        async with self.lock:
            return await self._deliver(self.clock())

    async def _deliver(self, now: datetime) -> TickReport:
        report = TickReport()
        composer = Composer(self.settings.templates_dir, self.config, self.settings.mail_from)
        batch: list[Outgoing] = []
        with Session(self.engine) as session:
            periods = {p.key: p for p in store.all_periods(session, self.config)}
            reported = store.reported_pairs(session)
            newest = self._newest_steps(session)
            for row in ledger.due(session, now):
                cancel = self._no_longer_owed(row, periods, reported, newest)
                if cancel:
                    ledger.record(session, row.id, Outcome("cancelled", cancel), now)
                    session.commit()
                    report.cancelled += 1
                    log.info("Huỷ %s kỳ %s cho %s: %s", row.step, row.period_key, row.audience, cancel)
                    continue
                if not ledger.take(session, row, now):
                    continue  # another process got it, or it was given up
                try:
                    message = self._compose(session, composer, row, periods[row.period_key], now)
                except Exception as exc:  # noqa: BLE001 - one bad row (an address, a template) must not stop the rest
                    session.rollback()
                    ledger.record(session, row.id, Outcome("permanent", f"không soạn được thư: {exc}"), now)
                    session.commit()
                    report.failed += 1
                    log.error("Không soạn được %s kỳ %s cho %s: %s", row.step, row.period_key, row.audience, exc)
                    continue
                batch.append(Outgoing(row.id, message, f"{row.period_key}_{row.audience}_{row.step}",
                                      recipients=row.retry_rcpts or None))
                session.commit()  # links created while composing
        if not batch:
            return report
        outcomes = await self.transport.deliver(batch)
        with Session(self.engine) as session:
            for item in batch:
                outcome = outcomes.get(item.key, Outcome("transient", "không có kết quả gửi"))
                row = ledger.record(session, item.key, outcome, self.clock())
                session.commit()
                if row.status == "sent":
                    report.sent += 1
                    log.info("Đã gửi %s kỳ %s tới %s (%s)%s", row.step, row.period_key, row.audience,
                             row.message_id, f" — {row.last_error}" if row.last_error else "")
                elif row.status == "failed":
                    report.failed += 1
                    log.error("Không gửi được %s kỳ %s tới %s: %s", row.step, row.period_key, row.audience,
                              row.last_error)
                else:
                    report.waiting += 1
                    log.warning("Chưa gửi được %s kỳ %s tới %s, sẽ thử lại: %s", row.step, row.period_key,
                                row.audience, row.last_error)
        return report

    @staticmethod
    def _newest_steps(session: Session) -> dict[tuple[str, str, str], datetime]:
        """(period, audience, reminder|digest) → the newest planned instant in the ledger."""
        rows = session.exec(select(SendRow.period_key, SendRow.audience, SendRow.kind, SendRow.scheduled_at)
                            .where(SendRow.kind != "receipt")).all()
        newest: dict[tuple[str, str, str], datetime] = {}
        for period_key, audience, kind, at in rows:
            key = (period_key, audience, _group(kind))
            newest[key] = max(newest.get(key, at), at)
        return newest

    def _no_longer_owed(self, row: SendRow, periods: dict[str, Period], reported: set,
                        newest: dict[tuple[str, str, str], datetime]) -> str | None:
        if row.period_key not in periods:
            return "kỳ báo cáo không còn trong cấu hình"
        if row.kind != "receipt" and not row.retry_rcpts:
            if newest.get((row.period_key, row.audience, _group(row.kind)), row.scheduled_at) > row.scheduled_at:
                return "đã có thư mới hơn cho bước sau"  # e.g. SMTP was down past the next step
        if row.audience == OFFICE:
            return None
        unit = self.config.unit(row.audience)
        if unit is None or not unit.active:
            return "đơn vị không còn được theo dõi"
        if row.kind in ("notice", "reminder", "overdue") and (row.period_key, row.audience) in reported:
            return "đơn vị đã nộp báo cáo"
        return None

    def _report_mail(self, session: Session, composer: Composer, row: SendRow, period: Period, now: datetime):
        version = int(row.step.rpartition("-v")[2])
        versions = {r.version: r for r in session.exec(select(ReportRow).where(ReportRow.period_key == period.key)).all()}
        report_row = versions[version]
        sources = report_row.sources or {}
        states = {s.code: s for s in collection.standings(session, self.config, period)}
        prints = reports.fingerprints(session, period.key)
        on_time = {code: states[code].state == "on_time" for code in sources if code in states}
        total = len(self.config.units_for(period))
        counts = {"reported": len(sources), "total": total, "on_time": sum(on_time.values()),
                  "late": len(sources) - sum(on_time.values()), "missing": max(0, total - len(sources))}
        before = versions[version - 1].sources or {} if version - 1 in versions else {}
        changes = reports.changes(self.config, reports.digests(prints, before), reports.digests(prints, sources),
                                  sources, on_time)
        return composer.report(period, version, report_row.filename, report_row.content, report_row.created_at, counts,
                               changes, row.to_addrs or [], now, row.message_id)

    def link(self, session: Session, period_key: str, unit_code: str, now: datetime) -> str:
        """The unit's own form address for the period (created on first use; caller commits)."""
        token = links.link_token(session, self.settings.secret(), period_key, unit_code, now)
        return f"{self.settings.public_url.rstrip('/')}/f/{token}"

    def _compose(self, session: Session, composer: Composer, row: SendRow, period: Period, now: datetime):
        to, cc = row.to_addrs or [], row.cc_addrs or []
        if row.kind == "report":
            return self._report_mail(session, composer, row, period, now)
        if row.audience == OFFICE:
            return composer.digest(period, collection.standings(session, self.config, period), to, now, row.message_id,
                                   row.step)
        unit = self.config.unit(row.audience)
        assert unit is not None
        link = self.link(session, period.key, unit.code, now)
        if row.kind == "receipt":
            revision = collection.receipt_revision(row.step)
            sub = session.exec(select(Submission).where(Submission.period_key == period.key,
                                                        Submission.unit_code == unit.code,
                                                        Submission.revision == revision)).one()
            return composer.receipt(period, unit, to, sub.revision, sub.received_at, sub.on_time, sub.figures or {},
                                    sub.narrative or {}, now, row.message_id, link, sub.channel)
        return composer.unit_mail(row.kind, period, unit, to, cc, now, row.message_id, row.step, link)


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
    scheduler.add_job(_guarded(service.tick), CronTrigger(hour=send_at.hour, minute=send_at.minute, timezone=TZ),
                      id="tick", name="lượt nhắc hằng ngày", replace_existing=True)
    # Every few minutes a full tick too: it retries waiting sends and, should the machine have
    # slept through 08:00, catches the day's step up at once. The planner and the ledger make
    # an extra tick harmless: nothing is owed twice.
    scheduler.add_job(_guarded(service.tick), IntervalTrigger(minutes=service.settings.retry_minutes, timezone=TZ),
                      id="recheck", name="kiểm tra định kỳ", replace_existing=True)

    def on_hup() -> None:
        if service.reload():
            new = service.config.plan.reminders.send_at
            scheduler.reschedule_job("tick", trigger=CronTrigger(hour=new.hour, minute=new.minute, timezone=TZ))

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    service.sync()  # the web form may be used before the first tick has run
    web = _WebServer(service)
    await web.start()
    sockets = [s.getsockname() for server in web.server.servers for s in server.sockets]
    log.info("Biểu mẫu báo cáo và trang Văn phòng: %s (nghe tại %s)", service.settings.public_url,
             ", ".join(f"{host}:{port}" for host, port, *_ in sockets))
    scheduler.start()
    log.info("baocao đang chạy: nhắc lúc %s hằng ngày (giờ Việt Nam), gửi thư %s",
             send_at.strftime("%H:%M"),
             f"qua {service.settings.smtp_host}:{service.settings.port}" if not service.settings.dry_run
             else f"vào thư mục {service.settings.outbox_dir} (chưa cấu hình SMTP)")
    await _guarded(service.tick)()
    await stop.wait()
    log.info("Nhận tín hiệu dừng; chờ lượt gửi đang chạy kết thúc")
    scheduler.shutdown(wait=False)
    await web.stop()
    async with service.lock:  # a running tick finishes its ledger writes first
        pass
    service.engine.dispose()  # the last SQLite connection closes: WAL checkpointed, -wal/-shm removed
    log.info("Đã dừng.")


def _group(kind: str) -> str:
    """Sends that supersede one another: a unit's notice, reminders and overdue mails are one
    line of steps; the office's digests another; report versions a third."""
    return kind if kind in ("digest", "report") else "reminder"


def _guarded(job):
    """A failing tick is logged and the service goes on; the next tick retries."""
    async def run() -> None:
        try:
            await job()
        except Exception:  # noqa: BLE001 - the loop must survive a bad day
            log.exception("Lỗi trong lượt chạy %s", job.__name__)
    run.__name__ = job.__name__
    return run
