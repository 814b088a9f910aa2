"""Vietnamese wording shared by the CLI, the mails and the report."""

from __future__ import annotations

from datetime import date, datetime

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

KIND_LABELS = {
    "notice": "Thông báo",
    "reminder": "Nhắc hạn",
    "overdue": "Quá hạn",
    "digest": "Tổng hợp cho VP",
    "receipt": "Xác nhận đã nhận",
}


def weekday(d: date) -> str:
    return WEEKDAYS[d.weekday()]


def long_date(d: date) -> str:
    """'Thứ Bảy, 05/12/2026'"""
    return f"{weekday(d)}, {d:%d/%m/%Y}"


def short_datetime(dt: datetime) -> str:
    """'08:00 Thứ Sáu 20/11/2026'"""
    return f"{dt:%H:%M} {weekday(dt.date())} {dt:%d/%m/%Y}"


def number(n: int) -> str:
    """Vietnamese digit grouping: 1234567 → '1.234.567'."""
    return f"{n:,}".replace(",", ".")
