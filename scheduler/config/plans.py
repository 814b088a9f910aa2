"""One Kế hoạch as the admin writes it: its citation, campaign window, the report's own
sentences, its ranking rule, its obligations, and (from measures.py) its indicators; its
headings. `PlanBody` is what a file in config/plans/ holds; plan.yaml may hold one too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, StrictBool, model_validator

from scheduler.config.measures import HeadingGroup, Ident, Indicator, IndicatorGroup, QualifiedRef, Ref, Text, _Strict


class Signer(_Strict):
    authority: str | None = None  # "KT. GIÁM ĐỐC" when a deputy signs on behalf
    title: Text  # "PHÓ GIÁM ĐỐC"
    name: Text


class Campaign(_Strict):
    title: Text  # the trích yếu of the consolidated report, without the period
    start: date
    end: date  # a period belongs to the campaign if it overlaps [start, end], even if due later


class PlanDocument(_Strict):
    """The Kế hoạch being carried out, as the report cites it ("Thực hiện Kế hoạch số …")."""

    title: Text  # its trích yếu
    number: Text | None = None  # "72/KH-SNN"; plans are often cited before the văn thư numbers them
    dated: date | None = Field(default=None, alias="date")
    issued_by: Text | None = None  # "Chủ tịch UBND tỉnh"; default: the organisation


# The placeholders a report sentence may use, and what each stands for.
REPORT_PLACEHOLDERS = {
    "ke_hoach": "Kế hoạch được thực hiện (số, ngày, cơ quan, trích yếu)",
    "ky": "kỳ báo cáo, như “quý IV năm 2026”",
    "co_quan": "tên cơ quan ban hành báo cáo",
}


def _sentence(value: str) -> str:
    import string

    value = value.strip()
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError:
        raise ValueError("dấu { } không khớp: viết {ke_hoach}, {ky} hoặc {co_quan}") from None
    unknown = [n for n in names if n not in REPORT_PLACEHOLDERS]
    if unknown:
        known = ", ".join("{" + k + "}" for k in REPORT_PLACEHOLDERS)
        raise ValueError(f"không có chỗ điền {{{unknown[0]}}}; dùng: {known}")
    return value


Sentence = Annotated[Text, AfterValidator(_sentence)]


class ReportWording(_Strict):
    opening: Sentence | None = None  # "Thực hiện {ke_hoach}, {co_quan} báo cáo kết quả {ky} như sau:"
    closing: Sentence | None = None  # "Trên đây là báo cáo kết quả {ky} của {co_quan}./."
    # A report sent up to a higher body names it ("Kính gửi: Ủy ban nhân dân tỉnh Bắc Ninh")
    # and its Nơi nhận starts with "- Như trên;" (NĐ 30/2020, Phụ lục I, II.9.b).
    addressed_to: list[Text] = []


class Ranking(_Strict):
    """How the report ranks units, printed in the report with its rule."""

    by: Literal["targets_met", "mean_achievement"] = "targets_met"
    per_group: StrictBool = False  # one ranking per unit group (sở/ngành, xã/phường…)
    # after: every unit that reported on time ranks before any late one
    late: Literal["ignore", "tie_break", "after", "penalty"] = "tie_break"
    late_penalty: float = Field(default=0, ge=0, le=100)  # points off a late unit's score (0–100)


def _due_month(value: Any) -> Any:
    if value is None:
        raise ValueError("chưa có giá trị")
    if value == "last" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24):
        return value
    raise ValueError(f"{value!r} không hợp lệ: dùng 'last' (tháng cuối kỳ) hoặc số tháng 1–24 tính từ tháng đầu kỳ")


class Due(_Strict):
    month: Annotated[Any, BeforeValidator(_due_month)]
    day: int = Field(ge=1, le=31)


class Obligation(_Strict):
    id: Ident
    title: Text
    # The trích yếu of this obligation's reports when it is not the plan's (campaign.title):
    # a monthly list beside a six-monthly report in one plan.
    report_title: Text | None = None
    period: Literal["month", "quarter", "half_year", "year", "once"]
    due: Due | None = None  # recurring: "before day `day` of month `month` of the period"
    deadline: date | None = None  # once: the report is due before this day
    key_prefix: str = ""  # keeps period keys apart when two obligations share a rhythm
    # "Thời gian chốt số liệu": figures run from the day after it in the month before the
    # period to this day of its last month (14: 15/12 → 14/03 for the first quarter).
    data_cutoff: int | None = Field(default=None, ge=1, le=28)
    applies_to: list[Ref] = []  # unit groups or codes; empty: every unit
    # "Gắn với báo cáo định kỳ …" (seed 004): this report goes with another obligation's, on its
    # days, so the unit answers both in one form; no `due` of its own.
    with_: QualifiedRef | None = Field(default=None, alias="with")
    indicators: list[Ident] = []
    headings: list[Ident] = []
    # Set from the plan's `approval` key (PlanBody below), not written per obligation: a Kế hoạch
    # asks its head's approval for all its reports or none. Kept on the obligation because every
    # period, on-request ones included, knows its obligation, and the obligation survives the
    # merge of several plans into one Config (model_copy keeps private attributes).
    _approval: str | None = PrivateAttr(default=None)

    @property
    def approval(self) -> str | None:
        """"head": a revision counts as reported only once the unit head approves it."""
        return self._approval


def _required(value: Any) -> Any:
    if value is None:
        raise ValueError("chưa có giá trị")
    if value is True or value is False or value == "below_target":
        return value
    raise ValueError(f"{value!r} không hợp lệ: dùng true, false hoặc below_target")


class Heading(_Strict):
    id: Ident
    title: Text
    section: Literal["results", "good_practices", "shortcomings", "next_steps", "proposals"]
    required: Annotated[Any, BeforeValidator(_required)] = False  # below_target: when a target is missed
    group: Ident | None = None
    applies_to: list[Ref] = []  # unit groups or codes; empty: every unit that owes the report
    same_as: QualifiedRef | None = None  # see Indicator
    # Indicators whose department figures open this heading in the report, in words
    indicators: list[Ident] = []




APPROVALS = {"head": "Thủ trưởng đơn vị duyệt trước khi báo cáo được tính là đã nộp"}


def _approval(value: Any) -> Any:
    if value is None:
        raise ValueError("chưa có giá trị: ghi head, hoặc bỏ khoá approval (không cần duyệt)")
    if value in APPROVALS:
        return value
    raise ValueError(f"{value!r} không hợp lệ: dùng head ({APPROVALS['head']}), hoặc bỏ khoá approval (không cần duyệt)")


class PlanBody(_Strict):
    """One Kế hoạch: a file of config/plans/, or the plan that plan.yaml holds itself."""

    document: PlanDocument | None = Field(default=None, alias="plan")
    campaign: Campaign
    report: ReportWording = ReportWording()
    ranking: Ranking | None = None  # none: the report ranks nobody
    signer: Signer | None = None  # who signs this plan's report; default: the organisation's
    recipients: list[Text] | None = None  # its Nơi nhận; default: the organisation's
    obligations: list[Obligation] = Field(min_length=1)
    indicator_groups: list[IndicatorGroup] = []
    indicators: list[Indicator] = []
    heading_groups: list[HeadingGroup] = []
    headings: list[Heading] = []
    # head: each unit's head approves its report (from a link in a mail) before it counts as
    # reported; absent: a report counts when it arrives.
    approval: Annotated[Any, BeforeValidator(_approval)] = None

    @model_validator(mode="after")
    def _stamp_approval(self) -> "PlanBody":
        for ob in self.obligations:
            ob._approval = self.approval
        return self
