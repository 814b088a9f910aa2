"""The plan keys that shape the consolidated report's words: a heading's `indicators` (the
figures that open its section), an indicator's `sentence` (how the report says them), the
report's `addressed_to` (Kính gửi) and `ranking.late: after`. Each mistake an admin makes with
them is named with file, line and field, in Vietnamese; what they mean shows in the loaded
config, for a plans/ file under the ids the instance gives its entries."""

from __future__ import annotations

import string
import unicodedata

import pytest

from scheduler.config.load import load_config
from scheduler.config.source import ConfigError
from tests.conftest import ROOT, edit, example_config, line_of

EXAMPLES = sorted(p.name for p in (ROOT / "config" / "examples").iterdir() if (p / "plan.yaml").is_file())


def errors(config_dir) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(config_dir)
    return [str(i) for i in exc.value.issues]


# ---------------------------------------------------------------- headings › indicators

def test_a_mistyped_indicator_of_a_heading_is_named_with_the_id_meant(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "indicators: [truc_tuyen, thanh_toan]", "indicators: [truc_tuyen, thanh_toann]")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, 'thanh_toann')}: đề mục truc_tuyen_thanh_toan › indicators › "
                                  "mục thứ 2: chỉ tiêu 'thanh_toann' chưa được định nghĩa trong indicators "
                                  "(có phải thanh_toan?)"]


def test_an_unknown_indicator_of_a_heading_with_nothing_close_has_no_guess(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "indicators: [hai_long, toan_trinh]", "indicators: [hai_long, cho_doi]")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, '[hai_long, cho_doi]')}: đề mục chat_luong › indicators › "
                                  "mục thứ 2: chỉ tiêu 'cho_doi' chưa được định nghĩa trong indicators"]


def test_a_heading_s_indicator_its_obligation_does_not_ask_would_never_be_reported(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "    indicators: [quan_triet, cam_tay_chi_viec, huong_dan, tu_thao_tac, so_hoa, truc_tuyen,\n"
               "                 thanh_toan,", "    indicators: [quan_triet, cam_tay_chi_viec, huong_dan, tu_thao_tac, "
                                            "so_hoa, truc_tuyen,\n                ")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, '[truc_tuyen, thanh_toan]')}: đề mục truc_tuyen_thanh_toan › "
                                  "indicators › mục thứ 2: chỉ tiêu 'thanh_toan' không có trong indicators của nghĩa vụ "
                                  "hỏi đề mục này (quy): số liệu của nó sẽ không bao giờ có trong phần này của báo cáo"]


def test_an_indicator_asked_by_one_of_the_heading_s_obligations_is_enough():
    """003's monthly list asks dung_han and its heading opens with it; the six-monthly report
    asks it too, under another heading: each obligation's report has the figures once."""
    config = load_config(ROOT / "config" / "examples" / "003-kiem-soat-tthc")
    headings = {h.id: h for h in config.plan.headings}
    assert headings["danh_sach_cham_muon"].indicators == ["dung_han", "truoc_han", "cham_giai_trinh"]
    assert headings["giai_quyet_tthc"].indicators == ["dung_han", "truoc_han", "cham_giai_trinh"]


def test_a_plans_file_writes_its_heading_s_indicators_plain_and_the_instance_prefixes_them(tmp_path):
    config = load_config(example_config(tmp_path, "000-003-hai-ke-hoach"))
    headings = {h.id: h for h in config.plan.headings}
    indicators = {i.id for i in config.plan.indicators}
    assert headings["kiem-soat-tthc.giai_quyet_tthc"].indicators == [
        "kiem-soat-tthc.dung_han", "kiem-soat-tthc.truoc_han", "kiem-soat-tthc.cham_giai_trinh"]
    # plan.yaml's own plan keeps its ids as written
    assert headings["so_hoa"].indicators == ["so_hoa", "ket_qua_dien_tu", "tai_su_dung"]
    assert all(ref in indicators for h in config.plan.headings for ref in h.indicators)


def test_a_mistake_in_a_plans_file_s_heading_is_named_in_that_file_by_its_plain_id(tmp_path):
    target = example_config(tmp_path, "000-003-hai-ke-hoach")
    plan = target / "plans" / "kiem-soat-tthc.yaml"
    edit(plan, "indicators: [nhiem_vu_giao]", "indicators: [nhiem_vu]")
    assert errors(target) == [f"{plan}:{line_of(plan, 'indicators: [nhiem_vu]')}: đề mục chi_dao › indicators › "
                              "mục thứ 1: chỉ tiêu 'nhiem_vu' chưa được định nghĩa trong indicators "
                              "(có phải nhiem_vu_giao?)"]


def test_a_heading_cannot_open_with_another_plan_s_indicator(tmp_path):
    """The figures of a heading are its own plan's: plan.yaml's so_hoa is not kiem-soat-tthc's."""
    target = example_config(tmp_path, "000-003-hai-ke-hoach")
    plan = target / "plans" / "kiem-soat-tthc.yaml"
    edit(plan, "indicators: [nhiem_vu_giao]", "indicators: [nhiem_vu_giao, truc_tuyen]")
    assert errors(target) == [f"{plan}:{line_of(plan, '[nhiem_vu_giao, truc_tuyen]')}: đề mục chi_dao › indicators › "
                              "mục thứ 2: chỉ tiêu 'truc_tuyen' chưa được định nghĩa trong indicators"]


def test_a_heading_s_indicators_must_be_a_list(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "indicators: [hai_long, toan_trinh]", "indicators: hai_long")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, 'indicators: hai_long')}: đề mục chat_luong › indicators: "
                                  "phải là một danh sách (các dòng bắt đầu bằng '- ')"]


# ---------------------------------------------------------------- indicators › sentence

def test_a_sentence_with_an_unknown_placeholder_lists_the_two_it_may_use(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "Toàn Sở tiếp nhận {mau_so} hồ sơ", "Toàn Sở tiếp nhận {tong_so} hồ sơ")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, '{tong_so}')}: chỉ tiêu truc_tuyen › sentence: "
                                  "không có chỗ điền {tong_so}; dùng: {tu_so}, {mau_so}"]


def test_a_sentence_with_unbalanced_braces(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "Toàn Sở tiếp nhận {mau_so} hồ sơ", "Toàn Sở tiếp nhận {mau_so hồ sơ")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, '{mau_so hồ sơ')}: chỉ tiêu truc_tuyen › sentence: "
                                  "dấu { } không khớp: viết {tu_so} hoặc {mau_so}"]


def test_a_count_s_sentence_may_not_say_a_denominator_it_does_not_have(tmp_path):
    target = example_config(tmp_path, "004-truyen-thong-tthc")
    plan = target / "plan.yaml"
    edit(plan, '"Có {tu_so} lượt người tham dự tập huấn, hội nghị, hội thảo"',
         '"Có {tu_so}/{mau_so} lượt người tham dự tập huấn, hội nghị, hội thảo"')
    assert errors(target) == [f"{plan}:{line_of(plan, '{tu_so}/{mau_so} lượt người')}: chỉ tiêu luot_tham_du › sentence: "
                              "chỉ tiêu số lượng (kind: count) chỉ có một số liệu: câu chỉ dùng {tu_so}, không có {mau_so}"]


@pytest.mark.parametrize("typed, message", [
    ("Toàn Sở tiếp nhận {mau_so:d} hồ sơ", "chỗ điền chỉ viết {tu_so} hoặc {mau_so}, không thêm dấu : hay !"),
    ("Toàn Sở tiếp nhận {mau_so!r} hồ sơ", "chỗ điền chỉ viết {tu_so} hoặc {mau_so}, không thêm dấu : hay !"),
    ("Toàn Sở tiếp nhận nhiều hồ sơ", "câu chưa có chỗ điền số liệu: thêm {tu_so} (và {mau_so} nếu có)"),
])
def test_a_sentence_that_would_fail_or_say_no_figure_is_refused(config_dir, typed, message):
    plan = config_dir / "plan.yaml"
    edit(plan, "Toàn Sở tiếp nhận {mau_so} hồ sơ, trong đó {tu_so} hồ sơ được xử lý trực tuyến", typed)
    assert errors(config_dir) == [f"{plan}:{line_of(plan, typed)}: chỉ tiêu truc_tuyen › sentence: {message}"]


def test_a_sentence_s_own_full_stop_is_dropped(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "Toàn Sở tiếp nhận {mau_so} hồ sơ, trong đó {tu_so} hồ sơ được xử lý trực tuyến",
         "Toàn Sở tiếp nhận {mau_so} hồ sơ, trong đó {tu_so} hồ sơ được xử lý trực tuyến.")
    ind = next(i for i in load_config(config_dir).plan.indicators if i.id == "truc_tuyen")
    assert ind.sentence.endswith("được xử lý trực tuyến")  # the report goes on: ", đạt 93,6%, …"


def test_an_empty_sentence_is_refused(config_dir):
    plan = config_dir / "plan.yaml"
    blank = '    sentence: " "'
    edit(plan, '    sentence: "Có {tu_so}/{mau_so} lượt đánh giá hài lòng"', blank)
    assert errors(config_dir) == [f"{plan}:{line_of(plan, blank)}: chỉ tiêu hai_long › sentence: "
                                  "không được để trống"]


# ---------------------------------------------------------------- report › addressed_to, ranking › late

def test_an_empty_addressee_is_refused_at_its_line(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "    - Ủy ban nhân dân tỉnh Bắc Ninh\n", '    - Ủy ban nhân dân tỉnh Bắc Ninh\n    - ""\n')
    assert errors(config_dir) == [f"{plan}:{line_of(plan, '- ' + chr(34) * 2)}: report › addressed_to › mục thứ 2: "
                                  "không được để trống"]


def test_an_addressee_written_as_one_line_instead_of_a_list(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "  addressed_to:\n    - Ủy ban nhân dân tỉnh Bắc Ninh\n", "  addressed_to: Ủy ban nhân dân tỉnh Bắc Ninh\n")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, 'addressed_to: Ủy ban')}: report › addressed_to: "
                                  "phải là một danh sách (các dòng bắt đầu bằng '- ')"]


def test_an_unknown_late_rule_lists_after_among_the_rules(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "  late: after\n", "  late: sau\n")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, 'late: sau')}: ranking › late: 'sau' không hợp lệ; chọn một "
                                  "trong: 'ignore', 'tie_break', 'after', 'penalty'"]


def test_a_late_penalty_with_late_after_is_refused(config_dir):
    plan = config_dir / "plan.yaml"
    edit(plan, "  late: after\n", "  late: after\n  late_penalty: 10\n")
    assert errors(config_dir) == [f"{plan}:{line_of(plan, 'late_penalty: 10')}: ranking › late_penalty: "
                                  "late_penalty chỉ dùng với late: penalty"]


# ---------------------------------------------------------------- the shipped config (seed 000)

def test_the_shipped_plan_ties_each_of_its_11_indicators_to_one_results_heading(shipped_config):
    headings = {h.id: h.indicators for h in shipped_config.plan.headings if h.indicators}
    assert headings == {
        "tuyen_truyen": ["quan_triet", "cam_tay_chi_viec", "huong_dan", "tu_thao_tac"],
        "truc_tuyen_thanh_toan": ["truc_tuyen", "thanh_toan"],
        "so_hoa": ["so_hoa", "ket_qua_dien_tu", "tai_su_dung"],
        "chat_luong": ["hai_long", "toan_trinh"],
    }
    tied = sorted(i for ids in headings.values() for i in ids)
    assert tied == sorted(i.id for i in shipped_config.plan.indicators)


def test_the_shipped_plan_cites_its_kế_hoạch_and_reports_up_to_the_province(shipped_config):
    [part] = shipped_config.parts
    assert part.document.title.startswith("Triển khai thực hiện phong trào thi đua “Hướng dẫn, hỗ trợ người dân")
    assert part.document.title.endswith("trên địa bàn tỉnh” năm 2026")
    assert (part.document.number, part.document.dated) == (None, None)  # the văn thư has not numbered it yet
    assert part.report.addressed_to == ["Ủy ban nhân dân tỉnh Bắc Ninh"]
    assert not any("UBND tỉnh (b/c)" in r for r in part.recipients)  # "- Như trên;" covers the addressee
    assert part.ranking.late == "after"  # seed VII: "chấp hành kỷ luật, kỷ cương hành chính"


@pytest.mark.parametrize("example", [None] + EXAMPLES)
def test_every_sentence_is_nfc_with_only_the_placeholders_its_kind_has(example):
    config = load_config(ROOT / "config" if example is None else ROOT / "config" / "examples" / example)
    for ind in config.plan.indicators:
        if ind.sentence is None:
            continue
        assert unicodedata.is_normalized("NFC", ind.sentence), ind.id
        names = {n for _, n, _, _ in string.Formatter().parse(ind.sentence) if n}
        assert names <= ({"tu_so"} if ind.kind == "count" else {"tu_so", "mau_so"}), ind.id
        assert not ind.sentence.endswith((".", ",", ";")), ind.id  # the report goes on after it


@pytest.mark.parametrize("example", [None] + EXAMPLES)
def test_every_heading_s_figures_are_asked_with_the_heading(example):
    """In the merged config (ids prefixed), each heading's indicator is asked by an obligation
    that asks the heading: its figures can open that heading's section."""
    config = load_config(ROOT / "config" if example is None else ROOT / "config" / "examples" / example)
    for heading in config.plan.headings:
        askers = [ob for ob in config.plan.obligations if heading.id in ob.headings]
        for ref in heading.indicators:
            assert any(ref in ob.indicators for ob in askers), (heading.id, ref)
