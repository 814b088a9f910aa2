"""What a focal point reads: decoded subjects and bodies, and headers nobody can inject into."""

from __future__ import annotations

import email
import json
from email.header import decode_header, make_header
from email.policy import compat32
from datetime import datetime
from email.policy import default as default_policy

import pytest

from scheduler.clock import TZ
from scheduler.mail.compose import Composer, remaining
from tests.conftest import ROOT, edit, tick_at

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)


def reparse(msg):
    """As the recipient's client sees it: the bytes on the wire, parsed again."""
    return email.message_from_bytes(msg.as_bytes(), policy=default_policy)


def test_reminder_subject_and_body_read_correctly_in_vietnamese(shipped_config):
    composer = Composer(ROOT / "templates", shipped_config, "baocao@example.org")
    unit = shipped_config.unit("TTBVTV")
    msg = reparse(composer.unit_mail("reminder", shipped_config.period("2026-Q4"), unit,
                                     ["ttbvtv.daumoi@example.org"], [], NOW, "<a@example.org>", "reminder-3"))
    assert msg["Subject"] == "[Nhắc báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026"
    assert str(msg["To"]) == "Hà Thị Thu Trang <ttbvtv.daumoi@example.org>"
    assert str(msg["From"]) == "Văn phòng Sở <baocao@example.org>"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Message-ID"] == "<a@example.org>"
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("Kính gửi: Chi cục Trồng trọt và Bảo vệ thực vật\n")
    assert "Hạn nộp: trước ngày Thứ Bảy, 05/12/2026 — còn 3 ngày." in text
    assert "Mức độ hài lòng của người dân, doanh nghiệp — mục tiêu > 95%" in text
    assert "Tồn tại, hạn chế và nguyên nhân (bắt buộc khi có chỉ tiêu chưa đạt)" in text
    assert "Văn phòng Sở Nông nghiệp và Môi trường — điện thoại" in text
    html = msg.get_body(("html",)).get_content()
    assert '<html lang="vi">' in html and "<strong>trước ngày Thứ Bảy, 05/12/2026</strong>" in html


def test_long_vietnamese_names_stay_separate_recipients(shipped_config):
    composer = Composer(ROOT / "templates", shipped_config, "baocao@example.org")
    unit = shipped_config.unit("BPMC")
    to = ["bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"]
    msg = reparse(composer.unit_mail("overdue", shipped_config.period("2026-Q4"), unit, to,
                                     ["bpmc.truongdonvi@example.org"], NOW, "<b@example.org>", "overdue+1"))
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Nguyễn Thị Hồng Nhung", "bpmc.daumoi@example.org"), ("Nguyễn Văn An", "bpmc.tiepnhan@example.org")]
    assert [(a.display_name, a.addr_spec) for a in msg["Cc"].addresses] == [
        ("Trần Văn Hùng", "bpmc.truongdonvi@example.org")]
    headers = msg.as_bytes().split(b"\n\n")[0]
    assert all(len(line) <= 78 for line in headers.split(b"\n"))


def test_notice_counts_days_left_and_overdue_counts_days_late():
    from datetime import date
    due = date(2026, 12, 5)
    assert remaining(due, date(2026, 11, 20)) == "còn 15 ngày"
    assert remaining(due, date(2026, 12, 4)) == "hôm nay là ngày cuối cùng"
    assert remaining(due, date(2026, 12, 5)) == "đã quá hạn 1 ngày"
    assert remaining(due, date(2026, 12, 9)) == "đã quá hạn 5 ngày"


def test_quotes_and_angle_brackets_in_names_cannot_inject_headers(config_dir, smtp_server, make_service):
    hostile = 'Nguyễn "Văn" <A>, Bcc: victim@evil.example'
    units = config_dir / "units.yaml"
    edit(units, "      - name: Nguyễn Thị Hồng Nhung", f"      - name: {json.dumps(hostile, ensure_ascii=False)}")
    edit(units, "name: Bộ phận Một cửa của Sở", 'name: "Bộ phận <Một cửa> & \\"Tiếp nhận\\""')
    service = make_service(smtp_server.port, config_dir=config_dir)
    tick_at(service, "2026-12-02T08:00:00+07:00")
    msg = next(m for m in smtp_server.recorder.take() if "bpmc.daumoi@example.org" in str(m["To"]))
    assert msg["Bcc"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"]
    # Display names as a mail client decodes them (RFC 2047; Python's own address parser keeps
    # the fold between two encoded words as a space, which the RFC says to drop).
    raw = next(r for r in smtp_server.recorder.raw if b"<bpmc.daumoi@example.org>" in r)
    raw_to = email.message_from_bytes(raw, policy=compat32)["To"]
    assert str(make_header(decode_header(raw_to))) == (
        f"{hostile} <bpmc.daumoi@example.org>, Nguyễn Văn An <bpmc.tiepnhan@example.org>")
    rcpts = [r for _, r in smtp_server.recorder.envelopes if "bpmc.daumoi@example.org" in r][0]
    assert sorted(rcpts) == ["bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"]
    assert "Kính gửi: Bộ phận <Một cửa> & \"Tiếp nhận\"\n" in msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Bộ phận &lt;Một cửa&gt; &amp; &#34;Tiếp nhận&#34;" in html and "<Một cửa>" not in html


@pytest.mark.parametrize("hostile", [
    "Trần Thị B\r\nBcc: victim@evil.example",
    "Lê C\nSubject: giả mạo",
    "Đỗ D\x00\x1b[31m\u2028X-Evil: 1",
])
def test_line_breaks_in_names_never_become_headers(shipped_config, hostile):
    """units.yaml refuses such names; the mail layer does not rely on that."""
    from scheduler.config.model import Person, Unit

    real = shipped_config.unit("BPMC")
    unit = Unit.model_construct(**(dict(real) | {
        "name": hostile, "focal_points": [Person.model_construct(name=hostile, email="bpmc.daumoi@example.org")]}))
    composer = Composer(ROOT / "templates", shipped_config, "baocao@example.org")
    msg = reparse(composer.unit_mail("overdue", shipped_config.period("2026-Q4"), unit, ["bpmc.daumoi@example.org"],
                                     [], NOW, "<c@example.org>", "overdue+1"))
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "[Quá hạn báo cáo] Quý IV/2026 – hạn trước ngày 05/12/2026 đã qua"
    assert [a.addr_spec for a in msg["To"].addresses] == ["bpmc.daumoi@example.org"]
    assert msg["To"].addresses[0].display_name == " ".join(
        "".join(" " if ord(c) < 32 or c == "\u2028" else c for c in hostile).split())


def test_names_with_line_breaks_are_refused_in_units_yaml(config_dir):
    from scheduler.config.load import load_config
    from scheduler.config.source import ConfigError

    # a YAML escape, as an admin pasting a two-line name might end up with
    edit(config_dir / "units.yaml", "      - name: Nguyễn Thị Hồng Nhung", '      - name: "Lê C\\nSubject: giả mạo"')
    with pytest.raises(ConfigError) as exc:
        load_config(config_dir)
    assert [i.message for i in exc.value.issues] == ["có ký tự điều khiển (xuống dòng, tab…); viết trên một dòng"]


def test_the_bytes_sent_are_what_the_email_package_would_write(shipped_config):
    """compose.wire writes the SMTP bytes itself (the email package's generator costs more than
    composing): they must be the generator's, byte for byte, for every shape of message."""
    from email.policy import SMTP

    from scheduler.mail.compose import wire

    composer = Composer(ROOT / "templates", shipped_config, "baocao@example.org")
    period, unit = shipped_config.period("2026-Q4"), shipped_config.unit("BPMC")
    long_text = "Kết quả " * 200  # one line longer than SMTP allows: quoted-printable
    figures = {i.id: {"num": 3, "den": 4} for i in shipped_config.plan.indicators if i.kind == "ratio"}
    messages = [
        composer.unit_mail("notice", period, unit, ["bpmc.daumoi@example.org"], [], NOW, "<n@example.org>",
                           "notice-10", "https://baocao.example.org/f/abc"),
        composer.unit_mail("overdue", period, unit, ["bpmc.daumoi@example.org", "bpmc.tiepnhan@example.org"],
                           ["bpmc.truongdonvi@example.org"], NOW, "<o@example.org>", "overdue+1"),
        composer.receipt(period, unit, ["bpmc.daumoi@example.org"], 2, NOW, True, figures,
                         {h.id: long_text for h in shipped_config.plan.headings}, NOW, "<r@example.org>"),
        composer.report(period, 1, "bao-cao.docx", b"PK\x03\x04 not really a docx", NOW,
                        {"reported": 1, "total": 19, "on_time": 1, "late": 0, "missing": 18}, [],
                        ["vanphong@example.org"], NOW, "<v@example.org>"),
    ]
    for msg in messages:
        assert wire(msg) == msg.as_bytes(policy=SMTP)
    again = email.message_from_bytes(wire(messages[2]), policy=default_policy)
    assert again["Content-Type"].content_type == "multipart/alternative"
    assert long_text.strip() in again.get_body(("plain",)).get_content()
    assert again.get_body(("plain",))["Content-Transfer-Encoding"] == "quoted-printable"
