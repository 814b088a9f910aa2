"""The XLSX template a unit can fill offline, and reading it (or a YAML/JSON file) back.

openpyxl writes data validation but does not enforce it, and formulas read back as None
unless Excel saved the file (PITFALLS): every value is validated again on import, and a
formula without a stored value is reported, never read as empty.

An import reports every problem in one pass: the file's kind (judged by its content, not its
name), the sheet's layout (sheet name, headers, rows), each cell, and then the values as the
form would judge them, each at its sheet and cell or file and line. A problem already told at
a cell is not told again as a missing value.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from scheduler.collect.filetype import name_note, sniff
from scheduler.collect.problems import ImportError_, Loc, Problem, shown_value
from scheduler.collect.yamlfile import read_yaml
from scheduler.policy.periods import Period
from scheduler.config.model import Config, Unit
from scheduler.collect.asked import NO_TARGET, asked, data_range, for_whom, not_for
from scheduler.collect.validate import NOT_APPLICABLE, Entry, Report, headings_for, indicators_for, validate
from scheduler.text import decimal_comma, long_date, requirement

SHEET = "Báo cáo"
HEADER_ROW = 7
FIRST_ROW = 8  # first indicator row
PERIOD_CELL, UNIT_CELL, BY_CELL = "C3", "C4", "C5"
NUM, DEN, KPS = "D", "E", "F"
HEADERS = ("Mã", "Chỉ tiêu", "Mục tiêu", "Tử số", "Mẫu số", NOT_APPLICABLE)  # columns A–F


def template(config: Config, period: Period, unit: Unit | None = None) -> bytes:
    """The template for `period`: made for `unit`, only what applies to it and its name filled
    in; without one, everything, each row limited to some units saying which."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="FFF2CC")  # the cells to fill in
    grey = PatternFill("solid", fgColor="D9D9D9")  # no figure here: import ignores it
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = f"BÁO CÁO {period.title.upper()}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Gửi {config.plan.organisation.office_name} trước ngày {long_date(period.due)}" + (
        f". {data_range(period)}." if data_range(period) else "")
    ws["B3"], ws[PERIOD_CELL] = "Kỳ báo cáo (không sửa)", period.key
    ws["B4"], ws[UNIT_CELL] = "Đơn vị", unit.name if unit else ""
    ws["B5"], ws[BY_CELL] = "Người gửi (họ tên, chức vụ)", ""
    for ref in (UNIT_CELL, BY_CELL):
        ws[ref].fill, ws[ref].border = fill, box
    ws["A6"] = (f"Ghi số lượng, không ghi tỷ lệ. Nếu không phát sinh, ghi x ở cột “{NOT_APPLICABLE}”. "
                "Ô xám không nhập.")
    for col, text in zip("ABCDEF", HEADERS):
        ws[f"{col}{HEADER_ROW}"] = text
        ws[f"{col}{HEADER_ROW}"].font, ws[f"{col}{HEADER_ROW}"].alignment = bold, wrap
        ws[f"{col}{HEADER_ROW}"].border = box
    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showErrorMessage=True, error="Nhập số nguyên không âm", errorTitle="Số liệu")
    marks = DataValidation(type="list", formula1='"x"', allow_blank=True)
    ws.add_data_validation(counts)
    ws.add_data_validation(marks)
    row = FIRST_ROW
    for a in asked(config, period, unit):
        ind = a.ind
        ws[f"A{row}"] = ind.id
        ws[f"B{row}"] = "\n".join(filter(None, [
            f"{a.number}. " + ("Trong đó: " if ind.parent else "") + ind.name,
            f"Tử số: {ind.numerator if ind.parent else a.fields[0][1]}",
            f"Mẫu số: {ind.denominator}" if ind.has_denominator else
            (f"Mẫu số: cùng mẫu số chỉ tiêu {a.parent.id} (không nhập)" if a.parent else "Không có mẫu số (không nhập)"),
            a.note if ind.kind == "mean" else "",
            f"Chỉ áp dụng cho: {for_whom(config, ind.applies_to)}" if unit is None and ind.applies_to else ""]))
        ws[f"C{row}"] = a.target or NO_TARGET
        for col in "ABCDEF":
            ws[f"{col}{row}"].border, ws[f"{col}{row}"].alignment = box, wrap
        if ind.parent:
            ws[f"B{row}"].alignment = Alignment(wrap_text=True, vertical="top", indent=2)
        for col in (NUM, DEN, KPS):
            ws[f"{col}{row}"].fill = fill
        if not ind.has_denominator:
            ws[f"{DEN}{row}"].fill = grey
        counts.add(f"{NUM}{row}:{DEN if ind.has_denominator else NUM}{row}")
        marks.add(f"{KPS}{row}")
        row += 1
    row += 1
    ws[f"B{row}"] = "THUYẾT MINH"
    ws[f"B{row}"].font = bold
    row += 1
    for h in headings_for(config, period, unit):
        ws[f"A{row}"] = f"h:{h.id}"
        ws[f"B{row}"] = h.title + (f" ({requirement(h.required)})" if h.required else "") + (
            f" — chỉ áp dụng cho: {for_whom(config, h.applies_to)}" if unit is None and h.applies_to else "")
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


# ---------------------------------------------------------------- reading a file back

@dataclass(frozen=True)
class Imported:
    """A report read from a file. `note` remarks on a name that misled (an XLSX named .yaml)."""

    report: Report
    kind: str  # "xlsx" | "yaml"
    note: str = ""


def import_file(path: Path, config: Config, period: Period, unit_code: str | None = None) -> Imported:
    """Read `path` as whatever its content is (the XLSX template or YAML/JSON), and judge its
    values as the form would. Raises ImportError_ with every problem at once."""
    kind, what = sniff(path)
    if kind == "other":
        raise ImportError_([Problem("", f"tệp {path} là {what}")])
    note = name_note(path, kind)
    try:
        if kind == "xlsx":
            entry, where, problems, covered = read_xlsx(path.read_bytes(), config, period, unit_code, str(path))
        else:
            entry, where, problems, covered = read_yaml(path, config, period, unit_code)
    except ImportError_ as exc:
        raise ImportError_(exc.problems, note) from None
    report, errors = validate(config, period, entry, config.unit(unit_code) if unit_code else None)
    for key, message in errors.items():
        if key in covered:
            continue  # already told at its cell or key, in the reader's own words
        loc = where.get(key)
        problems.append(Problem(loc.text, message, loc.order) if loc else Problem(key, message, (10**9, 0)))
    if problems or report is None:
        raise ImportError_(problems, note)
    return Imported(report, kind, note)


# ---- the XLSX template

def _percent(value: float) -> str:
    """0.95 as a person saw it in a cell formatted as a percentage: "95%"; 0.9534 → "95,34%"."""
    shown = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return decimal_comma(shown) + "%"


def _fold(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", shown_value(value)).split()).casefold()


MARKS = ("x", "có", "1", "true", "✓", "✔", "không phát sinh", "kps")
_CODE_LIKE = re.compile(r"^(h:)?[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _find_sheet(book, config: Config, period: Period, name: str):
    """The template's sheet, and a problem if it had to be found under another name."""
    if SHEET in book.sheetnames:
        return book[SHEET], None
    codes = {i.id for i in indicators_for(config, period)} | {f"h:{h.id}" for h in headings_for(config, period)}
    for ws in book.worksheets:
        found = {shown_value(c.value).strip() for (c,) in ws.iter_rows(min_col=1, max_col=1, max_row=min(ws.max_row, 500))}
        if found & codes:
            return ws, Problem(f"trang “{ws.title}”", f"trang tính phải tên là “{SHEET}” như trong mẫu; đổi lại tên "
                                                      "trang (tệp vẫn được kiểm tra hết dưới đây)", (0, 1))
    sheets = ", ".join(f"“{n}”" for n in book.sheetnames)
    return None, Problem("", f"tệp {name} là bảng tính XLSX nhưng không có trang “{SHEET}” của mẫu báo cáo "
                             f"(các trang trong tệp: {sheets}), cũng không trang nào có các mã chỉ tiêu ở cột A; hãy "
                             "điền mẫu tạo bằng `baocao template`")


def read_xlsx(data: bytes, config: Config, period: Period, unit_code: str | None = None, name: str = "XLSX"
              ) -> tuple[Entry, dict[str, Loc], list[Problem], set[str]]:
    """An Entry from a filled template; for each field key the cell it came from; every problem
    with the file's layout and cells; and the field keys those problems already cover."""
    try:
        with warnings.catch_warnings():  # openpyxl warns in English about extensions it drops
            warnings.simplefilter("ignore")
            values = load_workbook(io.BytesIO(data), data_only=True)
            formulas = load_workbook(io.BytesIO(data), data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
        raise ImportError_([Problem("", f"tệp {name} có dạng bảng tính XLSX nhưng bị hỏng, không đọc được; mở bằng "
                                        "Excel, lưu lại rồi nhập lại")]) from None
    ws, sheet_problem = _find_sheet(values, config, period, name)
    if ws is None:
        raise ImportError_([sheet_problem])
    wf = formulas[ws.title]
    problems: list[Problem] = [sheet_problem] if sheet_problem else []
    covered: set[str] = set()
    title = ws.title

    def at(ref: str) -> Loc:
        col, row = re.match(r"([A-Z]+)(\d+)", ref).groups()
        return Loc(f"trang “{title}”, ô {ref}", (int(row), _col_index(col)))

    def row_at(r: int) -> Loc:
        return Loc(f"trang “{title}”, dòng {r}", (r, 0))

    def flag(loc: Loc, message: str, *keys: str) -> None:
        problems.append(Problem(loc.text, message, loc.order))
        covered.update(keys)

    def raw(ref: str, *keys: str) -> Any:
        """A cell's value; a formula without a stored value, or one that failed, is a problem."""
        value = ws[ref].value
        if wf[ref].data_type == "f" and value is None:
            flag(at(ref), "ô chứa công thức nhưng chưa có giá trị đã tính (tệp không được lưu bằng Excel); mở tệp "
                          "bằng Excel, lưu lại rồi gửi, hoặc ghi thẳng số liệu vào ô", *keys)
            return None
        if ws[ref].data_type == "e":
            flag(at(ref), f"công thức trong ô báo lỗi {value}; sửa công thức hoặc ghi thẳng số liệu vào ô", *keys)
            return None
        return value

    def text(ref: str, *keys: str) -> str:
        return shown_value(raw(ref, *keys)).strip()

    def count(ref: str, label: str, key: str) -> str:
        value = raw(ref, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (ws[ref].number_format or ""):
            flag(at(ref), f"“{_percent(value)}” là tỷ lệ phần trăm (ô định dạng %); ghi số lượng “{label}” "
                          "(số nguyên), không ghi tỷ lệ", key)
            return ""
        if isinstance(value, (datetime, date, time)):
            flag(at(ref), f"“{shown_value(value)}” là ngày tháng (ô định dạng ngày); ghi số lượng “{label}” (số nguyên) "
                          "và đặt định dạng ô là Số (Number) hoặc Chung (General)", key)
            return ""
        if isinstance(value, float) and not value.is_integer():
            return f"{value!r} (số thập phân)"  # fails validation: 1.234 here is a decimal, not 1234
        return shown_value(value).strip()

    # The header row and the columns, found by their titles: an inserted column moves them.
    header_row = next((r for r in range(1, min(ws.max_row, FIRST_ROW + 10) + 1)
                       if any(_fold(ws.cell(r, c).value) == _fold(HEADERS[0]) for c in range(1, 4))), None)
    columns = dict(zip(HEADERS, range(1, 7)))
    if header_row is None:
        header_row = HEADER_ROW
        flag(row_at(HEADER_ROW), "không thấy dòng tiêu đề của bảng chỉ tiêu (" + ", ".join(HEADERS) + "); "
                                 "giữ nguyên dòng tiêu đề như trong mẫu")
    else:
        titles = {_fold(ws.cell(header_row, c).value): c for c in range(1, max(ws.max_column, 6) + 1)}
        for n, name in enumerate(HEADERS, 1):
            if _fold(name) in titles:
                columns[name] = titles[_fold(name)]
                continue
            ref = f"{get_column_letter(n)}{header_row}"
            found = text(ref)
            flag(at(ref), f"tiêu đề cột phải là “{name}”" + (f" (tệp ghi “{found}”)" if found else " (ô trống)")
                 + "; giữ nguyên tiêu đề như trong mẫu")
    code_col, text_col = get_column_letter(columns["Mã"]), get_column_letter(columns["Mục tiêu"])
    num_col, den_col, kps_col = (get_column_letter(columns[h]) for h in HEADERS[3:])

    # The cells above the table, found by their labels in column B.
    labels = {"kỳ báo cáo": PERIOD_CELL, "đơn vị": UNIT_CELL, "người gửi": BY_CELL}
    for r in range(1, header_row):
        label = _fold(ws.cell(r, 2).value)
        for start in labels:
            if label.startswith(start):
                labels[start] = f"C{r}"
    period_ref, unit_ref, by_ref = labels.values()

    written = text(period_ref)
    if not written:
        flag(at(period_ref), f"ô mã kỳ báo cáo bị xoá; ghi lại {period.key} như trong mẫu")
    elif written != period.key:
        flag(at(period_ref), f"tệp là mẫu của kỳ “{written}”, không phải kỳ {period.key}")
    named = text(unit_ref)
    unit = config.unit(unit_code) if unit_code else None
    if named and unit is not None and named.casefold() not in (unit.code.casefold(), unit.name.casefold()):
        flag(at(unit_ref), f"tệp ghi đơn vị “{named}”, không phải {unit.name} ({unit.code})")
    entry, where = Entry(submitted_by=text(by_ref, "submitted_by")), {"submitted_by": at(by_ref)}

    # The rows, found by their code in column A: only what applies to the unit is read.
    indicators, headings = indicators_for(config, period, unit), headings_for(config, period, unit)
    known = {i.id for i in indicators} | {f"h:{h.id}" for h in headings}
    others = {i.id for i in indicators_for(config, period) if not_for(config, i.applies_to, unit)} | {
        f"h:{h.id}" for h in headings_for(config, period) if not_for(config, h.applies_to, unit)}
    elsewhere = {i.id for i in config.plan.indicators} | {f"h:{h.id}" for h in config.plan.headings}
    rows: dict[str, int] = {}
    for r in range(header_row + 1, ws.max_row + 1):
        key = shown_value(ws[f"{code_col}{r}"].value).strip()
        if not key:
            continue
        if key in rows:
            flag(at(f"{code_col}{r}"), f"mã “{key}” đã có ở dòng {rows[key]}; mỗi chỉ tiêu, đề mục chỉ một dòng "
                                       "(xoá dòng thừa)")
            continue
        if key in known:
            rows[key] = r
            continue
        filled = any(shown_value(ws[f"{c}{r}"].value).strip() for c in (num_col, den_col, kps_col))
        if key in others:  # the office-wide template's row for other units: read only if filled
            if filled or (key.startswith("h:") and text(f"{text_col}{r}")):
                flag(at(f"{code_col}{r}"), f"“{key.removeprefix('h:')}” không giao cho {unit.name}; xoá nội dung "
                                           "dòng này (không được nhập)")
            rows[key] = r
            continue
        if not (_CODE_LIKE.match(key) or filled):
            continue  # a note typed beside the table, not a row of figures
        if key in elsewhere:
            message = f"mã “{key}” không thuộc {period.title}; xoá dòng này (số liệu của nó không được nhập)"
        else:
            message = f"mã “{key}” không phải chỉ tiêu hay đề mục của mẫu {period.title}"
            guess = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            message += f"; có phải “{guess[0]}”?" if guess else "; sửa lại mã như trong mẫu hoặc xoá dòng này"
        flag(at(f"{code_col}{r}"), message)

    for n, ind in enumerate(indicators, 1):
        r = rows.get(ind.id)
        if r is None:
            flag(Loc(f"trang “{title}”", (0, 10 + n)),
                 f"thiếu dòng chỉ tiêu “{ind.name}” (mã {ind.id} ở cột {code_col})", ind.id, f"{ind.id}.num",
                 f"{ind.id}.den")
            continue
        num = count(f"{num_col}{r}", ind.numerator, f"{ind.id}.num")
        # a count's or a "trong đó" row's grey cell is not read
        den = count(f"{den_col}{r}", ind.denominator, f"{ind.id}.den") if ind.has_denominator else ""
        mark = text(f"{kps_col}{r}", ind.id).lower()
        if mark and mark not in MARKS:
            keys = (ind.id,) + ((f"{ind.id}.num", f"{ind.id}.den") if not (num or den) else ())
            flag(at(f"{kps_col}{r}"), f"“{mark}”: ghi x nếu không phát sinh, hoặc để trống", *keys)
        entry.figures[ind.id] = (num, den, mark in MARKS)
        # one figure (a count, a "trong đó" child): its problems are its cell's
        where |= {ind.id: row_at(r) if ind.has_denominator else at(f"{num_col}{r}"),
                  f"{ind.id}.num": at(f"{num_col}{r}"), f"{ind.id}.den": at(f"{den_col}{r}")}
    for n, h in enumerate(headings, 1):
        r = rows.get(f"h:{h.id}")
        if r is None:
            if h.required:
                flag(Loc(f"trang “{title}”", (0, 100 + n)),
                     f"thiếu dòng đề mục “{h.title}” (mã h:{h.id} ở cột {code_col}), phần này {requirement(h.required)}",
                     f"h.{h.id}")
            continue
        entry.narrative[h.id] = text(f"{text_col}{r}", f"h.{h.id}")
        where[f"h.{h.id}"] = at(f"{text_col}{r}")
    return entry, where, problems, covered


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
