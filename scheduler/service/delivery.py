"""One delivery pass: every waiting ledger row whose time has come, through a few SMTP
connections kept busy.

A pipeline of three stages, so that none waits for the others:
- take and compose (a worker thread): a chunk of rows taken by one conditional UPDATE
  (ledger.take_many), checked against the store once for the chunk (reported? closed?), each
  message composed and turned into its SMTP bytes, the chunk's links made in one statement;
- send (the event loop): `smtp_connections` connections, each sending one message at a time;
- record (a worker thread): outcomes written as soon as SMTP has answered, fenced by each take,
  in one transaction for all the outcomes that arrived while the previous one was being written
  (a group commit: one commit per message would make the disk the bottleneck).

Exactly once holds as before: a row is sent only by the process that took it, and its outcome
is recorded after SMTP answered. A process killed mid-pass leaves its taken rows "sending"
until their lease runs out; then they go, with the Message-ID given at claim time. Only the
messages SMTP had accepted and whose outcome was not yet written can arrive twice: at most one
per connection plus the outcomes of one group commit in progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session, select

from scheduler.collect import links
from scheduler.config.model import UNIT_STEP_KINDS
from scheduler.mail.compose import BadAddress, Composer, wire
from scheduler.mail.transport import Outgoing
from scheduler.policy import planner
from scheduler.policy.periods import Period
from scheduler.policy.planner import OFFICE
from scheduler.service import messages
from scheduler.service.journal import TickReport, describe_send
from scheduler.store import db, ledger, reviews
from scheduler.store.sends import Outcome
from scheduler.store.tables import SendRow

if TYPE_CHECKING:
    from scheduler.service.tick import Service

log = logging.getLogger("baocao.service")

# A database that is locked (SQLite) or restarting (PostgreSQL) is waited for, this long at most,
# before a delivery pass gives up taking rows; nothing was taken meanwhile, so nothing is lost.
DB_PATIENCE = 60.0
DB_DOWN = (OperationalError, InterfaceError)
# Rows taken and composed together: enough to pay for the statements once per chunk, few enough
# that a second deliverer on the store takes its share, and that a process killed mid-pass leaves
# little waiting for its lease.
CHUNK = 25


@dataclass(frozen=True)
class View:
    """What one delivery pass reads once to decide whether a taken row is still owed."""

    periods: dict[str, Period]
    closed: frozenset[str]
    reported: frozenset[tuple[str, str]]
    newest: dict[tuple[str, str, str], datetime]


async def patiently(fn, *args, what: str, patience: float):
    """`fn(*args)` in a worker thread, waited for while the database is locked or restarting."""
    started, delay = time.monotonic(), 0.5
    while True:
        try:
            return await asyncio.to_thread(fn, *args)
        except DB_DOWN as exc:
            if time.monotonic() - started > patience:
                raise
            log.warning("Cơ sở dữ liệu đang bận hoặc không kết nối được (%s), thử lại sau %.1f giây: %s", what,
                        delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


class Pass:
    """One delivery pass of `service` (see the module's docstring)."""

    def __init__(self, service: "Service"):
        self.service = service
        self.report = TickReport()
        self.held: dict[int, ledger.Taken] = {}  # taken and not yet recorded: their leases are kept
        self.outcomes: list[tuple[ledger.Taken, Outcome]] = []
        self.arrived = asyncio.Event()
        self.closing = False
        self.recording: Connection | None = None  # see _record

    # -- the stages ---------------------------------------------------------------------------

    async def run(self) -> TickReport:
        svc = self.service
        ids = await asyncio.to_thread(self._due)
        if not ids:
            return self.report
        view = await asyncio.to_thread(self._view)
        composer = Composer(svc.settings.templates_dir, svc.config, svc.settings.mail_from)
        secret = svc.settings.secret()  # read once per pass, not once per link
        workers = min(svc.settings.smtp_connections, len(ids))
        # A chunk queued ahead of the senders: the next one is taken and composed while they send.
        queue: asyncio.Queue = asyncio.Queue(maxsize=CHUNK)

        async def produce() -> None:
            try:
                for start in range(0, len(ids), CHUNK):
                    try:
                        ready = await patiently(self._prepare, ids[start:start + CHUNK], composer, view, secret,
                                                what="nhận thư để gửi", patience=DB_PATIENCE)
                    except DB_DOWN as exc:
                        log.error("Cơ sở dữ liệu không trả lời, dừng lượt gửi này (thư còn lại gửi ở lượt sau): %s",
                                  exc)
                        return
                    for taken, outcome, item in ready:
                        self.held[taken.id] = taken
                        if outcome is not None:
                            self._outcome(taken, outcome)
                        else:
                            await queue.put((taken, item))
            finally:
                for _ in range(workers):
                    await queue.put(None)

        async def send() -> None:
            connection = svc.transport.connection()
            try:
                while (got := await queue.get()) is not None:
                    taken, item = got
                    try:
                        outcome = await connection.send(item)
                    except Exception as exc:  # noqa: BLE001 - the transport promises not to raise; if it does, the row still settles
                        log.error("Lỗi không mong đợi khi gửi %s: %s: %s", describe_send(taken), type(exc).__name__, exc)
                        outcome = Outcome("transient", f"lỗi khi gửi: {exc}")
                    self._outcome(taken, outcome)
            finally:
                await connection.close()

        recorder = asyncio.create_task(self._record_all())
        keeper = asyncio.create_task(self._keep_leases())
        try:
            # Every stage runs to its end, even when one fails: a message sent must have its
            # outcome recorded, or it would go again once its lease ran out.
            results = await asyncio.gather(produce(), *(send() for _ in range(workers)), return_exceptions=True)
        finally:
            self.closing = True
            self.arrived.set()
            try:
                await recorder
            finally:  # even when recording failed: the leases' keeper and the connection go too
                keeper.cancel()
                await asyncio.to_thread(self._stop_recording)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return self.report

    def _due(self) -> list[int]:
        svc = self.service
        now = svc.clock()
        with Session(svc.engine) as session:
            given_up = ledger.give_up_exhausted(session, now)
            if given_up:
                log.error("Bỏ %d thư: tiến trình gửi đã dừng giữa chừng %d lần với mỗi thư", given_up,
                          ledger.MAX_ATTEMPTS)
            return ledger.due(session, now)

    def _view(self) -> View:
        svc = self.service
        now = svc.clock()
        with Session(svc.engine) as session:
            periods = {p.key: p for p in db.all_periods(session, svc.config)}
            closed = db.closed_periods(session)
            reported = frozenset(db.reported_pairs(session))
            rows = session.exec(select(SendRow.period_key, SendRow.audience, SendRow.kind, SendRow.scheduled_at)
                                .where(~SendRow.step.contains("~"))).all()  # see ledger.void_premature
        return View(periods, closed, reported, planner.newest_steps(rows, now))

    def _prepare(self, ids: list[int], composer: Composer, view: View, secret: bytes):
        """Take a chunk of rows and make each one's message: [(taken, outcome or None, item)].
        The check whether a row is still owed is read after the take: a unit that reports during
        a long pass must not get its reminder anyway."""
        svc = self.service
        now = svc.clock()
        with Session(svc.engine) as session:
            taken = ledger.take_many(session, ids, now, svc.lease)
            if not taken:
                return []
            ready = []
            try:
                reported = reviews.reported_among(session, {(t.period_key, t.audience) for t in taken
                                                            if t.audience != OFFICE})
                closed = db.closed_periods(session)
                units = {t.audience for t in taken if t.audience != OFFICE}
                keys = {t.period_key for t in taken}
                known = messages.Known(frozenset(view.periods), view.closed | closed,
                                       db.submitted_among(session, keys, units))
                tokens: dict[tuple[str, str], str] = {}
                by_period: dict[str, list[str]] = {}
                for t in taken:  # the units' form links of the chunk, made in one statement per period
                    if t.audience != OFFICE and t.kind in UNIT_STEP_KINDS + ("receipt", reviews.RETURNED):
                        by_period.setdefault(t.period_key, []).append(t.audience)
                for key, codes in by_period.items():
                    for code, token in links.link_tokens(session, secret, key, codes, now).items():
                        tokens[(key, code)] = token
                # Stored now, before composing: the write lock is not held while 25 mails are
                # rendered in a thread that stands back for the web process (a form's POST waits
                # for that lock). The links go before any mail that carries them.
                session.commit()

                def link_for(session: Session, period_key: str, unit_code: str, now: datetime, role: str = "unit") -> str:
                    token = tokens.get((period_key, unit_code)) if role == "unit" else None
                    if token is None:
                        token = links.link_token(session, secret, period_key, unit_code, now, role=role)
                    return f"{svc.settings.public_url.rstrip('/')}{links.PATHS[role]}{token}"

                for t in taken:
                    outcome = self._still_owed(t, view, reported, closed, now)
                    item = None
                    if outcome is None:
                        outcome, item = self._compose(session, composer, t, view.periods[t.period_key], now, link_for,
                                                      known)
                    ready.append((t, outcome, item))
                # Any other link a message made (a head's approval page) is stored before any of
                # them goes too: a mail must never carry a link that opens nothing.
                session.commit()
            except SQLAlchemyError as exc:
                # The rows are taken (committed above): each gets its outcome, so none waits for
                # its lease to run out; nothing of the chunk was sent.
                log.error("Không soạn được %d thư vì lỗi cơ sở dữ liệu (sẽ thử lại): %s", len(taken), exc)
                return [(t, Outcome("transient", f"không soạn được thư: {exc}"), None) for t in taken]
        return ready

    def _still_owed(self, taken: ledger.Taken, view: View, reported: set, closed: frozenset,
                    now: datetime) -> Outcome | None:
        waiting = planner.Waiting(taken.period_key, taken.audience, taken.kind, taken.scheduled_at, taken.created_at,
                                  partial=bool(taken.retry_rcpts))
        verdict = planner.no_longer_owed(self.service.config, waiting, frozenset(view.periods), view.closed | closed,
                                         view.reported | reported, view.newest, now, ledger.GIVE_UP_AFTER)
        return None if verdict is None else Outcome(*verdict)

    def _compose(self, session: Session, composer: Composer, taken: ledger.Taken, period: Period, now: datetime,
                 link_for, known: messages.Known) -> tuple[Outcome | None, Outgoing | None]:
        svc = self.service
        try:
            message = messages.message(session, composer, svc.config, taken, period, now, link_for, known)
            data = wire(message)
        except SQLAlchemyError:
            raise  # the chunk's transaction is gone with it: see _prepare
        except BadAddress as exc:  # the row's own data: retrying cannot help
            return Outcome("permanent", f"không soạn được thư: {exc}"), None
        except Exception as exc:  # noqa: BLE001 - a template being edited, a setting, the database: fixable, so retried
            log.error("Không soạn được %s (sẽ thử lại; cần kiểm tra): %s: %s", describe_send(taken),
                      type(exc).__name__, exc)
            return Outcome("transient", f"không soạn được thư: {exc}"), None
        rcpts = list(taken.retry_rcpts) or list(dict.fromkeys(taken.to_addrs + taken.cc_addrs))
        return None, Outgoing(taken.id, message, f"{taken.period_key}_{taken.audience}_{taken.step}",
                              recipients=list(taken.retry_rcpts) or None, data=data, envelope=rcpts,
                              sender=svc.settings.mail_from)

    # -- recording ------------------------------------------------------------------------------

    def _outcome(self, taken: ledger.Taken, outcome: Outcome) -> None:
        self.outcomes.append((taken, outcome))
        self.arrived.set()

    async def _record_all(self) -> None:
        """Write outcomes as they come: whatever arrived while the last write ran goes in the next.
        Never given up: the outcome is known, and recording it late is safe (the take's count
        fences it), whereas dropping it would send the message again once the lease ran out."""
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            while self.outcomes:
                batch, self.outcomes = self.outcomes, []
                statuses = await patiently(self._record, batch, what="ghi kết quả gửi", patience=float("inf"))
                for (taken, outcome), status in zip(batch, statuses):
                    self.held.pop(taken.id, None)
                    self._tell(taken, outcome, status)
            if self.closing and not self.outcomes:
                return

    def _record(self, batch: list[tuple[ledger.Taken, Outcome]]) -> list[str | None]:
        # One connection for the pass's records, written one batch at a time (this task's turns
        # never overlap): a session and a checkout per batch were half of recording's time, and
        # a batch is often a single outcome.
        if self.recording is None or self.recording.invalidated or self.recording.closed:
            self.recording = self.service.engine.connect()
        try:
            with self.recording.begin():
                return ledger.record_many(self.recording, batch, self.service.clock())
        except DB_DOWN:
            self._stop_recording()  # the next try opens a new one
            raise

    def _stop_recording(self) -> None:
        connection, self.recording = self.recording, None
        if connection is not None:
            connection.close()

    def _tell(self, taken: ledger.Taken, outcome: Outcome, status: str | None) -> None:
        report, what = self.report, describe_send(taken)
        if status is None:
            log.warning("Kết quả gửi %s không được ghi lại: thư không còn do tiến trình này giữ (đã ghi ở lần thử "
                        "trước, hoặc tiến trình khác đã nhận lại sau khi hết hạn giữ)", what)
        elif status == "sent":
            report.sent += 1
            log.info("Đã gửi %s (%s)%s", what, taken.message_id, f" — {outcome.error}" if outcome.error else "")
        elif status == "cancelled":
            report.cancelled += 1
            log.info("Huỷ %s: %s", what, outcome.error)
        elif status == "failed":
            report.failed += 1
            log.error("Không gửi được %s: %s", what, outcome.error)
        else:
            report.waiting += 1
            log.warning("Chưa gửi được %s, sẽ thử lại: %s", what, outcome.error)

    async def _keep_leases(self) -> None:
        """While this pass holds rows, push their leases forward: a slow server or a busy database
        must not let another deliverer think this one died and send the messages again."""
        svc = self.service
        interval = svc.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self.held.values())
            if not held:
                continue
            try:
                await asyncio.to_thread(self._extend, held)
            except DB_DOWN as exc:
                log.warning("Chưa gia hạn được quyền gửi %d thư đang gửi: %s", len(held), exc)

    def _extend(self, held: list[ledger.Taken]) -> None:
        with Session(self.service.engine) as session:
            ledger.extend_many(session, held, self.service.clock() + self.service.lease)
