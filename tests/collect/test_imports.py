"""Importing a report file with `baocao submit`: every mistake in one run, each where the
office can find it, and a file that is not a report named for what it is. Workbooks are
written here by openpyxl, as a unit's Excel would leave them, and run through the command."""

from __future__ import annotations

import json
import zipfile

import docx
import pytest
from openpyxl import load_workbook

from tests.conftest import BY, FIGURES, NARRATIVE, fill_template, office_run as run, stored

SHEET = "trang “Báo cáo”"


def template(web, tmp_path, name="mau.xlsx"):
    path = tmp_path / name
    result = run(web, "template", "--period", "2026-Q4", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def filled(web, tmp_path, name="mau.xlsx"):
    """The template as a unit returns it, every figure and text in place."""
    path = template(web, tmp_path, name)
    fill_template(path, FIGURES, NARRATIVE, BY)
    return path


def yaml_report(tmp_path, name="kl.yaml"):
    path = tmp_path / name
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    path.write_text(json.dumps({"submitted_by": BY, "indicators": indicators, "narrative": NARRATIVE},
                               ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def submit(web, unit, path):
    return run(web, "submit", "--unit", unit, "--period", "2026-Q4", str(path))


def first_revision(web, unit, tmp_path):
    """A correct report already stored, which a failed import must leave as it is."""
    folder = tmp_path / "earlier"
    folder.mkdir(exist_ok=True)
    result = submit(web, unit, yaml_report(folder))
    assert result.exit_code == 0, result.output
    (rev,) = stored(web, unit)
    return rev.revision, rev.figures, rev.narrative, rev.submitted_by


def unchanged(web, unit, before):
    after = [(r.revision, r.figures, r.narrative, r.submitted_by) for r in stored(web, unit)]
    assert after == [before]


def refused(result, path, *lines):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output == (f"Không ghi được báo cáo từ {path}: có {len(lines)} lỗi, cần sửa tất cả rồi nhập lại "
                             "(chưa ghi gì):\n" + "".join(f"  {line}\n" for line in lines))


def test_a_workbook_with_layout_formula_and_value_errors_gets_all_of_them_in_one_run(web, tmp_path):
    before = first_revision(web, "TTRA", tmp_path)
    path = filled(web, tmp_path)
    book = load_workbook(path)
    ws = book["Báo cáo"]
    ws["D7"] = "Số lượng"                      # a header renamed
    ws["A15"] = "ket_qua_dientu"               # a code mistyped: an unknown row and a missing one
    ws["A19"], ws["D19"], ws["E19"] = "so_hoa", 5, 5   # a row copied a second time
    ws["D8"] = "=3+3"                          # a formula never calculated (no Excel saved it)
    ws["E9"] = -6                              # values the form would refuse too
    ws["D10"] = 1300
    ws["D13"] = 0.95
    ws["D13"].number_format = "0%"             # a ratio in a percent-formatted cell
    ws["C5"] = None                            # nobody signed
    book.save(path)

    result = submit(web, "TTRA", path)

    refused(result, path,
            f"{SHEET}: thiếu dòng chỉ tiêu “Cấp kết quả giải quyết TTHC điện tử” (mã ket_qua_dien_tu ở cột A)",
            f"{SHEET}, ô C5: chưa nhập họ tên người gửi báo cáo",
            f"{SHEET}, ô D7: tiêu đề cột phải là “Tử số” (tệp ghi “Số lượng”); giữ nguyên tiêu đề như trong mẫu",
            f"{SHEET}, ô D8: ô chứa công thức nhưng chưa có giá trị đã tính (tệp không được lưu bằng Excel); "
            "mở tệp bằng Excel, lưu lại rồi gửi, hoặc ghi thẳng số liệu vào ô",
            f"{SHEET}, ô E9: “-6” không phải số nguyên không âm",
            f"{SHEET}, dòng 10: “Số lượt được hướng dẫn” (1.300) lớn hơn “Tổng số lượt đến giao dịch” (1.250)",
            f"{SHEET}, ô D13: “95%” là tỷ lệ phần trăm (ô định dạng %); ghi số lượng “Số hồ sơ xử lý trực tuyến” "
            "(số nguyên), không ghi tỷ lệ",
            f"{SHEET}, ô A15: mã “ket_qua_dientu” không phải chỉ tiêu hay đề mục của mẫu Quý IV/2026; "
            "có phải “ket_qua_dien_tu”?",
            f"{SHEET}, ô A19: mã “so_hoa” đã có ở dòng 12; mỗi chỉ tiêu, đề mục chỉ một dòng (xoá dòng thừa)")
    unchanged(web, "TTRA", before)


def test_a_formula_error_does_not_hide_the_other_cells(web, tmp_path):
    path = filled(web, tmp_path)
    book = load_workbook(path)
    ws = book["Báo cáo"]
    ws["D8"] = "=D9/0"
    ws["E11"] = "#DIV/0!"                      # what Excel stores for a formula that failed
    ws["D9"], ws["E12"], ws["D15"], ws["F16"] = "sáu", "", 2.5, "có thể"
    book.save(path)

    result = submit(web, "TTRA", path)

    refused(result, path,
            f"{SHEET}, ô D8: ô chứa công thức nhưng chưa có giá trị đã tính (tệp không được lưu bằng Excel); "
            "mở tệp bằng Excel, lưu lại rồi gửi, hoặc ghi thẳng số liệu vào ô",
            f"{SHEET}, ô D9: “sáu” không phải số nguyên không âm",
            f"{SHEET}, ô E11: công thức trong ô báo lỗi #DIV/0!; sửa công thức hoặc ghi thẳng số liệu vào ô",
            f"{SHEET}, ô E12: chưa nhập “Tổng số hồ sơ” (nếu không có, chọn “Không phát sinh”)",
            f"{SHEET}, ô D15: “2.5 (số thập phân)” không phải số nguyên không âm",
            f"{SHEET}, ô F16: “có thể”: ghi x nếu không phát sinh, hoặc để trống")
    assert stored(web, "TTRA") == []


def test_a_renamed_sheet_is_named_and_its_cells_still_checked(web, tmp_path):
    path = filled(web, tmp_path)
    book = load_workbook(path)
    book["Báo cáo"].title = "Sheet1"
    book["Sheet1"]["E8"] = "6 người"
    book.save(path)

    result = submit(web, "TTRA", path)

    refused(result, path,
            "trang “Sheet1”: trang tính phải tên là “Báo cáo” như trong mẫu; đổi lại tên trang "
            "(tệp vẫn được kiểm tra hết dưới đây)",
            "trang “Sheet1”, ô E8: “6 người” không phải số nguyên không âm")
    assert stored(web, "TTRA") == []


def test_a_percent_or_a_date_where_a_count_belongs_is_shown_as_the_cell_showed_it(web, tmp_path):
    from datetime import datetime

    path = filled(web, tmp_path)
    book = load_workbook(path)
    ws = book["Báo cáo"]
    ws["D16"], ws["D16"].number_format = 0.9762, "0.00%"   # hai_long typed as its rate
    ws["E16"], ws["E16"].number_format = 1, "0%"           # "100%": a 1 nobody meant as a count
    ws["D17"] = datetime(2026, 12, 1)                       # "1/12" turned into a date by Excel
    book.save(path)

    result = submit(web, "TTRA", path)

    refused(result, path,
            f"{SHEET}, ô D16: “97,62%” là tỷ lệ phần trăm (ô định dạng %); ghi số lượng “Số lượt đánh giá hài lòng” "
            "(số nguyên), không ghi tỷ lệ",
            f"{SHEET}, ô E16: “100%” là tỷ lệ phần trăm (ô định dạng %); ghi số lượng “Tổng số lượt đánh giá” "
            "(số nguyên), không ghi tỷ lệ",
            f"{SHEET}, ô D17: “01/12/2026” là ngày tháng (ô định dạng ngày); ghi số lượng “Số hồ sơ tái sử dụng dữ "
            "liệu số hoá” (số nguyên) và đặt định dạng ô là Số (Number) hoặc Chung (General)")
    assert stored(web, "TTRA") == []


def test_a_yaml_file_with_structure_and_value_errors_gets_all_of_them_in_one_run(web, tmp_path):
    before = first_revision(web, "KL", tmp_path)
    path = tmp_path / "kl.yaml"
    path.write_text(
        "submitted_by: Hà Thị Thu Trang\n"                    # 1
        "don_vi: KL\n"                                        # 2  unknown key
        "indicators:\n"                                       # 3
        "  quan_triet: {num: 6, den: 6}\n"                    # 4
        "  cam_tay_chi_viec: {num: 6, den: 6}\n"              # 5
        "  huong_dan: {num: 1300, den: 1250}\n"               # 6  num > den
        "  tu_thao_tac: {num: -3, den: 1250}\n"               # 7  negative
        "  so_hoa: 93%\n"                                     # 8  neither a pair nor Không phát sinh
        "  truc_tuyen: {num: \"95%\", den: 930}\n"            # 9  a rate where a count belongs
        "  thanh_toan: Không phát sinh\n"                     # 10
        "  ket_qua_dien_tu: {num: 870, den: 930}\n"           # 11
        "  hai_long: {num: 410, den: 420}\n"                  # 12
        "  tai_su_dung: {num: 800, den: 930}\n"               # 13
        "  tai_su_dung: {num: 801, den: 930}\n"               # 14 a key written twice
        "  toan_trinh_: {num: 15, den: 15}\n"                 # 15 mistyped: unknown, and toan_trinh missing
        "narrative:\n"                                        # 16
        "  tuyen_truyen: Đã niêm yết quy trình.\n"            # 17
        "  truc_tuyen_thanh_toan: Nội dung.\n"                # 18
        "  so_hoa: Nội dung.\n"                               # 19
        "  phuong_huong: Nội dung.\n",                        # 20 chat_luong is missing
        encoding="utf-8")

    result = submit(web, "KL", path)

    refused(result, path,
            f"{path}:2: don_vi: khoá không được phép; dùng: indicators, narrative, period, submitted_by, unit",
            f"{path}:3: indicators: thiếu chỉ tiêu toan_trinh (“Dịch vụ công trực tuyến toàn trình trên tổng số TTHC "
            "đủ điều kiện”): ghi toan_trinh: {num: …, den: …} hoặc toan_trinh: Không phát sinh",
            f"{path}:6: indicators.huong_dan: “Số lượt được hướng dẫn” (1.300) lớn hơn “Tổng số lượt đến giao dịch” "
            "(1.250)",
            f"{path}:7: indicators.tu_thao_tac.num: “-3” không phải số nguyên không âm",
            f"{path}:8: indicators.so_hoa: viết {{num: …, den: …}} hoặc \"Không phát sinh\"",
            f"{path}:9: indicators.truc_tuyen.num: “95%” là tỷ lệ; ghi số lượng “Số hồ sơ xử lý trực tuyến” "
            "(số nguyên), không ghi tỷ lệ",
            f"{path}:14: khoá 'tai_su_dung' bị lặp lại (đã có ở dòng 13); xoá một trong hai dòng",
            f"{path}:15: indicators.toan_trinh_: chỉ tiêu “toan_trinh_” không có trong kỳ này; có phải “toan_trinh”?",
            f"{path}:16: narrative.chat_luong: phần này bắt buộc")
    unchanged(web, "KL", before)


def word_document(path):
    document = docx.Document()
    document.add_paragraph("BÁO CÁO Kết quả thực hiện phong trào thi đua quý IV năm 2026")
    document.save(path)
    return path


ADVICE = ("nếu đây là văn bản báo cáo của đơn vị, hãy gõ lại số liệu vào tệp YAML (xem README, mục "
          "“Đơn vị nộp báo cáo”), hoặc đề nghị đơn vị điền mẫu XLSX tạo bằng `baocao template`")
RESAVE = ("mở tệp bằng Excel hoặc LibreOffice, chọn Lưu thành (Save As) dạng “Excel Workbook (.xlsx)” "
          "rồi nhập lại tệp .xlsx đó")


def _docx(tmp_path, name):
    return word_document(tmp_path / "bao-cao.docx").rename(tmp_path / name)


def _pdf(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                     b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def _zip_of_two(tmp_path, name):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("TTRA.xlsx", b"...")
        archive.writestr("KL.xlsx", b"...")
    return path


def _ods(tmp_path, name):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return path


def _empty(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("make, name, what", [
    (_docx, "bao-cao.docx", f"tài liệu Word (.docx), không phải bảng tính XLSX hay tệp YAML; {ADVICE}"),
    (_docx, "bao-cao.xlsx", f"tài liệu Word (.docx), không phải bảng tính XLSX hay tệp YAML; {ADVICE}"),
    (_docx, "bao-cao.yaml", f"tài liệu Word (.docx), không phải bảng tính XLSX hay tệp YAML; {ADVICE}"),
    (_pdf, "bao-cao.xlsx", f"tài liệu PDF, không phải bảng tính XLSX hay tệp YAML; {ADVICE}"),
    (_ods, "mau.xlsx", f"bảng tính OpenDocument (.ods, của LibreOffice), không phải bảng tính XLSX hay tệp YAML; {RESAVE}"),
    (_zip_of_two, "bao-cao.zip", "tệp nén ZIP (chứa: TTRA.xlsx, KL.xlsx), không phải bảng tính XLSX hay tệp YAML; "
                                 "giải nén rồi nhập tệp báo cáo bên trong"),
    (_empty, "mau.xlsx", "tệp rỗng (0 byte); có thể tệp chưa tải xong hoặc chép nhầm, hãy lấy lại tệp"),
])
def test_a_file_that_is_not_a_report_is_named_for_what_its_content_is(web, tmp_path, make, name, what):
    before = first_revision(web, "KL", tmp_path)
    path = make(tmp_path, name)

    result = submit(web, "KL", path)

    assert result.exit_code == 1, result.output
    assert result.output == f"Không ghi được báo cáo: tệp {path} là {what}\n"
    unchanged(web, "KL", before)


def test_a_workbook_named_yaml_is_read_as_the_workbook_it_is(web, tmp_path):
    xlsx = filled(web, tmp_path)
    path = xlsx.rename(tmp_path / "ttra.yaml")

    result = submit(web, "TTRA", path)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Lưu ý: tệp {path} là bảng tính XLSX (dù tên có đuôi “.yaml”), đã đọc như mẫu XLSX."
    assert lines[1].startswith("Đã ghi báo cáo Quý IV/2026 của Thanh tra Sở: bản thứ 1, nhận lúc ")
    (rev,) = stored(web, "TTRA")
    assert rev.figures["huong_dan"] == {"num": 1250, "den": 1250} and rev.figures["thanh_toan"] is None


def test_a_yaml_file_named_xlsx_is_read_as_the_text_it_is(web, tmp_path):
    path = yaml_report(tmp_path).rename(tmp_path / "kl.xlsx")

    result = submit(web, "KL", path)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"Lưu ý: tệp {path} là tệp văn bản, không phải bảng tính (dù tên có đuôi “.xlsx”), "
                        "đã đọc như tệp YAML/JSON.")
    assert lines[1].startswith("Đã ghi báo cáo Quý IV/2026 của Chi cục Kiểm lâm: bản thứ 1, nhận lúc ")
    assert stored(web, "KL")[0].figures["so_hoa"] == {"num": 930, "den": 930}
