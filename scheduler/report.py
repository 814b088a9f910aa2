"""The consolidated report as a DOCX: the office's docxtpl template filled from a Consolidation.

The wording and layout live in templates/docx/bao-cao.docx, which the office edits in Word;
this module only prepares values (Vietnamese number style, sentences) and the chart.
"""

from __future__ import annotations

import difflib
import html
import io
import math
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Undefined

from scheduler.calendar import Period
from scheduler.chart import Bar, Titles, chart_xml, xml_escape
from scheduler.config import Config, Target
from scheduler.consolidate import Consolidation, Ratio
from scheduler.text import CONTROL, document_month, number, without_marks

TEMPLATE = "bao-cao.docx"
STATUS = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa báo cáo"}


def clean(text: str) -> str:
    """XML 1.0 forbids most control characters: python-docx raises and docxtpl may drop text."""
    return CONTROL.sub("", text)


def percent(value: float, target: Target | None = None) -> str:
    """92.345 → '92,3%', 100 → '100%'. Rounded as people expect, but with more decimals where
    one would cross the target: 99,96% against "= 100%" must not print as "100%" beside
    "Chưa đạt", nor 95,04% against "> 95%" as "95%" beside "Đạt"."""
    decimals, shown = 1, round(value, 1)
    while target is not None and target.met(shown) != target.met(value) and decimals < 4:
        decimals += 1
        shown = math.floor(value * 10**decimals) / 10**decimals if value < target.percent else round(value, decimals)
    text = f"{shown:.{decimals}f}"
    if decimals == 1 and text.endswith(".0"):
        text = text[:-2]
    return f"{text.replace('.', ',')}%"


def ratio_text(ratio: Ratio | None, target: Target | None = None) -> str:
    return "—" if ratio is None else f"{percent(ratio.percent, target)} ({number(ratio.num)}/{number(ratio.den)})"


def trend_text(change: float | None) -> str:
    if change is None:
        return "—"
    if abs(change) < 0.05:
        return "Không đổi"
    points = f"{abs(change):.1f}".replace(".", ",")
    return f"{'Tăng' if change > 0 else 'Giảm'} {points} điểm phần trăm"


def date_line(place: str, today: date) -> str:
    """Place and date, the day left blank for the registry clerk."""
    return f"{place}, ngày      tháng {document_month(today)} năm {today.year}"


def balanced_lines(text: str, width: int = 24) -> str:
    """A heading too long for its cell, split at the space nearest the middle (as clerks set
    "SỞ NÔNG NGHIỆP / VÀ MÔI TRƯỜNG"), rather than leaving one word alone on the second line."""
    text = text.upper()
    if len(text) <= width or " " not in text:
        return text
    middle = len(text) / 2
    cut = min((i for i, c in enumerate(text) if c == " "), key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


# One Vietnamese syllable, written without its tone marks: initial consonants, vowels, final
# consonants. An upper-case word that is not one (TTHC, DVC, UBND, CNTT) is an acronym.
_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?[aăâeêioôơuưy]+"
                       r"(?:ch|ng|nh|[cmnpt])?")


def _is_acronym(word: str) -> bool:
    return word.isupper() and _SYLLABLE.fullmatch(without_marks(word.lower())) is None


def _sentence_case(text: str) -> str:
    """A title for the trích yếu: capital first letter. A title typed all in capitals is
    lowered word by word, acronyms kept ("RÀ SOÁT TTHC" → "Rà soát TTHC"); any other title
    keeps its own case (str.capitalize() would make "TTHC" "tthc")."""
    if text.isupper():
        text = re.sub(r"\w+", lambda m: m.group(0) if _is_acronym(m.group(0)) else m.group(0).lower(), text)
    return text[:1].upper() + text[1:]


def period_phrase(period: Period) -> str:
    """'Quý IV/2026' → 'quý IV năm 2026' for the trích yếu; other titles as they are."""
    match = re.fullmatch(r"Quý ([IV]+)/(\d{4})", period.title)
    if match:
        return f"quý {match.group(1)} năm {match.group(2)}"
    if period.title.startswith(("Năm ", "Tháng ")):  # "Năm 2026" → "năm 2026" inside a sentence
        return period.title[0].lower() + period.title[1:]
    return period.title


def _lines(entries: list[tuple[str, str]], empty: str) -> list[str]:
    """Each unit's text as '- Unit: first paragraph', further paragraphs on their own."""
    if not entries:
        return [empty]
    lines = []
    for unit, text in entries:
        paragraphs = [clean(p.strip()) for p in text.split("\n") if p.strip()]
        lines.append(f"- {unit}: {paragraphs[0]}")
        lines.extend(paragraphs[1:])
    return lines


class WordChart:
    """A native chart placed where the template says `{{ chart }}`.

    docxtpl inserts whatever `__html__` returns as raw WordprocessingML (that is how its own
    InlineImage works), so this adds the chart part to the document being rendered and
    returns the run that shows it."""

    def __init__(self, tpl: DocxTemplate, xml: bytes, width_mm: float, height_mm: float, description: str):
        self.tpl, self.xml, self.description = tpl, xml, description
        self.cx, self.cy = int(width_mm * 36000), int(height_mm * 36000)  # EMU

    def __html__(self) -> str:
        from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
        from docx.opc.part import Part

        story = self.tpl.current_rendering_part
        package = story.package
        part = Part(package.next_partname("/word/charts/chart%d.xml"), CONTENT_TYPE.DML_CHART, self.xml, package)
        rid = story.relate_to(part, RELATIONSHIP_TYPE.CHART)
        shape_id = story.next_id
        return ('</w:t></w:r><w:r><w:drawing>'
                f'<wp:inline distT="0" distB="0" distL="0" distR="0" '
                'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
                f'<wp:extent cx="{self.cx}" cy="{self.cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
                f'<wp:docPr id="{shape_id}" name="Biểu đồ" descr="{xml_escape(self.description)}"/>'
                '<wp:cNvGraphicFramePr/>'
                '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
                '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
                '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                f'r:id="{rid}"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r><w:r>'
                '<w:t xml:space="preserve">')

    __str__ = __html__


def chart(tpl: DocxTemplate, result: Consolidation) -> WordChart:
    """Each indicator's result against its target; the numbers under the bars are the rows
    of the indicator table above."""
    bars = [Bar(str(n), r.total.percent if r.total else None, r.indicator.target.percent, r.met,
                percent(r.total.percent, r.indicator.target) if r.total else "—")
            for n, r in enumerate(result.indicators, 1)]
    titles = Titles(value_axis="Tỷ lệ (%)", category_axis="Chỉ tiêu (số thứ tự như bảng trên)", met="Đạt",
                    missed="Chưa đạt", no_figures="Chưa có số liệu", target="Mục tiêu")
    return WordChart(tpl, chart_xml(bars, titles), 150, 80,
                     "Biểu đồ cột: kết quả từng chỉ tiêu so với mục tiêu")


def context(config: Config, result: Consolidation, today: date, tpl: DocxTemplate) -> dict:
    org = config.plan.organisation
    period = result.period
    headings = {h.id: h for h in config.plan.headings}
    order = list(result.narratives)
    reported = len(result.on_time) + len(result.late)
    total = len(result.units)
    results_items = []
    for hid in order:
        if headings[hid].section in ("results", "good_practices"):
            results_items.append({"number": len(results_items) + 1, "title": headings[hid].title,
                                  "lines": _lines(result.narratives[hid], "Chưa có đơn vị báo cáo nội dung này.")})

    def section(kind: str) -> list[tuple[str, str]]:
        return [e for hid in order if headings[hid].section == kind for e in result.narratives[hid]]

    missed = [r.indicator.name for r in result.indicators if r.met is False]
    shortcomings = ["- Các chỉ tiêu chưa đạt mục tiêu: " + "; ".join(missed) + "."] if missed else []
    if section("shortcomings") or not missed:  # say "nothing reported" only when there is nothing at all
        shortcomings += _lines(section("shortcomings"), "Chưa có đơn vị báo cáo nội dung này.")
    met = sum(1 for r in result.indicators if r.met)
    assessed = sum(1 for r in result.indicators if r.met is not None)
    rank_rows = []
    for place, unit in enumerate(result.ranking, 1):
        rank_rows.append({"rank": place, "name": unit.name, "met": f"{unit.met}/{unit.assessed}",
                          "mean": (percent(100 * unit.mean_achievement) if unit.mean_achievement is not None else "—"),
                          "status": STATUS[unit.state]})
    matrix_rows = []
    for place, unit in enumerate(result.units, 1):
        cells = []
        for r in result.indicators:
            if unit.state == "missing":
                cells.append("")
            elif r.indicator.id not in unit.ratios:
                cells.append("—")
            elif unit.ratios[r.indicator.id] is None:
                cells.append("KPS")
            else:
                cells.append(percent(unit.ratios[r.indicator.id].percent, r.indicator.target))
        matrix_rows.append({"tt": place, "name": unit.name + (" (chưa báo cáo)" if unit.state == "missing" else ""),
                            "cells": cells, "met": f"{unit.met}/{unit.assessed}" if unit.state != "missing" else ""})
    number_line = f"Số:      /BC-{org.abbreviation}"
    body_name = org.issuing_body_name or org.issuing_body
    recurring = config.is_recurring(period)
    phrase = period_phrase(period) if recurring else ""
    title = (f"{config.plan.campaign.title} {phrase}" if recurring
             else _sentence_case(re.sub(r"^(Báo cáo|BÁO CÁO)\s+", "", period.title)) if period.title else period.key)
    return {
        "org": {"parent_body": org.parent_body, "issuing_body": balanced_lines(org.issuing_body),
                "office_abbreviation": org.office_abbreviation},
        "number_line": number_line,
        "date_line": date_line(org.place, today),
        "title": title,
        "intro": (f"Thực hiện Kế hoạch triển khai phong trào thi đua năm {period.due.year}, {org.office_name} tổng hợp "
                  f"kết quả {phrase or period.title} từ báo cáo của {reported}/{total} đơn vị ({len(result.on_time)} đơn vị báo cáo "
                  f"đúng hạn, {len(result.late)} đơn vị báo cáo muộn, {len(result.missing)} đơn vị chưa báo cáo), "
                  f"như sau:"),
        "results": results_items,
        "indicators_intro": (f"Kết quả chung của các đơn vị (tổng tử số trên tổng mẫu số của các đơn vị có phát sinh): "
                             f"đạt {met}/{assessed} chỉ tiêu có số liệu." if result.indicators
                             else "Báo cáo này không yêu cầu số liệu chỉ tiêu."),
        "indicators": [{"tt": n, "name": r.indicator.name, "result": ratio_text(r.total, r.indicator.target),
                        "target": str(r.indicator.target),
                        "verdict": {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}[r.met],
                        "trend": trend_text(r.change)} for n, r in enumerate(result.indicators, 1)],
        "chart": chart(tpl, result) if result.indicators else "",
        "chart_caption": "Biểu đồ: kết quả từng chỉ tiêu so với mục tiêu (vạch ngang)",
        "shortcomings": shortcomings,
        "next_period_phrase": "quý tiếp theo" if period.key[-3:-1] == "-Q" else "thời gian tới",
        "next_steps": _lines(section("next_steps"), "Chưa có đơn vị báo cáo nội dung này."),
        "proposals": _lines(section("proposals"), "Không có đề xuất, kiến nghị."),
        "appendix_note": ("Kết quả các chỉ tiêu của từng đơn vị, xếp hạng các đơn vị và danh sách đơn vị báo cáo muộn, "
                          "chưa báo cáo tại Phụ lục kèm theo Báo cáo này." if result.indicators else
                          "Danh sách đơn vị báo cáo muộn, chưa báo cáo tại Phụ lục kèm theo Báo cáo này."),
        "appendix_title": ("KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU, XẾP HẠNG CÁC ĐƠN VỊ" if result.indicators
                           else "TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ"),
        "lateness_number": 3 if result.indicators else 1,
        "closing": (f"Trên đây là báo cáo kết quả thực hiện phong trào thi đua {phrase} của {body_name}" if recurring
                    else f"Trên đây là báo cáo {title[0].lower() + title[1:]} của {body_name}"),
        "recipients": list(org.recipients),
        "signer_authority": org.signer.authority or "",
        "signer_title": org.signer.title,
        "signer_name": org.signer.name,
        "appendix_ref": (f"(Kèm theo Báo cáo số      /BC-{org.abbreviation} ngày      tháng {document_month(today)} "
                         f"năm {today.year} của {body_name})"),
        "matrix_heads": [str(n) for n in range(1, len(result.indicators) + 1)],
        "matrix_rows": matrix_rows,
        "matrix_note": ("Số thứ tự cột là số thứ tự chỉ tiêu tại mục II. KPS: không phát sinh; —: không báo cáo "
                        "chỉ tiêu này."),
        "ranking": rank_rows,
        "ranking_rule": ("Xếp hạng theo số chỉ tiêu đạt mục tiêu, sau đó theo mức hoàn thành bình quân (mỗi chỉ tiêu "
                         "tính kết quả chia mục tiêu, tối đa 100%), cùng mức thì theo tên đơn vị."),
        "late_line": "- Báo cáo muộn: " + (", ".join(u.name for u in result.late) or "không có") + ".",
        "missing_line": "- Chưa báo cáo: " + (", ".join(u.name for u in result.missing) or "không có") + ".",
    }


MATRIX_TITLE = "baocao:ma-tran-chi-tieu"  # the matrix's Alt Text title, set by templates/docx/make_template.py


def _matrices(document) -> list:
    """The appendix matrix, found by its Alt Text title, which Word keeps whatever the office
    rewords in its cells; in a template made before the title existed, the table with the most
    columns (the matrix has one per indicator: no other table comes near)."""
    from docx.oxml.ns import qn

    tables = [t for t in document.tables if t.rows and len(t.rows[0].cells) >= 4]
    titled = [t for t in tables if (c := t._tbl.tblPr.find(qn("w:tblCaption"))) is not None
              and c.get(qn("w:val")) == MATRIX_TITLE]
    if titled:
        return titled
    widest = max(tables, key=lambda t: len(t.rows[0].cells), default=None)
    return [widest] if widest is not None and len(widest.rows[0].cells) > 6 else []


def _fit_matrix(document) -> None:
    """The appendix matrix has one column per indicator, repeated by {%tc %}; docxtpl leaves
    them all the same width. Give TT and the unit name their room and share the rest."""
    from docx.oxml.ns import qn

    for table in _matrices(document):
        first = table.rows[0].cells
        section = document.sections[-1]
        usable = int(section.page_width.twips - section.left_margin.twips - section.right_margin.twips)
        tt, name, last = 560, 3400, 1100
        each = max(500, (usable - tt - name - last) // (len(first) - 3))
        widths = [tt, name] + [each] * (len(first) - 3) + [last]
        grid = table._tbl.find(qn("w:tblGrid"))
        for col, w in zip(grid.findall(qn("w:gridCol")), widths):
            col.set(qn("w:w"), str(w))
        table._tbl.tblPr.find(qn("w:tblW")).set(qn("w:w"), str(sum(widths)))
        for row in table._tbl.findall(qn("w:tr")):
            for tc, w in zip(row.findall(qn("w:tc")), widths):
                tc.get_or_add_tcPr().get_or_add_tcW().set(qn("w:w"), str(w))


# ---------------------------------------------------------------- filling the template, and its faults

class TemplateError(Exception):
    """A fault in the office's Word template (a mistyped placeholder, a broken tag, a file that
    is not a DOCX). str() is the Vietnamese message an admin reads: the file, and the tag to
    retype. `problems` holds each fault on its own, for a log line or a list."""

    def __init__(self, template: Path, problems: list[str]):
        self.template = template
        self.problems = list(problems)
        super().__init__(f"mẫu báo cáo {template}: " + "; ".join(self.problems))


def _env(undefined: type[Undefined] = StrictUndefined) -> Environment:
    return Environment(undefined=undefined, autoescape=True)


def _fill(tpl: DocxTemplate, config: Config, result: Consolidation, today: date, env: Environment) -> bytes:
    tpl.render(context(config, result, today, tpl), jinja_env=env, autoescape=True)
    _fit_matrix(tpl.docx)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def render(config: Config, result: Consolidation, today: date, template_dir: Path) -> bytes:
    """The report as DOCX bytes. A fault in the template raises TemplateError naming it."""
    path = template_dir / TEMPLATE
    data = _read(path)
    tpl = _load(path, data)
    try:
        return _fill(tpl, config, result, today, _env())
    except Exception as exc:
        if not _template_fault(exc):
            raise  # our own bug: keep its traceback for the log
        # Jinja stops at the first fault and says it in English: look again, tag by tag.
        try:
            problems = _diagnose(path, data, config, [(result, today)])
        except Exception:  # noqa: BLE001 - the fault found first still gets reported
            problems = []
        raise TemplateError(path, problems or [_describe(exc, tpl)]) from exc


def check_template(config: Config | None, template_dir: Path) -> list[str]:
    """Every fault of the report template, each as "file: problem" (empty: fine). Run at start,
    on reload and by `baocao check-config`, so that a typo made in Word is found the day it is
    made, not on the deadline when the report is due. Takes a few tenths of a second.
    Without a config (the YAML files have errors) only the file and its tags' syntax are
    checked: which names exist depends on the plan."""
    path = template_dir / TEMPLATE
    try:
        data = _read(path)
        if config is None:
            env = _env()
            problems = [p for part in _parts(_load(path, data)) for p in _syntax(part, env)]
        else:
            problems = _diagnose(path, data, config, _samples(config))
    except TemplateError as exc:
        problems = exc.problems
    return [f"{path}: {p}" for p in problems]


def _samples(config: Config) -> list[tuple[Consolidation, date]]:
    """What a test render fills the template with: the plan's first period with no report in
    (every list empty), and for each obligation its first period with every unit reporting,
    some late, some "không phát sinh" (every loop, the chart, the trend)."""
    from scheduler.clock import TZ
    from scheduler.consolidate import Returned, consolidate
    from scheduler.submission import headings_for, indicators_for

    periods = list(config.periods)
    if not periods:  # a campaign with no period in it: a stand-in, only for the names the template may use
        ob, campaign = config.plan.obligations[0], config.plan.campaign
        periods = [Period(ob.id, ob.id, ob.title, campaign.start, campaign.end, campaign.end)]
    samples = [(consolidate(config, periods[0], {}), periods[0].due)]
    obligations: set[str] = set()
    for period in periods:
        if period.obligation in obligations:
            continue
        obligations.add(period.obligation)
        indicators = [i.id for i in indicators_for(config, period)]
        narrative = {h.id: "Nội dung mẫu.\nĐoạn thứ hai." for h in headings_for(config, period)}
        received = datetime.combine(period.due, time(9), TZ)
        returns = {}
        for n, unit in enumerate(config.units_for(period) or config.units[:3]):
            figures = {i: (None if n % 3 == 2 else {"num": 9 - n % 3, "den": 9}) for i in indicators}
            returns[unit.code] = Returned(unit.code, 1, n % 3 != 1, received, figures, narrative)
        samples.append((consolidate(config, period, returns, returns), period.due))
    return samples


def _read(path: Path) -> bytes:
    # Read once: Word may be saving the file while the service renders from it.
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TemplateError(path, ["không tìm thấy tệp"]) from None
    except IsADirectoryError:
        raise TemplateError(path, ["đây là thư mục, không phải tệp Word .docx"]) from None
    except PermissionError:
        raise TemplateError(path, ["không có quyền đọc tệp"]) from None
    except OSError as exc:
        raise TemplateError(path, [f"không đọc được tệp (mã lỗi hệ thống {exc.errno})"]) from None


def _load(path: Path, data: bytes) -> DocxTemplate:
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    tpl = DocxTemplate(io.BytesIO(data))
    try:
        tpl.init_docx()
    # A .doc, an .xlsx or a half-copied file renamed .docx: python-docx says so in many ways.
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError):
        raise TemplateError(path, ["tệp không phải tài liệu Word .docx hoặc đã bị hỏng; mở bằng Word rồi lưu lại "
                                   "dạng Word Document (*.docx)"]) from None
    return tpl


def _template_fault(exc: BaseException) -> bool:
    """Whether rendering failed because of the template rather than our code: a Jinja error,
    XML the tags broke, or an error raised by the template's own expressions ({{ title|round }})
    and not by our code it calls (the chart)."""
    from lxml.etree import XMLSyntaxError

    return isinstance(exc, (jinja2.TemplateError, XMLSyntaxError)) or _template_line(exc) is not None


_OURS = str(Path(__file__).resolve().parent)


def _template_line(exc: BaseException) -> int | None:
    """The template line (one paragraph a line, see _Part) an error came from, if the template
    raised it: Jinja puts the template's own line numbers into the traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == "<template>":
            line = tb.tb_lineno
        elif filename.startswith(_OURS):
            line = None  # our code ran after the template: the fault is ours
        tb = tb.tb_next
    return line


# What Word shows: the text of each paragraph, and the tags in it.
_TAG = re.compile(r"\{\{(?:(?!\{\{|\{%|\}\}).)*\}\}|\{%(?:(?!\{%|\{\{|%\}).)*%\}|\{#.*?#\}", re.S)
_STRAY = re.compile(r"\{\{|\{%|\}\}|%\}")
_INNER = re.compile(r"^[{][{%]-?(?:(p|tr|tc|r)(?=\s))?(.*?)-?[%}][}]$", re.S)
# docxtpl's own statements, rewritten by it before Jinja sees them.
_DOCXTPL = {"vm", "hm", "colspan", "cellbg"}
_BLOCKS = {"for", "if", "macro", "call", "filter", "with", "block", "autoescape"}
# Word's autocorrect turns quotes curly; docxtpl straightens them back before Jinja parses.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass
class _Part:
    where: str  # "" for the body; " (ở đầu trang)" for a header…
    paragraphs: list[str]
    source: str  # what Jinja parses: docxtpl's patched XML, one paragraph a line as its render has it


def _parts(tpl: DocxTemplate) -> list[_Part]:
    from docx.oxml import parse_xml

    parts = [_Part("", _paragraphs(tpl.docx.element.body), _source(tpl, tpl.get_xml()))]
    for uri, where in ((tpl.HEADER_URI, " (ở đầu trang)"), (tpl.FOOTER_URI, " (ở chân trang)")):
        for _, part in tpl.get_headers_footers(uri):
            parts.append(_Part(where, _paragraphs(parse_xml(part.blob)), _source(tpl, tpl.get_part_xml(part))))
    return parts


def _source(tpl: DocxTemplate, xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(xml))


def _paragraphs(element) -> list[str]:
    """Each paragraph's text in document order; a text box's paragraphs are their own, not
    part of the paragraph holding the box."""
    from docx.oxml.ns import qn

    texts: dict[object, list[str]] = {}
    p_tag = qn("w:p")
    for t in element.iter(qn("w:t")):
        owner = next(t.iterancestors(p_tag), None)
        texts.setdefault(owner, []).append(t.text or "")
    return ["".join(chunks) for chunks in texts.values()]


def _line_text(line: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()


def _shorten(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _inner(tag: str) -> tuple[str, str]:
    """'{%p for x in y %}' → ('p', 'for x in y')"""
    match = _INNER.match(tag)
    assert match is not None
    return match.group(1) or "", match.group(2).strip().translate(_QUOTES)


# Jinja's names for what it met, as Word shows them (jinja2.lexer._describe_token_type).
_TOKENS = {
    "end of print statement": "dấu đóng }}",
    "end of statement block": "dấu đóng %}",
    "begin of print statement": "dấu mở {{",
    "begin of statement block": "dấu mở {%",
    "end of template": "cuối mẫu",
    "template data / text": "chữ thường",
    "string": "một chuỗi trong dấu nháy",
    "integer": "một số",
    "float": "một số",
    "name": "một tên",
}


def _token(text: str) -> str:
    return _TOKENS.get(text, f"'{text}'")


def _jinja_reason(exc: jinja2.TemplateSyntaxError, env: Environment) -> str:
    """Jinja's English message, said in Vietnamese (with a suggestion where one is clear)."""
    message = exc.message or ""
    if m := re.match(r"No filter named '([^']+)'", message):
        close = difflib.get_close_matches(m.group(1), list(env.filters), n=1)
        return f"không có bộ lọc |{m.group(1)}" + (f" (có phải |{close[0]}?)" if close else "")
    if m := re.match(r"No test named '([^']+)'", message):
        return f"không có phép thử '{m.group(1)}'"
    if m := re.match(r"Encountered unknown tag '([^']+)'", message):
        known = ["for", "if", "elif", "else", "endfor", "endif", "set", "with", "endwith"]
        close = difflib.get_close_matches(m.group(1), known, n=1)
        return f"không có lệnh '{m.group(1)}'" + (f" (có phải '{close[0]}'?)" if close else "")
    if m := re.match(r"""unexpected char (['"])(.+?)\1""", message):
        if m.group(2) in ("'", '"'):
            return f"dấu nháy {m.group(2)} chưa có dấu nháy đóng"
        return f"ký tự {m.group(2)} không đúng chỗ"
    if m := re.match(r"unexpected '(.+)', expected '(.+)'$", message):  # a bracket left open
        closing = m.group(2)
        return f"dấu mở {dict(zip(')]}', '([{')).get(closing, '')} chưa có dấu đóng {closing}".replace("  ", " ")
    if m := re.match(r"unexpected '(.+)'$", message):
        met = m.group(1)
        if met in ("end of print statement", "end of statement block"):
            return f"thiếu giá trị (sau phép tính hoặc dấu phẩy) trước {_token(met)}"
        return f"{_token(met) if met in _TOKENS else 'ký tự ' + met} không đúng chỗ"
    if message.startswith("Expected an expression"):
        return "thiếu biểu thức (tên biến hoặc giá trị)"
    if m := re.match(r"expected token '([^']+)', got '([^']+)'", message):
        wanted, got = m.groups()
        if wanted == "in":
            return "thiếu từ khoá 'in'"
        if got in ("end of print statement", "end of statement block"):
            what = "tên (biến, bộ lọc hoặc thuộc tính)" if wanted == "name" else _token(wanted)
            return f"thiếu {what} trước {_token(got)}"
        if wanted in ("end of print statement", "end of statement block"):
            return f"thừa {_token(got)} trước {_token(wanted)}"
        return f"thiếu {_token(wanted)} trước {_token(got)}"
    if message.lower().startswith("unexpected end of template"):
        return "thẻ chưa viết hết"
    if message.startswith("tag name expected"):
        return "thiếu tên lệnh sau {%"
    if message.startswith("expected name or number"):
        return "thiếu tên thuộc tính sau dấu chấm"
    if message.startswith("expected subscript expression"):
        return "thiếu giá trị trong dấu [ ]"
    if message.startswith("invalid syntax for function call"):
        return "lời gọi hàm viết sai (kiểm tra dấu phẩy và dấu ngoặc)"
    if message.startswith("can't assign to"):
        return "vế trái của dấu = phải là một tên"
    return "cú pháp không hợp lệ"


def _syntax(part: _Part, env: Environment) -> list[str]:
    """The part as Jinja parses it; when that fails, each tag on its own, so that the one to
    retype can be named. Always: the opening and closing tags paired up (docxtpl's prefixes
    included, which Jinja never sees) and braces left open."""
    problems: list[str] = []
    stack: list[tuple[str, str, str]] = []  # (keyword, docxtpl prefix, tag as typed)
    try:
        env.from_string(part.source)
        failure = None
    except jinja2.TemplateSyntaxError as exc:
        failure = exc

    def compile_(source: str, tag: str) -> None:
        if failure is None:
            return  # the whole part compiles: so does each tag (and compiling ~60 costs 0.1 s)
        try:
            env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"thẻ {tag}{part.where} viết sai: {_jinja_reason(exc, env)}")

    for text in part.paragraphs:
        for stray in _STRAY.finditer(_TAG.sub(lambda m: " " * len(m.group(0)), text)):
            at = stray.start()
            # An opener left open: show what follows it; a closer without opener: what precedes.
            fragment = (_shorten(text[at:].strip(), 40) if stray.group(0)[0] == "{"
                        else "…" * (at > 38) + text[max(0, at - 38):at + 2].strip())
            missing = {"{{": "thiếu dấu đóng }}", "{%": "thiếu dấu đóng %}", "}}": "thiếu dấu mở {{",
                       "%}": "thiếu dấu mở {%"}[stray.group(0)]
            problems.append(f"thẻ “{fragment}”{part.where} {missing}")
        for match in _TAG.finditer(text):
            tag = match.group(0)
            if tag.startswith("{#"):
                continue
            prefix, inner = _inner(tag)
            if tag.startswith("{{"):
                compile_("{{ " + inner + " }}", tag)
                continue
            keyword = re.match(r"\w*", inner).group(0)  # type: ignore[union-attr]  # \w* always matches
            if keyword in _DOCXTPL:
                continue
            if keyword in _BLOCKS or (keyword == "set" and "=" not in inner):
                compile_(f"{{% {inner} %}}{{% end{keyword} %}}", tag)
                stack.append((keyword, prefix, tag))
            elif keyword in ("elif", "else"):
                if not stack or stack[-1][0] not in (("if",) if keyword == "elif" else ("if", "for")):
                    problems.append(f"thẻ {tag}{part.where} nằm ngoài khối "
                                    f"{{%{prefix} if … %}}{'' if keyword == 'elif' else ' hoặc {%' + prefix + ' for … %}'}")
                elif keyword == "elif":
                    compile_(f"{{% if true %}}{{% {inner} %}}{{% endif %}}", tag)
            elif keyword.startswith("end") and keyword[3:] in _BLOCKS | {"set"}:
                opened = keyword[3:]
                if not any(k == opened for k, _, _ in stack):
                    problems.append(f"thẻ {tag}{part.where} không có thẻ mở {{%{prefix} {opened} … %}} tương ứng")
                    continue
                while stack[-1][0] != opened:  # a block left open inside this one
                    k, p, t = stack.pop()
                    problems.append(f"thẻ {t}{part.where} chưa có thẻ đóng {{%{p} end{k} %}} trước {tag}")
                k, p, t = stack.pop()
                if p != prefix:  # docxtpl removes a paragraph for one and a table row for the other
                    problems.append(f"thẻ {tag}{part.where} không cùng loại với thẻ mở {t}: viết "
                                    f"{{%{p} end{k} %}}")
            else:
                compile_(f"{{% {inner} %}}", tag)
                # A mistyped closer ({%p endfr %}) still closes its block: otherwise every
                # block around it would be reported as left open too.
                close = difflib.get_close_matches(keyword[3:], [k for k, _, _ in stack], n=1) if keyword[:3] == "end" else []
                if close:
                    while stack and stack[-1][0] != close[0]:
                        stack.pop()
                    stack.pop()
    for k, p, t in stack:
        problems.append(f"thẻ {t}{part.where} chưa có thẻ đóng {{%{p} end{k} %}}")
    if failure is not None and not problems:  # something the tag-by-tag look missed
        lines = part.source.splitlines()
        line = _line_text(lines[failure.lineno - 1]) if failure.lineno and failure.lineno <= len(lines) else ""
        where = f" ở đoạn “{_shorten(line)}”" if line else ""
        problems.append(f"lỗi cú pháp{where}{part.where}: {_jinja_reason(failure, env)}")
    return problems


def _uses(parts: list[_Part], name: str, attribute: bool) -> list[tuple[str, str]]:
    """(tag, where) of every tag that uses `name`, as a variable or as an attribute."""
    pattern = (re.compile(rf"\.{re.escape(name)}\b|\[\s*['\"]{re.escape(name)}['\"]\s*\]") if attribute
               else re.compile(rf"(?<![\w.'\"]){re.escape(name)}\b"))
    found = []
    for part in parts:
        for text in part.paragraphs:
            for match in _TAG.finditer(text):
                if not match.group(0).startswith("{#") and pattern.search(_inner(match.group(0))[1]):
                    if (match.group(0), part.where) not in found:
                        found.append((match.group(0), part.where))
    return found


def _unknown(parts: list[_Part], name: str, known, attribute: bool) -> str:
    """'biến {{ titel }} không có trong dữ liệu báo cáo (có phải {{ title }}?)'"""
    known = [k for k in known if isinstance(k, str)]
    close = difflib.get_close_matches(name, known, n=1)
    uses = _uses(parts, name, attribute)
    if not uses:
        return f"biến {name} không có trong dữ liệu báo cáo" + (f" (có phải {close[0]}?)" if close else "")
    tag, where = uses[0]
    more = f" (và {len(uses) - 1} chỗ khác)" if len(uses) > 1 else ""
    inner = _inner(tag)[1]
    if re.fullmatch(r"[\w.]+", inner):  # a plain {{ placeholder }}: the tag says it all
        text = f"biến {tag}{where}{more} không có trong dữ liệu báo cáo"
    else:
        text = f"{'thuộc tính' if attribute else 'biến'} {name} trong thẻ {tag}{where}{more} không có trong dữ liệu báo cáo"
    if not attribute and re.fullmatch(r"[\w.]+", inner) and "." in inner:
        # {{ signer.name }} for {{ signer_name }}: the whole placeholder is the likelier typo
        whole = difflib.get_close_matches(inner, known, n=1)
        fixed = tag.replace(inner, whole[0]) if whole else None
    elif close:
        fixed = (re.sub(rf"\.{re.escape(name)}\b", "." + close[0], tag) if attribute
                 else re.sub(rf"(?<![\w.'\"]){re.escape(name)}\b", close[0], tag))
    else:
        fixed = None
    return text + (f" (có phải {fixed}?)" if fixed else "")


def _recording_env(seen: list[tuple[object, str | None]]) -> Environment:
    """Like StrictUndefined, but noting each missing name and carrying on, so that a test
    render finds every mistyped attribute ({{ org.parent_bod }}) at once, not one per run."""

    class Recording(Undefined):
        def _note(self):
            if (self._undefined_obj, self._undefined_name) not in seen:
                seen.append((self._undefined_obj, self._undefined_name))

        def __str__(self):
            self._note()
            return ""

        def __iter__(self):
            self._note()
            return iter(())

        def __bool__(self):
            self._note()
            return False

        def __len__(self):
            self._note()
            return 0

        def __getattr__(self, name):
            if name[:2] == "__":
                raise AttributeError(name)
            self._note()
            return self

    return _env(Recording)


def _diagnose(path: Path, data: bytes, config: Config, samples: list[tuple[Consolidation, date]]) -> list[str]:
    """Every fault found in the template (without the file name): syntax first, since nothing
    else can be checked past it; then names the report data does not have; then what a test
    render of each sample still trips on."""
    tpl = _load(path, data)
    env = _env()
    parts = _parts(tpl)
    problems = [p for part in parts for p in _syntax(part, env)]
    if problems:
        return problems
    keys = context(config, samples[0][0], samples[0][1], tpl).keys()
    undeclared = tpl.get_undeclared_template_variables(env, dict.fromkeys(keys))
    first_use = {name: min(((i, j) for i, part in enumerate(parts) for j, text in enumerate(part.paragraphs)
                            if re.search(rf"(?<![\w.]){re.escape(name)}\b", text)), default=(len(parts), 0))
                 for name in undeclared}  # reported in the order a reader meets them
    problems += [_unknown(parts, name, keys, attribute=False)
                 for name in sorted(undeclared, key=lambda n: (first_use[n], n))]
    for result, today in samples:
        seen: list[tuple[object, str | None]] = []
        trial = _load(path, data)
        try:
            _fill(trial, config, result, today, _recording_env(seen))
        except Exception as exc:  # noqa: BLE001 - every fault is reported, none is raised
            problem = _describe(exc, trial)
            if problem not in problems:
                problems.append(problem)
        for obj, name in seen:
            if name is None or (obj is jinja2.utils.missing and name in undeclared):
                continue
            attribute = obj is not jinja2.utils.missing
            problem = _unknown(parts, name, obj.keys() if isinstance(obj, dict) else (), attribute)
            if problem not in problems:
                problems.append(problem)
    return problems


def _describe(exc: BaseException, tpl: DocxTemplate) -> str:
    """A fault the checks above did not name, said as precisely as the error allows."""
    env = _env()
    if isinstance(exc, jinja2.UndefinedError):
        reason = "dùng một tên không có trong dữ liệu báo cáo"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        reason = _jinja_reason(exc, env)
    elif isinstance(exc, jinja2.TemplateError) or _template_line(exc) is not None:
        reason = "giá trị không hợp với phép tính hoặc bộ lọc trong thẻ"
    else:
        reason = "các thẻ làm hỏng cấu trúc tài liệu (thường do thẻ {%p %}, {%tr %} đặt sai chỗ)"
    line = getattr(exc, "lineno", None) if isinstance(exc, jinja2.TemplateSyntaxError) else _template_line(exc)
    part = getattr(tpl, "current_rendering_part", None)
    if line and part is not None:
        try:
            xml = tpl.get_xml() if part is tpl.docx._part else tpl.get_part_xml(part)
            text = _line_text(_source(tpl, xml).splitlines()[line - 1])
        except Exception:  # noqa: BLE001 - only a hint: the message stands without it
            text = ""
        tags = [m.group(0) for m in _TAG.finditer(text)]
        if tags:
            return f"thẻ {', '.join(tags)} lỗi khi lập thử báo cáo: {reason}"
        if text:
            return f"đoạn “{_shorten(text)}” lỗi khi lập thử báo cáo: {reason}"
    return f"lỗi khi lập thử báo cáo: {reason}"
