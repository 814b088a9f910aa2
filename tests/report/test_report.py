"""The consolidated report: aggregation rules, the NĐ30 format read back from the DOCX, the
office's own template edits, versions mailed to the office."""

from __future__ import annotations

import io
import re
import os
import shutil
import subprocess
from datetime import date, datetime

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlmodel import Session, select

from scheduler.report import versions
from scheduler.clock import TZ
from scheduler.report.consolidate import consolidate
from scheduler.store.tables import ReportRow
from scheduler.report.render import render
from scheduler.report.wording import percent
from scheduler.config.load import load_config
from tests.conftest import ROOT, edit, full, returned, store_return as submit, tick_at

TEMPLATES = ROOT / "templates" / "docx"
TIMES = "Times New Roman"
# Two units whose percentages average to 75% but whose totals give 10/110 ≈ 9,1%.
SMALL = {"so_hoa": {"num": 1, "den": 2}}      # 50%
LARGE = {"so_hoa": {"num": 9, "den": 108}}    # ≈ 8,3%


# ---------------------------------------------------------------- aggregation (pure)

def test_department_result_is_sum_over_sum_not_a_mean_of_percentages(shipped_config):
    period = shipped_config.period("2026-Q4")
    result = consolidate(shipped_config, period, {"BPMC": returned("BPMC", SMALL), "TTRA": returned("TTRA", LARGE)})
    so_hoa = next(r for r in result.indicators if r.indicator.id == "so_hoa")
    assert (so_hoa.total.num, so_hoa.total.den) == (10, 110)
    assert percent(so_hoa.total.percent) == "9,1%"  # the mean of 50% and 8,3% would be 29,2%
    assert so_hoa.met is False and so_hoa.units == 2


def test_khong_phat_sinh_is_left_out_of_totals_and_targets_keep_their_operator(shipped_config):
    period = shipped_config.period("2026-Q4")
    result = consolidate(shipped_config, period, {
        "BPMC": returned("BPMC", {"hai_long": {"num": 95, "den": 100}, "thanh_toan": None}),
        "TTRA": returned("TTRA", {"hai_long": None, "thanh_toan": None}),
    })
    by_id = {r.indicator.id: r for r in result.indicators}
    assert by_id["hai_long"].total.percent == 95.0 and by_id["hai_long"].met is False  # "> 95%": 95 is not enough
    assert by_id["hai_long"].units == 1
    assert by_id["thanh_toan"].total is None and by_id["thanh_toan"].met is None


def test_ranking_by_targets_met_then_mean_achievement_then_name(shipped_config):
    period = shipped_config.period("2026-Q4")
    weaker = full(so_hoa={"num": 900, "den": 930})          # misses one target
    weakest = full(so_hoa={"num": 800, "den": 930})         # misses it by more: same count, lower mean
    result = consolidate(shipped_config, period, {
        "TTRA": returned("TTRA", weaker), "KHTC": returned("KHTC", weakest),
        "TL": returned("TL", full()), "CNTY": returned("CNTY", full()), "QLDD": returned("QLDD", {"so_hoa": None}),
    })
    assert [u.code for u in result.ranking] == ["CNTY", "TL", "TTRA", "KHTC"]  # Chăn nuôi before Thuỷ lợi
    assert [u.code for u in result.unranked] == ["QLDD"]  # only "Không phát sinh": listed, not ranked
    assert len(result.missing) == 13 and result.missing[0].code == "BPMC"


def test_trend_against_the_previous_quarter(shipped_config):
    q4 = shipped_config.period("2026-Q4")
    before = {"BPMC": returned("BPMC", {"so_hoa": {"num": 80, "den": 100}})}
    now = {"BPMC": returned("BPMC", {"so_hoa": {"num": 90, "den": 100}})}
    result = consolidate(shipped_config, q4, now, before)
    assert next(r for r in result.indicators if r.indicator.id == "so_hoa").change == pytest.approx(10.0)


# ---------------------------------------------------------------- the DOCX, read back

def fonts_of(element):
    f = element.find(qn("w:rFonts"))
    return None if f is None else {k.split("}")[1]: v for k, v in f.attrib.items()}


def assert_times_everywhere(document):
    styles = document.styles.element
    defaults = fonts_of(styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")))
    assert {defaults[k] for k in ("ascii", "hAnsi", "cs", "eastAsia")} == {TIMES}
    parts = [document.element] + [s.header._element for s in document.sections] + [styles]
    for part in parts:
        for rfonts in part.iter(qn("w:rFonts")):
            attrs = {k.split("}")[1]: v for k, v in rfonts.attrib.items()}
            assert not [k for k in attrs if "heme" in k], attrs  # a theme font would override Times in Word
            assert set(attrs.values()) <= {TIMES}, attrs
    for run in document.element.iter(qn("w:r")):
        rpr = run.find(qn("w:rPr"))
        own = fonts_of(rpr) if rpr is not None else None
        if own is not None:
            assert {own.get(k) for k in ("ascii", "hAnsi", "cs", "eastAsia")} == {TIMES}, own


def sample_report(shipped_config, template_dir=TEMPLATES, extra=None):
    period = shipped_config.period("2026-Q4")
    data = {"BPMC": returned("BPMC", full(so_hoa={"num": 1, "den": 2}), narrative={
                "tuyen_truyen": "Niêm yết <hướng dẫn> & \"cầm tay chỉ việc\" 😀\x01\x0b tại xã Tân Tiến.\nĐoạn thứ hai.",
                "ton_tai": "Số hoá chưa kịp.", "phuong_huong": "Số hoá 100%."}),
            "TTRA": returned("TTRA", full(so_hoa={"num": 9, "den": 108}), on_time=False),
            "KL": returned("KL", full())} | (extra or {})
    result = consolidate(shipped_config, period, data)
    return result, render(shipped_config, result, date(2026, 12, 7), template_dir)


def test_page_margins_and_fonts_follow_nd30(shipped_config):
    _, content = sample_report(shipped_config)
    document = Document(io.BytesIO(content))
    body = document.sections[0]
    assert (body.page_width.twips, body.page_height.twips) == (11906, 16838)
    assert 1134 <= body.top_margin.twips <= 1418 and 1134 <= body.bottom_margin.twips <= 1418
    assert 1701 <= body.left_margin.twips <= 1985 and 851 <= body.right_margin.twips <= 1134
    assert body.different_first_page_header_footer  # no page number on page 1
    assert "PAGE" in "".join(t.text or "" for t in body.header._element.iter(qn("w:instrText")))
    appendix = document.sections[-1]
    assert appendix.page_width.twips > appendix.page_height.twips  # the wide table sits in landscape
    assert_times_everywhere(document)
    normal = document.styles["Normal"]
    assert normal.font.size.pt in (13, 14) and normal.paragraph_format.first_line_indent.cm == pytest.approx(1.27, 0.01)


def test_header_block_texts_and_styles(shipped_config):
    _, content = sample_report(shipped_config)
    head = Document(io.BytesIO(content)).tables[0]
    left, right = head.rows[0].cells
    number, place = head.rows[1].cells
    texts = [p.text for p in left.paragraphs if p.text]
    assert texts == ["UBND TỈNH BẮC NINH", "SỞ NÔNG NGHIỆP\nVÀ MÔI TRƯỜNG"]
    parent, issuing = [p.runs[0] for p in left.paragraphs if p.text]
    assert not parent.bold and issuing.bold and 12 <= issuing.font.size.pt <= 13
    assert [p.text for p in right.paragraphs if p.text] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert all(p.runs[0].bold for p in right.paragraphs if p.text)
    # the lines under the issuing body and the motto are real paragraph borders, not underscores
    for cell in (left, right):
        ruled = [p for p in cell.paragraphs if p._p.find(qn("w:pPr")).find(qn("w:pBdr")) is not None]
        assert len(ruled) == 1 and not ruled[0].text
    assert number.paragraphs[0].text == "Số:      /BC-SNNMT"
    assert place.paragraphs[0].text == "Bắc Ninh, ngày      tháng 12 năm 2026"
    assert place.paragraphs[0].runs[0].italic
    texts = [p.text for p in Document(io.BytesIO(content)).paragraphs]
    title = texts[texts.index("BÁO CÁO") + 1]
    assert title.startswith("Kết quả thực hiện phong trào thi đua") and title.endswith("quý IV năm 2026")


def test_indicator_table_shows_sum_over_sum_and_missing_units_are_listed(shipped_config):
    result, content = sample_report(shipped_config)
    document = Document(io.BytesIO(content))
    table = document.tables[1]
    rows = {row.cells[1].text: [c.text for c in row.cells] for row in table.rows[1:]}
    # số hoá: (1 + 9 + 930) / (2 + 108 + 930) = 940/1040 = 90,4%, not the mean of 50%, 8,3% and 100%
    so_hoa = rows["Hồ sơ, kết quả giải quyết TTHC được số hoá theo quy định"]
    assert so_hoa[2:5] == ["90,4% (940/1.040)", "= 100%", "Chưa đạt"]
    assert rows["Thanh toán trực tuyến"][2:5] == ["—", "≥ 80%", "Chưa có số liệu"]
    huong_dan = rows["Người dân, doanh nghiệp đến giao dịch được hướng dẫn sử dụng dịch vụ công trực tuyến"]
    assert huong_dan[2:5] == ["100% (3.750/3.750)", "= 100%", "Đạt"]
    text = "\n".join(p.text for p in document.paragraphs)
    missing = [u.name for u in result.units if u.code not in ("BPMC", "TTRA", "KL")]
    assert "- Chưa báo cáo: " + ", ".join(missing) + "." in text
    assert "- Báo cáo muộn: Thanh tra Sở." in text
    body_end = next(p.text for p in document.paragraphs if p.text.startswith("Trên đây là báo cáo"))
    assert body_end.endswith("./.")
    signature = document.tables[2]
    assert [p.text for p in signature.rows[0].cells[1].paragraphs if p.text] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Bùi Quang Phát"]
    recipients = [p.text for p in signature.rows[0].cells[0].paragraphs if p.text]
    assert recipients[0] == "Nơi nhận:" and recipients[-1] == "- Lưu: VT, VP."
    # sent up to UBND tỉnh (its "Kính gửi"), so Nơi nhận starts with "- Như trên;" (NĐ30 Phụ lục I, II.9.b)
    assert recipients[1:3] == ["- Như trên;", "- Văn phòng UBND tỉnh;"]


def test_hostile_text_is_escaped_or_removed_and_the_report_still_opens(shipped_config):
    _, content = sample_report(shipped_config)
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    # its two lines make one paragraph under its name
    assert "- Bộ phận Một cửa của Sở: Niêm yết <hướng dẫn> & \"cầm tay chỉ việc\" 😀 tại xã Tân Tiến; Đoạn thứ hai." in text


C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def chart_of(content):
    """The chart part as Word reads it: found through the document's relationship, parsed."""
    from lxml import etree

    document = Document(io.BytesIO(content))
    charts = [r.target_part for r in document.part.rels.values() if r.reltype.endswith("/chart")]
    assert len(charts) == 1
    inline = document.element.body.find(".//" + qn("wp:inline"))
    assert inline.find(".//" + C + "chart").get(qn("r:id")) in document.part.rels  # placed in the text
    return etree.fromstring(charts[0].blob)


def series_of(chart):
    """{series name: {category: (value, label text, label position)}}"""
    out = {}
    for ser in chart.iter(C + "ser"):
        name = ser.find(f"{C}tx//{C}v").text
        cats = {int(p.get("idx")): p.find(C + "v").text for p in ser.find(C + "cat").iter(C + "pt")}
        labels = {int(d.find(C + "idx").get("val")): ("".join(t.text for t in d.iter(A + "t")),
                                                      d.find(C + "dLblPos").get("val")) for d in ser.iter(C + "dLbl")}
        out[name] = {cats[int(p.get("idx"))]: (float(p.find(C + "v").text),) + labels.get(int(p.get("idx")), ())
                     for p in ser.find(C + "val").iter(C + "pt")}
    return out


def test_the_chart_is_a_native_word_chart_of_the_aggregated_figures(shipped_config):
    result, content = sample_report(shipped_config)
    series = series_of(chart_of(content))
    assert set(series) == {"Đạt", "Chưa đạt", "Chưa có số liệu", "Mục tiêu"}
    # indicator 5 (số hoá): (1 + 9 + 930) / (2 + 108 + 930) = 90,4%, short of "= 100%": red, label inside the bar
    assert series["Chưa đạt"] == {"5": (pytest.approx(100 * 940 / 1040, abs=1e-4), "90,4%", "inEnd")}
    assert series["Đạt"]["4"] == (pytest.approx(100 * 3540 / 3750, abs=1e-4), "94,4%", "outEnd")
    assert series["Chưa có số liệu"] == {"7": (0.0, "—", "outEnd")}  # everybody said "Không phát sinh"
    assert len(series["Đạt"]) == 9 and series["Mục tiêu"]["9"] == (95.0,) and series["Mục tiêu"]["7"] == (80.0,)
    for row, n in zip(result.indicators, range(1, 12)):  # every bar is the table's Σnum/Σden
        bar = [s[str(n)] for name, s in series.items() if name != "Mục tiêu" and str(n) in s]
        assert bar[0][0] == pytest.approx(row.total.percent if row.total else 0, abs=1e-4)


def test_the_chart_speaks_vietnamese_in_times_new_roman(shipped_config):
    _, content = sample_report(shipped_config)
    chart = chart_of(content)
    texts = {"".join(t.text for t in title.iter(A + "t")) for title in chart.iter(C + "title")}
    assert texts == {"Tỷ lệ (%)", "Chỉ tiêu (số thứ tự như bảng trên)"}
    faces = {f.get("typeface") for tag in ("latin", "ea", "cs") for f in chart.iter(A + tag)}
    assert faces == {TIMES}
    # the grey "no figures" series explains nothing in the legend; the colours and the dash do
    hidden = [int(e.find(C + "idx").get("val")) for e in chart.iter(C + "legendEntry") if e.find(C + "delete") is not None]
    names = {int(s.find(C + "idx").get("val")): s.find(f"{C}tx//{C}v").text for s in chart.iter(C + "ser")}
    assert [names[i] for i in hidden] == ["Chưa có số liệu"]


def test_with_every_indicator_reported_the_chart_has_no_grey_series(shipped_config):
    everyone = {code: returned(code, full(thanh_toan={"num": 9, "den": 10})) for code in ("BPMC", "KL")}
    period = shipped_config.period("2026-Q4")
    result = consolidate(shipped_config, period, everyone)
    chart = chart_of(render(shipped_config, result, date(2026, 12, 7), TEMPLATES))
    assert set(series_of(chart)) == {"Đạt", "Chưa đạt", "Mục tiêu"}
    assert not list(chart.iter(C + "legendEntry"))


@pytest.mark.parametrize("typed", ["Báo cáo rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình",
                                   "BÁO CÁO RÀ SOÁT TTHC ĐỦ ĐIỀU KIỆN CUNG CẤP DVC TRỰC TUYẾN TOÀN TRÌNH"])
def test_a_report_that_asks_for_no_figures_has_no_table_chart_or_ranking(config_dir, typed):
    edit(config_dir / "plan.yaml", """  # - id: yc-ra-soat-tthc
  #   title: Báo cáo rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình
  #   period: once
  #   deadline: 2026-12-20
  #   indicators: [toan_trinh]
  #   headings: [de_xuat]""", f"""  - id: yc-ra-soat-tthc
    title: {typed}
    period: once
    deadline: 2026-12-20
    headings: [de_xuat]""")
    edit(config_dir / "units.yaml", "obligations: [quy]", "obligations: [quy, yc-ra-soat-tthc]")
    config = load_config(config_dir)
    period = config.period("yc-ra-soat-tthc")
    content = render(config, consolidate(config, period, {}), date(2026, 12, 21), TEMPLATES)
    document = Document(io.BytesIO(content))
    texts = [p.text for p in document.paragraphs]
    assert "Rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình" in texts  # the trích yếu keeps acronyms
    assert ("Trên đây là báo cáo rà soát TTHC đủ điều kiện cung cấp DVC trực tuyến toàn trình của Sở Nông nghiệp "
            "và Môi trường./.") in texts
    # No empty section: no section II without figures, no results or steps nobody was asked
    # for; the one section left is numbered I.
    assert [t for t in texts if re.match(r"^[IVX]+\. ", t)] == ["I. ĐỀ XUẤT, KIẾN NGHỊ"]
    assert not [r for r in document.part.rels.values() if r.reltype.endswith("/chart")]
    assert "TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ" in texts and "1. Đơn vị báo cáo muộn, chưa báo cáo" in texts
    assert not [t for t in texts if t.startswith("2. Xếp hạng")]
    assert len(document.tables) == 2  # only the two-column header and the Nơi nhận / signature block
    assert "- Chưa báo cáo: Bộ phận Một cửa của Sở." in texts


def test_the_office_edits_the_template_in_word_and_the_next_report_follows(shipped_config, tmp_path):
    edited = tmp_path / "docx"
    shutil.copytree(TEMPLATES, edited)
    template = Document(str(edited / "bao-cao.docx"))
    heading = next(p for p in template.paragraphs if p.text == "{{ sections.results }}. KẾT QUẢ THỰC HIỆN")
    heading.runs[0].text = "I. KẾT QUẢ ĐẠT ĐƯỢC TRONG KỲ"  # what retyping the heading in Word does
    template.save(str(edited / "bao-cao.docx"))
    _, content = sample_report(shipped_config, edited)
    texts = [p.text for p in Document(io.BytesIO(content)).paragraphs]
    assert "I. KẾT QUẢ ĐẠT ĐƯỢC TRONG KỲ" in texts and "I. KẾT QUẢ THỰC HIỆN" not in texts


def _matrix_widths(document) -> list[int]:
    from docx.oxml.ns import qn

    matrices = [t for t in document.tables if len(t.rows[0].cells) > 6]
    assert matrices
    return [[int(c.get(qn("w:w"))) for c in m._tbl.find(qn("w:tblGrid")).findall(qn("w:gridCol"))] for m in matrices]


@pytest.mark.parametrize("how", ["reworded", "old-template"])
def test_the_appendix_matrix_keeps_its_column_widths_when_its_headings_are_reworded(shipped_config, tmp_path, how):
    """The unit name gets its room and the indicator columns share the rest, whatever the office
    retypes in the heading row; and in a template made before the table carried its Alt Text."""
    from docx.oxml.ns import qn

    edited = tmp_path / "docx"
    shutil.copytree(TEMPLATES, edited)
    template = Document(str(edited / "bao-cao.docx"))
    [matrix] = [t for t in template.tables if t.rows[0].cells[1].text == "Đơn vị" and "m.heads" in t.rows[0].cells[2].text]
    if how == "reworded":
        for cell, text in zip(matrix.rows[0].cells[:2], ("STT", "Tên cơ quan, đơn vị")):
            cell.paragraphs[0].runs[0].text = text
        matrix.rows[0].cells[-2].paragraphs[0].runs[0].text = "Số chỉ tiêu hoàn thành"  # between its {%tc if %} cells
    else:
        for tag in ("w:tblCaption", "w:tblDescription"):
            matrix._tbl.tblPr.remove(matrix._tbl.tblPr.find(qn(tag)))
    template.save(str(edited / "bao-cao.docx"))
    _, content = sample_report(shipped_config, edited)
    _, reference = sample_report(shipped_config)
    widths = _matrix_widths(Document(io.BytesIO(content)))
    assert widths == _matrix_widths(Document(io.BytesIO(reference)))
    for each in widths:  # one table per ten indicators at most, each fitted on its own
        assert each[1] == 3400 and len(set(each[2:-1])) == 1 and each[2] < each[1]


SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"), reason="needs LibreOffice (apt-get install libreoffice-writer-nogui)")
def test_libreoffice_converts_it_to_pdf_without_warnings(shipped_config, tmp_path):
    _, content = sample_report(shipped_config)
    source = tmp_path / "bao-cao.docx"
    source.write_bytes(content)
    run = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                          "--outdir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    # LibreOffice says nothing about the document; its own start-up note about Java is not ours.
    warnings = [line for line in (run.stdout + run.stderr).splitlines()
                if line.strip() and not line.startswith("convert ") and "javaldx" not in line]
    assert warnings == []
    pdf = tmp_path / "bao-cao.pdf"
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
        assert "BÁO CÁO" in text and "Bùi Quang Phát" in text
        assert "Chỉ tiêu (số thứ tự như bảng trên)" in text and "90,4%" in text  # the chart is drawn


# ---------------------------------------------------------------- versions, mailed


def test_a_late_report_after_the_first_version_makes_version_2_and_a_second_mail(smtp_server, make_service):
    service = make_service(smtp_server.port)
    submit(service, "BPMC", datetime(2026, 12, 3, 10, tzinfo=TZ), full())
    tick_at(service, "2026-12-05T10:00:00+07:00")  # Saturday: the deadline passed, but not a working day
    assert not [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]
    tick_at(service, "2026-12-07T08:00:00+07:00")
    first = [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]
    assert [m["X-Baocao-Step"] for m in first] == ["report-v1"]
    assert first[0]["Subject"] == "[Báo cáo tổng hợp] Quý IV/2026 – bản 1"
    attachment = next(first[0].iter_attachments())
    assert attachment.get_filename() == "bao-cao-2026-Q4-ban-1.docx"
    first_attachment = attachment.get_content()
    Document(io.BytesIO(first_attachment))  # opens
    tick_at(service, "2026-12-07T15:00:00+07:00")  # nothing changed: no new version
    assert not [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]

    submit(service, "KL", datetime(2026, 12, 8, 9, tzinfo=TZ), full(so_hoa={"num": 1, "den": 2}))
    tick_at(service, "2026-12-08T09:05:00+07:00")
    second = [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]
    assert [m["X-Baocao-Step"] for m in second] == ["report-v2"]
    body = second[0].get_body(("plain",)).get_content()
    assert "Bản này thay bản 1 vì có đơn vị gửi báo cáo muộn hoặc sửa số liệu:\n  - Chi cục Kiểm lâm gửi báo cáo (muộn)" in body
    with Session(service.engine) as session:
        versions = session.exec(select(ReportRow).order_by(ReportRow.version)).all()
    assert [(v.version, v.sources) for v in versions] == [(1, {"BPMC": 1}), (2, {"BPMC": 1, "KL": 1})]
    assert versions[0].content == first_attachment  # version 1 stays exactly as it was sent

    submit(service, "BPMC", datetime(2026, 12, 8, 14, tzinfo=TZ), full(hai_long={"num": 1, "den": 2}), revision=2)
    tick_at(service, "2026-12-08T14:10:00+07:00")
    third = [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]
    assert "Bộ phận Một cửa của Sở sửa báo cáo (bản thứ 2)" in third[0].get_body(("plain",)).get_content()

    # a resubmission that changes nothing makes no new version
    submit(service, "BPMC", datetime(2026, 12, 8, 16, tzinfo=TZ), full(hai_long={"num": 1, "den": 2}), revision=3)
    tick_at(service, "2026-12-08T16:10:00+07:00")
    assert not [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]


def test_baocao_report_writes_the_docx_and_stored_versions(make_service, smtp_server, tmp_path):
    from click.testing import CliRunner

    from scheduler.cli.main import App, cli

    service = make_service(smtp_server.port)
    submit(service, "BPMC", datetime(2026, 12, 3, 10, tzinfo=TZ), full())
    tick_at(service, "2026-12-07T08:00:00+07:00")
    clock = lambda: datetime(2026, 12, 7, 9, tzinfo=TZ)  # noqa: E731
    out = tmp_path / "q4.docx"
    result = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "-o", str(out)], obj=App(service.settings, clock))
    assert result.exit_code == 0, result.output
    assert "1/18 đơn vị có số liệu, 17 đơn vị chưa báo cáo" in result.output
    assert "Bộ phận Một cửa của Sở" in "\n".join(p.text for p in Document(str(out)).paragraphs)
    stored = tmp_path / "v1.docx"
    result = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "--version", "1", "-o", str(stored)],
                                obj=App(service.settings, clock))
    assert result.exit_code == 0 and "bản số 1" in result.output
    with Session(service.engine) as session:
        assert stored.read_bytes() == versions.latest_version(session, "2026-Q4").content


def test_a_percentage_never_rounds_across_its_target():
    from scheduler.config.model import Target

    assert percent(90.3846) == "90,4%" and percent(100.0) == "100%" and percent(9.0909) == "9,1%"
    assert percent(99.96, Target("=", 100)) == "99,96%"   # not "100%" beside "Chưa đạt"
    assert percent(89.96, Target(">=", 90)) == "89,96%"   # not "90%" beside "Chưa đạt"
    assert percent(95.04, Target(">", 95)) == "95,04%"    # not "95%" beside "Đạt"


def test_the_trich_yeu_names_the_period_by_its_kind_not_by_parsing_its_title():
    from scheduler.policy.periods import Period, periods_in_window
    from scheduler.report.wording import period_phrase

    def first(kind, month, day, start=date(2026, 1, 1)):
        return periods_in_window("ob", kind, month, day, start, date(2027, 12, 31))[0]

    assert period_phrase(first("quarter", "last", 5)) == "quý I năm 2026"
    assert period_phrase(first("month", 1, 3)) == "tháng 01/2026"
    assert period_phrase(first("year", 14, 15, date(2025, 6, 1))) == "năm 2025"  # due 15/02/2026
    assert period_phrase(first("half_year", "last", 10)) == "6 tháng đầu năm 2026"
    # an on-request report keeps the title the office gave it, whatever it starts with
    asked = Period("YC-20261220", "quy", "Quý này: báo cáo nhanh", date(2026, 12, 1), date(2026, 12, 19),
                   date(2026, 12, 20))
    assert period_phrase(asked) == "Quý này: báo cáo nhanh"


def test_a_body_with_no_parent_heads_the_report_with_its_own_name_alone(config_dir):
    """UBND tỉnh issues its reports under no cơ quan chủ quản (NĐ30 Phụ lục I): no blank line above it."""
    plan = config_dir / "plan.yaml"
    edit(plan, "  parent_body: UBND TỈNH BẮC NINH\n", "")
    edit(plan, "issuing_body: SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG", "issuing_body: ỦY BAN NHÂN DÂN TỈNH BẮC NINH")
    config = load_config(config_dir)
    assert config.plan.organisation.parent_body is None
    _, content = sample_report(config)
    left = Document(io.BytesIO(content)).tables[0].rows[0].cells[0]
    first = left.paragraphs[0]
    assert first.text.replace("\n", " ") == "ỦY BAN NHÂN DÂN TỈNH BẮC NINH" and first.runs[0].bold
    assert "UBND TỈNH BẮC NINH" not in [p.text for p in left.paragraphs]
