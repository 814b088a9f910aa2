"""The report the office signs (issue 13), read back as the văn thư and the Lãnh đạo Sở read it:
a realistic fourth quarter of seed 000 (15 units report, three late, two with nothing to
report, texts typed as units type them)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date, datetime, timezone

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn

from scheduler.clock import TZ
from scheduler.report.consolidate import consolidate
from scheduler.report.render import render
from scheduler.report.wording import percent
from scheduler.text import number
from tests.conftest import ROOT
from tests.report.realistic import LATE, NOTHING_TO_REPORT, ONLY_NOTHING, REPORTING, quarter_returns

TEMPLATES = ROOT / "templates" / "docx"
MADE = datetime(2026, 12, 7, 8, 0, 5, tzinfo=TZ)
SOFFICE = shutil.which("soffice")
needs_office = pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"),
                                  reason="needs LibreOffice (apt-get install libreoffice-writer-nogui poppler-utils)")


@pytest.fixture(scope="module")
def q4(shipped_config):
    period = shipped_config.period("2026-Q4")
    returns = quarter_returns()
    result = consolidate(shipped_config, period, returns, quarter_returns(seed=7))
    content = render(shipped_config, result, MADE.date(), TEMPLATES, MADE)
    return shipped_config, returns, result, content, Document(io.BytesIO(content))


def body_paragraphs(document):
    """The body's paragraphs, up to the first appendix."""
    out = []
    for p in document.paragraphs:
        if p.text.startswith("Phụ lục"):
            break
        out.append(p)
    return out


def expected_totals(returns, indicator_id):
    """Σ numerators / Σ denominators over the units that reported the indicator, summed here
    from the raw returns, not by the code under test."""
    counted = [r.figures[indicator_id] for r in returns.values()
               if r.figures.get(indicator_id) and r.figures[indicator_id].get("den")]
    return sum(f["num"] for f in counted), sum(f["den"] for f in counted)


def test_each_results_heading_opens_with_its_indicators_in_words(q4):
    config, returns, result, _, document = q4
    body = body_paragraphs(document)
    by_title = {p.text.split(". ", 1)[1]: i for i, p in enumerate(body) if p.style.name == "Heading 2"}
    tied = [h for h in config.plan.headings if h.indicators]
    assert len(tied) == 4
    for heading in tied:
        opening = body[by_title[heading.title] + 1].text
        for ind_id in heading.indicators:
            ind = next(i for i in config.plan.indicators if i.id == ind_id)
            num, den = expected_totals(returns, ind_id)
            target = ind.target_for(result.period)
            value = 100 * num / den
            assert number(num) in opening and number(den) in opening, (ind_id, opening)
            assert f"đạt {percent(value, target)}" in opening, (ind_id, opening)
            # the verdict follows the figure, as the plan's target says it
            words = "chưa đạt mục tiêu" if not target.met(value) else ("vượt mục tiêu" if value > target.value
                                                                        else "hoàn thành mục tiêu")
            sentence = next(s for s in opening.split(". ") if number(num) in s and number(den) in s)
            assert words in sentence, (ind_id, sentence)
        assert "so với quý III" in opening  # the trend against the quarter before


def test_no_bare_list_item_reads_as_the_departments_own_point(q4):
    config, returns, _, _, document = q4
    names = [u.name for u in config.units]
    dashed = [p.text for p in body_paragraphs(document) if p.text.startswith("- ")]
    assert dashed, "the units' contributions are listed"
    for text in dashed:
        assert any(text.startswith(f"- {name}: ") for name in names), text
        assert not re.search(r": [-•+*] |; [-•+*] |\n", text), text  # their own markers and breaks are gone
    # the unit that typed "1. … \n 2. …" is one paragraph, its items joined
    assert any(t.startswith("- Phòng Kế hoạch - Tài chính: Phát 1.200 tờ rơi hướng dẫn dịch vụ công trực tuyến; "
                            "Hướng dẫn qua điện thoại, Zalo.") for t in dashed)


def test_units_with_nothing_of_substance_are_left_out_and_good_practices_name_the_units(q4):
    config, returns, _, _, document = q4
    text = "\n".join(p.text for p in body_paragraphs(document))
    for code in NOTHING_TO_REPORT:
        assert f"- {config.unit(code).name}:" not in text  # it answered "Không phát sinh." to everything
    assert "Không phát sinh" not in text and ": không." not in text.lower()
    writers = [config.unit(c).name for c in REPORTING
               if "mo_hinh_hay" in returns[c].narrative and c not in NOTHING_TO_REPORT]
    assert len(writers) == 3
    # joined with "; ": the units' names hold "và" of their own
    assert f"Các đơn vị báo cáo mô hình hay, cách làm hiệu quả: {writers[0]}; {writers[1]}; {writers[2]}." in text


def test_shortcomings_name_every_indicator_below_target_with_its_figure_and_units(q4):
    config, returns, result, _, document = q4
    body = [p.text for p in body_paragraphs(document)]
    start = body.index("III. TỒN TẠI, HẠN CHẾ, NGUYÊN NHÂN")
    end = next(i for i, t in enumerate(body) if t.startswith("IV. "))
    section = body[start + 1:end]
    below = []
    for ind in config.plan.indicators:
        num, den = expected_totals(returns, ind.id)
        target = ind.target_for(result.period)
        if den and not target.met(100 * num / den):
            below.append(ind)
            line = next(t for t in section if t.startswith(f"Chỉ tiêu “{ind.name}”"))
            assert f"đạt {percent(100 * num / den, target)} ({number(num)}/{number(den)})" in line
            assert "chưa đạt mục tiêu" in line and "còn thiếu" in line and "điểm phần trăm" in line
            for code, r in returns.items():
                figure = r.figures.get(ind.id)
                if figure and figure["den"] and not target.met(100 * figure["num"] / figure["den"]):
                    assert config.unit(code).name in line, (ind.id, code)
    assert len(below) >= 3  # the sample misses several targets
    assert len([t for t in section if t.startswith("Chỉ tiêu “")]) == len(below)
    # then the units' own explanations, one paragraph each
    assert "Các đơn vị nêu tồn tại, hạn chế và nguyên nhân như sau:" in section
    assert "- Bộ phận Một cửa của Sở: Đường truyền tại điểm tiếp nhận chậm; Người dân cao tuổi chưa quen thao tác " \
           "trên điện thoại." in section


def test_the_opening_speaks_for_the_department_and_counts_the_units(q4):
    _, _, _, _, document = q4
    body = [p.text for p in body_paragraphs(document) if p.text]
    assert body[body.index("BÁO CÁO") + 2] == "Kính gửi: Ủy ban nhân dân tỉnh Bắc Ninh"  # after the trích yếu
    intro = next(t for t in body if t.startswith("Thực hiện Kế hoạch"))
    assert "Sở Nông nghiệp và Môi trường báo cáo kết quả quý IV năm 2026 như sau:" in intro
    assert "Văn phòng Sở tổng hợp" not in "\n".join(body)
    assert ("Tính đến ngày 07/12/2026, có 15/18 đơn vị gửi báo cáo (12 đơn vị đúng hạn, 3 đơn vị muộn); "
            "3 đơn vị chưa gửi, danh sách tại Phụ lục.") in body
    # the appendix is referred to where its content belongs, not under V. ĐỀ XUẤT
    proposals = body.index("V. ĐỀ XUẤT, KIẾN NGHỊ")
    assert not [t for t in body[proposals:] if "Phụ lục" in t]
    assert "Kết quả các chỉ tiêu của từng đơn vị và xếp hạng các đơn vị tại Phụ lục kèm theo Báo cáo này." in body


def test_recipients_start_with_nhu_tren_when_the_report_goes_up(q4):
    _, _, _, _, document = q4
    left = next(t for t in document.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:")).rows[0].cells[0]
    lines = [p.text for p in left.paragraphs if p.text]
    assert lines[:2] == ["Nơi nhận:", "- Như trên;"] and lines[-1] == "- Lưu: VT, VP."


def test_headings_are_word_headings_styled_to_nd30(q4):
    _, _, _, content, document = q4
    body = body_paragraphs(document)
    sections = [p.text for p in body if p.style.name == "Heading 1"]
    assert sections == ["I. KẾT QUẢ THỰC HIỆN", "II. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU",
                        "III. TỒN TẠI, HẠN CHẾ, NGUYÊN NHÂN", "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ QUÝ TIẾP THEO",
                        "V. ĐỀ XUẤT, KIẾN NGHỊ"]
    assert [p.text for p in body if p.style.name == "Heading 2"][:2] == [
        "1. Tuyên truyền, hướng dẫn thực hiện dịch vụ công trực tuyến",
        "2. Nâng cao tỷ lệ hồ sơ trực tuyến và thanh toán trực tuyến"]
    for name in ("Heading 1", "Heading 2"):
        style = document.styles[name]
        assert style.font.size.pt == 14 and style.font.bold and not style.font.italic
        assert str(style.font.color.rgb) == "000000"
        fonts = style.element.find(qn("w:rPr")).find(qn("w:rFonts"))
        assert {fonts.get(qn(f"w:{k}")) for k in ("ascii", "hAnsi", "cs", "eastAsia")} == {"Times New Roman"}
        assert not [k for k in fonts.attrib if "heme" in k]  # a theme font would win over Times in Word
        assert style.paragraph_format.first_line_indent.cm == pytest.approx(1.27, 0.01)
        assert style.paragraph_format.space_after.pt >= 6
    for p in body:
        if p.style.name.startswith("Heading"):
            assert all(r.bold and not r.italic and (r.font.size or p.style.font.size).pt in (13, 14)
                       for r in p.runs if r.text.strip())
    # the appendix shows in Word's navigation pane too
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"][-1] == "Phụ lục"


def test_core_properties_and_no_stale_thumbnail(q4):
    _, _, _, _, document = q4
    props = document.core_properties
    assert props.title.startswith("Báo cáo kết quả thực hiện phong trào thi đua") and props.title.endswith(
        "quý IV năm 2026")
    assert props.author == props.last_modified_by == "Sở Nông nghiệp và Môi trường"
    assert props.created.replace(tzinfo=timezone.utc) == MADE.astimezone(timezone.utc).replace(microsecond=0)
    assert props.comments == "" and props.language == "vi-VN"
    assert RELATIONSHIP_TYPE.THUMBNAIL not in [r.reltype for r in document.part.package.rels.values()]


def test_each_appendix_numbers_its_own_pages(q4):
    _, _, _, _, document = q4
    body, *appendices = document.sections
    assert body._sectPr.find(qn("w:pgNumType")) is None or body._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) is None
    last = appendices[-1]._sectPr.find(qn("w:pgNumType"))
    assert last is not None and last.get(qn("w:start")) == "1"


def test_appendix_marks_the_values_that_miss_their_target(q4):
    config, returns, result, _, document = q4
    matrix = [t for t in document.tables if t.rows[0].cells[1].text == "Đơn vị"][0]
    heads = [c.text for c in matrix.rows[0].cells]
    so_hoa_col = heads.index("3.1" if "3.1" in heads else "5")
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in matrix.rows[1:]}
    dossiers = returns["QLDD"].figures["so_hoa"]
    assert dossiers["num"] < dossiers["den"]  # below "= 100%"
    assert rows[config.unit("QLDD").name][so_hoa_col].endswith("*")
    assert not rows[config.unit("BPMC").name][so_hoa_col].endswith("*")
    note = next(p.text for p in document.paragraphs if p.text.startswith("Số thứ tự cột"))
    assert note.endswith("*: chưa đạt mục tiêu.")


def test_ranking_puts_late_units_after_and_never_rounds_up_to_100(q4):
    config, _, result, _, document = q4
    ranking = next(t for t in document.tables if t.rows[0].cells[0].text == "Hạng")
    rows = [[c.text for c in r.cells] for r in ranking.rows[1:]]
    states = [r[4] for r in rows]
    assert "Muộn" in " ".join(states)
    first_late = next(i for i, s in enumerate(states) if "muộn" in s.lower())
    assert all("muộn" in s.lower() for s in states[first_late:])  # seed 000: on-time units first
    for row in rows:
        met, assessed = map(int, row[2].split("/"))
        if met < assessed:
            assert row[3] != "100%", row
    ranked = {r[1] for r in rows}
    assert config.unit(ONLY_NOTHING).name not in ranked  # only "Không phát sinh": listed as unranked, not last at 0/0
    unranked = next(p.text for p in document.paragraphs if p.text.startswith("- Không xếp hạng"))
    assert config.unit(ONLY_NOTHING).name in unranked
    assert not [r for r in rows if r[2] == "0/0"]
    assert {config.unit(c).name for c in LATE} <= ranked


def test_an_empty_period_has_no_ranking_and_says_so(shipped_config):
    period = shipped_config.period("2026-Q4")
    result = consolidate(shipped_config, period, {})
    document = Document(io.BytesIO(render(shipped_config, result, date(2026, 12, 7), TEMPLATES)))
    text = [p.text for p in document.paragraphs]
    assert "Kỳ này không xếp hạng: chưa có đơn vị nào gửi báo cáo." in text
    assert not [t for t in document.tables if t.rows[0].cells[0].text == "Hạng"]
    assert not [t for t in text if "0/0" in t]
    assert "Tính đến ngày 07/12/2026, chưa có đơn vị nào gửi báo cáo (danh sách 18 đơn vị tại Phụ lục)." in text


@needs_office
def test_libreoffice_renders_it_with_its_own_page_numbers_in_the_appendix(q4, tmp_path):
    _, _, _, content, _ = q4
    docx = tmp_path / "bao-cao.docx"
    docx.write_bytes(content)
    run = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                          "--outdir", str(tmp_path), str(docx)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    # LibreOffice says nothing about the document; its own start-up note about Java is not ours.
    assert [line for line in (run.stdout + run.stderr).splitlines()
            if line.strip() and not line.startswith("convert ") and "javaldx" not in line] == []
    pages = subprocess.run(["pdftotext", "-layout", str(tmp_path / "bao-cao.pdf"), "-"], capture_output=True,
                           text=True, check=True).stdout.split("\f")
    first = next(i for i, page in enumerate(pages) if re.search(r"^\s*Phụ lục\s*$", page, re.M))
    assert first >= 2 and "Bùi Quang Phát" in pages[first - 1]  # the body ends with its signature
    assert pages[first].strip().splitlines()[0].strip() == "1"  # the appendix starts again at page 1
    assert pages[1].strip().splitlines()[0].strip() == "2"  # the body's second page is 2 (none on page 1)
