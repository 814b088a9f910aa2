"""One form, one link and one set of reminders per unit and deadline (issue 12): when two plans
of one instance fall due the same day, a unit gets the first plan's mails, which carry the
other's questions; once it has reported the first alone, the other's mails go on their own."""

from __future__ import annotations

from datetime import datetime

from scheduler.clock import TZ
from scheduler.config.load import load_config
from scheduler.policy.planner import Facts, owed_at

SECOND_PLAN = """\
plan:
  title: Kiểm soát thủ tục hành chính 06 tháng cuối năm 2026
  issued_by: Chủ tịch UBND tỉnh
campaign:
  title: Kết quả kiểm soát thủ tục hành chính
  start: 2026-07-01
  end: 2026-12-31
obligations:
  - id: sau-thang
    title: Báo cáo kiểm soát TTHC 6 tháng
    period: half_year
    due: {month: last, day: 5}
    applies_to: [BPMC, TTRA]
    indicators: [dung_han, hai_long]
indicators:
  - id: dung_han
    name: Hồ sơ giải quyết trước và đúng hạn
    numerator: Số hồ sơ trước và đúng hạn
    denominator: Tổng số hồ sơ đã giải quyết
    target: "> 90%"
  - id: hai_long
    name: Mức độ hài lòng về giải quyết TTHC
    numerator: Số lượt đánh giá hài lòng
    denominator: Tổng số lượt đánh giá
    target: "≥ 90%"
    same_as: hai_long
"""


def two_plans(config_dir):
    (config_dir / "plans").mkdir()
    (config_dir / "plans" / "kiem-soat-tthc.yaml").write_text(SECOND_PLAN, encoding="utf-8")
    text = (config_dir / "units.yaml").read_text(encoding="utf-8")
    (config_dir / "units.yaml").write_text(text.replace("obligations: [quy]\n", ""), encoding="utf-8")
    return load_config(config_dir)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_two_plans_due_the_same_day_make_one_bundle_in_plan_order(config_dir):
    config = two_plans(config_dir)
    q4, h2 = config.period("2026-Q4"), config.period("kiem-soat-tthc-2026-H2")
    assert h2.obligation == "kiem-soat-tthc.sau-thang" and h2.due == q4.due
    bpmc, khtc = config.unit("BPMC"), config.unit("KHTC")
    assert config.bundle(h2, bpmc) == [q4, h2]  # the plan of plan.yaml first
    assert config.bundle(q4, khtc) == [q4]  # KHTC owes no TTHC report
    assert [i.id for i in config.indicators_for(h2, bpmc)] == ["kiem-soat-tthc.dung_han", "kiem-soat-tthc.hai_long"]


def test_a_unit_owing_both_gets_one_notice_and_the_second_plan_waits_while_the_first_is_owed(config_dir):
    config = two_plans(config_dir)
    notice_day = at("2026-11-20T08:00")
    owed = [(s.period.key, s.unit) for s in owed_at(config, config.periods, Facts(), notice_day) if s.unit]
    assert ("2026-Q4", "BPMC") in owed and ("2026-Q4", "KHTC") in owed
    assert not [key for key, unit in owed if key == "kiem-soat-tthc-2026-H2"]
    assert len([1 for _, unit in owed if unit == "BPMC"]) == 1  # one mail per unit and deadline
    # BPMC sent the quarter alone (an XLSX for it, say): the TTHC report's mail now goes by itself.
    facts = Facts(reported=frozenset({("2026-Q4", "BPMC")}))
    later = [(s.period.key, s.unit, s.kind) for s in owed_at(config, config.periods, facts, at("2026-12-02T08:00"))
             if s.unit == "BPMC"]
    assert later == [("kiem-soat-tthc-2026-H2", "BPMC", "reminder")]


def test_a_figure_is_typed_once_only_when_both_periods_cover_the_same_days(config_dir):
    from scheduler.collect.bundle import parts

    quarterly = SECOND_PLAN.replace("period: half_year", "period: quarter").replace("6 tháng", "quý")
    config = two_plans(config_dir)
    bpmc = config.unit("BPMC")
    half = parts(config, [config.period("2026-Q4"), config.period("kiem-soat-tthc-2026-H2")], bpmc)
    assert "kiem-soat-tthc.hai_long" in [i.id for i in half[1].indicators]  # Jul–Dec is not Oct–Dec: asked again
    (config_dir / "plans" / "kiem-soat-tthc.yaml").write_text(quarterly, encoding="utf-8")
    config = load_config(config_dir)
    same = parts(config, [config.period("2026-Q4"), config.period("kiem-soat-tthc-2026-Q4")], bpmc)
    assert "kiem-soat-tthc.hai_long" not in [i.id for i in same[1].indicators]
    assert same[1].shared == {"kiem-soat-tthc.hai_long": (0, "hai_long")}


COMMUNICATIONS = """\
plan:
  title: Truyền thông hỗ trợ hoạt động kiểm soát thủ tục hành chính năm 2026
campaign:
  title: Kết quả truyền thông hỗ trợ kiểm soát thủ tục hành chính
  start: 2026-01-01
  end: 2026-12-31
obligations:
  - id: tt
    title: Kết quả truyền thông về kiểm soát TTHC
    period: quarter
    with: quy
    indicators: [tin_bai]
indicators:
  - id: tin_bai
    kind: count
    name: Tin, bài tuyên truyền về kiểm soát TTHC
    numerator: Số tin, bài
    unit: tin, bài
"""


def test_a_report_that_goes_with_another_takes_its_days_and_its_form(config_dir):
    (config_dir / "plans").mkdir()
    (config_dir / "plans" / "truyen-thong.yaml").write_text(COMMUNICATIONS, encoding="utf-8")
    text = (config_dir / "units.yaml").read_text(encoding="utf-8")
    (config_dir / "units.yaml").write_text(text.replace("obligations: [quy]\n", ""), encoding="utf-8")
    config = load_config(config_dir)
    q4, communications = config.period("2026-Q4"), config.period("truyen-thong-2026-Q4")
    assert communications.due == q4.due  # "gắn với báo cáo định kỳ": the host's deadline, 05/12
    assert config.bundle(communications, config.unit("BPMC")) == [q4, communications]


def test_with_naming_no_recurring_obligation_of_the_same_rhythm_is_refused_at_its_line(config_dir):
    import pytest

    from scheduler.config.source import ConfigError

    (config_dir / "plans").mkdir()
    plan = config_dir / "plans" / "truyen-thong.yaml"
    plan.write_text(COMMUNICATIONS.replace("with: quy", "with: quyy"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    line = COMMUNICATIONS.splitlines().index("    with: quy") + 1
    assert [str(i) for i in caught.value.issues] == [
        f"{plan}:{line}: nghĩa vụ tt › with: không có nghĩa vụ 'quyy' để "
        "gắn vào (nghĩa vụ của plans/X.yaml viết X.mã)"]
    plan.write_text(COMMUNICATIONS.replace("period: quarter", "period: half_year"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert [i.message for i in caught.value.issues] == [
        "nghĩa vụ 'quy' báo cáo hằng quý, khác kỳ 6 tháng của báo cáo này (period: half_year)"]


def test_a_step_the_first_plan_s_mail_carried_is_not_sent_again_once_the_first_is_reported(config_dir):
    """The notice of 20/11 carried the TTHC report too: BPMC reports the quarter alone on 21/11;
    on 23/11 the TTHC report's notice must not go again (its next mail is the reminder of 02/12)."""
    config = two_plans(config_dir)
    notice_day = at("2026-11-20T08:00")
    sent = [s for s in owed_at(config, config.periods, Facts(), notice_day) if s.unit == "BPMC"]
    facts = Facts().with_sent(sent)
    facts = Facts(frozenset({("2026-Q4", "BPMC")}), facts.sent, facts.joined, facts.closed, facts.reached)
    assert [s for s in owed_at(config, config.periods, facts, at("2026-11-23T08:00")) if s.unit == "BPMC"] == []
    later = [(s.period.key, s.kind) for s in owed_at(config, config.periods, facts, at("2026-12-02T08:00"))
             if s.unit == "BPMC"]
    assert later == [("kiem-soat-tthc-2026-H2", "reminder")]


def test_a_target_for_one_period_is_written_as_the_plan_file_writes_the_period(config_dir):
    config = two_plans(config_dir)
    plan = config_dir / "plans" / "kiem-soat-tthc.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace('    target: "> 90%"', '    target: {2026-H2: "> 91%"}'),
                    encoding="utf-8")
    config = load_config(config_dir)
    dung_han = next(i for i in config.plan.indicators if i.id == "kiem-soat-tthc.dung_han")
    assert str(dung_han.target_for(config.period("kiem-soat-tthc-2026-H2"))) == "> 91%"


def test_a_cut_off_on_the_28th_runs_past_a_short_february():
    from datetime import date

    from scheduler.policy.periods import periods_in_window

    [march] = periods_in_window("m", "month", 2, 5, date(2027, 3, 1), date(2027, 3, 31), "", 28)
    assert (march.data_from, march.data_to) == (date(2027, 3, 1), date(2027, 3, 28))  # 29/02/2027 does not exist
