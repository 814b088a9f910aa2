"""The XLSX template a unit can fill offline, and reading it (or a YAML/JSON file) back.

openpyxl writes data validation but does not enforce it, and formulas read back as None
unless Excel saved the file (PITFALLS): every value is validated again on import, and a
formula without a stored value is reported, never read as empty.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

from scheduler.calendar import Period
from scheduler.config import Config
from scheduler.submission import NOT_APPLICABLE, Entry, headings_for, indicators_for
from scheduler.text import long_date, requirement
from scheduler.yamlsource import YamlDocument, load_yaml

SHEET = "Báo cáo"
FIRST_ROW = 8  # first indicator row
PERIOD_CELL, BY_CELL = "C3", "C5"
NUM, DEN, KPS = "D", "E", "F"


class ImportError_(Exception):
    """A file that cannot be read as a report; `problems` maps a location to its message."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def template(config: Config, period: Period) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="FFF2CC")  # the cells to fill in
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = f"BÁO CÁO {period.title.upper()}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Gửi {config.plan.organisation.office_name} trước ngày {long_date(period.due)}"
    ws["B3"], ws[PERIOD_CELL] = "Kỳ báo cáo (không sửa)", period.key
    ws["B4"], ws["C4"] = "Đơn vị", ""
    ws["B5"], ws[BY_CELL] = "Người gửi (họ tên, chức vụ)", ""
    for ref in ("C4", BY_CELL):
        ws[ref].fill, ws[ref].border = fill, box
    ws["A6"] = f"Ghi số lượng, không ghi tỷ lệ. Nếu không phát sinh, ghi x ở cột “{NOT_APPLICABLE}”."
    headers = ["Mã", "Chỉ tiêu", "Mục tiêu", "Tử số", "Mẫu số", NOT_APPLICABLE]
    for col, text in zip("ABCDEF", headers):
        ws[f"{col}7"] = text
        ws[f"{col}7"].font, ws[f"{col}7"].alignment, ws[f"{col}7"].border = bold, wrap, box
    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showErrorMessage=True, error="Nhập số nguyên không âm", errorTitle="Số liệu")
    marks = DataValidation(type="list", formula1='"x"', allow_blank=True)
    ws.add_data_validation(counts)
    ws.add_data_validation(marks)
    row = FIRST_ROW
    for ind in indicators_for(config, period):
        ws[f"A{row}"] = ind.id
        ws[f"B{row}"] = f"{ind.name}\nTử số: {ind.numerator}\nMẫu số: {ind.denominator}"
        ws[f"C{row}"] = str(ind.target)
        for col in "ABCDEF":
            ws[f"{col}{row}"].border, ws[f"{col}{row}"].alignment = box, wrap
        for col in (NUM, DEN, KPS):
            ws[f"{col}{row}"].fill = fill
        counts.add(f"{NUM}{row}:{DEN}{row}")
        marks.add(f"{KPS}{row}")
        row += 1
    row += 1
    ws[f"B{row}"] = "THUYẾT MINH"
    ws[f"B{row}"].font = bold
    row += 1
    for h in headings_for(config, period):
        ws[f"A{row}"] = f"h:{h.id}"
        ws[f"B{row}"] = h.title + (f" ({requirement(h.required)})" if h.required else "")
        ws.merge_cells(f"C{row}:F{row}")
        ws[f"C{row}"].fill, ws[f"C{row}"].alignment, ws[f"B{row}"].alignment = fill, wrap, wrap
        ws.row_dimensions[row].height = 90
        row += 1
    for col, width in zip("ABCDEF", (14, 60, 10, 14, 14, 14)):
        ws.column_dimensions[col].width = width
    ws.column_dimensions["A"].hidden = False
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


MARKS = ("x", "có", "1", "true", "✓", "✔", "không phát sinh", "kps")


def read_xlsx(data: bytes, config: Config, period: Period, unit_code: str | None = None) -> tuple[Entry, dict[str, str]]:
    """An Entry from a filled template, and for each field key the cell it came from."""
    try:
        values = load_workbook(io.BytesIO(data), data_only=True)
        formulas = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise ImportError_({"tệp": f"không đọc được tệp XLSX ({type(exc).__name__})"}) from None
    if SHEET not in values.sheetnames:
        raise ImportError_({"tệp": f"không có trang tính “{SHEET}”; hãy dùng mẫu của `baocao template`"})
    ws, wf = values[SHEET], formulas[SHEET]
    problems: dict[str, str] = {}

    def cell(ref: str) -> str:
        value = ws[ref].value
        if wf[ref].data_type == "f" and value is None:
            problems[f"ô {ref}"] = "ô chứa công thức chưa có giá trị; mở tệp bằng Excel, lưu lại rồi gửi"
        if isinstance(value, float) and not value.is_integer():
            return f"{value!r} (số thập phân)"  # fails validation: 1.234 here is a decimal, not 1234
        return _text(value).strip()

    if cell(PERIOD_CELL) != period.key:
        problems[f"ô {PERIOD_CELL}"] = f"tệp là mẫu của kỳ “{cell(PERIOD_CELL)}”, không phải kỳ {period.key}"
    named = cell("C4")
    unit = config.unit(unit_code) if unit_code else None
    if named and unit is not None and named.casefold() not in (unit.code.casefold(), unit.name.casefold()):
        problems["ô C4"] = f"tệp ghi đơn vị “{named}”, không phải {unit.name} ({unit.code})"
    entry, where = Entry(submitted_by=cell(BY_CELL)), {"submitted_by": f"ô {BY_CELL}"}
    rows: dict[str, int] = {}
    for r in range(FIRST_ROW, ws.max_row + 1):
        key = _text(ws[f"A{r}"].value).strip()
        if not key:
            continue
        if key in rows:
            problems[f"dòng {r}"] = f"mã “{key}” đã có ở dòng {rows[key]}; mỗi chỉ tiêu, đề mục chỉ một dòng"
        rows.setdefault(key, r)
    for ind in indicators_for(config, period):
        r = rows.get(ind.id)
        if r is None:
            problems[ind.id] = f"thiếu dòng chỉ tiêu “{ind.name}” (mã {ind.id} ở cột A)"
            continue
        mark = cell(f"{KPS}{r}").lower()
        if mark and mark not in MARKS:
            problems[f"ô {KPS}{r}"] = f"“{mark}”: ghi x nếu không phát sinh, hoặc để trống"
        entry.figures[ind.id] = (cell(f"{NUM}{r}"), cell(f"{DEN}{r}"), mark in MARKS)
        where |= {ind.id: f"dòng {r}", f"{ind.id}.num": f"ô {NUM}{r}", f"{ind.id}.den": f"ô {DEN}{r}"}
    for h in headings_for(config, period):
        r = rows.get(f"h:{h.id}")
        if r is not None:
            entry.narrative[h.id] = cell(f"C{r}")
            where[f"h.{h.id}"] = f"ô C{r}"
    if problems:
        raise ImportError_(problems)
    return entry, where


def read_yaml(path: Path, config: Config, period: Period, unit_code: str | None = None) -> tuple[Entry, dict[str, str]]:
    """An Entry from a YAML or JSON file (JSON is YAML 1.2); locations are `file:line: key`."""
    doc, issues = load_yaml(path)
    if doc is None or issues:
        raise ImportError_({str(i.line or "tệp"): i.message for i in issues})
    if not isinstance(doc.data, dict):
        raise ImportError_({"tệp": "tệp phải là một bảng khoá: giá trị (submitted_by, indicators, narrative)"})
    data = doc.data
    problems: dict[str, str] = {}
    allowed = {"submitted_by", "indicators", "narrative", "period", "unit"}
    for key in data:
        if key not in allowed:
            problems[_at(doc, (key,))] = f"khoá không được phép; dùng: {', '.join(sorted(allowed))}"
    if data.get("period") not in (None, period.key):
        problems[_at(doc, ("period",))] = f"tệp ghi kỳ “{data['period']}”, không phải kỳ {period.key}"
    if unit_code and data.get("unit") not in (None, unit_code):
        problems[_at(doc, ("unit",))] = f"tệp ghi đơn vị “{data['unit']}”, không phải {unit_code}"
    if data.get("submitted_by") is not None and not isinstance(data["submitted_by"], str):
        problems[_at(doc, ("submitted_by",))] = "phải là một dòng chữ"
    entry = Entry(submitted_by=_text(data.get("submitted_by")) if isinstance(data.get("submitted_by"), str) else "")
    where = {"submitted_by": _at(doc, ("submitted_by",))}
    indicators = data.get("indicators") or {}
    known = {i.id for i in indicators_for(config, period)}
    for key in indicators if isinstance(indicators, dict) else []:
        if key not in known:
            problems[_at(doc, ("indicators", key))] = f"chỉ tiêu “{key}” không có trong kỳ này"
    for ind in indicators_for(config, period):
        value = indicators.get(ind.id) if isinstance(indicators, dict) else None
        loc = ("indicators", ind.id)
        where |= {ind.id: _at(doc, loc), f"{ind.id}.num": _at(doc, loc + ("num",)), f"{ind.id}.den": _at(doc, loc + ("den",))}
        if isinstance(value, str) and value.strip().lower() in ("không phát sinh", "khong_phat_sinh", "kps"):
            entry.figures[ind.id] = ("", "", True)
        elif isinstance(value, dict):
            extra = set(value) - {"num", "den"}
            if extra:
                problems[_at(doc, loc)] = f"chỉ dùng num và den (thừa: {', '.join(sorted(map(str, extra)))})"
            entry.figures[ind.id] = (_count(value.get("num")), _count(value.get("den")), False)
        elif value is not None:
            problems[_at(doc, loc)] = f"viết {{num: …, den: …}} hoặc \"{NOT_APPLICABLE}\""
    narrative = data.get("narrative") or {}
    if not isinstance(narrative, dict):
        problems[_at(doc, ("narrative",))] = "phải là các dòng “mã đề mục: nội dung”"
        narrative = {}
    known_headings = {h.id for h in headings_for(config, period)}
    for key, value in narrative.items():
        if key not in known_headings:
            # a typo must not drop a unit's text without a word
            problems[_at(doc, ("narrative", key))] = f"đề mục “{key}” không có trong kỳ này; dùng: {', '.join(sorted(known_headings))}"
        elif value is not None and not isinstance(value, str):
            problems[_at(doc, ("narrative", key))] = "nội dung phải là chữ (dùng | để viết nhiều dòng)"
    for h in headings_for(config, period):
        if isinstance(narrative.get(h.id), str):
            entry.narrative[h.id] = narrative[h.id]
        where[f"h.{h.id}"] = _at(doc, ("narrative", h.id))
    if problems:
        raise ImportError_(problems)
    return entry, where


def _count(value: Any) -> str:
    """A count from YAML as text. Floats must fail: `1.234` in YAML is the decimal 1,234 and
    must not be read as the Vietnamese-written 1.234 (one thousand two hundred thirty-four)."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, float):
        return f"{value!r} (số thập phân)"
    return _text(value)


def _at(doc: YamlDocument, loc: tuple) -> str:
    line = doc.line_of(loc)
    return f"{doc.file}:{line}: {'.'.join(map(str, loc))}" if line else ".".join(map(str, loc))
