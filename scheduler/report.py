"""The consolidated report as a DOCX: the office's docxtpl template filled from a Consolidation.

The wording and layout live in templates/docx/bao-cao.docx, which the office edits in Word;
this module only prepares values (Vietnamese number style, sentences) and the chart.
"""

from __future__ import annotations

import io
import math
import re
from datetime import date
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined

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


def _fit_matrix(document) -> None:
    """The appendix matrix has one column per indicator, repeated by {%tc %}; docxtpl leaves
    them all the same width. Give TT and the unit name their room and share the rest."""
    from docx.oxml.ns import qn

    for table in document.tables:
        first = [c.text.strip() for c in table.rows[0].cells] if table.rows else []
        if len(first) < 4 or first[:2] != ["TT", "Đơn vị"] or first[-1] != "Số chỉ tiêu đạt":
            continue
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


def render(config: Config, result: Consolidation, today: date, template_dir: Path) -> bytes:
    tpl = DocxTemplate(str(template_dir / TEMPLATE))
    env = Environment(undefined=StrictUndefined, autoescape=True)
    tpl.render(context(config, result, today, tpl), jinja_env=env, autoescape=True)
    _fit_matrix(tpl.docx)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()
