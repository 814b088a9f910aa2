"""The figures of a period as a table, then as XLSX or CSV for the office."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlmodel import Session

from scheduler.text import STATE_SHORT
from scheduler.collect import record
from scheduler.policy.periods import Period
from scheduler.clock import to_local
from scheduler.config.model import Config
from scheduler.collect.asked import not_for
from scheduler.collect.validate import NOT_APPLICABLE, headings_for, indicators_for

NOT_ASKED = "Không áp dụng"  # the indicator is not the unit's (applies_to)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(cell) -> None:
    """Text a unit typed stays text: openpyxl stores any string starting with "=" as a formula,
    so "=HYPERLINK(…)" in a name would become a live link in the office's spreadsheet."""
    if isinstance(cell.value, str):
        cell.data_type = "s"


def _csv_safe(value):
    """The usual CSV guard: a leading ' keeps Excel from reading text as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def period_table(session: Session, config: Config, period: Period) -> list[record.Standing]:
    """One row per unit that owes the period, plus any that reported though no longer owing."""
    return record.standings(session, config, period, former=True)


def _header(config: Config, period: Period) -> list[str]:
    head = ["Mã đơn vị", "Đơn vị", "Tình trạng", "Bản số", "Thời điểm nhận", "Người gửi"]
    for ind in indicators_for(config, period):
        if ind.kind == "count":
            head.append(f"{ind.name} — {ind.numerator}" + (f" ({ind.unit})" if ind.unit else ""))
        elif ind.parent is not None:  # its denominator is its parent's, in the parent's column
            head.append(f"{ind.name} — trong đó: {ind.numerator}")
        else:
            per = f" ({ind.unit})" if ind.kind == "mean" and ind.unit else ""
            head += [f"{ind.name} — {ind.numerator}{per}", f"{ind.name} — {ind.denominator}"]
    return head


def _values(config: Config, period: Period, row: record.Standing) -> list:
    sub = row.last
    received = to_local(sub.received_at).replace(tzinfo=None) if sub else None
    values: list = [row.code, row.name, STATE_SHORT[row.state], sub.revision if sub else None, received,
                    sub.submitted_by if sub else None]
    unit = config.unit(row.code)
    for ind in indicators_for(config, period):
        width = 2 if ind.has_denominator else 1
        value = (sub.figures or {}).get(ind.id, "") if sub else ""
        if value is None:
            values += [NOT_APPLICABLE] * width
        elif value:
            values += [value["num"], value["den"]][:width]
        elif unit is not None and not_for(config, ind.applies_to, unit):
            values += [NOT_ASKED] * width
        else:
            values += [None] * width
    return values


def to_xlsx(config: Config, period: Period, rows: list[record.Standing]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append(_header(config, period))
    for row in rows:
        ws.append(_values(config, period, row))
    for line in ws.iter_rows():
        for cell in line:
            _text_cell(cell)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws["E"][1:]:
        cell.number_format = "dd/mm/yyyy hh:mm"
    ws.freeze_panes = "C2"
    notes = wb.create_sheet("Thuyết minh")
    notes.append(["Mã đơn vị", "Đơn vị", "Đề mục", "Nội dung"])
    for row in rows:
        for h in headings_for(config, period, config.unit(row.code)):
            text = (row.last.narrative or {}).get(h.id, "") if row.last else ""
            if text:
                notes.append([row.code, row.name, h.title, text])
    for line in notes.iter_rows():
        for cell in line:
            _text_cell(cell)
    for cell in notes["D"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(config: Config, period: Period, rows: list[record.Standing]) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Vietnamese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header(config, period))
    for row in rows:
        values = _values(config, period, row)
        values[4] = values[4].strftime("%d/%m/%Y %H:%M") if isinstance(values[4], datetime) else ""
        writer.writerow(["" if v is None else _csv_safe(v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
