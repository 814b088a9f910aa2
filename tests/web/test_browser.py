"""End to end in a real browser: the reminder reaches the SMTP server, the focal point opens
its link in Chromium, fills the form, submits, and the receipt arrives."""

from __future__ import annotations

import os
import re
import shutil
import signal

import pytest

from tests.conftest import ROOT, SHIPPED_CONFIG, free_port, Process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# .ci/run installs Debian's chromium; on a developer machine without it the test says so.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium (apt-get install chromium)")

FIGURES = {"quan_triet": ("6", "6"), "cam_tay_chi_viec": ("6", "6"), "huong_dan": ("1.250", "1.250"),
           "tu_thao_tac": ("1180", "1250"), "so_hoa": ("930", "930"), "truc_tuyen": ("880", "930"),
           "ket_qua_dien_tu": ("870", "930"), "hai_long": ("410", "420"), "tai_su_dung": ("800", "930"),
           "toan_trinh": ("15", "15")}


def test_focal_point_reports_through_the_link_in_a_real_browser(smtp_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
               BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG), BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"),
               BAOCAO_SECRET_KEY_FILE=str(tmp_path / "secret"), BAOCAO_SMTP_HOST="127.0.0.1",
               BAOCAO_SMTP_PORT=str(smtp_server.port), BAOCAO_SMTP_SECURITY="none",
               BAOCAO_HTTP_PORT=str(port), BAOCAO_PUBLIC_URL=f"http://127.0.0.1:{port}")
    service = Process(["2026-12-02T08:00:30+07:00", "run"], env)
    try:
        recorder = smtp_server.recorder
        service.wait_for(lambda: any("bpmc.daumoi@example.org" in str(m["To"]) for m in recorder.messages), what="the reminder")
        reminder = next(m for m in recorder.messages if "bpmc.daumoi@example.org" in str(m["To"]))
        assert reminder["Subject"] == "[Nhắc báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026"
        link = re.search(rf"http://127\.0\.0\.1:{port}/f/[\w-]+", reminder.get_body(("plain",)).get_content()).group(0)
        assert f'href="{link}"' in reminder.get_body(("html",)).get_content()

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(link)
            expect(page.get_by_role("heading", name="Báo cáo Quý IV/2026")).to_be_visible()
            expect(page.get_by_text("Bộ phận Một cửa của Sở", exact=True)).to_be_visible()
            for key, (num, den) in FIGURES.items():
                page.locator(f"#{key}__num").fill(num)
                page.locator(f"#{key}__den").fill(den)
            page.get_by_label("Không phát sinh").nth(6).check()  # thanh toán trực tuyến
            for label in ("Tuyên truyền, hướng dẫn thực hiện dịch vụ công trực tuyến",
                          "Nâng cao tỷ lệ hồ sơ trực tuyến và thanh toán trực tuyến",
                          "Số hoá hồ sơ, kết quả giải quyết TTHC",
                          "Nâng cao chất lượng phục vụ người dân, doanh nghiệp",
                          "Phương hướng, nhiệm vụ quý tiếp theo"):
                page.get_by_label(label).fill(f"{label}: đã thực hiện <đầy đủ> & “đúng hạn”.")
            # first a mistake, as people make them: the form says where, and keeps the rest
            page.locator("#so_hoa__num").fill("940")
            page.get_by_role("button", name="Gửi báo cáo").click()
            expect(page.get_by_role("alert")).to_contain_text("Báo cáo chưa gửi được: có 2 chỗ cần sửa.")
            expect(page.locator("#submitted_by-loi")).to_have_text("chưa nhập họ tên người gửi báo cáo")
            expect(page.locator("#so_hoa-loi")).to_have_text("“Số hồ sơ được số hoá” (940) lớn hơn “Tổng số hồ sơ” (930)")
            expect(page.locator("#huong_dan__num")).to_have_value("1.250")
            page.locator("#so_hoa__num").fill("930")
            page.get_by_label("Họ tên, chức vụ người gửi báo cáo").fill("Nguyễn Thị Hồng Nhung, chuyên viên")
            page.get_by_role("button", name="Gửi báo cáo").click()
            expect(page.get_by_role("status")).to_contain_text("Đã gửi báo cáo thành công.")
            expect(page.get_by_role("status")).to_contain_text("bản thứ 1")
            expect(page.get_by_text("1.250 / 1.250")).to_be_visible()
            browser.close()

        service.wait_for(lambda: any(m["X-Baocao-Step"] == "receipt#1" for m in recorder.messages), what="the receipt")
        receipt = next(m for m in recorder.messages if m["X-Baocao-Step"] == "receipt#1")
        assert receipt["Subject"] == "[Đã nhận báo cáo] Quý IV/2026 – Bộ phận Một cửa của Sở"
        assert [a.addr_spec for a in receipt["To"].addresses] == ["bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"]
        body = receipt.get_body(("plain",)).get_content()
        assert "Thanh toán trực tuyến: Không phát sinh" in body
        assert "đã thực hiện <đầy đủ> & “đúng hạn”." in body
        service.proc.send_signal(signal.SIGTERM)
        assert service.proc.wait(timeout=20) == 0
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
