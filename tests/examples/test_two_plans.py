"""One instance serving seed 000's campaign and seed 003's TTHC control together
(config/examples/000-003-hai-ke-hoach, issue 12 Must show 3): on 05/12/2026 each unit owes the
quarter of one plan and the half-year and the November list of the other; it gets one mail per
step with one link, one form with no question asked twice, and the office gets one report per
plan with its own title and wording."""

from __future__ import annotations

import io
import re
import time
from datetime import date, datetime

import httpx
from docx import Document
from sqlmodel import Session, select

from scheduler.clock import TZ
from scheduler.report.consolidate import consolidate
from scheduler.report.render import render
from scheduler.store.tables import Submission
from tests.conftest import ROOT, example_config, open_form, tick_at

Q4, H2, NOV = "2026-Q4", "kiem-soat-tthc-2026-H2", "kiem-soat-tthc-2026-11"


def test_each_unit_gets_one_notice_with_one_link_for_everything_due_that_day(tmp_path, smtp_server, make_service):
    service = make_service(smtp_server.port, config_dir=example_config(tmp_path, "000-003-hai-ke-hoach"))
    config = service.config
    assert {config.period(k).due for k in (Q4, H2, NOV)} == {date(2026, 12, 5)}
    tick_at(service, "2026-11-20T08:00:00+07:00")  # ten working days before 05/12 (24/11 is a holiday)
    notices = [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("notice")]
    by_unit = {}
    for m in notices:
        by_unit.setdefault(m["To"].addresses[0].addr_spec, []).append(m)
    active = [u for u in config.units if u.active]
    assert len(by_unit) == len(active)
    for unit in active:
        [mail] = by_unit[unit.focal_points[0].email]  # one mail for the three periods
        assert mail["X-Baocao-Period"] == Q4
        text = mail.get_body(("plain",)).get_content()
        assert len(set(re.findall(r"http://\S+/f/[\w-]+", text))) == 1  # one link
        assert "Cùng hạn này, đơn vị báo cáo cả: Báo cáo kết quả kiểm soát TTHC" in text
        assert "Cùng hạn này, đơn vị báo cáo cả: Danh sách hồ sơ, cơ quan, cá nhân chậm muộn" in text
        assert "Số liệu tính từ 15/06/2026 đến 14/12/2026." in text


def filled_parts(config, unit, csrf: str, by: str) -> dict[str, str]:
    """Every field of the unit's three-part form of 05/12/2026, filled as a careful focal point would."""
    data = {"csrf": csrf, "submitted_by": by}
    for n, period in enumerate((config.period(Q4), config.period(H2), config.period(NOV)), 1):
        for ind in config.indicators_for(period, unit):
            data[f"p{n}-{ind.id}__num"] = "50" if ind.parent or ind.kind == "count" else "95"
            if ind.has_denominator:
                data[f"p{n}-{ind.id}__den"] = "100"
        for h in config.headings_for(period, unit):
            data[f"h__p{n}-{h.id}"] = f"Nội dung: {h.title}."
    return data


def test_one_form_asks_each_question_once_and_stores_one_revision_per_plan(tmp_path, web_at, smtp_server):
    web = web_at(example_config(tmp_path, "000-003-hai-ke-hoach"), datetime(2026, 12, 2, 9, tzinfo=TZ))
    config = web.service.config
    unit = config.unit("BPMC")
    path = web.link("BPMC", Q4)
    with httpx.Client(base_url=web.base) as client:
        page, csrf = open_form(client, path)
        text = page.text
        assert text.count("<section class=\"part\">") == 3
        assert "Phần 1. Báo cáo kết quả thực hiện phong trào thi đua (Quý IV/2026)" in text
        assert "Phần 2. Báo cáo kết quả kiểm soát TTHC" in text
        # The same text for both reports is one box: Tồn tại and Đề xuất are typed once, in part 1.
        assert 'name="h__p1-ton_tai"' in text and "kiem-soat-tthc.ton_tai" not in text
        assert "kiem-soat-tthc.de_xuat" not in text
        assert "Dùng chung nội dung đã ghi ở phần trên: " in text
        # The same measure over other days is another figure: hai_long of the quarter and of the
        # half-year (15/06–14/12) are both asked.
        assert 'name="p1-hai_long__num"' in text and 'name="p2-kiem-soat-tthc.hai_long__num"' in text
        # Two parts of one plan may ask one indicator: the half-year's and November's dung_han.
        assert 'name="p2-kiem-soat-tthc.dung_han__num"' in text and 'name="p3-kiem-soat-tthc.dung_han__num"' in text
        fields = re.findall(r'<(?:input|textarea)[^>]* name="([^"]+)"', text)
        assert len(fields) == len(set(fields))  # nothing asked twice
        data = filled_parts(config, unit, csrf, "Nguyễn Thị Hồng Nhung, chuyên viên")
        data["h__p1-ton_tai"] = "Một số hồ sơ đất đai còn chậm do phải xác minh thực địa."
        answer = client.post(path, data={k: v for k, v in data.items() if f'name="{k}"' in text or k == "csrf"})
        assert answer.status_code == 303, answer.text
        done = client.get(answer.headers["location"]).text
        assert "Cùng gửi: Báo cáo kết quả kiểm soát TTHC" in done
        assert "<li>Báo cáo kết quả thực hiện phong trào thi đua (Quý IV/2026): bản thứ 1, nhận lúc" in done
        assert "<li>Danh sách hồ sơ, cơ quan, cá nhân chậm muộn trong giải quyết TTHC (Tháng 11/2026): bản thứ 1" in done
    with Session(web.service.engine) as session:
        subs = {s.period_key: s for s in session.exec(select(Submission).where(Submission.unit_code == "BPMC")).all()}
    assert set(subs) == {Q4, H2, NOV}
    assert subs[H2].narrative["kiem-soat-tthc.ton_tai"] == subs[Q4].narrative["ton_tai"] \
        == "Một số hồ sơ đất đai còn chậm do phải xác minh thực địa."
    assert subs[H2].figures["kiem-soat-tthc.hai_long"] == {"num": 95, "den": 100}
    # One receipt for what was sent together, listing every part.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not receipts(smtp_server):
        time.sleep(0.05)
    time.sleep(0.5)
    [receipt] = receipts(smtp_server)
    text = receipt.get_body(("plain",)).get_content()
    assert "Cùng lần gửi này, Văn phòng Sở đã nhận: Báo cáo kết quả kiểm soát TTHC" in text
    assert "Cùng lần gửi này, Văn phòng Sở đã nhận: Danh sách hồ sơ, cơ quan, cá nhân chậm muộn" in text


def receipts(smtp_server) -> list:
    return [m for m in smtp_server.recorder.messages if (m["X-Baocao-Step"] or "").startswith("receipt")]


def test_each_plan_gets_its_own_report_with_its_own_title_and_wording(tmp_path):
    from scheduler.config.load import load_config

    config = load_config(example_config(tmp_path, "000-003-hai-ke-hoach"))
    texts = {}
    for key in (Q4, H2, NOV):
        period = config.period(key)
        content = render(config, consolidate(config, period, {}), date(2026, 12, 7), ROOT / "templates" / "docx")
        texts[key] = [p.text for p in Document(io.BytesIO(content)).paragraphs]
    assert any(t.startswith("Kết quả thực hiện phong trào thi đua") for t in texts[Q4])
    assert "Kết quả kiểm soát thủ tục hành chính, thực hiện cơ chế một cửa, một cửa liên thông 6 tháng cuối năm 2026" \
        in texts[H2]
    opening = next(t for t in texts[H2] if t.startswith("Thực hiện Kế hoạch"))
    assert opening.startswith("Thực hiện Kế hoạch của Chủ tịch UBND tỉnh về kiểm soát thủ tục hành chính")
    assert opening.endswith("6 tháng cuối năm 2026 (số liệu tính từ ngày 15/06/2026 đến ngày 14/12/2026) như sau:")
    q4_opening = next(t for t in texts[Q4] if t.startswith("Thực hiện "))
    assert "kiểm soát thủ tục hành chính" not in q4_opening and "phong trào thi đua" in q4_opening
    assert any(t.startswith("Trên đây là báo cáo kết quả kiểm soát thủ tục hành chính") for t in texts[H2])
    # The monthly list of the same plan has its own trích yếu.
    assert "Danh sách hồ sơ, cơ quan, tổ chức, cá nhân chậm muộn trong giải quyết TTHC tháng 11/2026" in texts[NOV]


def test_a_mistake_in_one_part_stores_no_part_and_is_shown_at_its_own_field(tmp_path, web_at, smtp_server):
    web = web_at(example_config(tmp_path, "000-003-hai-ke-hoach"), datetime(2026, 12, 2, 9, tzinfo=TZ))
    config = web.service.config
    unit = config.unit("BPMC")
    path = web.link("BPMC", H2)  # any of the day's links opens the same form
    with httpx.Client(base_url=web.base) as client:
        page, csrf = open_form(client, path)
        assert page.text.count("<section class=\"part\">") == 3
        data = filled_parts(config, unit, csrf, "Nguyễn Văn An")
        data["p3-kiem-soat-tthc.truoc_han__num"] = "96"  # November: early above on time (95)
        data["p1-so_hoa__num"] = "9"  # typed in part 1, kept when the form comes back
        answer = client.post(path, data=data)
    assert answer.status_code == 422
    assert 'href="#ct-p3-kiem-soat-tthc.truoc_han"' in answer.text
    assert "lớn hơn" in answer.text and 'value="9"' in answer.text
    with Session(web.service.engine) as session:
        assert session.exec(select(Submission).where(Submission.unit_code == "BPMC")).all() == []


def test_check_config_lists_both_plans_and_the_three_periods_due_on_05_12(tmp_path):
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_")}
    result = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(ROOT / "config" / "examples" /
                                                                             "000-003-hai-ke-hoach"), "check-config"],
                            cwd=ROOT, env=clean | {"BAOCAO_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"},
                            text=True, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Kế hoạch (plan.yaml): Triển khai thực hiện phong trào thi đua" in out
    assert "Báo cáo tổng hợp: Kết quả thực hiện phong trào thi đua" in out
    assert "Kế hoạch (plans/kiem-soat-tthc.yaml): Kiểm soát thủ tục hành chính" in out
    due = [line.split()[0] for line in out.splitlines() if "05/12/2026" in line]
    assert due == [Q4, NOV, H2]


def test_a_file_for_the_second_plan_may_write_its_ids_as_the_plan_file_does(tmp_path, web_at, smtp_server):
    """The clerk retyping a paper report writes dung_han, as plans/kiem-soat-tthc.yaml does."""
    from tests.conftest import office_run

    web = web_at(example_config(tmp_path, "000-003-hai-ke-hoach"), datetime(2026, 12, 2, 9, tzinfo=TZ))
    path = tmp_path / "ttra-11.yaml"
    path.write_text("submitted_by: Lê Minh Tuấn\nindicators:\n  dung_han: {num: 50, den: 60}\n  truoc_han: 20\n"
                    "  cham_giai_trinh: {num: 3, den: 3}\nnarrative:\n  danh_sach_cham_muon: Không có hồ sơ chậm.\n",
                    encoding="utf-8")
    result = office_run(web, "submit", "--unit", "TTRA", "--period", NOV, str(path))
    assert result.exit_code == 0, result.output
    with Session(web.service.engine) as session:
        [sub] = session.exec(select(Submission).where(Submission.unit_code == "TTRA")).all()
    assert sub.figures["kiem-soat-tthc.dung_han"] == {"num": 50, "den": 60}
    assert sub.narrative["kiem-soat-tthc.danh_sach_cham_muon"] == "Không có hồ sơ chậm."


def test_status_of_the_second_plan_shows_the_reminders_that_went_in_the_first_plan_s_mail(tmp_path, web_at,
                                                                                          smtp_server):
    from tests.conftest import office_run

    web = web_at(example_config(tmp_path, "000-003-hai-ke-hoach"), datetime(2026, 11, 20, 9, tzinfo=TZ))
    tick_at(web.service, "2026-11-20T08:00:00+07:00")
    result = office_run(web, "status", "--period", H2)
    assert result.exit_code == 0, result.output
    assert "- Thông báo (notice-10), gửi chung trong thư kỳ 2026-Q4: đã gửi" in result.output
