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
    ("- Tổ chức 02 hội nghị.\n- Niêm yết hướng dẫn tại trụ sở", "- Phòng A: Tổ chức 02 hội nghị; Niêm yết hướng dẫn tại trụ sở."),
    ("1. Phát tờ rơi\n2. Hướng dẫn qua Zalo\r\n", "- Phòng A: Phát tờ rơi; Hướng dẫn qua Zalo."),
    # the unit's own case is kept: a guess would lower "Luật Đất đai"
    ("- Triển khai\n- Luật Đất đai 2024 tới công chức", "- Phòng A: Triển khai; Luật Đất đai 2024 tới công chức."),
    # a lead-in ending in ":" runs on into its items; stray punctuation at a line's start goes
    ("Tổ chức tập huấn:\n+ Lớp 1\n+ Lớp 2", "- Phòng A: Tổ chức tập huấn: Lớp 1; Lớp 2."),
    ("Số hoá 100%\n; đúng hạn", "- Phòng A: Số hoá 100%; đúng hạn."),
    ("a) Số hoá 100% hồ sơ;\nb) UBND xã phối hợp", "- Phòng A: Số hoá 100% hồ sơ; UBND xã phối hợp."),
    ("• Tiếp nhận qua Cổng dịch vụ công\n• Sở Tư pháp hỗ trợ", "- Phòng A: Tiếp nhận qua Cổng dịch vụ công; Sở Tư pháp hỗ trợ."),
    ("Lắp thiết bị đánh giá (tại quầy)", "- Phòng A: Lắp thiết bị đánh giá (tại quầy)."),
    ("Tổ chức hội nghị “Một cửa”", "- Phòng A: Tổ chức hội nghị “Một cửa”."),
    ("Một dòng.\n\n- Không có\n", "- Phòng A: Một dòng."),
])
def test_a_units_text_becomes_one_paragraph_under_its_name(text, paragraph):
    assert prose.unit_paragraph("Phòng A", text) == paragraph


@pytest.mark.parametrize("text", ["Không phát sinh.", "- Không có", "không", "KPS", "  ", "Không có đề xuất, kiến nghị.",
                                  "1. Không phát sinh", "Không có khó khăn, vướng mắc.", "Đơn vị không có đề xuất.",
                                  "Không phát sinh vướng mắc", "- ;"])
def test_nothing_of_substance_is_left_out(text):
    assert not prose.substantive(text) and prose.unit_paragraph("Phòng A", text) is None


@pytest.mark.parametrize("text", ["Không có máy quét chuyên dụng", "Chưa có phần mềm số hoá"])
def test_a_shortcoming_that_starts_with_khong_co_is_kept(text):
    assert prose.substantive(text)


# Long texts are judged by their head first (text.substantive's fast path): the same answers.
@pytest.mark.parametrize("text, says", [
    ("Đơn vị không phát sinh khó khăn, vướng mắc, tồn tại, hạn chế và đề xuất, kiến nghị gì thêm.", False),
    ("Không phát sinh.................................................................", False),
    ("Đơn vị đã triển khai đầy đủ các nhiệm vụ được giao, số hoá 100% hồ sơ tiếp nhận trong kỳ.", True),
    ("Không có khó khăn vướng mắc về nội dung, nhưng thiếu máy quét chuyên dụng ở bộ phận một cửa.", True),
    ("Không có khó khăn, vướng mắc, tồn tại, hạn chế, đề xuất, kiến nghị, nội dung khác; máy quét hỏng", True),
])
def test_a_long_text_is_judged_as_a_short_one_would_be(text, says):
    assert len(text) > 48 and prose.substantive(text) is says


def test_the_shortcut_for_long_texts_gives_the_full_readings_answer_on_generated_texts():
    import random
    import unicodedata

    from scheduler.text import MARKER, _read_in_full

    rng = random.Random(16)
    # The words texts that say nothing are made of, beside words that say something; Vietnamese
    # as typed (NFC), decomposed (NFD, as some keyboards send it) and in capitals.
    words = ["Không", "có", "khó", "khăn", "vướng", "mắc", "Đơn", "vị", "phát", "sinh", "chưa", "kiến", "nghị", "đề",
             "xuất", "gì", "và", "N/A", "KPS", "nội", "dung", "tồn", "tại", "hạn", "chế", "ý", "thêm", "khác", "mô",
             "hình", "máy", "quét", "triển", "khai", "số", "12", "Đã", "hồ_sơ", "UBND"]
    glue = [" ", " ", ", ", ". ", "; ", "...", " - ", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "  "]
    long_nothing = 0
    generic = ["khó", "khăn", "vướng", "mắc", "tồn", "tại", "hạn", "chế", "đề", "xuất", "kiến", "nghị", "gì", "và", "thêm"]
    for _ in range(20000):
        pool = words if rng.random() < 0.5 else generic + generic + ["máy", "quét", "12"]  # denials, some broken
        text = "".join(rng.choice(pool) + rng.choice(glue) for _ in range(rng.randint(1, 25)))
        opening = rng.choice(["", "Không có ", "Không phát sinh ", "Đơn vị không có ", "Chưa phát sinh ", "Đơn vị "])
        text = rng.choice(["", "- ", "1. ", "a) ", "• "]) + opening + text
        text = rng.choice([text, text.upper(), unicodedata.normalize("NFD", text)])
        full = _read_in_full(MARKER.sub("", text.strip()))
        assert prose.substantive(text) is full, text
        long_nothing += len(text) > 48 and not full
    assert long_nothing > 100  # long texts that say nothing were among them: the shortcut was put to the test


def test_an_overshot_equal_target_is_not_a_shortfall():
    overdue = Indicator(id="qua_han", name="Hồ sơ quá hạn", numerator="Số hồ sơ quá hạn", denominator="Tổng số hồ sơ",
                        target="= 0%")
    assert prose.verdict(2.0, overdue.target_for(Q4), overdue) == "chưa đạt mục tiêu (0%), cao hơn mục tiêu 2 điểm phần trăm"
    assert overdue.target_for(Q4).achievement(2.0) < 1


def test_a_large_target_is_written_as_a_clerk_writes_it():
    dossiers = Indicator(id="hs", name="Hồ sơ", kind="count", numerator="Số hồ sơ", unit="hồ sơ", target="≥ 1200")
    assert prose.target_words(dossiers.target_for(Q4), dossiers) == "từ 1.200 hồ sơ trở lên"


def test_a_missed_threshold_never_counts_as_full_achievement():
    """"> 95%" at exactly 95%: 10 of 11 met must not show a mean of "100%"."""
    target = parse_target("> 95%")
    assert not target.met(95.0) and target.achievement(95.0) < 1
    assert prose.achievement((10 + target.achievement(95.0)) / 11) != "100%"


def test_a_trong_do_child_after_its_parent_and_never_twice():
    parent = ratio("> 90%", name="Hồ sơ đúng hạn")
    child = Indicator(id="truoc_han", name="Hồ sơ trước hạn", numerator="Số hồ sơ trước hạn", parent="truc_tuyen",
                      target="> 60%", sentence="trong đó {tu_so} hồ sơ trước hạn")
    p, c = result(parent, 950, 1000), result(child, 400, 1000)
    c.depth = 1
    text = prose.heading_opening([p, c], Q4)
    assert "Trong đó, trong đó" not in text and "Trong đó 400 hồ sơ trước hạn, đạt 40%" in text
    assert prose.heading_opening([c], Q4) == ""  # a child alone, its parent unsaid, is left out


def test_names_and_mean_achievement():
    assert prose.names(["A"]) == "A" and prose.names(["A", "B"]) == "A và B" and prose.names(["A", "B", "C"]) == "A, B và C"
    assert prose.names(["Chi cục Trồng trọt và Bảo vệ thực vật", "Chi cục Kiểm lâm"], "; ") == (
        "Chi cục Trồng trọt và Bảo vệ thực vật; Chi cục Kiểm lâm")
    assert prose.achievement(0.99963) == "99,9%"  # 9 of 11 met must not print "100%"
    assert prose.achievement(1.0) == "100%" and prose.achievement(0.873) == "87,3%"


def test_the_period_a_trend_compares_with():
    june = Period("2025-06", "thang", "Tháng 6/2025", date(2025, 6, 1), date(2025, 6, 30), date(2025, 7, 5), kind="month")
    assert prose.previous_words(june, june) == "tháng trước"
    assert prose.previous_words(Q3, Q4) == "quý III" and prose.previous_words(Q4_2025, Q4) == "quý IV năm 2025"
    assert prose.previous_words(None, Q4) == "kỳ trước"
