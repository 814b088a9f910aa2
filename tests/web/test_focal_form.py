"""The focal point's form as a person sees it: the office's "nhập hộ" rendering of the same form,
last period's figures beside each field, fields in error outlined, the live percentage script."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI, Request
from sqlmodel import Session
from starlette.testclient import TestClient

from scheduler.collect.validate import Entry
from scheduler.web.context import Pages
from scheduler.web.unit_form import render_form
from tests.conftest import open_form, valid_form


def office_page(web, office: dict | None, errors: dict[str, str] | None = None, unit: str = "BPMC") -> str:
    """The page render_form gives the office's console (which mounts it on its own route)."""
    app = FastAPI()
    pages = Pages(web.ctx)

    @app.get("/nhap-ho")
    def entering(request: Request):
        with Session(web.ctx.engine) as session:
            period = web.ctx.periods(session)["2026-Q4"]
        return render_form(web.ctx, pages, request, action="/van-phong/nhap-ho", csrf_value="ab" * 16,
                           period=period, unit=web.ctx.config().unit(unit), entries=[Entry()],
                           errors=errors or {}, last=None, status=422 if errors else 200, office=office)

    with TestClient(app) as client:
        return client.get("/nhap-ho").text


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
    assert "Báo cáo chưa gửi được: có 1 chỗ cần sửa." in page
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
