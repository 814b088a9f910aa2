"""The office opens an on-request report from the browser, asking a subset of an obligation's
indicators and headings: the unit's form, its mails and the consolidated report ask and say only
that, worded as a one-off request."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import httpx
import pytest
from sqlmodel import Session, select

from scheduler.clock import TZ
from scheduler.store.tables import AuditRow, PeriodRow
from tests.conftest import SHIPPED_CONFIG, example_config, login, open_form, serving

OPENED = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)  # Thursday; the request is due before 18/12


@pytest.fixture
def web(tmp_path, db_url, smtp_server):
    """The app as `baocao run` serves it, on 10/12/2026."""
    with serving(tmp_path, db_url, smtp_server, SHIPPED_CONFIG, OPENED) as running:
        yield running


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)


def requests_stored(web) -> list[PeriodRow]:
    with Session(web.service.engine) as session:
        return list(session.exec(select(PeriodRow).where(PeriodRow.source == "request")).all())


SUBSET = {"ten": "Báo cáo rà soát thủ tục hành chính", "han": "2026-12-18", "nghia_vu": "quy",
          "dv__BPMC": "1", "dv__VPDKDD": "1", "ct__so_hoa": "1", "ct__toan_trinh": "1", "dm__de_xuat": "1"}


def open_subset(web, client: httpx.Client, **changes) -> httpx.Response:
    page = client.get("/vp/yeu-cau-moi")
    assert page.status_code == 200, page.text
    return client.post("/vp/yeu-cau-moi", data=dict(SUBSET, csrf=csrf_of(page)) | changes)


def test_a_request_asking_a_subset_opens_and_the_units_form_asks_only_that(web):
    with httpx.Client(base_url=web.base) as client:
        login(client)
        page = client.get("/vp/yeu-cau-moi")
        # every unit and every indicator and heading of the obligation is offered, none ticked
        assert 'name="dv__BPMC"' in page.text and 'name="ct__toan_trinh"' in page.text
        assert 'name="dm__phuong_huong"' in page.text and " checked" not in page.text
        assert "Không chọn đơn vị nào: yêu cầu tất cả 18 đơn vị." in page.text
        opened = client.post("/vp/yeu-cau-moi", data=dict(SUBSET, csrf=csrf_of(page)))
        assert opened.status_code == 303 and opened.headers["location"] == "/vp/ky/YC-20261218?xong=mo-yeu-cau-lich"
        period_page = client.get("/vp/ky/YC-20261218")
        assert period_page.status_code == 200 and "Báo cáo rà soát thủ tục hành chính" in period_page.text
        assert "(BPMC)" in period_page.text and "(VPDKDD)" in period_page.text and "(KL)" not in period_page.text
    (row,) = requests_stored(web)
    assert (row.obligation, row.due, row.units) == ("quy", date(2026, 12, 18), ["BPMC", "VPDKDD"])
    assert (row.indicators, row.headings) == (["so_hoa", "toan_trinh"], ["de_xuat"])
    with Session(web.service.engine) as session:
        audit = session.exec(select(AuditRow).where(AuditRow.action == "mo-yeu-cau")).one()
    assert (audit.actor, audit.period_key, audit.detail) == ("vanphong", "YC-20261218", row.title)

    with httpx.Client(base_url=web.base) as unit:
        form, _ = open_form(unit, web.link("BPMC", "YC-20261218"))
    asked = set(re.findall(r'name="(\w+?)__(?:num|den)"', form.text))
    assert asked == {"so_hoa", "toan_trinh"}
    assert set(re.findall(r'name="h__(\w+)"', form.text)) == {"de_xuat"}
    assert "<h1>Báo cáo rà soát thủ tục hành chính</h1>" in form.text
    assert "quý" not in form.text.lower() and "Phương hướng" not in form.text


def test_an_identical_second_click_opens_nothing_new(web):
    with httpx.Client(base_url=web.base) as client:
        login(client)
        first = open_subset(web, client)
        again = open_subset(web, client)
        other = open_subset(web, client, dm__ton_tai="1")  # a different request, same deadline
    assert first.headers["location"] == "/vp/ky/YC-20261218?xong=mo-yeu-cau-lich"
    assert again.headers["location"] == "/vp/ky/YC-20261218"  # the same request, nothing new to say
    assert other.headers["location"] == "/vp/ky/YC-20261218-2?xong=mo-yeu-cau-lich"
    assert sorted(r.key for r in requests_stored(web)) == ["YC-20261218", "YC-20261218-2"]


def test_groups_and_no_units_ticked(web):
    with httpx.Client(base_url=web.base) as client:
        login(client)
        everyone = open_subset(web, client, dv__BPMC="", dv__VPDKDD="", han="19/12/2026")  # typed, not picked
    assert everyone.status_code == 303
    (row,) = requests_stored(web)
    assert row.units is None and row.due == date(2026, 12, 19)  # none ticked: every unit


def test_mistakes_are_shown_beside_their_fields_with_what_was_typed_kept(web):
    with httpx.Client(base_url=web.base) as client:
        login(client)
        wrong = open_subset(web, client, ten="  ", han="2026-12-10", ct__so_hoa="", ct__toan_trinh="", dm__de_xuat="")
        assert wrong.status_code == 422
        assert "Chưa mở được báo cáo: có 3 chỗ cần sửa." in wrong.text
        assert re.search(r'id="ten-loi">Chưa nhập tên báo cáo\.<', wrong.text)
        assert re.search(r'id="han-loi">Hạn nộp phải sau hôm nay \(10/12/2026\)\.<', wrong.text)
        assert re.search(r'id="noi_dung-loi">Chọn ít nhất một chỉ tiêu hoặc một đề mục thuyết minh\.<', wrong.text)
        assert 'id="han" name="han" value="2026-12-10"' in wrong.text
        assert 'name="dv__BPMC" value="1" checked' in wrong.text and 'name="dv__KL" value="1">' in wrong.text

        typo = open_subset(web, client, han="31/02/2026", ten="Báo cáo <b>nhanh</b>")
        assert typo.status_code == 422
        assert "“31/02/2026” không phải ngày hợp lệ; ghi ngày/tháng/năm, ví dụ 18/12/2026." in typo.text
        assert 'value="Báo cáo &lt;b&gt;nhanh&lt;/b&gt;"' in typo.text
        assert 'name="ct__toan_trinh" value="1" checked' in typo.text and 'name="dm__de_xuat" value="1" checked' in typo.text
    assert requests_stored(web) == []


def test_without_the_office_session_or_its_token_nothing_is_opened(web):
    with httpx.Client(base_url=web.base) as stranger:
        assert stranger.get("/vp/yeu-cau-moi").headers["location"] == "/vp/dang-nhap"
        form = stranger.get("/vp/dang-nhap")  # a CSRF cookie and token, but no office session
        refused = stranger.post("/vp/yeu-cau-moi", data=dict(SUBSET, csrf=csrf_of(form)))
        assert refused.status_code == 403 and "Thao tác này chỉ dành cho Văn phòng." in refused.text
    with httpx.Client(base_url=web.base) as client:
        login(client)
        client.get("/vp/yeu-cau-moi")
        assert client.post("/vp/yeu-cau-moi", data=SUBSET).status_code == 403  # no token
        forged = client.post("/vp/yeu-cau-moi", data=dict(SUBSET, csrf="0" * 64))
        assert forged.status_code == 403 and "chưa có gì thay đổi" in forged.text
    assert requests_stored(web) == []
    with Session(web.service.engine) as session:
        assert session.exec(select(AuditRow).where(AuditRow.action == "mo-yeu-cau")).all() == []


def test_the_requests_report_has_only_what_it_asked_and_a_one_off_title(web):
    from docx import Document

    from scheduler.report import versions
    from scheduler.report.render import render
    from tests.conftest import ROOT

    with httpx.Client(base_url=web.base) as client:
        login(client)
        open_subset(web, client)
    with httpx.Client(base_url=web.base) as unit:
        _, csrf = open_form(unit, web.link("BPMC", "YC-20261218"))
        sent = unit.post(web.link("BPMC", "YC-20261218"), data={
            "csrf": csrf, "submitted_by": "Nguyễn Thị Hồng Nhung, chuyên viên", "so_hoa__num": "930",
            "so_hoa__den": "930", "toan_trinh__num": "14", "toan_trinh__den": "15",
            "h__de_xuat": "Đề nghị bổ sung máy quét tại Bộ phận Một cửa."})
        assert sent.status_code == 303, sent.text
    config = web.service.config
    with Session(web.service.engine) as session:
        period = web.ctx.periods(session)["YC-20261218"]
        result = versions.consolidation(session, config, period)
    content = render(config, result, date(2026, 12, 18), ROOT / "templates" / "docx", OPENED)
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    cells = " ".join(c.text for t in Document(io.BytesIO(content)).tables for row in t.rows for c in row.cells)
    assert "Rà soát thủ tục hành chính" in text  # the trích yếu: the request's title
    assert "báo cáo kết quả rà soát thủ tục hành chính như sau:" in text
    assert "Trên đây là báo cáo rà soát thủ tục hành chính của" in text
    assert "Đề nghị bổ sung máy quét tại Bộ phận Một cửa." in text
    names = {i.id: i.name for i in config.plan.indicators}
    assert names["toan_trinh"] in cells and names["so_hoa"] in cells
    assert names["truc_tuyen"] not in cells and names["hai_long"] not in cells
    for quarterly in ("quý", "QUÝ", "PHƯƠNG HƯỚNG", "Phương hướng", "Tuyên truyền"):
        assert quarterly not in text + cells, quarterly


def test_a_province_asks_a_bloc_of_units_or_ticks_every_box(tmp_path, web_at):
    """Seed 001: ~150 units in blocs (sở, ban, ngành; xã, phường)."""
    province = web_at(example_config(tmp_path, "001-ubnd-tinh-thi-dua"), OPENED)
    with httpx.Client(base_url=province.base) as client:
        login(client)
        page = client.get("/vp/yeu-cau-moi")
        assert re.search(r"<legend>UBND xã, phường</legend>\s*<label class=\"choice\"><input type=\"checkbox\" "
                         r"name=\"nhom__xa-phuong\" value=\"1\"> <span><strong>Cả khối</strong> \(\d+ đơn vị\)", page.text)
        units = re.findall(r'name="(dv__[\w-]+)"', page.text)
        indicator = re.search(r'name="(ct__[\w.-]+)"', page.text).group(1)
        assert len(units) > 100
        everyone = {u: "1" for u in units}  # every box of a province's form: within the form's limits
        opened = client.post("/vp/yeu-cau-moi", data=everyone | {
            "csrf": csrf_of(page), "ten": "Báo cáo nhanh", "han": "2026-12-18", indicator: "1",
            "nghia_vu": re.search(r'name="nghia_vu" value="([\w.-]+)"', page.text).group(1)})
        assert opened.status_code == 303, opened.text
        grouped = client.post("/vp/yeu-cau-moi", data={
            "csrf": csrf_of(page), "ten": "Báo cáo nhanh của xã", "han": "2026-12-18", indicator: "1",
            "nhom__xa-phuong": "1", "nghia_vu": re.search(r'name="nghia_vu" value="([\w.-]+)"', page.text).group(1)})
        assert grouped.status_code == 303, grouped.text
    rows = {r.title: r for r in requests_stored(province)}
    config = province.service.config
    communes = [u.code for u in config.units if u.group == "xa-phuong" and u.active]
    assert rows["Báo cáo nhanh của xã"].units == communes and len(rows["Báo cáo nhanh"].units) == len(units)


def test_a_trong_do_child_is_listed_under_its_parent_and_needs_it(tmp_path, web_at):
    """Seed 003: "trước và đúng hạn, trong đó trước hạn", and two obligations, the one whose lists
    are shown picked first by a plain GET form."""
    plans = web_at(example_config(tmp_path, "003-kiem-soat-tthc"), OPENED)
    config = plans.service.config
    ob = next(o for o in config.plan.obligations if "truoc_han" in o.indicators)
    other = next(o for o in config.plan.obligations if o.id != ob.id)
    with httpx.Client(base_url=plans.base) as client:
        login(client)
        page = client.get(f"/vp/yeu-cau-moi?nghia_vu={other.id}")
        assert f'<option value="{other.id}" selected>' in page.text
        assert f'name="nghia_vu" value="{other.id}"' in page.text
        page = client.get(f"/vp/yeu-cau-moi?nghia_vu={ob.id}")
        assert re.search(r'name="ct__dung_han" value="1"> <span>[^<]+</span></label>\s*'
                         r'<label class="choice child"><input type="checkbox" name="ct__truoc_han" value="1"> '
                         r'<span>Trong đó: Hồ sơ TTHC trả trước hạn</span>', page.text)
        alone = client.post("/vp/yeu-cau-moi", data={"csrf": csrf_of(page), "nghia_vu": ob.id, "ten": "Báo cáo nhanh",
                                                    "han": "2026-12-18", "ct__truoc_han": "1"})
        assert alone.status_code == 422
        assert re.search(r'id="chi_tieu-loi">“Trong đó: Hồ sơ TTHC trả trước hạn” tính trên mẫu số của chỉ tiêu '
                         r'“Hồ sơ TTHC được giải quyết trước và đúng hạn”: chọn cả chỉ tiêu đó', alone.text)
        assert f'name="nghia_vu" value="{ob.id}"' in alone.text  # still the obligation it was about
        both = client.post("/vp/yeu-cau-moi", data={"csrf": csrf_of(page), "nghia_vu": ob.id, "ten": "Báo cáo nhanh",
                                                   "han": "2026-12-18", "ct__truoc_han": "1", "ct__dung_han": "1"})
        assert both.status_code == 303
    (row,) = requests_stored(plans)
    assert (row.obligation, row.indicators, row.headings) == (ob.id, ["dung_han", "truoc_han"], [])


@pytest.mark.parametrize("title, words", [
    ("Báo cáo rà soát thủ tục hành chính", "rà soát thủ tục hành chính"),
    ("Báo cáo kết quả rà soát TTHC đủ điều kiện toàn trình", "rà soát TTHC đủ điều kiện toàn trình"),
    ("BÁO CÁO KẾT QUẢ RÀ SOÁT TTHC", "rà soát TTHC"),
])
def test_a_plans_opening_and_closing_word_a_request_by_its_own_title(title, words):
    """Seed 001's sentences name the campaign ("kết quả thực hiện phong trào thi đua {ky}"); a
    request's report says what the request is about, with one "kết quả"."""
    from scheduler.config.load import load_config
    from scheduler.policy.periods import Period
    from scheduler.report import sections

    config = load_config(SHIPPED_CONFIG / "examples" / "001-ubnd-tinh-thi-dua")
    like = config.plan.obligations[0].id
    request = Period("YC-20261218", like, title, date(2026, 12, 10), date(2026, 12, 18), date(2026, 12, 18))
    opening = sections.sentence(config.part_of(request).report.opening, config, request)
    assert opening.endswith(f"báo cáo kết quả {words} như sau:"), opening
    assert "phong trào thi đua" not in opening.split("báo cáo kết quả")[-1]
    closing = sections.sentence(config.part_of(request).report.closing, config, request)
    assert closing.startswith(f"Trên đây là báo cáo kết quả {words} của "), closing
    default = sections.sentence("{co_quan} báo cáo kết quả {ky} như sau:", config, request)
    assert default.endswith(f"báo cáo kết quả {words} như sau:") and "kết quả kết quả" not in default
    quarter = next(p for p in config.periods if p.kind == "quarter")  # a recurring period keeps the plan's words
    assert "phong trào thi đua quý" in sections.sentence(config.part_of(quarter).report.opening, config, quarter)


def test_units_are_told_of_a_request_when_it_is_opened_not_a_week_later(web, smtp_server):
    import asyncio
    import time

    with httpx.Client(base_url=web.base) as client:
        login(client)
        opened = open_subset(web, client, han="2027-01-15")  # its notice day (10 working days before) is 30/12
        assert opened.headers["location"] == "/vp/ky/YC-20270115?xong=mo-yeu-cau"
        assert "thư thông báo kèm đường dẫn tới từng đơn vị đi ngay" in client.get(opened.headers["location"]).text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(smtp_server.recorder.messages) < 2:
        time.sleep(0.05)
    mails = sorted(smtp_server.recorder.take(), key=lambda m: str(m["To"]))
    assert [m["To"].addresses[0].addr_spec for m in mails] == ["bpmc.daumoi@example.org", "vpdkdd.daumoi@example.org"]
    assert mails[0]["Subject"].startswith("[Yêu cầu báo cáo] Báo cáo rà soát thủ tục hành chính")
    assert web.link("BPMC", "YC-20270115") in mails[0].get_body(("plain",)).get_content()
    # on the notice step's own day the planner finds it sent: no second notice
    while web.service._background:
        time.sleep(0.05)
    web.clock.now = datetime(2026, 12, 30, 8, 5, tzinfo=TZ)
    asyncio.run(web.service.tick())
    assert [m for m in smtp_server.recorder.take() if m["X-Baocao-Period"] == "YC-20270115"] == []


def test_a_request_says_which_days_its_figures_cover(web):
    with httpx.Client(base_url=web.base) as client:
        login(client)
        half = open_subset(web, client, tu_ngay="2026-11-01")
        assert half.status_code == 422 and "Ghi cả ngày bắt đầu và ngày kết thúc, hoặc để trống cả hai." in half.text
        assert 'value="2026-11-01"' in half.text  # kept as typed
        backwards = open_subset(web, client, tu_ngay="2026-11-30", den_ngay="2026-11-01")
        assert backwards.status_code == 422 and "Ngày kết thúc phải sau ngày bắt đầu." in backwards.text
        assert requests_stored(web) == []
        opened = open_subset(web, client, tu_ngay="2026-11-01", den_ngay="30/11/2026")
        assert opened.status_code == 303
    [row] = requests_stored(web)
    form = httpx.get(web.base + web.link("BPMC", row.key)).text
    assert "Số liệu tính từ 01/11/2026 đến 30/11/2026." in form
