"""What the service says in the journal and to `remind`: one tick's tally, each send named in
words, times and durations in Vietnamese, and a job that fails logged without stopping the loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.clock import to_local
from scheduler.policy import planner
from scheduler.store import db, ledger
from scheduler.text import KIND_LABELS

log = logging.getLogger("baocao.service")


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    cancelled: int = 0
    held: int = 0  # overdue mail of a first start, waiting for `baocao confirm-clock`
    report_errors: dict[str, str] = field(default_factory=dict)  # period key → why its report could not be made

    def __str__(self) -> str:
        return (f"mới: {self.claimed}, đã gửi: {self.sent}, lỗi vĩnh viễn: {self.failed}, "
                f"chờ gửi lại: {self.waiting}, huỷ: {self.cancelled}"
                + (f", giữ lại chờ xác nhận đồng hồ: {self.held}" if self.held else ""))

    def add(self, other: "TickReport") -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.waiting += other.waiting
        self.cancelled += other.cancelled


def describe_send(taken: ledger.Taken) -> str:
    """A send as the journal names it: its kind in words, the step code `status` shows, the
    period and who it goes to."""
    who = "Văn phòng" if taken.audience == planner.OFFICE else taken.audience
    return f"thư {KIND_LABELS.get(taken.kind, taken.kind)} ({taken.step}) kỳ {taken.period_key} cho {who}"


def when(moment: datetime) -> str:
    return f"{to_local(moment):%H:%M ngày %d/%m/%Y}"


def duration(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        return f"{delta.days} ngày {delta.seconds // 3600} giờ"
    if delta >= timedelta(hours=1):
        return f"{delta.seconds // 3600} giờ {delta.seconds % 3600 // 60} phút"
    return f"{max(1, delta.seconds // 60)} phút"


_JOBS = {"tick": "nhắc", "retry": "gửi lại"}  # the journal's names for the jobs


def guarded(job):
    """A failing tick is logged and the service goes on; the next tick retries."""
    async def run() -> None:
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad day
            if problem := db.database_problem(exc):  # the admin's to fix, not a bug: no traceback
                log.error("Lượt %s không chạy được, thử lại ở lượt kiểm tra tới: %s", _JOBS.get(job.__name__, job.__name__),
                          problem)
            else:
                log.exception("Lỗi trong lượt %s", _JOBS.get(job.__name__, job.__name__))
    run.__name__ = job.__name__
    return run
