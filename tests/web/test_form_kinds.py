"""The unit's form for the richer plans (config/examples 002, 003, 004), over real HTTP: each unit
is asked only what applies to it; counts take one figure, means two with their unit, a "trong
đó" child one figure under its parent; targets, or none, and the days the figures cover."""

from __future__ import annotations

import re
from datetime import datetime

import httpx

from scheduler.clock import TZ
from tests.conftest import example_config, open_form, stored


def filled(config, period_key: str, unit_code: str, csrf: str, **overrides) -> dict[str, str]:
    """Every field the unit's form has, filled as a careful focal point would."""
    period, unit = config.period(period_key), config.unit(unit_code)
    data = {"csrf": csrf, "submitted_by": "Nguyễn Thu Ngân, chuyên viên"}
    for ind in config.indicators_for(period, unit):
        if ind.parent is not None:
            data[f"{ind.id}__num"] = "50"
        elif ind.kind == "count":
            data[f"{ind.id}__num"] = "12"
        else:
            data[f"{ind.id}__num"], data[f"{ind.id}__den"] = "95", "100"
    for h in config.headings_for(period, unit):
        data[f"h__{h.id}"] = f"Nội dung {h.title[:30]}."
    return data | overrides


def fieldset(page: str, ind_id: str) -> str:
    return re.search(rf'<fieldset id="ct-{ind_id}"[^>]*>.*?</fieldset>', page, re.S).group(0)


def start_003(tmp_path, web_at):
    return web_at(example_config(tmp_path, "003-kiem-soat-tthc"), datetime(2025, 12, 1, 9, tzinfo=TZ))


def test_a_xa_is_not_asked_a_so_only_indicator_and_a_posted_one_is_ignored(tmp_path, web_at):
    web = start_003(tmp_path, web_at)
    config = web.service.config
    with httpx.Client(base_url=web.base) as client:
        xa, csrf = open_form(client, web.link("XA-YENPHONG", "2025-H2"))
        assert "Xã Yên Phong" in xa.text and "Số liệu tính từ 15/06/2025 đến 14/12/2025." in xa.text
        assert 'id="ct-danh_gia_tac_dong"' not in xa.text and "đánh giá tác động, thẩm định" not in xa.text
        assert 'id="ct-phi_dia_gioi"' in xa.text  # a xã's own duty
        assert "Hoạt động của Trung tâm Phục vụ hành chính công cấp xã" in xa.text
        so, _ = open_form(client, web.link("STP", "2025-H2"))
        assert 'id="ct-danh_gia_tac_dong"' in so.text and 'id="ct-phi_dia_gioi"' not in so.text
        assert "Hoạt động của Trung tâm Phục vụ hành chính công cấp xã" not in so.text

        smuggled = filled(config, "2025-H2", "XA-YENPHONG", csrf, danh_gia_tac_dong__num="7",
                          danh_gia_tac_dong__den="9", h__kiem_soat_quy_dinh="Không phải việc của xã.")
        assert client.post(web.link("XA-YENPHONG", "2025-H2"), data=smuggled).status_code == 303
    (sub,) = stored(web, "XA-YENPHONG")
    assert "danh_gia_tac_dong" not in sub.figures and "kiem_soat_quy_dinh" not in sub.narrative
    assert sub.figures["phi_dia_gioi"] == {"num": 95, "den": 100}


def test_a_child_sits_under_its_parent_with_one_field_over_the_parents_denominator(tmp_path, web_at):
    web = start_003(tmp_path, web_at)
    with httpx.Client(base_url=web.base) as client:
        page, _ = open_form(client, web.link("XA-YENPHONG", "2025-H2"))
    child = fieldset(page.text, "truoc_han")
    assert 'class="indicator child"' in child and "3.1. Trong đó: Hồ sơ TTHC trả trước hạn" in child
    assert "Trong đó: Số hồ sơ trả trước hạn" in child and "Mục tiêu: &gt; 60%" in child
    assert "cùng mẫu số với chỉ tiêu trên (“Tổng số hồ sơ đã giải quyết”)" in child
    assert 'name="truoc_han__num"' in child and "truoc_han__den" not in page.text
    assert page.text.index('id="ct-dung_han"') < page.text.index('id="ct-truoc_han"') < page.text.index(
        'id="ct-niem_yet_pakn"')


def test_a_child_above_its_parent_is_refused_at_the_childs_field_and_nothing_is_stored(tmp_path, web_at):
    web = start_003(tmp_path, web_at)
    config = web.service.config
    path = web.link("XA-YENPHONG", "2025-H2")
    with httpx.Client(base_url=web.base) as client:
        _, csrf = open_form(client, path)
        refused = client.post(path, data=filled(config, "2025-H2", "XA-YENPHONG", csrf, dung_han__num="80",
                                                truoc_han__num="90"))
        assert refused.status_code == 422
        child = fieldset(refused.text, "truoc_han")
        assert ("“Số hồ sơ trả trước hạn” (90) lớn hơn “Số hồ sơ giải quyết trước và đúng hạn” (80): "
                "số “trong đó” là một phần của chỉ tiêu chính") in child
        assert 'value="90"' in child  # what was typed is kept
        assert '<a href="#ct-truoc_han">Hồ sơ TTHC trả trước hạn</a>' in refused.text
        assert stored(web, "XA-YENPHONG") == []
        ok = client.post(path, data=filled(config, "2025-H2", "XA-YENPHONG", csrf, dung_han__num="80",
                                           truoc_han__num="60"))
        assert ok.status_code == 303
    (sub,) = stored(web, "XA-YENPHONG")
    assert sub.figures["truoc_han"] == {"num": 60, "den": 100}  # the parent's denominator


def test_counts_without_target_take_one_figure_and_are_shown_back(tmp_path, web_at):
    web = web_at(example_config(tmp_path, "004-truyen-thong-tthc"), datetime(2026, 3, 2, 9, tzinfo=TZ))
    config = web.service.config
    path = web.link("VP", "2026-Q1")
    with httpx.Client(base_url=web.base) as client:
        page, csrf = open_form(client, path)
        box = fieldset(page.text, "tin_bai")
        assert "Không giao mục tiêu (theo dõi)" in box and "Mục tiêu:" not in box
        assert '<label for="tin_bai__num">Số tin, bài đăng tải (tin, bài)</label>' in box
        assert "tin_bai__den" not in page.text
        assert "Số liệu tính từ 15/12/2025 đến 14/03/2026." in page.text
        # the heading only for the Trung tâm Khuyến nông và Môi trường
        assert "h__ttknmt_tuyen_truyen" not in page.text and "h__cong_khai_tthc" in page.text
        centre, _ = open_form(client, web.link("TTKNMT", "2026-Q1"))
        assert "h__ttknmt_tuyen_truyen" in centre.text and "h__cong_khai_tthc" not in centre.text

        sent = client.post(path, data=filled(config, "2026-Q1", "VP", csrf, tin_bai__num="1.234"),
                           follow_redirects=True)
        assert sent.status_code == 200 and "Đã gửi báo cáo thành công" in sent.text
        assert "<td>1.234</td><td>Không giao mục tiêu</td>" in sent.text.replace("\n", "")
        again, _ = open_form(client, path)
    (sub,) = stored(web, "VP")
    assert sub.figures["tin_bai"] == {"num": 1234} and sub.figures["cuoc_thi"] == {"num": 12}
    assert 'name="tin_bai__num" value="1234"' in again.text


def test_a_mean_takes_a_total_and_its_cases_and_shows_its_target_in_its_unit(tmp_path, web_at):
    web = web_at(example_config(tmp_path, "002-tuyen-quang-468"), datetime(2022, 12, 1, 9, tzinfo=TZ))
    config = web.service.config
    path = web.link("BPTNTKQ", "2022")
    with httpx.Client(base_url=web.base) as client:
        page, csrf = open_form(client, path)
        box = fieldset(page.text, "cho_doi")
        assert "Mục tiêu: ≤ 30 phút/lượt" in box
        assert "Bình quân (phút/lượt) = Tổng số phút chờ đợi ÷ Số lượt giao dịch" in box
        assert '<label for="cho_doi__num">Tổng số phút chờ đợi</label>' in box
        assert '<label for="cho_doi__den">Số lượt giao dịch</label>' in box
        assert "Không giao mục tiêu (theo dõi)" in fieldset(page.text, "thoi_gian_xu_ly")
        assert "Không giao mục tiêu (theo dõi)" in fieldset(page.text, "luan_chuyen_dien_tu")  # from 2023 only
        other, _ = open_form(client, web.link("TTRA", "2022"))
        assert 'id="ct-cho_doi"' not in other.text and 'id="ct-so_hoa"' in other.text
        data = filled(config, "2022", "BPTNTKQ", csrf, cho_doi__num="450", cho_doi__den="20")
        assert client.post(path, data=data).status_code == 303
    (sub,) = stored(web, "BPTNTKQ")
    assert sub.figures["cho_doi"] == {"num": 450, "den": 20}  # a total may exceed its cases
