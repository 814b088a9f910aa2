"""The office's channels: its pages behind a login, paper reports entered from YAML or the
XLSX template, exports, on-request reports."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
from openpyxl import load_workbook

from tests.conftest import (BY, FIGURES, HOSTILE, NARRATIVE, fill_template, login, office_run as run, open_form,
                            stored, valid_form)


def test_office_pages_need_a_login_and_show_who_reported(web):
    with httpx.Client(base_url=web.base) as unit_client:
        _, csrf = open_form(unit_client, web.link("BPMC"))
        unit_client.post(web.link("BPMC"), data=valid_form(csrf=csrf))
    with httpx.Client(base_url=web.base) as client:
        assert client.get("/vp/ky/2026-Q4").headers["location"] == "/vp/dang-nhap"
        assert client.get("/vp/ky/2026-Q4/so-lieu.xlsx").status_code == 303
        wrong = login(client, "sai mật khẩu")
        assert wrong.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in wrong.text
        assert login(client).headers["location"] == "/vp/"
        period = client.get("/vp/ky/2026-Q4")
        assert ("Đúng hạn: <strong>1</strong>; muộn: <strong>0</strong>; chưa nộp: <strong>17</strong> — trên 18 đơn vị."
                in period.text)
        assert re.search(r"Bộ phận Một cửa của Sở</a> <small>\(BPMC\)</small></td>\s*<td class=\"on_time\">Đúng hạn</td>",
                         period.text)
        history = client.get("/vp/ky/2026-Q4/don-vi/BPMC")
        assert "Bản thứ 1 — nhận lúc 09:00 Thứ Tư 02/12/2026 (đúng hạn; qua đường dẫn" in history.text
        assert "1.250 / 1.250" in history.text and "&lt;script&gt;" in history.text
        xlsx = client.get("/vp/ky/2026-Q4/so-lieu.xlsx")
        sheet = load_workbook(io.BytesIO(xlsx.content))["Số liệu"]
        row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "BPMC")
        assert row[2] == "Đúng hạn" and row[6:8] == (6, 6)
        text = client.get("/vp/ky/2026-Q4/so-lieu.csv").content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][:3] == ["Mã đơn vị", "Đơn vị", "Tình trạng"]
        assert [r[2] for r in rows if r[0] == "KL"] == ["Chưa nộp"]
        page = client.get("/vp/")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        copied = dict(client.cookies)
        client.post("/vp/dang-xuat", data={"csrf": csrf})
        assert client.get("/vp/").status_code == 303
    with httpx.Client(base_url=web.base, cookies=copied) as thief:  # a cookie copied before logout
        assert thief.get("/vp/").status_code == 303


def test_a_password_change_ends_existing_sessions(web):
    from scheduler.web.security import hash_password

    with httpx.Client(base_url=web.base) as client:
        login(client)
        assert client.get("/vp/").status_code == 200
        web.service.settings.office_password_hash = type(web.service.settings.office_password_hash)(
            hash_password("mật khẩu mới của Văn phòng"))
        assert client.get("/vp/").status_code == 303


def test_submit_from_xlsx_and_yaml_records_the_same_figures_as_the_form(web, tmp_path):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        assert client.post(web.link("BPMC"), data=valid_form(csrf=csrf)).status_code == 303

    template = tmp_path / "mau.xlsx"
    result = run(web, "template", "--period", "2026-Q4", "-o", str(template))
    assert result.exit_code == 0, result.output
    fill_template(template, FIGURES, NARRATIVE, BY)
    result = run(web, "submit", "--unit", "TTRA", "--period", "2026-Q4", str(template))
    assert result.exit_code == 0, result.output
    assert "Đã ghi báo cáo Quý IV/2026 của Thanh tra Sở: bản thứ 1" in result.output

    document = tmp_path / "kl.yaml"
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    document.write_text(json.dumps({"submitted_by": BY, "indicators": indicators, "narrative": NARRATIVE},
                                   ensure_ascii=False, indent=2).replace('"num"', "num").replace('"den"', "den"),
                        encoding="utf-8")
    result = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document))
    assert result.exit_code == 0, result.output

    form, xlsx, yaml_ = stored(web, "BPMC")[0], stored(web, "TTRA")[0], stored(web, "KL")[0]
    assert form.figures == xlsx.figures == yaml_.figures
    assert form.figures["thanh_toan"] is None and form.figures["huong_dan"] == {"num": 1250, "den": 1250}
    assert form.narrative == xlsx.narrative == yaml_.narrative
    assert form.narrative["tuyen_truyen"] == HOSTILE
    assert (form.channel, xlsx.channel, yaml_.channel) == ("form", "file", "file")


def test_submit_names_the_cell_or_key_of_each_mistake(web, tmp_path):
    template = tmp_path / "mau.xlsx"
    run(web, "template", "--period", "2026-Q4", "-o", str(template))
    bad = dict(FIGURES, so_hoa=(-5, 930), truc_tuyen=(1.5, 930))
    fill_template(template, bad, NARRATIVE, BY)
    result = run(web, "submit", "--unit", "TTRA", "--period", "2026-Q4", str(template))
    assert result.exit_code == 1
    assert "ô D12: “-5” không phải số nguyên không âm" in result.output
    assert "ô D13: “1.5 (số thập phân)” không phải số nguyên không âm" in result.output

    document = tmp_path / "kl.yaml"
    document.write_text("submitted_by: A\nindicators:\n  so_hoa: {num: 1.234, den: 2000}\n  khong_co: {num: 1, den: 2}\n"
                        "narrative: {}\n", encoding="utf-8")
    result = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document))
    assert result.exit_code == 1
    assert f"{document}:4: indicators.khong_co: chỉ tiêu “khong_co” không có trong kỳ này" in result.output
    assert stored(web, "TTRA") == [] and stored(web, "KL") == []
    # a template of another period is refused, not mixed in
    other = tmp_path / "q3.xlsx"
    run(web, "template", "--period", "2026-Q3", "-o", str(other))
    fill_template(other, FIGURES, NARRATIVE, BY)
    result = run(web, "submit", "--unit", "TTRA", "--period", "2026-Q4", str(other))
    assert "ô C3: tệp là mẫu của kỳ “2026-Q3”, không phải kỳ 2026-Q4" in result.output


def test_paper_report_received_before_the_deadline_counts_as_on_time(web, tmp_path):
    web.clock.now = web.clock.now.replace(day=8, hour=10)  # entered on 08/12, after the deadline
    document = tmp_path / "kl.yaml"
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    document.write_text(json.dumps({"submitted_by": BY, "indicators": indicators, "narrative": NARRATIVE},
                                   ensure_ascii=False), encoding="utf-8")
    result = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", "--received", "2026-12-04 16:30",
                 str(document))
    assert result.exit_code == 0, result.output
    assert "nhận lúc 16:30 Thứ Sáu 04/12/2026 (đúng hạn)" in result.output
    assert stored(web, "KL")[0].on_time


def test_on_request_report_is_reminded_and_collected_like_a_period(web, smtp_server):
    import asyncio
    from datetime import datetime

    from scheduler.clock import TZ

    web.clock.now = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)
    result = run(web, "request", "--title", "Báo cáo rà soát TTHC đủ điều kiện toàn trình",
                 "--deadline", "2026-12-18", "--units", "BPMC,VPDKDD,TTNS")  # TTNS is paused: owes nothing
    assert result.exit_code == 0, result.output
    assert "Đã mở báo cáo đột xuất YC-20261218" in result.output and "2 đơn vị" in result.output
    web.clock.now = datetime(2026, 12, 10, 9, 5, tzinfo=TZ)  # the service's clock
    asyncio.run(web.service.tick())
    mails = [m for m in smtp_server.recorder.take() if m["X-Baocao-Period"] == "YC-20261218"]
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == ["bpmc.daumoi@example.org", "vpdkdd.daumoi@example.org"]
    assert mails[0]["Subject"] == ("[Yêu cầu báo cáo] Báo cáo rà soát TTHC đủ điều kiện toàn trình – "
                                   "hạn trước ngày 18/12/2026")
    link = re.search(r"http://127\.0\.0\.1:\d+(/f/[\w-]+)", mails[0].get_body(("plain",)).get_content()).group(1)
    with httpx.Client(base_url=web.base) as client:
        page = client.get(link)
    assert page.status_code == 200 and "<h1>Báo cáo rà soát TTHC đủ điều kiện toàn trình</h1>" in page.text


def test_text_that_looks_like_a_formula_stays_text_in_exports(web):
    trap = '=HYPERLINK("http://evil.example","Bấm vào")'
    with httpx.Client(base_url=web.base) as unit_client:
        _, csrf = open_form(unit_client, web.link("BPMC"))
        unit_client.post(web.link("BPMC"), data=valid_form(csrf=csrf, submitted_by=trap, h__chat_luong="+cmd|' /C calc'!A0"))
    with httpx.Client(base_url=web.base) as client:
        login(client)
        book = load_workbook(io.BytesIO(client.get("/vp/ky/2026-Q4/so-lieu.xlsx").content))
        text = client.get("/vp/ky/2026-Q4/so-lieu.csv").content.decode("utf-8-sig")
    cell = next(r[5] for r in book["Số liệu"].iter_rows() if r[0].value == "BPMC")
    assert (cell.data_type, cell.value) == ("s", trap)
    assert all(c.data_type != "f" for row in book["Thuyết minh"].iter_rows() for c in row)
    row = next(r for r in csv.reader(io.StringIO(text)) if r[0] == "BPMC")
    assert row[5] == "'" + trap


def test_submit_refuses_what_would_otherwise_be_lost_or_misfiled(web, tmp_path):
    document = tmp_path / "kl.yaml"
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    narrative = dict(NARRATIVE, de_xuaat="Đề nghị tập huấn.", chat_luong=["một", "hai"])
    document.write_text(json.dumps({"unit": "TTRA", "submitted_by": BY, "indicators": indicators,
                                    "narrative": narrative}, ensure_ascii=False, indent=1), encoding="utf-8")
    result = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(document))
    assert result.exit_code == 1
    assert "unit: tệp ghi đơn vị “TTRA”, không phải KL" in result.output
    assert "narrative.de_xuaat: đề mục “de_xuaat” không có trong kỳ này" in result.output
    assert "narrative.chat_luong: nội dung phải là chữ" in result.output
    assert stored(web, "KL") == []


def test_xlsx_accepts_what_people_type_and_checks_the_unit(web, tmp_path):
    template = tmp_path / "mau.xlsx"
    run(web, "template", "--period", "2026-Q4", "-o", str(template))
    figures = dict(FIGURES, huong_dan=("1\u00a0250", "1\u00a0250"), thanh_toan=None)
    fill_template(template, {k: v for k, v in figures.items()}, NARRATIVE, BY)
    book = load_workbook(template)
    sheet = book["Báo cáo"]
    row = next(r for r in range(8, sheet.max_row + 1) if sheet[f"A{r}"].value == "thanh_toan")
    sheet[f"F{row}"] = "Không phát sinh"
    sheet["C4"] = "Thanh tra Sở"
    book.save(template)
    wrong = run(web, "submit", "--unit", "KL", "--period", "2026-Q4", str(template))
    assert wrong.exit_code == 1 and "ô C4: tệp ghi đơn vị “Thanh tra Sở”, không phải Chi cục Kiểm lâm (KL)" in wrong.output
    right = run(web, "submit", "--unit", "TTRA", "--period", "2026-Q4", str(template))
    assert right.exit_code == 0, right.output
    sub = stored(web, "TTRA")[0]
    assert sub.figures["huong_dan"] == {"num": 1250, "den": 1250} and sub.figures["thanh_toan"] is None


def test_submit_takes_a_lower_case_unit_code_and_a_date_written_the_vietnamese_way(web, tmp_path):
    document = tmp_path / "kl.json"
    indicators = {k: ("Không phát sinh" if v is None else {"num": v[0], "den": v[1]}) for k, v in FIGURES.items()}
    document.write_text(json.dumps({"submitted_by": BY, "indicators": indicators, "narrative": NARRATIVE},
                                   ensure_ascii=False), encoding="utf-8")
    result = run(web, "submit", "--unit", "kl", "--period", "2026-Q4", "--received", "01/12/2026 16:30", str(document))
    assert result.exit_code == 0, result.output
    assert "Đã ghi báo cáo Quý IV/2026 của Chi cục Kiểm lâm: bản thứ 1, nhận lúc 16:30" in result.output
    result = run(web, "plan", "--from", "07/12/2026", "--to", "2026-12-08")
    assert result.exit_code == 0, result.output
    assert "thư sẽ gửi từ 07/12/2026 đến 08/12/2026" in result.output
