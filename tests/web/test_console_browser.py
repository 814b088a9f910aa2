"""The office's console in a real browser (Debian's Chromium, driven by Playwright): the Văn
phòng copies a unit's link, resends a mail (it reaches the SMTP server), enters a paper report on
a unit's behalf, returns a report for correction (the unit gets the mail; its resubmission clears
the state), makes and downloads a report version, closes and reopens the period, and opens an
on-request report asking a subset of the indicators and headings."""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import datetime

import httpx
import pytest
from sqlmodel import Session, select

from tests.conftest import OFFICE_PASSWORD, open_form, valid_form

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium (apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def mail(recorder, step: str, to: str, timeout: float = 15.0):
    """The message of ledger step `step` to `to`, once the SMTP server has it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in recorder.messages if m["X-Baocao-Step"] == step and to in str(m["To"])]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {step} mail to {to}: {[(m['X-Baocao-Step'], m['To']) for m in recorder.messages]}")


SHOTS = os.environ.get("BAOCAO_SHOTS")  # a folder: the pages are also saved there as PNG, to look at


def shot(page, name: str, full: bool = True) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full)


def row(page, code: str):
    return page.locator(f"#dv-{code}")


def test_the_office_runs_a_period_from_the_browser(web, smtp_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from scheduler.store.tables import AuditRow, Submission

    recorder = smtp_server.recorder
    with httpx.Client(base_url=web.base) as unit:  # BPMC reports through its link before the office looks
        _, csrf = open_form(unit, web.link("BPMC"))
        assert unit.post(web.link("BPMC"), data=valid_form(csrf=csrf)).status_code == 303

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web.base)
        page = context.new_page()
        page.goto(f"{web.base}/vp/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill("vanphong")
        page.get_by_label("Mật khẩu").fill(OFFICE_PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("link", name="Quý IV/2026").first.click()
        expect(page.get_by_role("heading", name="Quý IV/2026 (2026-Q4)")).to_be_visible()
        expect(page.get_by_text("Đang nhận báo cáo.")).to_be_visible()

        # 1. copy a unit's link: the clipboard holds the link its mails carry, and it opens its form
        row(page, "KL").get_by_role("button", name="Sao chép").click()
        expect(row(page, "KL").get_by_role("button", name="Đã sao chép")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == web.base + web.link("KL")
        form = context.new_page()
        form.goto(copied)
        expect(form.get_by_text("Chi cục Kiểm lâm", exact=True)).to_be_visible()
        form.close()

        # 2. resend KL's mail: the current step's mail reaches the SMTP server, recorded in the ledger
        row(page, "KL").get_by_role("button", name="Gửi lại thư").click()
        expect(page.get_by_role("status")).to_contain_text("Đã đưa thư của")
        [resent] = mail(recorder, "resend-1", "@")
        assert copied in resent.get_body(("plain",)).get_content()

        # 3. enter TTRA's paper report on its behalf, with when and how it came
        row(page, "TTRA").get_by_role("link", name="Nhập hộ").click()
        expect(page.get_by_role("heading", name=re.compile("Văn phòng nhập hộ báo cáo của Thanh tra Sở"))).to_be_visible()
        for name, value in valid_form().items():
            if name.endswith("__kps"):
                page.locator(f"input[name='{name}']").check()
            elif name.startswith("h__"):
                page.locator(f"textarea[name='{name}']").fill(value)
            else:
                page.locator(f"input[name='{name}']").fill(value)
        page.locator("input[name='received_at']").fill("01/12/2026 16:30")
        page.locator("select[name='channel']").select_option("Công văn")
        page.locator("input[name='note']").fill("Công văn số 123/TTr ngày 01/12/2026")
        page.get_by_role("button", name=re.compile("Gửi báo cáo|Ghi báo cáo")).click()
        expect(page.get_by_role("status")).to_contain_text("Đã ghi báo cáo của Thanh tra Sở do Văn phòng nhập hộ.")
        expect(row(page, "TTRA").locator("td").nth(1)).to_have_text("Đúng hạn")
        with Session(web.service.engine) as session:
            [paper] = session.exec(select(Submission).where(Submission.unit_code == "TTRA")).all()
        assert (paper.channel, paper.note) == ("office", "Công văn, Công văn số 123/TTr ngày 01/12/2026")
        assert paper.received_at == datetime.fromisoformat("2026-12-01T16:30:00+07:00")

        # 4. return BPMC's report for correction: the unit gets the comment and its link
        row(page, "BPMC").get_by_role("link", name="Trả lại để sửa").click()
        page.get_by_label(re.compile("Ý kiến của Văn phòng")).fill("Số hồ sơ số hoá chưa khớp sổ theo dõi, đề nghị rà soát.")
        page.get_by_role("button", name="Trả lại để sửa").click()
        expect(row(page, "BPMC").locator("td").nth(1)).to_have_text("Trả lại để sửa")
        [returned] = mail(recorder, "return#1", "bpmc.daumoi@example.org")
        body = returned.get_body(("plain",)).get_content()
        assert "Số hồ sơ số hoá chưa khớp sổ theo dõi, đề nghị rà soát." in body and web.link("BPMC") in body
        with httpx.Client(base_url=web.base) as unit:  # the corrected report clears the state
            _, csrf = open_form(unit, web.link("BPMC"))
            assert unit.post(web.link("BPMC"), data=valid_form(csrf=csrf, hai_long__num="415")).status_code == 303
        page.reload()
        expect(row(page, "BPMC").locator("td").nth(1)).to_have_text("Đúng hạn")
        row(page, "BPMC").get_by_role("link", name="Bộ phận Một cửa của Sở").click()
        shot(page, "unit-history")
        expect(page.get_by_text("Mức độ hài lòng của người dân, doanh nghiệp: 410 / 420 → 415 / 420")).to_be_visible()
        page.go_back()

        # 5. make a version now and download it, DOCX and PDF
        page.get_by_role("button", name="Lập lại ngay").click()
        expect(page.get_by_role("status")).to_contain_text("Đã lập bản báo cáo tổng hợp mới", timeout=60_000)
        with page.expect_download() as got:
            page.get_by_role("link", name="DOCX").first.click()
        docx = got.value.path().read_bytes()
        assert docx.startswith(b"PK") and got.value.suggested_filename == "bao-cao-2026-Q4-ban-1.docx"
        if shutil.which("soffice"):
            with page.expect_download() as got:
                page.get_by_role("link", name="PDF").first.click()
            assert got.value.path().read_bytes().startswith(b"%PDF")
        mail(recorder, "report-v1", "@", timeout=30)
        shot(page, "period")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, "period-phone", full=False)
        page.set_viewport_size({"width": 1280, "height": 900})

        # 6. close the period after confirming, then reopen it
        page.get_by_role("link", name="Khoá kỳ…").click()
        page.get_by_label("Tôi xác nhận khoá kỳ Quý IV/2026.").check()
        page.get_by_role("button", name="Khoá kỳ").click()
        expect(page.get_by_role("status")).to_contain_text("Đã khoá kỳ báo cáo")
        expect(page.get_by_text(re.compile(r"Đã khoá ngày \d\d/\d\d/2026"))).to_be_visible()
        with httpx.Client(base_url=web.base) as unit:
            assert "Kỳ báo cáo đã khoá" in unit.get(web.link("KL")).text
        page.get_by_role("link", name="Mở lại kỳ…").click()
        page.get_by_label("Tôi xác nhận mở lại kỳ Quý IV/2026.").check()
        page.get_by_role("button", name="Mở lại kỳ").click()
        expect(page.get_by_role("status")).to_contain_text("Đã mở lại kỳ báo cáo")
        with httpx.Client(base_url=web.base) as unit:
            assert unit.get(web.link("KL")).status_code == 200

        # every action is in the audit trail, by the office's user, and on the period page
        expect(page.get_by_role("cell", name="Nhập hộ báo cáo")).to_be_visible()

        # 7. open an on-request report asking two indicators and one heading, of two units
        page.get_by_role("link", name="← Các kỳ báo cáo").click()
        page.get_by_role("link", name="+ Mở báo cáo đột xuất").click()
        page.get_by_label("Tên báo cáo").fill("Báo cáo rà soát số hoá hồ sơ thủ tục hành chính")
        page.get_by_label("Hạn nộp: trước ngày").fill("2026-12-18")
        for name in ("dv__KL", "dv__TTRA", "ct__so_hoa", "ct__tai_su_dung", "dm__so_hoa"):
            page.locator(f"input[name='{name}']").check()
        page.get_by_role("button", name="Mở báo cáo đột xuất").click()
        expect(page.get_by_role("heading", name=re.compile("Báo cáo rà soát số hoá hồ sơ thủ tục hành chính"))).to_be_visible()
        expect(page.locator("table.units tbody tr")).to_have_count(2)
        request_link = row(page, "KL").locator("input.link").input_value()
        form = context.new_page()
        form.goto(request_link)
        assert form.locator("input[name$='__num']").count() == 2  # the two indicators, nothing else
        assert form.locator("textarea").count() == 1
        assert "quý tiếp theo" not in form.content()
        form.close()
        browser.close()
    with Session(web.service.engine) as session:
        actions = [(a.actor, a.action, a.unit_code) for a in session.exec(select(AuditRow).order_by(AuditRow.id)).all()]
    assert actions == [("vanphong", "gui-lai", "KL"), ("vanphong", "nhap-ho", "TTRA"), ("vanphong", "tra-lai", "BPMC"),
                       ("vanphong", "lap-lai", None), ("vanphong", "khoa", None), ("vanphong", "mo-lai", None),
                       ("vanphong", "mo-yeu-cau", None)]
