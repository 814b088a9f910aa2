"""The focal point's form as a person sees it: the office's "nhập hộ" rendering of the same form,
last period's figures beside each field, fields in error outlined, the live percentage script."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import Request
from sqlmodel import Session

from scheduler.collect.validate import Entry
from scheduler.web.context import Pages
from scheduler.web.unit_form import render_form
from tests.conftest import open_form, valid_form


def office_page(web, office: dict | None, errors: dict[str, str] | None = None, unit: str = "BPMC") -> str:
    """The page render_form gives the office's console, for a request to its own route."""
    request = Request({"type": "http", "method": "GET", "path": "/van-phong/nhap-ho", "headers": [],
                       "query_string": b"", "server": ("127.0.0.1", 80), "scheme": "http"})
    with Session(web.ctx.engine) as session:
        period = web.ctx.periods(session)["2026-Q4"]
    response = render_form(web.ctx, Pages(web.ctx), request, action="/van-phong/nhap-ho", csrf_value="ab" * 16,
                           period=period, unit=web.ctx.config().unit(unit), entries=[Entry()],
                           errors=errors or {}, last=None, status=422 if errors else 200, office=office)
    assert response.status_code == (422 if errors else 200)
    return response.body.decode()


def test_the_office_enters_a_report_on_paper_in_the_units_own_form(web):
    page = office_page(web, {"received_at": "03/12/2026 10:15", "channel": "Công văn", "note": "Số 12/BC-MC"})
    assert "<h1>Văn phòng nhập hộ báo cáo của Bộ phận Một cửa của Sở</h1>" in page
    assert 'action="/van-phong/nhap-ho"' in page and 'name="csrf" value="' + "ab" * 16 + '"' in page
    assert "Thời điểm Văn phòng nhận (DD/MM/YYYY HH:MM)" in page
    assert 'name="received_at" value="03/12/2026 10:15"' in page
    assert '<option value="Công văn" selected>Công văn</option>' in page
    assert [o for o in re.findall(r'<option value="([^"]+)"', page)] == ["Bản giấy", "Công văn", "Thư điện tử", "Khác"]
    assert "Số, ngày văn bản (nếu có)" in page and 'name="note" value="Số 12/BC-MC"' in page
    # the same fields as the unit's own form, but no XLSX template to download
    assert 'name="so_hoa__num"' in page and 'name="h__chat_luong"' in page
    assert "mau.xlsx" not in page and "tải mẫu XLSX" not in page


def test_the_office_fields_in_error_are_outlined_and_linked_from_the_summary(web):
    page = office_page(web, {"received_at": "32/12/2026", "channel": "Bản giấy", "note": ""},
                       errors={"received_at": "“32/12/2026” không phải ngày giờ DD/MM/YYYY HH:MM"})
    assert "Chưa ghi được báo cáo: có 1 chỗ cần sửa." in page
    assert 'href="#received_at">Thời điểm Văn phòng nhận</a>: “32/12/2026” không phải ngày giờ' in page
    assert re.search(r'id="received_at" name="received_at" value="32/12/2026"[^>]*aria-invalid="true"', page)
    assert 'id="received_at-loi">“32/12/2026” không phải ngày giờ DD/MM/YYYY HH:MM</p>' in page


def test_an_office_entry_with_nothing_typed_yet_still_reads_as_the_offices(web):
    page = office_page(web, {})
    assert "Văn phòng nhập hộ báo cáo của Bộ phận Một cửa của Sở" in page
    assert 'name="received_at" value=""' in page


def test_the_units_own_form_is_unchanged_by_the_office_mode(web):
    with httpx.Client(base_url=web.base) as client:
        page, csrf = open_form(client, web.link("BPMC"))
        assert "<h1>Báo cáo Quý IV/2026</h1>" in page.text and "nhập hộ" not in page.text
        assert 'name="received_at"' not in page.text
        assert f'href="{web.link("BPMC")}/mau.xlsx"' in page.text
        assert client.post(web.link("BPMC"), data=valid_form(csrf=csrf)).status_code == 303


# ---------------------------------------------------------------- last period's figures

def test_last_periods_figures_stand_beside_each_field(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC", "2026-Q3"))
        q3 = valid_form(csrf=csrf, truc_tuyen__num="45", truc_tuyen__den="50", huong_dan__num="1250",
                        huong_dan__den="1300", h__ton_tai="Chưa hướng dẫn hết người đến giao dịch.")
        assert client.post(web.link("BPMC", "2026-Q3"), data=q3).status_code == 303
        page, _ = open_form(client, web.link("BPMC"))
        first_q3 = client.get(web.link("BPMC", "2026-Q3")).text
    assert "Kỳ trước (Quý III/2026): 45/50 — 90,0%" in fieldset(page.text, "truc_tuyen")
    assert "Kỳ trước (Quý III/2026): 1.250/1.300 — 96,2%" in fieldset(page.text, "huong_dan")
    assert "Kỳ trước (Quý III/2026): Không phát sinh" in fieldset(page.text, "thanh_toan")
    assert "Kỳ trước" not in first_q3  # Quý II was never reported


def test_a_correction_of_last_period_is_what_the_form_shows(web):
    with httpx.Client(base_url=web.base) as client:
        for num in ("40", "47"):
            _, csrf = open_form(client, web.link("BPMC", "2026-Q3"))
            client.post(web.link("BPMC", "2026-Q3"), data=valid_form(csrf=csrf, truc_tuyen__num=num,
                                                                      truc_tuyen__den="50"))
        page, _ = open_form(client, web.link("BPMC"))
    assert "Kỳ trước (Quý III/2026): 47/50 — 94,0%" in fieldset(page.text, "truc_tuyen")


def fieldset(page: str, ind: str) -> str:
    return re.search(rf'<fieldset id="ct-{ind}".*?</fieldset>', page, re.S).group(0)


# ---------------------------------------------------------------- errors outlined, script served

def test_fields_in_error_and_their_fieldsets_are_marked_for_the_outline(web):
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC"))
        page = client.post(web.link("BPMC"), data=valid_form(csrf=csrf, so_hoa__num="950", truc_tuyen__den="",
                                                             submitted_by=""))
    assert page.status_code == 422
    so_hoa, truc_tuyen = fieldset(page.text, "so_hoa"), fieldset(page.text, "truc_tuyen")
    assert 'class="indicator invalid"' in so_hoa and 'class="indicator invalid"' in truc_tuyen
    assert 'class="indicator invalid"' not in fieldset(page.text, "hai_long")
    # a pair's error (950 > 930) outlines both its figures, each pointing at the message
    assert so_hoa.count('aria-invalid="true" aria-describedby="so_hoa-loi"') == 2
    assert 'id="truc_tuyen__den" name="truc_tuyen__den" value="" aria-invalid="true"' in truc_tuyen
    assert 'href="#ct-so_hoa">' in page.text and 'href="#truc_tuyen__den">' in page.text
    assert 'href="#submitted_by">Người gửi báo cáo</a>' in page.text


def test_the_script_is_served_from_the_site_and_cached_by_its_hash(web):
    with httpx.Client(base_url=web.base) as client:
        page, _ = open_form(client, web.link("BPMC"))
        src = re.search(r'<script src="([^"]+)" defer>', page.text).group(1)
        script = client.get(src)
    assert src.startswith("/tep/bieu-mau.js?v=")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in script.headers["cache-control"]
    assert "chưa đạt mục tiêu" in script.text


# ---------------------------------------------------------------- in Chromium, on a phone

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 390, "height": 844}
browser_only = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium")


@contextlib.contextmanager
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser.new_page(viewport=PHONE)
        finally:
            browser.close()


def shot(page, name: str) -> None:
    """A screenshot to look at (BAOCAO_SHOTS=/tmp/shots), never committed."""
    if os.environ.get("BAOCAO_SHOTS"):
        page.screenshot(path=str(Path(os.environ["BAOCAO_SHOTS"]) / name), full_page=False)


@browser_only
def test_the_percentage_and_target_check_follow_what_is_typed(web):
    from playwright.sync_api import expect

    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, web.link("BPMC", "2026-Q3"))
        client.post(web.link("BPMC", "2026-Q3"), data=valid_form(csrf=csrf, truc_tuyen__num="45", truc_tuyen__den="50"))
    with phone() as page:
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # (the browser's own request for /favicon.ico is no error of the page's)
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
        page.goto(web.base + web.link("BPMC"))
        live = page.locator("#truc_tuyen-tinh")
        expect(live).to_be_hidden()
        page.locator("#truc_tuyen__num").fill("800")
        page.locator("#truc_tuyen__den").fill("930")
        expect(live).to_have_text("Tỷ lệ: 86,0% — chưa đạt mục tiêu ≥ 90%")
        page.locator("#truc_tuyen__num").fill("880")
        expect(live).to_have_text("Tỷ lệ: 94,6% — đạt mục tiêu ≥ 90%")
        expect(page.locator("#ct-truc_tuyen")).to_contain_text("Kỳ trước (Quý III/2026): 45/50 — 90,0%")
        page.locator("#ct-truc_tuyen").scroll_into_view_if_needed()
        shot(page, "form-live-390.png")
        page.locator("#truc_tuyen__num").fill("95%")
        expect(live).to_have_text("“Số hồ sơ xử lý trực tuyến”: ghi số lượng (số nguyên), không ghi tỷ lệ")
        page.locator("#truc_tuyen__num").fill("940")
        expect(live).to_have_text("“Số hồ sơ xử lý trực tuyến” (940) lớn hơn “Tổng số hồ sơ tiếp nhận” (930)")
        page.locator("#truc_tuyen__kps").check()
        expect(live).to_be_hidden()
        # "> 95%" at exactly 95%: more decimals would cross the target, so none are invented
        page.locator("#hai_long__num").fill("1.140")
        page.locator("#hai_long__den").fill("1.200")
        expect(page.locator("#hai_long-tinh")).to_have_text("Tỷ lệ: 95,0% — chưa đạt mục tiêu > 95%")
    assert errors == []


@browser_only
def test_on_a_phone_a_field_in_error_is_outlined_and_the_checkbox_keeps_its_place(web):
    from playwright.sync_api import expect

    with phone() as page:
        page.goto(web.base + web.link("BPMC"))
        kps = page.locator("#so_hoa__kps")
        before = kps.bounding_box()["y"] - page.locator("#ct-so_hoa").bounding_box()["y"]
        page.locator("#so_hoa__num").fill("1")  # typing does not move the checkbox
        assert kps.bounding_box()["y"] - page.locator("#ct-so_hoa").bounding_box()["y"] == before
        num, den = page.locator("#so_hoa__num").bounding_box(), page.locator("#so_hoa__den").bounding_box()
        assert kps.bounding_box()["y"] > den["y"] > num["y"]  # figures stacked, the checkbox under them
        for key in ("so_hoa", "truc_tuyen", "hai_long"):  # the same place in every indicator
            box = page.locator(f"#{key}__kps").bounding_box()
            assert abs(box["x"] - kps.bounding_box()["x"]) < 1
        page.locator("#so_hoa__num").fill("950")
        page.locator("#so_hoa__den").fill("930")
        page.locator("#hai_long__num").fill("410")
        page.locator("#hai_long__den").fill("420")
        page.get_by_role("button", name="Gửi báo cáo").click()
        expect(page.get_by_role("alert")).to_contain_text("Báo cáo chưa gửi được")
        shot(page, "form-summary-390.png")
        # the server's message stands alone until the figures change; then the script takes over
        expect(page.locator("#so_hoa-tinh")).to_be_hidden()
        expect(page.locator("#hai_long-tinh")).to_have_text("Tỷ lệ: 97,6% — đạt mục tiêu > 95%")
        red = "rgb(170, 0, 0)"
        for selector in ("#ct-so_hoa", "#so_hoa__num", "#so_hoa__den", "#submitted_by"):
            style = page.locator(selector).evaluate(
                "e => [getComputedStyle(e).borderTopColor, getComputedStyle(e).borderTopWidth]")
            assert style == [red, "2px"], selector
        assert page.locator("#ct-hai_long").evaluate("e => getComputedStyle(e).borderTopColor") != red
        wide = page.evaluate("document.documentElement.scrollWidth")
        page.get_by_role("link", name="Hồ sơ, kết quả giải quyết TTHC được số hoá theo quy định").click()
        expect(page.locator("#so_hoa__num")).to_be_focused()
        page.locator("#so_hoa__num").blur()
        shot(page, "form-error-390.png")
        page.locator("#so_hoa__num").fill("900")
        expect(page.locator("#so_hoa-tinh")).to_have_text("Tỷ lệ: 96,8% — chưa đạt mục tiêu = 100%")
    assert wide <= PHONE["width"]
