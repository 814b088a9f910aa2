"""A one-off request reads as one in its mails and its form: asked by its own title, never
"báo cáo Báo cáo …", never the quarterly obligation's name or "Phương hướng … quý tiếp theo",
and a form asking no figures has no empty figures section."""

from __future__ import annotations

import email
from datetime import date, datetime
from email.policy import default as default_policy

import httpx
from sqlmodel import Session

from scheduler.clock import TZ
from scheduler.collect import record
from scheduler.mail.compose import Composer
from scheduler.store import db
from tests.conftest import ROOT

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=TZ)
TITLE = "Báo cáo rà soát thủ tục hành chính"


def request_period(session, config, indicators, headings):
    row = record.open_request(session, config, TITLE, date(2026, 12, 18), config.plan.obligations[0].id,
                              ["KL"], NOW, indicators=indicators, headings=headings)
    session.commit()
    return db.request_period(row)


def texts(msg):
    msg = email.message_from_bytes(msg.as_bytes(), policy=default_policy)
    return msg["Subject"], msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_a_requests_mails_are_worded_for_a_one_off_report(shipped_config, db_url):
    engine = db.open_store(db_url)
    with Session(engine) as session:
        db.sync_config(session, shipped_config, NOW)
        period = request_period(session, shipped_config, ["so_hoa"], ["so_hoa", "phuong_huong"])
    composer = Composer(ROOT / "templates", shipped_config, "baocao@example.org")
    unit = shipped_config.unit("KL")
    notice = composer.unit_mail("notice", period, unit, ["kl@example.org"], [], NOW, "<n@example.org>", "notice", "L")
    subject, text, html = texts(notice)
    assert subject == f"[Yêu cầu báo cáo] {TITLE} – hạn trước ngày 18/12/2026"
    assert "đề nghị đơn vị gửi báo cáo rà soát thủ tục hành chính." in text
    assert f"Nội dung cần báo cáo ({TITLE}):" in text
    assert "Phương hướng, nhiệm vụ thời gian tới" in text and "quý tiếp theo" not in text + html
    assert "hằng quý" not in text + html and "kỳ báo cáo" not in subject
    _, text, _ = texts(composer.unit_mail("overdue", period, unit, ["kl@example.org"], [],
                                          datetime(2026, 12, 19, 8, tzinfo=TZ), "<o@example.org>", "overdue", "L"))
    assert "chưa nhận được báo cáo rà soát thủ tục hành chính của đơn vị" in text
    assert "báo cáo Báo cáo" not in text
    # a recurring period keeps its own words
    _, text, _ = texts(composer.unit_mail("notice", shipped_config.period("2026-Q4"), unit, ["kl@example.org"], [], NOW,
                                          "<q@example.org>", "notice", "L"))
    assert "thông báo kỳ báo cáo Quý IV/2026." in text and "Phương hướng, nhiệm vụ quý tiếp theo" in text
    engine.dispose()


def test_a_request_asking_only_texts_has_no_figures_section_on_its_form(web):
    with Session(web.service.engine) as session:
        period = request_period(session, web.service.config, [], ["so_hoa"])
    page = httpx.get(web.base + web.link("KL", period.key)).text
    assert "Số liệu các chỉ tiêu" not in page and "mẫu XLSX" not in page
    assert "<h2>I. Thuyết minh</h2>" in page and "<h2>II. Người gửi</h2>" in page
