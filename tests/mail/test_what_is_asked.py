"""What a unit's mails list for the richer plans (config/examples 003, 004): only what applies
to the unit, each kind worded as it is typed, the target or that none is set, and the days
the figures cover; the receipt lists what the unit sent, counts in their unit."""

from __future__ import annotations

import email
import time
from datetime import datetime
from email.policy import default as default_policy

import httpx

from scheduler.clock import TZ
from scheduler.config.load import load_config
from scheduler.mail.compose import Composer
from tests.conftest import ROOT, example_config, open_form, tick_at
from tests.web.test_form_kinds import filled


def notice(config, period_key, unit_code, now):
    composer = Composer(ROOT / "templates", config, "baocao@example.org")
    unit = config.unit(unit_code)
    msg = composer.unit_mail("notice", config.period(period_key), unit, [unit.focal_points[0].email], [], now,
                             "<n@example.org>", "notice")
    msg = email.message_from_bytes(msg.as_bytes(), policy=default_policy)
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_the_notice_lists_what_applies_to_the_xa_with_the_child_and_the_data_range(tmp_path, smtp_server,
                                                                                    make_service):
    config_dir = example_config(tmp_path, "003-kiem-soat-tthc")
    service = make_service(smtp_server.port, config_dir=config_dir)
    tick_at(service, "2025-12-04T08:00:00+07:00")  # ten working days before 18/12/2025
    mails = [m for m in smtp_server.recorder.take() if m["X-Baocao-Period"] == "2025-H2"
             and m["X-Baocao-Step"].startswith("notice")]
    xa = next(m for m in mails if m.get_body(("plain",)).get_content().startswith("Kính gửi: Xã Yên Phong\n"))
    text = xa.get_body(("plain",)).get_content()
    assert "Số liệu tính từ 15/06/2025 đến 14/12/2025." in text
    assert "TTHC được thực hiện không phụ thuộc vào địa giới hành chính trong phạm vi cấp tỉnh — mục tiêu = 100%" in text
    assert "được đánh giá tác động, thẩm định" not in text
    assert "TTHC nội bộ trong hệ thống hành chính nhà nước" not in text
    assert ("   3) Hồ sơ TTHC được giải quyết trước và đúng hạn — mục tiêu > 90%\n"
            "      Số hồ sơ giải quyết trước và đúng hạn / Tổng số hồ sơ đã giải quyết\n"
            "      3.1) trong đó: Số hồ sơ trả trước hạn (trên cùng mẫu số “Tổng số hồ sơ đã giải quyết”)"
            " — mục tiêu > 60%\n") in text
    assert "Hoạt động của Trung tâm Phục vụ hành chính công cấp xã" in text
    so = next(m for m in mails if "Kính gửi: Sở Tư pháp\n" in m.get_body(("plain",)).get_content())
    so_text = so.get_body(("plain",)).get_content()
    assert "được đánh giá tác động, thẩm định đúng quy định" in so_text
    assert "không phụ thuộc vào địa giới hành chính" not in so_text
    assert "Hoạt động của Trung tâm Phục vụ hành chính công cấp xã" not in so_text


def test_a_count_without_target_is_listed_with_its_unit_and_the_centres_heading_only_to_the_centre(tmp_path):
    config = load_config(example_config(tmp_path, "004-truyen-thong-tthc"))
    now = datetime(2026, 3, 2, 8, tzinfo=TZ)
    text, html = notice(config, "2026-Q1", "VP", now)
    assert ("Lượt người tham dự tập huấn, hội nghị, hội thảo — không giao mục tiêu\n"
            "      số liệu: Số lượt người tham dự (lượt người)\n") in text
    assert "Số liệu tính từ 15/12/2025 đến 14/03/2026." in text
    assert "Thường xuyên tuyên truyền, đưa tin về hoạt động kiểm soát TTHC" not in text
    assert "Cập nhật, công khai TTHC tại Trung tâm Phục vụ hành chính công tỉnh" in text
    assert "số liệu: Số tin, bài đăng tải (tin, bài)" in html and "không giao mục tiêu" in html
    centre, _ = notice(config, "2026-Q1", "TTKNMT", now)
    assert "Thường xuyên tuyên truyền, đưa tin về hoạt động kiểm soát TTHC" in centre
    assert "Cập nhật, công khai TTHC tại Trung tâm Phục vụ hành chính công tỉnh" not in centre


def test_a_mean_is_listed_with_its_unit_and_its_target_at_most(tmp_path):
    config = load_config(example_config(tmp_path, "002-tuyen-quang-468"))
    text, _ = notice(config, "2022", "BPTNTKQ", datetime(2022, 12, 1, 8, tzinfo=TZ))
    assert ("Thời gian chờ đợi trung bình của người dân, doanh nghiệp tại Bộ phận tiếp nhận và trả kết quả — "
            "mục tiêu ≤ 30 phút/lượt\n      Tổng số phút chờ đợi / Số lượt giao dịch (bình quân, phút/lượt)\n") in text
    other, _ = notice(config, "2022", "TTRA", datetime(2022, 12, 1, 8, tzinfo=TZ))
    assert "Thời gian chờ đợi trung bình" not in other


def test_the_receipt_lists_what_the_unit_sent_with_counts_in_their_unit(tmp_path, web_at, smtp_server):
    web = web_at(example_config(tmp_path, "004-truyen-thong-tthc"), datetime(2026, 3, 2, 9, tzinfo=TZ))
    path = web.link("VP", "2026-Q1")
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        data = filled(web.service.config, "2026-Q1", "VP", csrf, tin_bai__num="1.234")
        assert client.post(path, data=data).status_code == 303
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            (m["X-Baocao-Step"] or "").startswith("receipt") for m in smtp_server.recorder.messages):
        time.sleep(0.05)
    receipt = next(m for m in smtp_server.recorder.messages if (m["X-Baocao-Step"] or "").startswith("receipt"))
    text = receipt.get_body(("plain",)).get_content()
    assert ("  - Tin, bài tuyên truyền đăng tải trên Báo và Phát thanh, Truyền hình Thái Nguyên, Cổng thông tin "
            "điện tử của tỉnh, Trang thông tin điện tử của Sở và của đơn vị: 1.234 tin, bài\n") in text
    assert "  - Lượt người tham dự tập huấn, hội nghị, hội thảo: 12 lượt người\n" in text
    assert "Thường xuyên tuyên truyền, đưa tin" not in text
