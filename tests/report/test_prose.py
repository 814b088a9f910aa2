"""The report's wording rules (scheduler/report/prose.py), one by one: what the office would
question in a sentence is decided here."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.config.measures import Indicator, parse_target
from scheduler.policy.periods import Period
from scheduler.report import prose
from scheduler.report.consolidate import IndicatorResult, Ratio

Q4 = Period("2026-Q4", "quy", "Quý IV/2026", date(2026, 10, 1), date(2026, 12, 31), date(2026, 12, 5), kind="quarter")
Q3 = Period("2026-Q3", "quy", "Quý III/2026", date(2026, 7, 1), date(2026, 9, 30), date(2026, 9, 5), kind="quarter")
Q4_2025 = Period("2025-Q4", "quy", "Quý IV/2025", date(2025, 10, 1), date(2025, 12, 31), date(2025, 12, 5), kind="quarter")


def ratio(target="≥ 90%", sentence=None, name="Hồ sơ xử lý trực tuyến"):
    return Indicator(id="truc_tuyen", name=name, numerator="Số hồ sơ xử lý trực tuyến",
                     denominator="Tổng số hồ sơ tiếp nhận", target=target, sentence=sentence)


def result(indicator, num, den, previous=None):
    total = Ratio(num, den)
    target = indicator.target_for(Q4)
    value = indicator.value({"num": num, "den": den})
    return IndicatorResult(indicator, total, 1, target.met(value) if target else None, previous, target)


def test_the_issues_own_sentence():
    ind = ratio(sentence="Toàn Sở tiếp nhận {mau_so} hồ sơ, trong đó {tu_so} hồ sơ được xử lý trực tuyến")
    r = result(ind, 4395, 4694, previous=91.5)
    assert prose.figure_sentence(r, Q4, Q3) == (
        "Toàn Sở tiếp nhận 4.694 hồ sơ, trong đó 4.395 hồ sơ được xử lý trực tuyến, đạt 93,6%, vượt mục tiêu "
        "(từ 90% trở lên); so với quý III tăng 2,1 điểm phần trăm.")


def test_without_a_sentence_the_name_leads():
    r = result(ratio(), 850, 1000)
    assert prose.figure_sentence(r, Q4) == (
        "Hồ sơ xử lý trực tuyến: 850/1.000, đạt 85%, chưa đạt mục tiêu (từ 90% trở lên), còn thiếu 5 điểm phần trăm.")


@pytest.mark.parametrize("target, num, words", [
    ("≥ 90%", 900, "hoàn thành mục tiêu (từ 90% trở lên)"),           # exactly the threshold
    ("≥ 90%", 950, "vượt mục tiêu (từ 90% trở lên)"),
    ("> 95%", 950, "chưa đạt mục tiêu (trên 95%)"),                    # 95% is not "more than 95%"
    ("= 100%", 1000, "hoàn thành mục tiêu (100%)"),
    ("= 100%", 996, "chưa đạt mục tiêu (100%), còn thiếu 0,4 điểm phần trăm"),
    ("≤ 5%", 40, "hoàn thành mục tiêu (không quá 5%)"),
    ("< 5%", 80, "chưa đạt mục tiêu (dưới 5%), vượt quá mức tối đa 3 điểm phần trăm"),
])
def test_verdicts_as_the_plan_writes_the_target(target, num, words):
    ind = ratio(target)
    assert prose.verdict(ind.value({"num": num, "den": 1000}), ind.target_for(Q4), ind) == words


def test_a_mean_and_a_count_in_their_own_units():
    wait = Indicator(id="cho", name="Thời gian chờ đợi", kind="mean", numerator="Tổng số phút chờ",
                     denominator="Số lượt", unit="phút/lượt", target="≤ 30")
    r = IndicatorResult(wait, Ratio(3700, 200), 1, True, None, wait.target_for(Q4))
    assert prose.figure_sentence(r, Q4) == "Thời gian chờ đợi: 18,5 phút/lượt, hoàn thành mục tiêu (không quá 30 phút/lượt)."
    news = Indicator(id="tin", name="Tin, bài tuyên truyền", kind="count", numerator="Số tin, bài", unit="tin, bài",
                     target="≥ 100")
    r = IndicatorResult(news, Ratio(82, None), 1, False, 90.0, news.target_for(Q4))
    assert prose.figure_sentence(r, Q4, Q4_2025) == (
        "Tin, bài tuyên truyền: 82 tin, bài, chưa đạt mục tiêu (từ 100 tin, bài trở lên), còn thiếu 18 tin, bài; "
        "so với quý IV năm 2025 giảm 8 tin, bài.")


def test_no_figures_is_said_plainly():
    r = IndicatorResult(ratio(), None, 0, None, None, ratio().target_for(Q4))
    assert prose.figure_sentence(r, Q4) == "Hồ sơ xử lý trực tuyến: chưa có số liệu."


@pytest.mark.parametrize("text, paragraph", [
    ("- Tổ chức 02 hội nghị.\n- Niêm yết hướng dẫn tại trụ sở", "- Phòng A: Tổ chức 02 hội nghị; niêm yết hướng dẫn tại trụ sở."),
    ("1. Phát tờ rơi\n2. Hướng dẫn qua Zalo\r\n", "- Phòng A: Phát tờ rơi; hướng dẫn qua Zalo."),
    ("a) Số hoá 100% hồ sơ;\nb) UBND xã phối hợp", "- Phòng A: Số hoá 100% hồ sơ; UBND xã phối hợp."),
    ("• Tiếp nhận qua Cổng dịch vụ công\n• Sở Tư pháp hỗ trợ", "- Phòng A: Tiếp nhận qua Cổng dịch vụ công; Sở Tư pháp hỗ trợ."),
    ("Lắp thiết bị đánh giá (tại quầy)", "- Phòng A: Lắp thiết bị đánh giá (tại quầy)."),
    ("Tổ chức hội nghị “Một cửa”", "- Phòng A: Tổ chức hội nghị “Một cửa”."),
    ("Một dòng.\n\n- Không có\n", "- Phòng A: Một dòng."),
])
def test_a_units_text_becomes_one_paragraph_under_its_name(text, paragraph):
    assert prose.unit_paragraph("Phòng A", text) == paragraph


@pytest.mark.parametrize("text", ["Không phát sinh.", "- Không có", "không", "KPS", "  ", "Không có đề xuất, kiến nghị.",
                                  "1. Không phát sinh"])
def test_nothing_of_substance_is_left_out(text):
    assert not prose.substantive(text) and prose.unit_paragraph("Phòng A", text) is None


def test_names_and_mean_achievement():
    assert prose.names(["A"]) == "A" and prose.names(["A", "B"]) == "A và B" and prose.names(["A", "B", "C"]) == "A, B và C"
    assert prose.achievement(0.99963) == "99,9%"  # 9 of 11 met must not print "100%"
    assert prose.achievement(1.0) == "100%" and prose.achievement(0.873) == "87,3%"


def test_the_period_a_trend_compares_with():
    june = Period("2025-06", "thang", "Tháng 6/2025", date(2025, 6, 1), date(2025, 6, 30), date(2025, 7, 5), kind="month")
    assert prose.previous_words(june, june) == "tháng trước"
    assert prose.previous_words(Q3, Q4) == "quý III" and prose.previous_words(Q4_2025, Q4) == "quý IV năm 2025"
    assert prose.previous_words(None, Q4) == "kỳ trước"
