"""Periods, deadlines and Vietnamese working days. Pure functions: no I/O, no clock.

A report "trước ngày 05 tháng cuối quý" is due *before* day 5: the deadline instant is
00:00 Asia/Ho_Chi_Minh on the due day, so 23:59 on the 4th is on time. The deadline is a
calendar date and never moves for weekends or holidays; reminders do (see `WorkingCalendar`).
"""

from __future__ import annotations

import calendar as _stdcal
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Literal

import holidays

from scheduler.clock import local

PeriodType = Literal["month", "quarter", "half_year", "year"]

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}  # quarters as Vietnamese documents number them
_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


@dataclass(frozen=True)
class Period:
    """One reporting period of one obligation (or one on-request report)."""

    key: str  # "2026-Q4"; the key the CLI, the ledger and the links use
    obligation: str  # obligation id from the plan
    title: str  # "Quý IV/2026", as a person reads it
    start: date
    end: date
    due: date  # the report is due *before* this day
    units: frozenset[str] | None = None  # None: every unit the obligation applies to
    kind: PeriodType | None = None  # None: an on-request report or a one-off obligation
    # "Thời gian chốt số liệu": the days the figures cover, when they differ from start–end.
    data_from: date | None = None
    data_to: date | None = None
    # An on-request report's own questions, a subset of its obligation's; None: all of them.
    indicators: frozenset[str] | None = None
    headings: frozenset[str] | None = None

    @property
    def deadline(self) -> datetime:
        return local(self.due)


def add_months(d: date, months: int) -> date:
    """First day of the month `months` after d's month."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def due_date(start: date, length_months: int, month: int | Literal["last"], day: int) -> date:
    """The due day of a period starting on `start`.

    `month` counts from the period's first month (1 = first); "last" is the period's last
    month; values past the period's length fall after it (e.g. 13 for a year = January next
    year). A day past the month's end (31 in a 30-day month) falls on its last day.
    """
    offset = length_months - 1 if month == "last" else month - 1
    first = add_months(start, offset)
    last_day = _stdcal.monthrange(first.year, first.month)[1]
    return first.replace(day=min(day, last_day))


def period_key(kind: PeriodType, start: date, prefix: str = "") -> str:
    if kind == "quarter":
        body = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    elif kind == "half_year":
        body = f"{start.year}-H{(start.month - 1) // 6 + 1}"
    elif kind == "month":
        body = f"{start.year}-{start.month:02d}"
    else:
        body = f"{start.year}"
    return f"{prefix}{body}"


def period_title(kind: PeriodType, start: date) -> str:
    if kind == "quarter":
        return f"Quý {ROMAN[(start.month - 1) // 3 + 1]}/{start.year}"
    if kind == "half_year":
        half = "đầu năm" if start.month == 1 else "cuối năm"
        return f"6 tháng {half} {start.year}"
    if kind == "month":
        return f"Tháng {start.month:02d}/{start.year}"
    return f"Năm {start.year}"


def periods_in_window(
    obligation: str,
    kind: PeriodType,
    month: int | Literal["last"],
    day: int,
    window_start: date,
    window_end: date,
    prefix: str = "",
    data_cutoff: int | None = None,
) -> list[Period]:
    """The periods of a recurring obligation that overlap the campaign window (both ends
    inclusive), in time order: a monthly report for December belongs to a campaign ending
    31/12 although it is due on 05/01 (the NĐ 09/2019 regimes report after the period).
    `data_cutoff` (a day of the month) shifts the days the figures cover: 14 gives 15/12 →
    14/03 for the first quarter."""
    length = _MONTHS[kind]
    periods: list[Period] = []
    # Start a year early: a period can fall due well after it began.
    start = date(window_start.year - 1, 1, 1)
    while start <= window_end:
        due = due_date(start, length, month, day)
        end = add_months(start, length) - timedelta(days=1)
        if start <= window_end and end >= window_start:
            data_from = data_to = None
            if data_cutoff is not None:
                # The day after the cut-off (28 → 01/03 in a February without a 29th).
                data_from = add_months(start, -1).replace(day=data_cutoff) + timedelta(days=1)
                data_to = add_months(start, length - 1).replace(day=data_cutoff)
            periods.append(
                Period(
                    key=period_key(kind, start, prefix),
                    obligation=obligation,
                    title=period_title(kind, start),
                    start=start,
                    end=end,
                    due=due,
                    kind=kind,
                    data_from=data_from,
                    data_to=data_to,
                )
            )
        start = add_months(start, length)
    return periods


def _vietnam() -> type:
    """The package's Vietnam class, loaded alone. `holidays.country_holidays("VN")` imports the
    package's 250 countries first (holidays/countries/__init__.py): 8 MB held by the service and
    tenths of a second in every command, for one country's rules. Should the package be laid out
    otherwise one day, the usual way still works."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "holidays.countries.vietnam"
    if name in sys.modules:
        return sys.modules[name].Vietnam
    try:
        spec = importlib.util.spec_from_file_location(name, Path(holidays.__file__).parent / "countries" / "vietnam.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module.Vietnam
    except Exception:  # noqa: BLE001 - any surprise: the package's own way
        sys.modules.pop(name, None)
        return type(holidays.country_holidays("VN"))


class WorkingCalendar:
    """Vietnamese working days: Monday–Friday minus public holidays (the `holidays` package,
    which knows Tết by the lunar calendar), adjusted by the plan's decreed swaps. The
    config wins over the package: swap days are decreed year by year and may be newer than
    the package."""

    def __init__(self, extra_days_off: Iterable[date] = (), extra_working_days: Iterable[date] = ()):
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        self._vn = _vietnam()(language="vi")  # the language changes only the names

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working_days:
            return True
        if d in self.extra_days_off:
            return False
        # The package also knows some decreed swaps (e.g. Saturday 22/08/2026 worked).
        return self._vn.is_working_day(d)

    def holiday_name(self, d: date) -> str | None:
        """The holiday's Vietnamese name, or a note for a decreed day off."""
        if d in self.extra_days_off:
            return "ngày nghỉ bù theo cấu hình"
        return self._vn.get(d)

    def working_day_before(self, d: date, n: int) -> date:
        """The nth working day strictly before d (n ≥ 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        cur = d
        while n:
            cur -= timedelta(days=1)
            if self.is_working_day(cur):
                n -= 1
        return cur

    def working_day_from(self, d: date, n: int) -> date:
        """The nth working day counting d itself (n ≥ 1): a deadline at 00:00 on d means
        08:00 on d, if d is a working day, is already late."""
        if n < 1:
            raise ValueError("n must be at least 1")
        cur = d - timedelta(days=1)
        while n:
            cur += timedelta(days=1)
            if self.is_working_day(cur):
                n -= 1
        return cur
