"""The console's actions over HTTP, for what a browser walk does not show: a resend goes once
however the button is pressed, never to a unit that has reported, and copies the head only as
its step does and never on a unit's first mail; "nhập hộ" and "trả lại để sửa" refuse bad input
beside the field, keeping what was typed, and store nothing."""

from __future__ import annotations

import re
from contextlib import closing
import time

import httpx
from sqlmodel import Session, select

from tests.conftest import login, open_form, valid_form


def office(web) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=web.base)
    login(client)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/vp/ky/2026-Q4").text).group(1)
    return client, token


def sends(web, unit: str):
    from scheduler.store.tables import SendRow

    with Session(web.service.engine) as session:
        return session.exec(select(SendRow).where(SendRow.audience == unit).order_by(SendRow.id)).all()


def delivered(recorder, step: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in recorder.messages if m["X-Baocao-Step"] == step]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {step} mail")


def test_a_resend_goes_once_to_the_focal_points_and_never_to_a_unit_that_reported(web, smtp_server):
    client, token = office(web)
    with closing(client):
        first = client.post("/vp/ky/2026-Q4/don-vi/KL/gui-lai", data={"csrf": token})
        again = client.post("/vp/ky/2026-Q4/don-vi/KL/gui-lai", data={"csrf": token})  # a double click
        assert first.headers["location"] == "/vp/ky/2026-Q4?xong=gui-lai&dv=KL"
        assert again.headers["location"] == "/vp/ky/2026-Q4?xong=gui-lai-vua-gui&dv=KL"
        assert "vừa được gửi lại cách đây ít phút" in client.get(again.headers["location"]).text
        [row] = [r for r in sends(web, "KL") if r.step.startswith("resend-")]
        # the mail of the step whose day has come (02/12: the reminder), to the focal points only
        assert (row.kind, row.step, row.cc_addrs) == ("reminder", "resend-1", [])
        [mail] = delivered(smtp_server.recorder, "resend-1")
        assert "kiemlam" in str(mail["To"]) and mail["Cc"] is None
        assert web.link("KL") in mail.get_body(("plain",)).get_content()

        with httpx.Client(base_url=web.base) as unit:
            _, csrf = open_form(unit, web.link("TTRA"))
            assert unit.post(web.link("TTRA"), data=valid_form(csrf=csrf)).status_code == 303
        reported = client.post("/vp/ky/2026-Q4/don-vi/TTRA/gui-lai", data={"csrf": token})
        assert reported.headers["location"] == "/vp/ky/2026-Q4?xong=gui-lai-da-nop&dv=TTRA"
        assert not [r for r in sends(web, "TTRA") if r.step.startswith("resend-")]


def test_a_resend_after_the_deadline_is_the_overdue_mail_with_the_head_copied_once_the_unit_was_told(web, smtp_server):
    from datetime import timedelta

    client, token = office(web)
    with closing(client):
        assert client.post("/vp/ky/2026-Q4/don-vi/KL/gui-lai", data={"csrf": token}).status_code == 303
    web.clock.now += timedelta(days=5)  # 07/12, after the deadline; the office logs in again that day
    client, token = office(web)
    with closing(client):
        assert client.post("/vp/ky/2026-Q4/don-vi/KL/gui-lai", data={"csrf": token}).status_code == 303
        second = [r for r in sends(web, "KL") if r.step == "resend-2"][0]
        assert second.kind == "overdue" and second.cc_addrs == [web.service.config.unit("KL").head.email]


def test_entering_a_paper_report_refuses_bad_times_beside_the_field_and_keeps_the_figures(web):
    from scheduler.store.tables import Submission

    client, token = office(web)
    with closing(client):
        form = valid_form(csrf=token, received_at="31/11/2026 08:00", channel="Bản giấy", note="")
        bad = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form)
        assert bad.status_code == 422
        assert "Ghi thời điểm nhận dạng DD/MM/YYYY HH:MM" in bad.text and 'value="1250"' in bad.text
        assert re.search(r'name="received_at"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="received_at"', bad.text)
        future = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form | {"received_at": "03/12/2026 08:00"})
        assert future.status_code == 422 and "Thời điểm nhận ở tương lai" in future.text
        channel = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form | {"received_at": "01/12/2026 08:00",
                                                                               "channel": "Bồ câu"})
        assert channel.status_code == 422 and "Chọn hình thức Văn phòng nhận báo cáo." in channel.text
        with Session(web.service.engine) as session:
            assert session.exec(select(Submission)).all() == []
    # late paper: on time or late by when it reached the office, not by when it was typed
    web.clock.now = web.clock.now.replace(day=8)
    client, token = office(web)
    with closing(client):
        form["csrf"] = token
        done = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form | {"received_at": "04/12/2026 16:30"})
        assert done.status_code == 303
        with Session(web.service.engine) as session:
            [sub] = session.exec(select(Submission)).all()
        assert sub.on_time and sub.channel == "office" and sub.note == "Bản giấy"
        history = client.get("/vp/ky/2026-Q4/don-vi/TTRA").text
        assert "(đúng hạn; Văn phòng nhập hộ: Bản giấy" in history


def test_a_return_needs_a_comment_and_the_newest_revision(web):
    from scheduler.store.tables import Review

    with httpx.Client(base_url=web.base) as unit:
        _, csrf = open_form(unit, web.link("KL"))
        assert unit.post(web.link("KL"), data=valid_form(csrf=csrf)).status_code == 303
    client, token = office(web)
    with closing(client):
        empty = client.post("/vp/ky/2026-Q4/don-vi/KL/tra-lai", data={"csrf": token, "ban": "1", "comment": "  "})
        assert empty.status_code == 422 and "Ghi ý kiến của Văn phòng: đơn vị cần biết phải sửa gì." in empty.text
        stale = client.post("/vp/ky/2026-Q4/don-vi/KL/tra-lai", data={"csrf": token, "ban": "0", "comment": "Sửa mục 5."})
        assert stale.status_code == 422 and "Sửa mục 5." in stale.text  # what was typed is kept
        with Session(web.service.engine) as session:
            assert session.exec(select(Review)).all() == []
        done = client.post("/vp/ky/2026-Q4/don-vi/KL/tra-lai", data={"csrf": token, "ban": "1", "comment": "Sửa mục 5."})
        twice = client.post("/vp/ky/2026-Q4/don-vi/KL/tra-lai", data={"csrf": token, "ban": "1", "comment": "Sửa mục 5."})
        assert done.status_code == twice.status_code == 303
    with Session(web.service.engine) as session:
        assert len(session.exec(select(Review)).all()) == 1
    assert len([r for r in sends(web, "KL") if r.step == "return#1"]) == 1


def test_a_closed_period_takes_no_return_and_no_new_version_and_a_double_remake_makes_one(web, smtp_server):
    from scheduler.collect import record
    from scheduler.store.tables import ReportRow

    with httpx.Client(base_url=web.base) as unit:
        _, csrf = open_form(unit, web.link("KL"))
        assert unit.post(web.link("KL"), data=valid_form(csrf=csrf)).status_code == 303
    client, token = office(web)
    with closing(client):
        first = client.post("/vp/ky/2026-Q4/lap-lai", data={"csrf": token})
        again = client.post("/vp/ky/2026-Q4/lap-lai", data={"csrf": token})
        assert first.headers["location"] == "/vp/ky/2026-Q4?xong=lap-lai"
        assert again.headers["location"] == "/vp/ky/2026-Q4?xong=lap-lai-vua-lap"
        with Session(web.service.engine) as session:
            assert [r.version for r in session.exec(select(ReportRow)).all()] == [1]
            record.close(session, "2026-Q4", web.clock())
            session.commit()
        page = client.get("/vp/ky/2026-Q4").text
        assert "Lập lại ngay" not in page and "Mở lại kỳ…" in page
        assert "Trả lại để sửa" not in client.get("/vp/ky/2026-Q4/don-vi/KL").text
        closed = client.post("/vp/ky/2026-Q4/don-vi/KL/tra-lai", data={"csrf": token, "ban": "1", "comment": "Sửa."})
        assert closed.status_code == 409 and "không trả lại báo cáo được nữa" in closed.text
        remake = client.post("/vp/ky/2026-Q4/lap-lai", data={"csrf": token})
        assert remake.status_code == 409 and "không lập thêm bản" in remake.text
    assert [r for r in sends(web, "KL") if r.step.startswith("return#")] == []


def test_a_long_paper_report_is_taken_whole(web):
    from scheduler.store.tables import Submission

    long_text = "Đã rà soát, niêm yết công khai thủ tục hành chính tại Bộ phận Một cửa. " * 60  # ~4.000 characters
    client, token = office(web)
    with closing(client):
        form = valid_form(csrf=token, received_at="01/12/2026 08:00", channel="Công văn", note="Số 12/KL")
        form |= {f"h__{h}": long_text for h in ("tuyen_truyen", "truc_tuyen_thanh_toan", "so_hoa", "chat_luong")}
        assert len("&".join(f"{k}={v}" for k, v in form.items()).encode()) > 16 * 1024
        assert client.post("/vp/ky/2026-Q4/don-vi/KL/nhap-ho", data=form).status_code == 303
    with Session(web.service.engine) as session:
        [sub] = session.exec(select(Submission)).all()
    assert sub.narrative["so_hoa"] == long_text.strip() and sub.note == "Công văn, Số 12/KL"


def test_a_paper_report_typed_while_the_session_ended_is_kept_on_screen(web):
    from scheduler.store.tables import Submission

    client, token = office(web)
    with closing(client):
        client.get("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho")
        client.post("/vp/dang-xuat", data={"csrf": token})  # another tab logs out
        form = valid_form(csrf=token, received_at="01/12/2026 08:00", channel="Bản giấy", note="Số 7/TTr")
        kept = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form)
        assert kept.status_code == 403 and "Phiên đăng nhập của Văn phòng đã hết" in kept.text
        assert 'value="Số 7/TTr"' in kept.text and 'value="1250"' in kept.text and "Nội dung phuong_huong." in kept.text
        with Session(web.service.engine) as session:
            assert session.exec(select(Submission)).all() == []
        login(client)  # in another tab; the page's own token still goes with its cookie
        assert client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form).status_code == 303
    refused = httpx.post(f"{web.base}/vp/ky/2026-Q4/don-vi/KL/gui-lai", data={"csrf": token})
    assert refused.status_code == 403 and 'href="/vp/dang-nhap"' in refused.text


def test_a_paper_report_older_than_the_newest_revision_is_refused(web):
    with httpx.Client(base_url=web.base) as unit:  # online, 02/12 09:00
        _, csrf = open_form(unit, web.link("TTRA"))
        assert unit.post(web.link("TTRA"), data=valid_form(csrf=csrf)).status_code == 303
    client, token = office(web)
    with closing(client):
        form = valid_form(csrf=token, received_at="01/12/2026 15:30", channel="Bản giấy", note="")
        older = client.post("/vp/ky/2026-Q4/don-vi/TTRA/nhap-ho", data=form)
        assert older.status_code == 422 and "Trước bản thứ 1 đã có (nhận lúc 09:00 Thứ Tư 02/12/2026)" in older.text
