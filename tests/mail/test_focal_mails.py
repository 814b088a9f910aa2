"""What a focal point, a unit head and the office read (issue 14): the first screen of a unit's
mail on a phone says what, by when, and has the button to the form; the return-for-correction
and approval mails; reminders and receipts that know a report waits for the head; a digest that
names whom to call."""

from __future__ import annotations

import email
import os
import shutil
import smtplib
from datetime import datetime
from email.policy import default as default_policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from scheduler.clock import TZ
from scheduler.collect.record import Standing
from scheduler.mail.compose import Composer
from tests.conftest import ROOT

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)
LATE_NOW = datetime(2026, 12, 7, 8, 0, tzinfo=TZ)
SENT = datetime(2026, 12, 1, 10, 15, tzinfo=TZ)
LINK = "https://baocao.example.org/f/Abc-123_xyz"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def composer(shipped_config):
    return Composer(ROOT / "templates", shipped_config, "baocao@example.org")


def reparse(msg):
    return email.message_from_bytes(msg.as_bytes(), policy=default_policy)


def bodies(msg) -> tuple[str, str]:
    msg = reparse(msg)
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def reminder(composer, config, kind="reminder", now=NOW, **extra):
    return composer.unit_mail(kind, config.period("2026-Q4"), config.unit("BPMC"), ["bpmc.daumoi@example.org"],
                              [], now, "<r@example.org>", kind, LINK, **extra)


@pytest.mark.parametrize("kind, when", [("notice", datetime(2026, 11, 20, 8, 0, tzinfo=TZ)), ("reminder", NOW),
                                        ("overdue", LATE_NOW)])
def test_the_top_of_every_unit_mail_says_what_by_when_and_opens_the_form(composer, shipped_config, kind, when):
    text, html = bodies(reminder(composer, shipped_config, kind, when))
    head = text.split("Nội dung cần báo cáo")[0]
    assert "Quý IV/2026" in head and "Hạn nộp: trước ngày Thứ Bảy, 05/12/2026 — " in head
    assert f"Mở biểu mẫu báo cáo: {LINK}\n" in head  # the link before the list of what is asked
    assert len(head.splitlines()) <= 10
    button = html.index(f'<a href="{LINK}"')
    assert html.index("Hạn nộp") < button < html.index("<table style=\"border-collapse:collapse\"")
    assert html[button:].split(">", 1)[1].startswith("Mở biểu mẫu báo cáo</a>")
    assert "Mọi thắc mắc xin liên hệ: Văn phòng Sở Nông nghiệp và Môi trường" in text  # units are told whom to ask
    assert "Đơn vị đã nộp báo cáo kỳ này sẽ không nhận thêm thư nhắc." in text


def test_days_left_and_days_late_are_on_the_first_lines(composer, shipped_config):
    reminded, _ = bodies(reminder(composer, shipped_config))
    late, _ = bodies(reminder(composer, shipped_config, "overdue", LATE_NOW))
    assert "Hạn nộp: trước ngày Thứ Bảy, 05/12/2026 — còn 3 ngày." in reminded.splitlines()[:5]
    assert "Hạn nộp: trước ngày Thứ Bảy, 05/12/2026 — đơn vị đã quá hạn 3 ngày." in late.splitlines()[:5]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_on_a_phone_the_button_is_on_the_first_screen(composer, shipped_config):
    from playwright.sync_api import sync_playwright

    _, html = bodies(reminder(composer, shipped_config))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport=PHONE)
        page.set_content(html)
        button = page.get_by_role("link", name="Mở biểu mẫu báo cáo", exact=True)
        box = button.bounding_box()
        deadline = page.get_by_text("trước ngày Thứ Bảy, 05/12/2026").first.bounding_box()
        wide = page.evaluate("document.documentElement.scrollWidth")
        if os.environ.get("BAOCAO_SHOTS"):  # screenshots to look at, never committed
            page.screenshot(path=str(Path(os.environ["BAOCAO_SHOTS"]) / "reminder-390.png"))
        browser.close()
    assert box["y"] + box["height"] <= PHONE["height"] / 2  # well within the first screen
    assert box["height"] >= 44 and box["width"] >= 200  # a thumb's target, not a line of text
    assert deadline["y"] < box["y"]
    assert wide <= PHONE["width"]  # nothing to scroll sideways


def test_a_reminder_to_a_unit_whose_head_has_not_approved_says_so(composer, shipped_config):
    for kind, now in (("reminder", NOW), ("overdue", LATE_NOW)):
        msg = reparse(reminder(composer, shipped_config, kind, now, awaiting=(2, SENT)))
        assert msg["Subject"].endswith(" — chờ Thủ trưởng duyệt")
        text = msg.get_body(("plain",)).get_content()
        assert ("Báo cáo Quý IV/2026 của đơn vị (bản thứ 2, gửi lúc 10:15 Thứ Ba 01/12/2026)\n"
                "đang chờ Thủ trưởng duyệt: báo cáo chỉ được tính là đã nộp khi Thủ trưởng đơn vị duyệt.") in text
        assert "chưa nhận được báo cáo" not in text
        assert "Đơn vị đã nộp báo cáo kỳ này" not in text  # it has, and reminders still come
        assert "Khi Thủ trưởng đơn vị đã duyệt báo cáo, đơn vị sẽ không nhận thêm thư nhắc." in text
        assert f"Mở biểu mẫu báo cáo: {LINK}" in text
    assert reparse(reminder(composer, shipped_config))["Subject"] == (
        "[Nhắc báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026")


def test_a_receipt_says_the_report_went_to_the_head_for_approval(composer, shipped_config):
    def receipt(**extra):
        return bodies(composer.receipt(shipped_config.period("2026-Q4"), shipped_config.unit("BPMC"),
                                       ["bpmc.daumoi@example.org"], 2, SENT, True, {}, {}, NOW, "<c@example.org>",
                                       LINK, **extra))[0]

    waiting, plain = receipt(awaiting_head=True), receipt()
    assert ("Báo cáo đã được gửi Thủ trưởng đơn vị để duyệt; báo cáo được tính là đã nộp khi Thủ trưởng duyệt."
            in waiting)
    assert "Thủ trưởng" not in plain


def returned_mail(composer, config, now=NOW, comment="Số hồ sơ số hoá chưa khớp <sổ theo dõi> & “biên bản”.\n"
                                                     "Đề nghị kiểm tra lại."):
    return composer.returned(config.period("2026-Q4"), config.unit("BPMC"), ["bpmc.daumoi@example.org"],
                             ["bpmc.truongdonvi@example.org"], 2, SENT, comment, now, "<t@example.org>", LINK,
                             "returned#2")


def test_a_report_returned_for_correction_quotes_the_comment_and_opens_the_form(composer, shipped_config):
    msg = reparse(returned_mail(composer, shipped_config))
    assert msg["Subject"] == "[Trả lại để sửa] Quý IV/2026 – Bộ phận Một cửa của Sở (bản thứ 2)"
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["bpmc.truongdonvi@example.org"]
    assert msg["X-Baocao-Step"] == "returned#2"
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    assert ("Văn phòng Sở trả lại báo cáo Quý IV/2026 của đơn vị\n"
            "(bản thứ 2, nhận lúc 10:15 Thứ Ba 01/12/2026) để sửa, với ý kiến:\n\n"
            "  > Số hồ sơ số hoá chưa khớp <sổ theo dõi> & “biên bản”.\n  > Đề nghị kiểm tra lại.\n") in text
    assert "Đề nghị đơn vị sửa và gửi lại trước ngày Thứ Bảy, 05/12/2026 — còn 3 ngày." in text
    assert f"Mở biểu mẫu báo cáo: {LINK}" in text
    assert 'hiển thị trạng thái "trả lại để sửa" cho đến khi đơn vị gửi báo cáo đã sửa' in text
    assert "chưa khớp &lt;sổ theo dõi&gt; &amp; “biên bản”." in html and "<sổ theo dõi>" not in html
    assert html.index("<blockquote") < html.index(f'<a href="{LINK}"')
    late = bodies(returned_mail(composer, shipped_config, LATE_NOW))[0]
    assert "Hạn nộp (trước ngày Thứ Bảy, 05/12/2026) đã qua: đề nghị đơn vị sửa và gửi lại sớm" in late
    assert "không nhận thêm thư nhắc" not in text  # it has sent, and is still asked to send again


def test_a_return_by_the_units_own_head_says_who_returned_it(composer, shipped_config):
    msg = composer.returned(shipped_config.period("2026-Q4"), shipped_config.unit("BPMC"),
                            ["bpmc.daumoi@example.org"], [], 1, SENT, "Bổ sung phần tồn tại.", NOW,
                            "<h@example.org>", LINK, "returned#1", by_head=True)
    assert "Thủ trưởng đơn vị trả lại báo cáo Quý IV/2026 của đơn vị" in bodies(msg)[0]


def test_the_head_is_asked_to_approve_what_the_focal_point_sent(composer, shipped_config):
    approve = "https://baocao.example.org/duyet/Zz9"
    msg = reparse(composer.approval(
        shipped_config.period("2026-Q4"), shipped_config.unit("BPMC"), ["bpmc.truongdonvi@example.org"], 2, SENT,
        "Nguyễn Thị Hồng Nhung, chuyên viên", {"so_hoa": {"num": 930, "den": 930}, "thanh_toan": None},
        {"chat_luong": "Đã rút ngắn thời gian chờ."}, NOW, "<d@example.org>", approve, "approval#2"))
    assert msg["Subject"] == "[Đề nghị duyệt báo cáo] Quý IV/2026 – Bộ phận Một cửa của Sở (bản thứ 2)"
    assert str(msg["To"]) == "Trần Văn Hùng <bpmc.truongdonvi@example.org>"
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    assert text.startswith("Kính gửi: Đồng chí Trần Văn Hùng, Thủ trưởng Bộ phận Một cửa của Sở\n")
    assert "(bản thứ 2, lúc 10:15 Thứ Ba 01/12/2026;\nngười gửi: Nguyễn Thị Hồng Nhung, chuyên viên)" in text
    assert "Báo cáo chỉ được tính là đã nộp khi Thủ trưởng duyệt." in text
    assert f"Xem và duyệt báo cáo: {approve}\n" in text.split("Nội dung đầu mối đã gửi")[0]
    assert "  - Hồ sơ, kết quả giải quyết TTHC được số hoá theo quy định: 930 / 930\n" in text
    assert "  - Thanh toán trực tuyến: Không phát sinh\n" in text
    assert "Nâng cao chất lượng phục vụ người dân, doanh nghiệp:\nĐã rút ngắn thời gian chờ." in text
    button = html.index(f'<a href="{approve}"')
    assert html[button:].split(">", 1)[1].startswith("Xem và duyệt báo cáo</a>")
    assert button < html.index("Nội dung đầu mối đã gửi")


def test_new_mails_survive_a_real_smtp_round_trip(composer, shipped_config, smtp_server):
    sent = [returned_mail(composer, shipped_config), reminder(composer, shipped_config, awaiting=(2, SENT))]
    with smtplib.SMTP("127.0.0.1", smtp_server.port) as smtp:
        for msg in sent:
            smtp.send_message(msg)
    got = smtp_server.recorder.take()
    assert [m["Subject"] for m in got] == [
        "[Trả lại để sửa] Quý IV/2026 – Bộ phận Một cửa của Sở (bản thứ 2)",
        "[Nhắc báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026 — chờ Thủ trưởng duyệt"]
    assert "  > Số hồ sơ số hoá chưa khớp <sổ theo dõi> & “biên bản”." in got[0].get_body(("plain",)).get_content()


def standing(config, code, state, at=None):
    history = [SimpleNamespace(received_at=at, on_time=state == "on_time")] if at else []
    return Standing(code, config.unit(code).name, state, history)


def test_the_digest_names_whom_to_call_and_never_tells_the_office_to_call_itself(composer, shipped_config):
    states = [standing(shipped_config, "KHTC", "on_time", datetime(2026, 12, 4, 16, 0, tzinfo=TZ)),
              standing(shipped_config, "TTRA", "late", datetime(2026, 12, 6, 9, 0, tzinfo=TZ)),
              standing(shipped_config, "BPMC", "missing")]
    text, html = bodies(composer.digest(shipped_config.period("2026-Q4"), states, ["vanphong@example.org"],
                                        LATE_NOW, "<g@example.org>"))
    assert ("Nộp muộn: 1 đơn vị\n  - Thanh tra Sở (09:00 Chủ nhật 06/12/2026)\n"
            "    Đầu mối: Lê Minh Tuấn, thanhtra.daumoi@example.org\n") in text
    assert ("Chưa nộp: 1 đơn vị\n  - Bộ phận Một cửa của Sở\n    Đầu mối: Nguyễn Thị Hồng Nhung, "
            "bpmc.daumoi@example.org; Nguyễn Văn An, điện thoại 0222 3855 xxx\n") in text
    assert "  - Phòng Kế hoạch - Tài chính (16:00 Thứ Sáu 04/12/2026)\n" in text  # on time: nobody to call
    assert "Nguyễn Văn An, điện thoại 0222 3855 xxx" in html
    for body in (text, html):
        assert "Mọi thắc mắc" not in body and "không nhận thêm thư nhắc" not in body


def test_the_report_mail_to_the_office_does_not_tell_it_to_contact_itself(composer, shipped_config):
    msg = composer.report(shipped_config.period("2026-Q4"), 1, "bao-cao.docx", b"PK", LATE_NOW,
                          {"reported": 2, "total": 18, "on_time": 1, "late": 1, "missing": 16}, [],
                          ["vanphong@example.org"], LATE_NOW, "<p@example.org>")
    text, html = bodies(msg)
    assert "Mọi thắc mắc" not in text and "Mọi thắc mắc" not in html
    assert "Vui lòng không trả lời thư này." in text


def test_the_digest_tells_sent_but_waiting_for_the_head_and_sent_back_from_missing(composer, shipped_config):
    waiting = standing(shipped_config, "KL", "missing")
    waiting = Standing(waiting.code, waiting.name, "missing", [],
                       awaiting=SimpleNamespace(revision=1, received_at=datetime(2026, 12, 3, 10, 0, tzinfo=TZ)))
    back = standing(shipped_config, "TTRA", "on_time", datetime(2026, 12, 2, 9, 0, tzinfo=TZ))
    back = Standing(back.code, back.name, "on_time", back.history, returned=SimpleNamespace(revision=1))
    states = [back, waiting, standing(shipped_config, "BPMC", "missing")]
    text, html = bodies(composer.digest(shipped_config.period("2026-Q4"), states, ["vanphong@example.org"],
                                        LATE_NOW, "<g@example.org>"))
    assert "  - Thanh tra Sở (09:00 Thứ Tư 02/12/2026) — đã trả lại để sửa, chờ bản sửa\n" in text
    assert ("Đã gửi, chờ Thủ trưởng đơn vị duyệt: 1 đơn vị (chưa tính là đã nộp)\n"
            "  - Chi cục Kiểm lâm (gửi lúc 10:00 Thứ Năm 03/12/2026)\nChưa nộp: 1 đơn vị\n  - Bộ phận Một cửa của Sở\n") in text
    assert "Chờ" not in text.split("Đã nộp đúng hạn")[0] and "chờ Thủ trưởng đơn vị duyệt: 1 đơn vị" in html
