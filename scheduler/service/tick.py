"""The service: the tick (plan → claim → deliver → reports), retries, and the long-running loop.

One tick: read the clock once, check it against the store, sync the config into the store, ask
the planner what is owed, claim those sends in the ledger in one transaction, then deliver every
waiting row (service/delivery: taken in chunks by one conditional UPDATE each, each outcome
recorded as soon as SMTP has answered for it). Reports are built after the day's mail has gone, one period at a time: a broken
Word template must never hold back a reminder.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.policy import clockcheck
from scheduler.store import ledger
from scheduler.collect import links
from scheduler.policy import planner
from scheduler.report import versions
from scheduler.store import db
from scheduler.clock import TZ, Clock, to_local
from scheduler.config.load import load_config
from scheduler.config.model import Config
from scheduler.mail.transport import Transport, make_transport
from scheduler.policy.planner import sending_hours
from scheduler.settings import Settings
from scheduler.service import delivery
from scheduler.service.journal import TickReport, duration, guarded, when
from scheduler.service.preview import stored_clock_facts
from scheduler.config.source import ConfigError

log = logging.getLogger("baocao.service")

_DB_DOWN = delivery.DB_DOWN
REPORT_ERROR = db.REPORT_ERROR

REPORT_WINDOW = planner.REPORT_WINDOW  # how long after the deadline reports are made (see planner)


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
        self._held_told: set[str] = set()

    @property
    def lease(self) -> timedelta:
        s = self.settings
        return ledger.lease_for(s.smtp_timeout, s.smtp_attempts, s.smtp_retry_base)

    def sync(self) -> None:
        """Mirror the current config into the store (units, periods)."""
        with Session(self.engine) as session:
            db.sync_config(session, self.config, self.clock())
            session.commit()

    def check_template(self) -> list[str]:
        """The office's Word template, checked at start and on SIGHUP, long before a deadline needs it."""
        from scheduler.report.render import check_template

        problems = check_template(self.config, self.settings.templates_dir / "docx")
        for problem in problems:
            log.error("Mẫu báo cáo tổng hợp có lỗi (thư nhắc vẫn gửi bình thường; sửa mẫu trước hạn nộp): %s",
                      problem)
        return problems

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
        self.check_template()
        return True

    async def tick(self) -> TickReport:
        async with self.lock:
            now = self.clock()
            claimed, held = await asyncio.to_thread(self._plan, now)
            today = now.astimezone(TZ).date()
            if not self.config.calendar.is_working_day(today) and not self._ticked:
                reason = self.config.calendar.holiday_name(today) or "ngày nghỉ cuối tuần"
                log.info("Hôm nay %s không phải ngày làm việc (%s): không gửi thư nhắc mới.",
                         today.strftime("%d/%m/%Y"), reason)
            report = await self._deliver()
            report.claimed, report.held = claimed, held
            made, report.report_errors = await asyncio.to_thread(self._reports, now)
            if made:
                report.claimed += made
                report.add(await self._deliver())  # the new versions' mail to the office
            quiet = not (report.claimed or report.sent or report.failed or report.waiting or report.cancelled
                         or report.held)
            # The periodic re-check runs every few minutes: only say something when it did something.
            log.log(logging.DEBUG if quiet and self._ticked else logging.INFO, "Lượt nhắc %s: %s",
                    now.astimezone(TZ).strftime("%d/%m/%Y %H:%M"), report)
            self._ticked = True
            return report

    def _clock_facts(self, session: Session, now: datetime) -> clockcheck.ClockFacts:
        """Read what the store knows about earlier clocks, move it on to `now`
        (clockcheck.at_tick) and write what changed; log a clock that went back. Caller commits."""
        before = stored_clock_facts(db.read_state(session))
        facts, back = clockcheck.at_tick(before, now)
        if back is not None:
            log.error("Đồng hồ máy chạy lùi: lượt nhắc gần nhất ghi lúc %s, bây giờ đồng hồ báo %s (lùi %s). "
                      "Kiểm tra đồng bộ thời gian (timedatectl); các thư chờ gửi lại không bị kẹt.",
                      when(before.newest_tick), when(now), duration(back))
            ledger.void_premature(session, now, f"lập khi đồng hồ máy báo sai (sau {when(now)}); bước này được "
                                                "gửi lại đúng ngày")
        # A new store (one from before this check was marked by migration 0004), or a first tick
        # that itself ran on a clock ahead: the first start is now.
        if facts.first_tick != before.first_tick:
            db.put_state(session, clockcheck.FIRST_TICK, now, at=now)
        if facts.newest_tick != before.newest_tick:
            db.put_state(session, clockcheck.NEWEST_TICK, now, at=now)
        return facts

    def _plan(self, now: datetime) -> tuple[int, int]:
        """Sync, check the clock, ask the planner, claim: one transaction. Returns how many sends
        are new and how many were held back."""
        with Session(self.engine) as session:
            db.sync_config(session, self.config, now)
            facts_clock = self._clock_facts(session, now)
            session.commit()
            facts = db.load_facts(session, self.config, now)
            periods = db.all_periods(session, self.config)
            decision = planner.decide(self.config, periods, facts, facts_clock, now)
            if decision.held:
                self._tell_held(list(decision.held), now)
            claimed = ledger.claim(session, list(decision.claim), now, self.settings.mail_from)
            session.commit()
        return claimed, len(decision.held)

    def _tell_held(self, held: list, now: datetime) -> None:
        for key in sorted({s.period.key for s in held} - self._held_told):
            sends = [s for s in held if s.period.key == key]
            log.error("Lần chạy đầu tiên: đồng hồ máy báo %s, đã sau hạn nộp kỳ %s (%s). Chưa gửi %d thư báo quá hạn "
                      "(đồng gửi Thủ trưởng đơn vị) vì chưa thể kiểm tra đồng hồ máy. Nếu hôm nay đúng là %s, chạy: "
                      "baocao confirm-clock %s — nếu sai, sửa đồng hồ máy; thư nhắc khác vẫn gửi bình thường.",
                      when(now), key, f"{sends[0].period.due:%d/%m/%Y}", len(sends),
                      f"{to_local(now):%d/%m/%Y}", f"{to_local(now):%d/%m/%Y}")
            self._held_told.add(key)

    def deliver_soon(self) -> None:
        """After a submission: send its receipt now rather than at the next periodic tick."""
        task = asyncio.get_running_loop().create_task(guarded(self.retry)())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _reports(self, now: datetime) -> tuple[int, dict[str, str]]:
        """Consolidated reports for periods past their deadline: version 1 at the first working-day
        tick after it, a new version whenever a late report or a correction changes the figures,
        for REPORT_WINDOW after the deadline (a service started in November does not mail June's
        report; `baocao report` still makes any period's on demand). One period at a time: a
        failure is logged and that period alone is retried at the next tick."""
        if not sending_hours(self.config, now):
            return 0, {}
        with Session(self.engine) as session:
            periods = db.all_periods(session, self.config)
            closed = db.closed_periods(session)
            problems = {k.removeprefix(REPORT_ERROR): row for k, row in db.read_state(session).items()
                        if k.startswith(REPORT_ERROR)}
        made, errors = 0, {}
        for period in planner.reports_due(self.config, periods, closed, now):
            try:
                with Session(self.engine) as session:
                    row = versions.make_version(session, self.config, period, now,
                                               self.settings.templates_dir / "docx", self.settings.mail_from)
                    if period.key in problems:  # made at last: `status` no longer shows the old failure
                        session.delete(session.merge(problems[period.key]))
                    session.commit()
                    if row is not None:
                        made += 1
                        log.info("Đã lập báo cáo tổng hợp %s, bản %d (%d đơn vị có số liệu)", period.key,
                                 row.version, len(row.sources or {}))
            except Exception as exc:  # noqa: BLE001 - one period's report must not stop the others, nor the mail
                errors[period.key] = str(exc) or type(exc).__name__
                log.error("Không lập được báo cáo tổng hợp kỳ %s, sẽ thử lại ở lượt sau: %s", period.key,
                          errors[period.key])
                self._note_report_error(period.key, errors[period.key], now)
        return made, errors

    def _note_report_error(self, key: str, message: str, now: datetime) -> None:
        """Kept in the store so that `baocao status` shows it to the office, not only the journal."""
        try:
            with Session(self.engine) as session:
                db.put_state(session, REPORT_ERROR + key, now, at=now, value=message[:2000])
                session.commit()
        except _DB_DOWN as exc:
            log.error("Không ghi được lỗi lập báo cáo kỳ %s vào cơ sở dữ liệu: %s", key, exc)

    async def retry(self) -> TickReport:
        """Deliver whatever is waiting (transient failures, crashed sends); plans nothing new."""
        async with self.lock:
            return await self._deliver()

    # -- delivery ---------------------------------------------------------------------------

    async def _deliver(self) -> TickReport:
        """Every waiting row whose time has come, through a few SMTP connections at once."""
        return await delivery.Pass(self).run()

    def link(self, session: Session, period_key: str, unit_code: str, now: datetime, role: str = "unit") -> str:
        """The unit's own form address for the period, or (role "head") its head's approval page
        (created on first use; caller commits)."""
        token = links.link_token(session, self.settings.secret(), period_key, unit_code, now, role=role)
        return f"{self.settings.public_url.rstrip('/')}{links.PATHS[role]}{token}"
