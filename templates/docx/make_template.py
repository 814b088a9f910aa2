"""Builds bao-cao.docx, the docxtpl template of the consolidated report (NĐ 30/2020, Phụ lục I).

Run once by developers: `python templates/docx/make_template.py`. After that the .docx is the
office's: open it in Word, change wording or layout, save. Every Jinja tag sits in one run
(typed in one go), loops over paragraphs use {%p %}, over table rows {%tr %}, over columns {%tc %}.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, Twips

FONT = "Times New Roman"
HERE = Path(__file__).resolve().parent


def set_fonts(rpr) -> None:
    """All four scripts, so Vietnamese text never falls back to another font (PITFALLS)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    only_times(fonts)


def only_times(fonts) -> None:
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    # Theme attributes win over the explicit ones in Word: python-docx's default styles carry them.
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        if fonts.get(qn(attr)) is not None:
            del fonts.attrib[qn(attr)]


def styles(doc) -> None:
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr)
    for style in doc.styles:
        element = style.element
        if element.find(qn("w:rPr")) is None and style.type != 3:  # not numbering styles
            element.append(OxmlElement("w:rPr"))
        rpr_el = element.find(qn("w:rPr"))
        if rpr_el is not None:
            set_fonts(rpr_el)
            for old in rpr_el.findall(qn("w:color")):
                rpr_el.remove(old)
            color = OxmlElement("w:color")
            color.set(qn("w:val"), "000000")
            rpr_el.append(color)
    for fonts in doc.styles.element.iter(qn("w:rFonts")):  # table styles' conditional parts too
        only_times(fonts)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(14)
    pf = normal.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    pf.first_line_indent = Cm(1.27)
    pf.space_before, pf.space_after = Pt(0), Pt(6)
    pf.line_spacing_rule = WD_LINE_SPACING.MULTIPLE
    pf.line_spacing = 1.15
    # The report's headings use Word's own heading styles, so that the navigation pane and a table
    # of contents work, restyled to NĐ30: 14 pt bold upright black Times, body indent and spacing.
    for name in ("Heading 1", "Heading 2"):
        heading = doc.styles[name]
        heading.base_style = normal
        heading.font.size, heading.font.bold, heading.font.italic = Pt(14), True, False
        heading.font.all_caps = False
        hf = heading.paragraph_format
        hf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        hf.first_line_indent, hf.left_indent = Cm(1.27), Cm(0)
        hf.space_before, hf.space_after = Pt(6), Pt(6)
        hf.line_spacing_rule, hf.line_spacing = WD_LINE_SPACING.MULTIPLE, 1.15
        hf.keep_with_next = True


def restart_numbering(section) -> None:
    """An appendix numbers its pages on its own, from 1 (NĐ30, Phụ lục I, III.1)."""
    number_type = OxmlElement("w:pgNumType")
    number_type.set(qn("w:start"), "1")
    section._sectPr.append(number_type)


def para(container, text="", *, bold=False, italic=False, size=None, align=None, indent=True, after=None,
         before=None, keep=False, style=None):
    p = container.add_paragraph(style=style)
    if text:
        run = p.add_run(text)
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
        set_fonts(run._r.get_or_add_rPr())
    fmt = p.paragraph_format
    if align is not None:
        fmt.alignment = align
    if not indent:
        fmt.first_line_indent = Cm(0)
    if after is not None:
        fmt.space_after = Pt(after)
    if before is not None:
        fmt.space_before = Pt(before)
    if keep:
        fmt.keep_with_next = True
    return p


def rule(container, left_cm: float, right_cm: float) -> None:
    """A real solid line (a paragraph border), centred by equal indents."""
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.first_line_indent, fmt.left_indent, fmt.right_indent = Cm(0), Cm(left_cm), Cm(right_cm)
    fmt.space_before, fmt.space_after = Pt(3), Pt(0)  # clear of the descenders above
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(2)
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    border.append(top)
    p._p.get_or_add_pPr().append(border)


def no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def grid(table) -> None:
    table.style = "Table Grid"


MATRIX_TITLE = "baocao:ma-tran-chi-tieu"  # scheduler/report/docx.py finds the appendix matrix by it


def alt_text(table, title: str, description: str) -> None:
    """Word's Alt Text of a table (w:tblCaption, w:tblDescription): kept however the office rewords
    the cells, so the code finds the table by it, not by its heading text."""
    pr = table._tbl.tblPr
    for tag, value in (("w:tblCaption", title), ("w:tblDescription", description)):
        el = OxmlElement(tag)
        el.set(qn("w:val"), value)
        pr.append(el)


def heading_row(table, data_row: int = 2) -> None:
    """The first row repeats on every page the table runs onto and stays with the row below
    it (no heading alone at a page's foot); the {%tr %}-repeated data row never splits."""
    header = table.rows[0]._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):
        header.append(OxmlElement(tag))
    for cell in table.rows[0].cells:
        for paragraph in cell.paragraphs:
            paragraph.paragraph_format.keep_with_next = True
    table.rows[data_row]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def widths(table, cm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour (tblGrid, tblW, tcW)."""
    set_table_widths(table._tbl, [int(Cm(w).twips) for w in cm])


def set_table_widths(tbl, twips: list[int]) -> None:
    tbl_pr = tbl.tblPr
    for tag in ("w:tblW", "w:tblLayout"):
        old = tbl_pr.find(qn(tag))
        if old is not None:
            tbl_pr.remove(old)
    tbl_w = OxmlElement("w:tblW")
    tbl_w.set(qn("w:w"), str(sum(twips)))
    tbl_w.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(tbl_w)
    tbl_pr.append(layout)
    grid_el = tbl.find(qn("w:tblGrid"))
    for col in list(grid_el):
        grid_el.remove(col)
    for w in twips:
        col = OxmlElement("w:gridCol")
        col.set(qn("w:w"), str(w))
        grid_el.append(col)
    for tr in tbl.findall(qn("w:tr")):
        for tc, w in zip(tr.findall(qn("w:tc")), twips):
            tc_pr = tc.get_or_add_tcPr()
            old = tc_pr.find(qn("w:tcW"))
            if old is not None:
                tc_pr.remove(old)
            tc_w = OxmlElement("w:tcW")
            tc_w.set(qn("w:w"), str(w))
            tc_w.set(qn("w:type"), "dxa")
            tc_pr.insert(0, tc_w)


def cell_text(cell, text, *, bold=False, italic=False, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, new=False):
    """Text in a table cell: its first paragraph, or with `new` a paragraph added below."""
    p = cell.add_paragraph() if new else cell.paragraphs[0]
    run = p.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    run.font.size = Pt(size)
    set_fonts(run._r.get_or_add_rPr())
    fmt = p.paragraph_format
    fmt.alignment, fmt.first_line_indent, fmt.space_after = align, Cm(0), Pt(0)
    fmt.line_spacing = 1.0
    return p


def cell_para(cell, text, **kw):
    return cell_text(cell, text, new=True, **kw)


def page_number_header(section) -> None:
    section.different_first_page_header_footer = True  # no number on page 1 (titlePg)
    p = section.header.paragraphs[0]
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    run = p.add_run()
    run.font.size = Pt(13)
    set_fonts(run._r.get_or_add_rPr())
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif text.strip() == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            run._r.append(t)


def build(path: Path) -> None:
    doc = Document()
    styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Twips(11906), Twips(16838)  # A4
    # Exact twips inside the decree's ranges (Mm(15) would round to 850, one under the minimum).
    section.top_margin, section.bottom_margin = Twips(1191), Twips(1191)  # 21 mm
    section.left_margin, section.right_margin = Twips(1757), Twips(907)  # 31 mm, 16 mm
    section.header_distance = Mm(10)
    page_number_header(section)
    text_width = (11906 - 1757 - 907) / 567  # cm

    # --- the two-column header (borderless): 40% / 60%
    head = doc.add_table(rows=2, cols=2)
    no_borders(head)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    # A little wider than the text block, as in the decree's samples, so that neither
    # "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" nor "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" wraps.
    widths(head, [7.5, 10.0])
    indent = OxmlElement("w:tblInd")
    indent.set(qn("w:w"), str(int(Cm(-0.6).twips)))
    indent.set(qn("w:type"), "dxa")
    head._tbl.tblPr.append(indent)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), "40")
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    head._tbl.tblPr.append(margins)
    left, right = head.rows[0].cells
    # A body with no parent (a UBND tỉnh, a Bộ) heads the document with its own name alone.
    cell_text(left, "{%p if org.parent_body %}", size=12)
    cell_para(left, "{{ org.parent_body|upper }}", size=12)
    cell_para(left, "{%p endif %}", size=12)
    cell_para(left, "{{ org.issuing_body|upper }}", bold=True, size=12)
    rule(left, 2.8, 2.8)  # about 1/2 of "SỞ NÔNG NGHIỆP"
    cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12)
    cell_para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    rule(right, 1.95, 1.95)  # as long as "Độc lập - Tự do - Hạnh phúc"
    number, date = head.rows[1].cells
    cell_text(number, "{{ number_line }}", size=13).paragraph_format.space_before = Pt(6)
    cell_text(date, "{{ date_line }}", italic=True, size=14).paragraph_format.space_before = Pt(6)

    # --- BÁO CÁO and the trích yếu
    para(doc, "BÁO CÁO", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, before=18, after=0)
    para(doc, "{{ title }}", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=2)
    rule(doc, 5.5, 5.5)
    para(doc, "", after=6, indent=False)
    # A report sent up to a higher body: "Kính gửi: …" (one addressee centred; several as "- …;"
    # lines aligned after the colon by a hanging indent, the tab reaching it).
    para(doc, "{%p if kinh_gui_one %}", indent=False)
    para(doc, "{{ kinh_gui_one }}", size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=12)
    para(doc, "{%p endif %}", indent=False)
    para(doc, "{%p if kinh_gui_many %}", indent=False)
    many = para(doc, "{{ kinh_gui_many }}", size=14, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=12)
    many.paragraph_format.left_indent, many.paragraph_format.first_line_indent = Cm(5.0), Cm(-2.4)
    para(doc, "{%p endif %}", indent=False)

    para(doc, "{{ intro }}")
    para(doc, "{%p if coverage %}", indent=False)
    para(doc, "{{ coverage }}")
    para(doc, "{%p endif %}", indent=False)
    # A section with nothing to say is left out and the others renumbered (sections.X: its numeral).
    para(doc, "{%p if sections.results %}", indent=False)
    para(doc, "{{ sections.results }}. KẾT QUẢ THỰC HIỆN", bold=True, keep=True, style="Heading 1")
    para(doc, "{%p for item in results %}", indent=False)
    para(doc, "{{ item.number }}. {{ item.title }}", bold=True, keep=True, style="Heading 2")
    para(doc, "{%p for line in item.lines %}", indent=False)
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}", indent=False)
    para(doc, "{%p endfor %}", indent=False)
    para(doc, "{%p endif %}", indent=False)

    para(doc, "{%p if indicators %}", indent=False)  # a period that asks for no figures has no section II
    para(doc, "{{ sections.indicators }}. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", bold=True, keep=True, style="Heading 1")
    para(doc, "{{ indicators_intro }}")
    table = doc.add_table(rows=4, cols=6)
    grid(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, ["TT", "Chỉ tiêu", "Kết quả", "Mục tiêu", "Đánh giá", "So với kỳ trước"]):
        cell_text(cell, text, bold=True, size=12)
    # docxtpl replaces a whole row by its {%tr %} tag: the loop tags get rows of their own.
    cell_text(table.rows[1].cells[0], "{%tr for i in indicators %}", size=12)
    for cell, key, align in zip(table.rows[2].cells, ["tt", "name", "result", "target", "verdict", "trend"],
                                [WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT] + [WD_ALIGN_PARAGRAPH.CENTER] * 4):
        cell_text(cell, "{{ i.%s }}" % key, size=12, align=align)
    cell_text(table.rows[3].cells[0], "{%tr endfor %}", size=12)
    widths(table, [1.1, 5.4, 3.6, 1.8, 1.8, 2.6])  # 16,3 cm: the text width; "TT" fits on one line
    heading_row(table)
    para(doc, "", after=0, indent=False)
    para(doc, "{%p if chart %}", indent=False)  # a plan of counts has no percent chart, nor its caption
    para(doc, "{{ chart }}", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    para(doc, "{{ chart_caption }}", italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    para(doc, "{%p endif %}", indent=False)
    para(doc, "{{ indicators_note }}")
    para(doc, "{%p endif %}", indent=False)

    for heading, key in (("TỒN TẠI, HẠN CHẾ, NGUYÊN NHÂN", "shortcomings"),
                         ("PHƯƠNG HƯỚNG, NHIỆM VỤ {{ next_period_phrase|upper }}", "next_steps"),
                         ("ĐỀ XUẤT, KIẾN NGHỊ", "proposals")):
        para(doc, "{%p if sections." + key + " %}", indent=False)
        para(doc, "{{ sections." + key + " }}. " + heading, bold=True, keep=True, style="Heading 1")
        para(doc, "{%p for line in " + key + " %}", indent=False)
        para(doc, "{{ line }}")
        para(doc, "{%p endfor %}", indent=False)
        para(doc, "{%p endif %}", indent=False)

    para(doc, "{{ closing }}./.", keep=True)  # never leave the signature block alone on a page

    # --- Nơi nhận and the signature block (borderless)
    sign = doc.add_table(rows=1, cols=2)
    no_borders(sign)
    widths(sign, [text_width * 0.5, text_width * 0.5])
    cant_split = OxmlElement("w:cantSplit")
    sign.rows[0]._tr.get_or_add_trPr().append(cant_split)
    left, right = sign.rows[0].cells
    cell_text(left, "Nơi nhận:", bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT).paragraph_format.space_before = Pt(6)
    cell_para(left, "{%p for r in recipients %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_para(left, "- {{ r }};", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_para(left, "{%p endfor %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_para(left, "- Lưu: VT, {{ org.office_abbreviation }}.", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_text(right, "{{ signer_authority }}", bold=True, size=14).paragraph_format.space_before = Pt(6)
    cell_para(right, "{{ signer_title }}", bold=True, size=14)
    for _ in range(4):
        cell_para(right, "", size=14)
    cell_para(right, "{{ signer_name }}", bold=True, size=14)

    # --- At province scale, the units' texts: Phụ lục I, portrait. Its section break is the
    # paragraph that python-docx adds below, inside the condition, so that a report without it
    # goes straight from the body to the landscape appendix.
    texts = doc.add_section(WD_SECTION.NEW_PAGE)
    texts.different_first_page_header_footer = False  # an appendix is numbered from its first page
    restart_numbering(texts)
    para(doc, "{%p if narrative_appendix %}", indent=False)
    para(doc, "Phụ lục I", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=0,
         before=0, style="Heading 1")
    para(doc, "NỘI DUNG BÁO CÁO CỦA CÁC ĐƠN VỊ", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
         after=0)
    para(doc, "{{ appendix_ref }}", italic=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=12)
    para(doc, "{%p for part in narrative_appendix %}", indent=False)
    para(doc, "{{ part.number }}. {{ part.title }}", bold=True, keep=True, style="Heading 2")
    para(doc, "{%p for block in part.blocks %}", indent=False)
    para(doc, "{%p if block.title %}", indent=False)
    para(doc, "{{ block.title }}", bold=True, italic=True, keep=True)
    para(doc, "{%p endif %}", indent=False)
    para(doc, "{%p for line in block.lines %}", indent=False)
    para(doc, "{{ line }}")
    para(doc, "{%p endfor %}", indent=False)
    para(doc, "{%p endfor %}", indent=False)
    para(doc, "{%p endfor %}", indent=False)

    # --- Phụ lục, in a landscape section of its own
    appendix = doc.add_section(WD_SECTION.NEW_PAGE)
    para(doc, "{%p endif %}", indent=False)
    appendix.orientation = WD_ORIENT.LANDSCAPE
    appendix.page_width, appendix.page_height = Twips(16838), Twips(11906)
    appendix.top_margin, appendix.bottom_margin = Twips(1191), Twips(1191)
    appendix.left_margin, appendix.right_margin = Twips(1191), Twips(907)
    appendix.different_first_page_header_footer = False  # numbered from its first page
    restart_numbering(appendix)
    para(doc, "{{ appendix_label }}", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=0,
         before=0, style="Heading 1")
    para(doc, "{{ appendix_title }}", bold=True, size=14,
         align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=0)
    para(doc, "{{ appendix_ref }}", italic=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, after=12)

    para(doc, "{%p if indicators %}", indent=False)  # parts 1 and 2 only where the period asks for figures
    para(doc, "{{ appendix_numbers.indicators }}. Kết quả các chỉ tiêu của từng đơn vị", bold=True, size=13,
         indent=False, keep=True, style="Heading 2")
    # More indicators than fit one landscape page: several tables, each with its own columns.
    para(doc, "{%p for m in matrices %}", indent=False)
    para(doc, "{%p if m.caption %}", indent=False)
    para(doc, "{{ m.caption }}", italic=True, size=12, indent=False, before=6, keep=True)
    para(doc, "{%p endif %}", indent=False)
    matrix = doc.add_table(rows=4, cols=8)
    grid(matrix)
    matrix.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Columns repeat with {%tc %}: the cells holding the loop tags disappear when rendered.
    head = matrix.rows[0].cells
    cell_text(head[0], "TT", bold=True, size=10)
    cell_text(head[1], "Đơn vị", bold=True, size=10)
    cell_text(head[2], "{%tc for h in m.heads %}", size=10)
    cell_text(head[3], "{{ h }}", bold=True, size=10)
    cell_text(head[4], "{%tc endfor %}", size=10)
    # The met count only where some indicator has a target (a plan of counts has none).
    cell_text(head[5], "{%tc if m.assessed %}", size=10)
    cell_text(head[6], "Số chỉ tiêu đạt", bold=True, size=10)
    cell_text(head[7], "{%tc endif %}", size=10)
    cell_text(matrix.rows[1].cells[0], "{%tr for u in m.rows %}", size=10)
    row = matrix.rows[2].cells
    cell_text(row[0], "{{ u.tt }}", size=10)
    cell_text(row[1], "{{ u.name }}", size=10, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_text(row[2], "{%tc for c in u.cells %}", size=10)
    cell_text(row[3], "{{ c }}", size=10)
    cell_text(row[4], "{%tc endfor %}", size=10)
    cell_text(row[5], "{%tc if m.assessed %}", size=10)
    cell_text(row[6], "{{ u.met }}", size=10)
    cell_text(row[7], "{%tc endif %}", size=10)
    cell_text(matrix.rows[3].cells[0], "{%tr endfor %}", size=10)
    widths(matrix, [1.0, 6.0, 0.5, 1.8, 0.5, 0.5, 2.0, 0.5])
    heading_row(matrix)
    alt_text(matrix, MATRIX_TITLE, "Bảng chỉ tiêu theo đơn vị: baocao chia lại độ rộng các cột khi lập báo cáo. "
             "Giữ tiêu đề thay thế (Alt Text) này nếu sửa bảng.")
    para(doc, "{%p endfor %}", indent=False)
    para(doc, "{{ matrix_note }}", italic=True, size=11, indent=False)
    para(doc, "{%p endif %}", indent=False)

    para(doc, "{%p if ranking or ranking_none %}", indent=False)  # only where the plan asks for a ranking
    para(doc, "{{ appendix_numbers.ranking }}. Xếp hạng các đơn vị (từ cao xuống thấp)", bold=True, size=13,
         indent=False, before=12, keep=True, style="Heading 2")
    para(doc, "{%p if ranking_none %}", indent=False)  # nobody to rank: one sentence, no empty table
    para(doc, "{{ ranking_none }}", size=13, indent=False)
    para(doc, "{%p else %}", indent=False)
    ranking = doc.add_table(rows=4, cols=5)
    grid(ranking)
    ranking.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(ranking.rows[0].cells, ["Hạng", "Đơn vị", "Số chỉ tiêu đạt", "Mức hoàn thành bình quân",
                                                  "Thời hạn báo cáo"]):
        cell_text(cell, text, bold=True, size=12)
    cell_text(ranking.rows[1].cells[0], "{%tr for r in ranking %}", size=12)
    for cell, key, align in zip(ranking.rows[2].cells, ["rank", "name", "met", "mean", "status"],
                                [WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT] + [WD_ALIGN_PARAGRAPH.CENTER] * 3):
        cell_text(cell, "{{ r.%s }}" % key, size=12, align=align)
    cell_text(ranking.rows[3].cells[0], "{%tr endfor %}", size=12)
    widths(ranking, [1.6, 9.0, 3.2, 4.5, 4.5])
    heading_row(ranking)
    para(doc, "{{ ranking_rule }}", italic=True, size=11, indent=False)
    para(doc, "{%p if unranked_line %}", indent=False)
    para(doc, "{{ unranked_line }}", size=13, indent=False)
    para(doc, "{%p endif %}", indent=False)
    para(doc, "{%p endif %}", indent=False)
    para(doc, "{%p endif %}", indent=False)

    para(doc, "{{ lateness_number }}. Đơn vị báo cáo muộn, chưa báo cáo", bold=True, size=13, indent=False, before=12,
         keep=True, style="Heading 2")
    para(doc, "{{ late_line }}", size=13, indent=False)
    para(doc, "{{ missing_line }}", size=13, indent=False)
    doc.save(path)
    plain_app_properties(path)


APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           '<Application>baocao</Application><DocSecurity>0</DocSecurity></Properties>')


def plain_app_properties(path: Path) -> None:
    """python-docx's own template says it was made by "Microsoft Macintosh Word", one page long:
    say only what made it (Word rewrites this part when the office saves the template)."""
    import io
    import zipfile

    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item, APP_XML if item.filename == "docProps/app.xml" else old.read(item.filename))


if __name__ == "__main__":
    build(HERE / "bao-cao.docx")
    print(f"wrote {HERE / 'bao-cao.docx'}")
