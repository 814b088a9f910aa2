"""The one clock. Everything the service decides is in Asia/Ho_Chi_Minh, whatever the host's TZ."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Callable
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Aware 'now' in Asia/Ho_Chi_Minh. freezegun patches datetime.now, so tests pin this."""
    return datetime.now(TZ)


def local(d: date, t: time = time(0, 0)) -> datetime:
    """The instant at wall-clock time `t` on day `d` in Vietnam."""
    return datetime.combine(d, t, tzinfo=TZ)


def to_local(dt: datetime) -> datetime:
    """Convert an aware instant to Vietnam time; naive values are taken as UTC (how SQLite returns them)."""
    if dt.tzinfo is None:
        from datetime import timezone

        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(TZ)
