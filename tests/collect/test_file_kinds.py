"""The file channels for the richer plans (config/examples 003, 004): the XLSX template made for
a unit and `baocao submit` of it, a YAML/JSON file, and the office's export, each with counts,
"trong đó" children and what applies to one unit only."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import httpx
from openpyxl import load_workbook

from scheduler.clock import TZ
from tests.conftest import example_config, office_run as run, stored

SHEET = "trang “Báo cáo”"


def start(tmp_path, web_at, name="003-kiem-soat-tthc", now=datetime(2025, 12, 1, 9, tzinfo=TZ)):
    return web_at(example_config(tmp_path, name), now)


def rows_of(ws) -> dict[str, int]:
    return {ws[f"A{r}"].value: r for r in range(8, ws.max_row + 1) if ws[f"A{r}"].value}


def fill(path, config, period_key, unit_code, **figures):
    """What a focal point does in Excel with the template: figures in D (and E), every text."""
    wb = load_workbook(path)
    ws = wb["Báo cáo"]
    ws["C5"] = "Nguyễn Thu Ngân, chuyên viên"
    rows = rows_of(ws)
    period, unit = config.period(period_key), config.unit(unit_code)
    for ind in config.indicators_for(period, unit):
        value = figures.get(ind.id, (50,) if not ind.has_denominator else (95, 100))
        ws[f"D{rows[ind.id]}"] = value[0]
        if len(value) > 1:
            ws[f"E{rows[ind.id]}"] = value[1]
    for h in config.headings_for(period, unit):
        ws[f"C{rows['h:' + h.id]}"] = f"Nội dung {h.id}."
    wb.save(path)
    return path


def test_the_xlsx_made_for_a_unit_asks_only_its_own_and_round_trips_a_child(tmp_path, web_at):
    web = start(tmp_path, web_at)
    config = web.service.config
    with httpx.Client(base_url=web.base) as client:
        got = client.get(web.link("XA-YENPHONG", "2025-H2") + "/mau.xlsx")
    assert got.status_code == 200 and "mau-2025-H2-XA-YENPHONG.xlsx" in got.headers["content-disposition"]
    path = tmp_path / "mau.xlsx"
    path.write_bytes(got.content)
    ws = load_workbook(path)["Báo cáo"]
    rows = rows_of(ws)
    assert ws["C4"].value == "Xã Yên Phong" and "Số liệu tính từ 15/06/2025 đến 14/12/2025." in ws["A2"].value
    assert "danh_gia_tac_dong" not in rows and "h:kiem_soat_quy_dinh" not in rows
    assert "phi_dia_gioi" in rows and "h:mot_cua_xa" in rows
    child = rows["truoc_han"]
    assert ws[f"B{child}"].value.startswith("3.1. Trong đó: Hồ sơ TTHC trả trước hạn")
    assert "cùng mẫu số chỉ tiêu dung_han (không nhập)" in ws[f"B{child}"].value
    assert ws[f"E{child}"].fill.fgColor.rgb.endswith("D9D9D9")  # grey: nothing to type

    fill(path, config, "2025-H2", "XA-YENPHONG", dung_han=(80, 100), truoc_han=(60, 999))  # 999 in the grey cell
    result = run(web, "submit", "--unit", "XA-YENPHONG", "--period", "2025-H2", str(path))
    assert result.exit_code == 0, result.output
    (sub,) = stored(web, "XA-YENPHONG")
    assert sub.figures["truoc_han"] == {"num": 60, "den": 100} and sub.figures["dung_han"] == {"num": 80, "den": 100}
    assert "danh_gia_tac_dong" not in sub.figures and sub.narrative["mot_cua_xa"] == "Nội dung mot_cua_xa."


def test_a_child_above_its_parent_in_the_xlsx_is_named_at_its_cell(tmp_path, web_at):
    web = start(tmp_path, web_at)
    path = tmp_path / "mau.xlsx"
    assert run(web, "template", "--period", "2025-H2", "-o", str(path)).exit_code == 0
    ws = load_workbook(path)["Báo cáo"]
    row = rows_of(ws)["truoc_han"]
    fill(path, web.service.config, "2025-H2", "STP", dung_han=(80, 100), truoc_han=(90,))
    result = run(web, "submit", "--unit", "STP", "--period", "2025-H2", str(path))
    assert result.exit_code == 1
    assert (f"{SHEET}, ô D{row}: “Số hồ sơ trả trước hạn” (90) lớn hơn “Số hồ sơ giải quyết trước và đúng hạn” "
            "(80): số “trong đó” là một phần của chỉ tiêu chính") in result.output
    assert stored(web, "STP") == []


def test_the_office_wide_template_reads_counts_and_refuses_text_under_another_units_heading(tmp_path, web_at):
    web = start(tmp_path, web_at, "004-truyen-thong-tthc", datetime(2026, 3, 2, 9, tzinfo=TZ))
    config = web.service.config
    path = tmp_path / "mau.xlsx"
    assert run(web, "template", "--period", "2026-Q1", "-o", str(path)).exit_code == 0
    ws = load_workbook(path)["Báo cáo"]
    rows = rows_of(ws)
    tin_bai = rows["tin_bai"]
    assert "Tử số: Số tin, bài đăng tải (tin, bài)" in ws[f"B{tin_bai}"].value
    assert ws[f"C{tin_bai}"].value == "Không giao mục tiêu (theo dõi)"
    assert "chỉ áp dụng cho: Trung tâm Khuyến nông và Môi trường" in ws[f"B{rows['h:ttknmt_tuyen_truyen']}"].value

    fill(path, config, "2026-Q1", "VP", tin_bai=(1234,))
    wb = load_workbook(path)
    wb["Báo cáo"][f"C{rows['h:ttknmt_tuyen_truyen']}"] = "Viết nhầm vào phần của Trung tâm."
    wb.save(path)
    result = run(web, "submit", "--unit", "VP", "--period", "2026-Q1", str(path))
    assert result.exit_code == 1
    assert (f"{SHEET}, ô A{rows['h:ttknmt_tuyen_truyen']}: “ttknmt_tuyen_truyen” không giao cho Văn phòng Sở; "
            "xoá nội dung dòng này (không được nhập)") in result.output
    assert stored(web, "VP") == []

    wb = load_workbook(path)
    wb["Báo cáo"][f"C{rows['h:ttknmt_tuyen_truyen']}"] = None
    wb.save(path)
    result = run(web, "submit", "--unit", "VP", "--period", "2026-Q1", str(path))
    assert result.exit_code == 0, result.output
    (sub,) = stored(web, "VP")
    assert sub.figures["tin_bai"] == {"num": 1234} and sub.figures["to_roi"] == {"num": 50}
    assert "ttknmt_tuyen_truyen" not in sub.narrative


def test_a_yaml_count_or_child_takes_one_number_and_the_error_says_so_when_given_two(tmp_path, web_at):
    web = start(tmp_path, web_at, "004-truyen-thong-tthc", datetime(2026, 3, 2, 9, tzinfo=TZ))
    config = web.service.config
    period, unit = config.period("2026-Q1"), config.unit("VP")
    indicators = {i.id: 3 for i in config.indicators_for(period, unit)} | {"tin_bai": 12, "chuyen_muc": {"num": 4},
                                                                          "mang_xa_hoi": {"num": 5, "den": 6}}
    narrative = {h.id: "Đã làm." for h in config.headings_for(period, unit)}
    document = tmp_path / "vp.json"
    document.write_text(json.dumps({"submitted_by": "Lưu Văn Thuấn", "indicators": indicators, "narrative": narrative},
                                   ensure_ascii=False, indent=2), encoding="utf-8")
    result = run(web, "submit", "--unit", "VP", "--period", "2026-Q1", str(document))
    assert result.exit_code == 1
    assert ("indicators.mang_xa_hoi: chỉ tiêu đếm số lượng chỉ ghi một số: viết mang_xa_hoi: <một số>, "
            "không ghi den") in result.output
    assert stored(web, "VP") == []
    indicators["mang_xa_hoi"] = 5
    document.write_text(json.dumps({"submitted_by": "Lưu Văn Thuấn", "indicators": indicators, "narrative": narrative},
                                   ensure_ascii=False), encoding="utf-8")
    result = run(web, "submit", "--unit", "VP", "--period", "2026-Q1", str(document))
    assert result.exit_code == 0, result.output
    (sub,) = stored(web, "VP")
    assert (sub.figures["tin_bai"], sub.figures["chuyen_muc"], sub.figures["mang_xa_hoi"]) == (
        {"num": 12}, {"num": 4}, {"num": 5})


def test_a_yaml_child_with_two_numbers_and_a_so_only_indicator_for_a_xa_are_refused(tmp_path, web_at):
    web = start(tmp_path, web_at)
    document = tmp_path / "xa.yaml"
    document.write_text("submitted_by: Trần Văn Bình\nindicators:\n  dung_han: {num: 80, den: 100}\n"
                        "  truoc_han: {num: 60, den: 100}\n  danh_gia_tac_dong: {num: 1, den: 1}\n", encoding="utf-8")
    result = run(web, "submit", "--unit", "XA-YENPHONG", "--period", "2025-H2", str(document))
    assert result.exit_code == 1
    assert (f"{document}:4: indicators.truoc_han: chỉ tiêu “trong đó” chỉ ghi một số (tử số; mẫu số lấy của chỉ "
            "tiêu dung_han): viết truoc_han: <một số>, không ghi den") in result.output
    assert (f"{document}:5: indicators.danh_gia_tac_dong: chỉ tiêu “danh_gia_tac_dong” không giao cho Xã Yên Phong; "
            "xoá dòng này (không được nhập)") in result.output
    assert stored(web, "XA-YENPHONG") == []


def test_the_export_has_one_column_for_a_child_and_says_what_a_unit_was_not_asked(tmp_path, web_at):
    web = start(tmp_path, web_at)
    config = web.service.config
    path = tmp_path / "mau.xlsx"
    assert run(web, "template", "--period", "2025-H2", "-o", str(path)).exit_code == 0
    fill(path, config, "2025-H2", "XA-YENPHONG", dung_han=(80, 100), truoc_han=(60,))
    assert run(web, "submit", "--unit", "XA-YENPHONG", "--period", "2025-H2", str(path)).exit_code == 0
    out = tmp_path / "so-lieu.csv"
    assert run(web, "export", "--period", "2025-H2", "--format", "csv", "-o", str(out)).exit_code == 0
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    head, xa = table[0], next(r for r in table if r[0] == "XA-YENPHONG")
    row = dict(zip(head, xa))
    assert [h for h in head if h.startswith("Hồ sơ TTHC trả trước hạn")] == [
        "Hồ sơ TTHC trả trước hạn — trong đó: Số hồ sơ trả trước hạn"]
    assert row["Hồ sơ TTHC trả trước hạn — trong đó: Số hồ sơ trả trước hạn"] == "60"
    assert row["Hồ sơ TTHC được giải quyết trước và đúng hạn — Tổng số hồ sơ đã giải quyết"] == "100"
    assert row["TTHC nội bộ trong hệ thống hành chính nhà nước được rà soát, đơn giản hóa — "
               "Số TTHC nội bộ được rà soát, đơn giản hóa"] == "Không áp dụng"
    assert len(xa) == len(head)


def test_baocao_template_for_one_unit_asks_only_what_applies_to_it(tmp_path, web_at):
    web = start(tmp_path, web_at, "004-truyen-thong-tthc", datetime(2026, 3, 2, 9, tzinfo=TZ))
    path = tmp_path / "mau-vp.xlsx"
    result = run(web, "template", "--period", "2026-Q1", "--unit", "vp", "-o", str(path))
    assert result.exit_code == 0, result.output
    assert "của Văn phòng Sở" in result.output
    rows = rows_of(load_workbook(path)["Báo cáo"])
    assert "h:ttknmt_tuyen_truyen" not in rows and "tin_bai" in rows  # the centre's heading is not the VP's
    missing = run(web, "template", "--period", "2026-Q1", "--unit", "XYZ", "-o", str(path))
    assert missing.exit_code != 0 and "không có đơn vị 'XYZ' trong units.yaml" in missing.output
