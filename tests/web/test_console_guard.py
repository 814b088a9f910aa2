"""Every office action refuses a request without the office's session or without the CSRF token
of an office page, and changes nothing when it refuses. The routes are read off the app itself,
so an action added later is covered without anyone remembering to list it."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from tests.conftest import login, open_form, valid_form

OPEN_TO_ALL = {"/vp/dang-nhap", "/vp/dang-xuat"}  # logging in needs no session; logging out without one is harmless
TABLES = ("submission", "send", "review", "audit", "report", "period", "link")


def routes(items):
    """(path, methods) of every route, through included routers: FastAPI ≥ 0.16x keeps each
    included router as one entry (its own routes carry its prefix), older ones flatten them."""
    for route in items:
        if hasattr(route, "original_router"):
            yield from routes(route.original_router.routes)
        elif hasattr(route, "path"):
            yield route.path, getattr(route, "methods", None) or set()


def office_posts(web) -> list[str]:
    from scheduler.web import create_app

    return [path.replace("{key}", "2026-Q4").replace("{code}", "KL") for path, methods in routes(create_app(web.ctx).routes)
            if "POST" in methods and path.startswith("/vp/") and path not in OPEN_TO_ALL]


def snapshot(web) -> dict[str, list]:
    with Session(web.service.engine) as session:
        # The send ledger by what is owed, not by how its delivery is going: the unit's receipt
        # may go out meanwhile.
        return {t: session.execute(sa.text(f"SELECT {'id, period_key, audience, step' if t == 'send' else '*'} "
                                           f"FROM {t} ORDER BY 1")).all() for t in TABLES}


def test_every_office_action_refuses_a_stranger_and_a_missing_token(web):
    with httpx.Client(base_url=web.base) as unit:  # something a return or an approval could act on
        _, csrf = open_form(unit, web.link("KL"))
        assert unit.post(web.link("KL"), data=valid_form(csrf=csrf)).status_code == 303
    paths = office_posts(web)
    # the console's actions, at least: a route renamed away from /vp/ would escape this test
    for expected in ("/vp/ky/2026-Q4/don-vi/KL/gui-lai", "/vp/ky/2026-Q4/don-vi/KL/tra-lai",
                     "/vp/ky/2026-Q4/don-vi/KL/nhap-ho", "/vp/ky/2026-Q4/lap-lai", "/vp/ky/2026-Q4/khoa",
                     "/vp/ky/2026-Q4/mo-lai"):
        assert expected in paths
    before = snapshot(web)
    fields = valid_form() | {"comment": "Sửa lại.", "ban": "1", "xac_nhan": "1", "received_at": "01/12/2026 08:00",
                             "channel": "Bản giấy", "title": "Báo cáo rà soát", "deadline": "2026-12-20"}
    with httpx.Client(base_url=web.base) as stranger:
        # a token from the login page, which anyone can open, is no office session
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', stranger.get("/vp/dang-nhap").text).group(1)
        for path in paths:
            refused = stranger.post(path, data=fields | {"csrf": token})
            # (a paper entry comes back as typed, saying the session is over: see test_console_actions)
            assert refused.status_code == 403 and ("Thao tác này chỉ dành cho Văn phòng." in refused.text
                                                   or "Phiên đăng nhập của Văn phòng đã hết" in refused.text), path
    with httpx.Client(base_url=web.base) as office:
        login(office)
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', office.get("/vp/").text).group(1)
        for path in paths:
            for data in (fields, fields | {"csrf": "0" * 64}):  # no token, a forged one
                refused = office.post(path, data=data)
                assert refused.status_code == 403 and "Phiên làm việc không hợp lệ" in refused.text, path
        with httpx.Client(base_url=web.base, cookies={"baocao_vp": office.cookies["baocao_vp"]}) as half:
            # the office's session cookie with the page's token but without the CSRF cookie it is bound to
            refused = half.post(paths[0], data=fields | {"csrf": token})
            assert refused.status_code == 403, paths[0]
    assert snapshot(web) == before


def test_closing_needs_the_confirmation_box_even_without_the_browser_checking_it(web):
    from scheduler.collect import record

    with httpx.Client(base_url=web.base) as office:
        login(office)
        page = office.get("/vp/ky/2026-Q4/khoa")
        assert "Sau khi khoá: đơn vị không gửi thêm hoặc sửa báo cáo được nữa" in page.text
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        unticked = office.post("/vp/ky/2026-Q4/khoa", data={"csrf": token})
        assert unticked.status_code == 422 and "Đánh dấu ô xác nhận trước khi bấm nút." in unticked.text
        with Session(web.service.engine) as session:
            assert not record.is_closed(session, "2026-Q4")
        done = office.post("/vp/ky/2026-Q4/khoa", data={"csrf": token, "xac_nhan": "1"})
        assert done.status_code == 303 and done.headers["location"] == "/vp/ky/2026-Q4?xong=khoa"
        with Session(web.service.engine) as session:
            assert record.is_closed(session, "2026-Q4")
