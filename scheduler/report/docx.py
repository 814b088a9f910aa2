"""The consolidated report as a DOCX: the office's docxtpl template loaded and filled from a
Consolidation, with its native chart and the appendix matrix fitted to the page.

The wording and layout live in templates/docx/bao-cao.docx, which the office edits in Word;
this module only prepares values (see wording.py) and the chart. Finding what is wrong with a
template the office broke is render.py's.
"""


import io
import zipfile
from datetime import date, datetime, time, timezone
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Undefined

from scheduler.report.chart import Bar, Titles, chart_xml, xml_escape
from scheduler.config.model import Config
from scheduler.report.consolidate import Consolidation
from scheduler.collect.asked import data_range
from scheduler.collect.validate import target_text
from scheduler.report import sections
from scheduler.clock import TZ
from scheduler.text import document_month
from scheduler.report import prose
from scheduler.report.consolidate import previous_period
from scheduler.report.stamp import StampingEnvironment
from scheduler.report.errors import TemplateError  # noqa: F401 - where the renderer's callers have taken it from
from scheduler.report.wording import balanced_lines, date_line, measure_text, percent, period_phrase, trend_text


TEMPLATE = "bao-cao.docx"


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


def charted(result: Consolidation) -> list:
    """The indicators the chart shows: ratios with a target (a count or a minute has no place
    on a percent axis)."""
    return [r for r in result.indicators if r.indicator.kind == "ratio" and r.target is not None]


def chart(tpl: DocxTemplate, result: Consolidation) -> WordChart:
    """Each indicator's result against its target; the numbers under the bars are the rows
    of the indicator table above."""
    bars = [Bar(r.number or "…", r.value, r.target.value, r.met,
                percent(r.value, r.target) if r.value is not None else "—")
            for r in charted(result)]
    titles = Titles(value_axis="Tỷ lệ (%)", category_axis="Chỉ tiêu (số thứ tự như bảng trên)", met="Đạt",
                    missed="Chưa đạt", no_figures="Chưa có số liệu", target="Mục tiêu")
    return WordChart(tpl, chart_xml(bars, titles), 150, 80,
                     "Biểu đồ cột: kết quả từng chỉ tiêu so với mục tiêu")


def context(config: Config, result: Consolidation, today: date, tpl: DocxTemplate) -> dict:
    with prose.remembering():
        return _context(config, result, today, tpl)


def _context(config: Config, result: Consolidation, today: date, tpl: DocxTemplate) -> dict:
    org = config.plan.organisation
    period = result.period
    part = config.part_of(period)
    headings = [h for h in config.plan.headings if h.id in result.narratives]
    total = len(result.units)
    summary = sections.province_scale(result)
    results_items = sections.results_items(config, result, headings, summary, previous_period(config, period))

    def section(kind: str) -> list[tuple[str, str]]:
        return sections.section_entries(result, headings, kind)

    def asked(kind: str) -> bool:
        return any(h.section == kind for h in headings)

    def lines(kind: str, empty: str = sections.NOTHING) -> list[str]:
        # At province scale the body says how many units wrote; their texts are in Phụ lục I.
        return sections.unit_lines(section(kind), total, summary, empty)

    # NĐ30 numbers appendices in Roman numerals from two on: the units' texts, then the figures
    narrative_parts = sections.narrative_appendix(config, result, headings) if summary else []
    figures_appendix = "Phụ lục II" if narrative_parts else "Phụ lục"
    shortcomings = sections.shortcoming_lines(result, section("shortcomings"), summary, figures_appendix)
    numbers = sections.Sections.of({
        "results": bool(results_items), "indicators": bool(result.indicators), "shortcomings": bool(shortcomings),
        "next_steps": bool(sections.with_substance(section("next_steps"))), "proposals": asked("proposals")})
    met = sum(1 for r in result.indicators if r.met)
    assessed = sum(1 for r in result.indicators if r.met is not None)
    tables = sections.matrices(result)
    first = tables[0] if tables else {"heads": [], "rows": []}
    number_line = f"Số:      /BC-{org.abbreviation}"
    body_name = org.issuing_body_name or org.issuing_body
    recurring = config.is_recurring(period)
    phrase = period_phrase(period) if recurring else ""
    ob = config.obligation_of(period)
    title = (f"{(ob.report_title if ob else None) or part.campaign.title} {phrase}" if recurring
             else sections.request_title(period) if period.title else period.key)
    wording = part.report
    if wording.opening:
        intro = sections.sentence(wording.opening, config, period)
    elif part.document is not None:
        intro = sections.sentence("Thực hiện {ke_hoach}, {co_quan} báo cáo kết quả {ky} như sau:", config, period)
    elif part.id:  # a plan of config/plans/ that cites no Kế hoạch: say only what is reported
        intro = sections.sentence("{co_quan} báo cáo kết quả {ky} như sau:", config, period)
    else:  # plan.yaml's own plan citing no Kế hoạch (seed 000's campaign, as first configured)
        intro = (f"Thực hiện Kế hoạch triển khai phong trào thi đua năm {period.due.year}, {body_name} báo cáo "
                 f"kết quả {sections.period_words(config, period)} như sau:")
    if period.data_from is not None:  # "… quý I năm 2026 (số liệu tính từ ngày … đến ngày …) như sau:"
        cut = data_range(period, formal=True)
        intro = (f"{intro[:-len(' như sau:')]} ({cut[0].lower()}{cut[1:]}) như sau:" if intro.endswith(" như sau:")
                 else f"{intro} {cut}.")
    if wording.closing:
        closing = sections.sentence(wording.closing, config, period).rstrip("./")
    elif recurring and part.document is None and not part.id:
        closing = f"Trên đây là báo cáo kết quả thực hiện phong trào thi đua {phrase} của {body_name}"
    elif recurring:
        closing = f"Trên đây là báo cáo kết quả {sections.period_words(config, period)} của {body_name}"
    else:
        closing = f"Trên đây là báo cáo {sections.inside_sentence(title)} của {body_name}"
    ranking = sections.ranking_rows(config, result)
    ranking_none = sections.ranking_none(config, result)
    appendix_parts = ([("indicators", "Kết quả các chỉ tiêu của từng đơn vị")] if result.indicators else []) + (
        [("ranking", "Xếp hạng các đơn vị (từ cao xuống thấp)")] if ranking or ranking_none else []) + [
        ("lateness", "Đơn vị báo cáo muộn, chưa báo cáo")]
    appendix_number = {key: n for n, (key, _) in enumerate(appendix_parts, 1)}
    addressees = list(wording.addressed_to)
    recipients = list(part.recipients)
    if addressees and not (recipients and recipients[0].casefold().startswith("như trên")):
        recipients.insert(0, "Như trên")  # the addressees of "Kính gửi" (NĐ30, Phụ lục I, II.9.b)
    marks = any(t["marked"] for t in tables)
    return {
        "org": {"parent_body": org.parent_body or "", "issuing_body": balanced_lines(org.issuing_body),
                "office_abbreviation": org.office_abbreviation},
        "number_line": number_line,
        "date_line": date_line(org.place, today),
        "title": title,
        # One addressee on one centred line; several as "- …;" lines under the colon, the last with "."
        "kinh_gui_one": f"Kính gửi: {addressees[0]}" if len(addressees) == 1 else "",
        "kinh_gui_many": ("Kính gửi:\t" + "\n".join(f"- {a}{'.' if n == len(addressees) else ';'}"
                                                     for n, a in enumerate(addressees, 1)))
        if len(addressees) > 1 else "",
        "intro": intro,
        "coverage": prose.coverage(result, figures_appendix, f"{today:%d/%m/%Y}"),
        "sections": numbers.__dict__,
        "results": results_items,
        "indicators_intro": (f"Kết quả chung đạt {met}/{assessed} chỉ tiêu có số liệu; kết quả mỗi chỉ tiêu là tổng tử số "
                             "trên tổng mẫu số của các đơn vị có phát sinh, không lấy bình quân tỷ lệ." if assessed else
                             "Kết quả chung là tổng số liệu của các đơn vị có phát sinh:"
                             if result.indicators else "Báo cáo này không yêu cầu số liệu chỉ tiêu."),
        "indicators": [row for block in result.blocks for row in (
            ([{"tt": block.number, "name": block.title, "result": "", "target": "", "verdict": "", "trend": ""}]
             if block.title else []) + [_indicator_row(r, period) for r in block.rows])]
        if result.blocks else [_indicator_row(r, period) for r in result.indicators],
        "indicators_note": sections.indicators_note(bool(ranking), figures_appendix) if result.indicators else "",
        "chart": chart(tpl, result) if charted(result) else "",
        "chart_caption": "Biểu đồ: kết quả từng chỉ tiêu so với mục tiêu (vạch ngang)",
        "shortcomings": shortcomings,
        "next_period_phrase": "quý tiếp theo" if period.kind == "quarter" else "thời gian tới",
        "next_steps": lines("next_steps"),
        "proposals": lines("proposals", "Không có đề xuất, kiến nghị."),  # a statement, not a placeholder
        "appendix_note": "",  # where a template made before the notes moved into sections I and II has it
        "appendix_title": ("KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU" + (", XẾP HẠNG CÁC ĐƠN VỊ" if ranking else "")
                           if result.indicators else "TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ"),
        "appendix_numbers": appendix_number,
        "lateness_number": appendix_number["lateness"],
        "closing": closing,
        "recipients": recipients,
        "signer_authority": part.signer.authority or "",
        "signer_title": part.signer.title,
        "signer_name": part.signer.name,
        "appendix_label": figures_appendix,
        "appendix_ref": (f"(Kèm theo Báo cáo số      /BC-{org.abbreviation} ngày      tháng {document_month(today)} "
                         f"năm {today.year} của {body_name})"),
        "narrative_appendix": narrative_parts,
        "matrices": tables,
        # A template made before the matrix was cut into tables has one, with every column.
        "matrix_heads": [h for t in tables for h in t["heads"]],
        "matrix_rows": [dict(row, cells=[c for t in tables for c in t["rows"][i]["cells"]])
                        for i, row in enumerate(first["rows"])],
        "matrix_note": ("Số thứ tự cột là số thứ tự chỉ tiêu tại mục " + (numbers.indicators or "II")
                        + sections.child_note(result) + ". KPS: không phát sinh; —: không báo cáo chỉ tiêu này"
                        + ("; *: chưa đạt mục tiêu." if marks else ".")),
        "ranking": ranking,
        "ranking_none": ranking_none,
        "ranking_rule": sections.ranking_rule(config, period),
        "unranked_line": sections.unranked_line(result),
        "late_line": "- Báo cáo muộn: " + (", ".join(u.name for u in result.late) or "không có") + ".",
        "missing_line": "- Chưa báo cáo: " + (", ".join(u.name for u in result.missing) or "không có") + ".",
    }


def _indicator_row(r, period) -> dict:
    return {"tt": r.number, "name": r.indicator.name if not r.depth else "Trong đó: " + r.indicator.name,
            "result": measure_text(r.indicator, r.total, r.target),
            "target": target_text(r.indicator, period) or "Không giao",
            "verdict": ("Theo dõi" if r.target is None and r.total is not None else
                        {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}[r.met]),
            "trend": trend_text(r.change, r.indicator)}


MATRIX_TITLE = "baocao:ma-tran-chi-tieu"  # the matrix's Alt Text title, set by templates/docx/make_template.py


def _matrices(document) -> list:
    """The appendix matrix, found by its Alt Text title, which Word keeps whatever the office
    rewords in its cells; in a template made before the title existed, the tables of more than
    six columns (the body's indicator table has six, the ranking five; the matrix one per
    indicator, with TT, the unit and the met count)."""
    from docx.oxml.ns import qn

    tables = [t for t in document.tables if t.rows and len(t.rows[0].cells) >= 4]
    titled = [t for t in tables if (c := t._tbl.tblPr.find(qn("w:tblCaption"))) is not None
              and c.get(qn("w:val")) == MATRIX_TITLE]
    if titled:
        return titled
    return [t for t in tables if len(t.rows[0].cells) > 6]


def _fit_matrix(document, with_met: bool = True) -> None:
    """The appendix matrix has one column per indicator, repeated by {%tc %}; docxtpl leaves
    them all the same width. Give TT and the unit name their room and share the rest (with
    the met count last, unless no indicator has a target)."""
    from docx.oxml.ns import qn

    for table in _matrices(document):
        first = table.rows[0].cells
        section = document.sections[-1]
        usable = int(section.page_width.twips - section.left_margin.twips - section.right_margin.twips)
        tt, name, last = 560, 3400, 1100 if with_met else 0
        count = len(first) - 2 - with_met
        each = max(500, (usable - tt - name - last) // count)
        widths = [tt, name] + [each] * count + ([last] if with_met else [])
        grid = table._tbl.find(qn("w:tblGrid"))
        for col, w in zip(grid.findall(qn("w:gridCol")), widths):
            col.set(qn("w:w"), str(w))
        table._tbl.tblPr.find(qn("w:tblW")).set(qn("w:w"), str(sum(widths)))
        for row in table._tbl.findall(qn("w:tr")):
            for tc, w in zip(row.findall(qn("w:tc")), widths):
                tc.get_or_add_tcPr().get_or_add_tcW().set(qn("w:w"), str(w))


def _properties(document, title: str, author: str, made: datetime) -> None:
    """What Word's File › Info and a document system show: the trích yếu as title, the issuing
    body as author, made now (python-docx's own template says "python-docx", 2013). The template's
    thumbnail is dropped: it shows the blank page it was made from, not this report."""
    from docx.opc.constants import RELATIONSHIP_TYPE

    props = document.core_properties
    stamp = made.astimezone(timezone.utc).replace(tzinfo=None)  # python-docx writes it as UTC ("Z")
    fit = [_fit_property(v) for v in (title, author)]  # OOXML caps a property at 255 characters
    props.title, props.author, props.last_modified_by = fit[0], fit[1], fit[1]
    props.created = props.modified = stamp
    props.revision, props.comments, props.keywords = 1, "", ""
    props.category, props.language, props.subject = "Báo cáo", "vi-VN", ""
    package = document.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            package.rels.pop(rid)


def _fit_property(text: str, limit: int = 255) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0] + "…"


def jinja_env(undefined: type[Undefined] = StrictUndefined) -> Environment:
    return Environment(undefined=undefined, autoescape=True)


def fill(tpl: DocxTemplate, config: Config, result: Consolidation, today: date, env: Environment,
         made: datetime | None = None) -> bytes:
    values = context(config, result, today, tpl)
    tpl.render(values, jinja_env=env, autoescape=True)
    _fit_matrix(tpl.docx, all(m["assessed"] for m in values["matrices"]))
    org = config.plan.organisation
    _properties(tpl.docx, f"Báo cáo {sections.inside_sentence(values['title'])}",
                org.issuing_body_name or org.issuing_body, made or datetime.combine(today, time(8), TZ))
    out = io.BytesIO()
    tpl.save(out)
    if isinstance(env, StampingEnvironment):  # the long loops were rendered once: write them out
        return env.expand(out.getvalue())
    return out.getvalue()


def read_template(path: Path) -> bytes:
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


class _Template(DocxTemplate):
    """docxtpl's template, whose clean-up of each part's XML (patch_xml: some thirty regular
    expressions over the whole part) may be shared by the templates of one check: check-config
    cleans the same parts for its syntax check, its names and each test render."""

    patched: dict[str, str] | None = None

    def patch_xml(self, src_xml: str) -> str:
        if self.patched is None:
            return super().patch_xml(src_xml)
        if src_xml not in self.patched:
            self.patched[src_xml] = super().patch_xml(src_xml)
        return self.patched[src_xml]


def load(path: Path, data: bytes, patched: dict[str, str] | None = None) -> DocxTemplate:
    """The template in `data`; `patched`, a dict shared by the templates of one check (see _Template)."""
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    tpl = _Template(io.BytesIO(data))
    tpl.patched = patched
    try:
        tpl.init_docx()
    # A .doc, an .xlsx or a half-copied file renamed .docx: python-docx says so in many ways.
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError):
        raise TemplateError(path, ["tệp không phải tài liệu Word .docx hoặc đã bị hỏng; mở bằng Word rồi lưu lại "
                                   "dạng Word Document (*.docx)"]) from None
    return tpl
