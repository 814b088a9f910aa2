"""The configuration an admin edits: `plan.yaml` (organisation, obligations, indicators,
headings, reminder policy, days off) and `units.yaml` (the units and their people).

`load_config(dir)` returns a validated, immutable `Config` or raises `ConfigError` listing
every problem at once, each with file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool

from scheduler.policy.periods import Period, PeriodType, WorkingCalendar, periods_in_window
# Target and IDENT_PATTERN are re-exported: the rest of the code imports the config's names from here.
from scheduler.config.measures import (GROUP_PATTERN, IDENT_PATTERN, UNIT_CODE_PATTERN, HeadingGroup, Ident,
                                       Indicator, IndicatorGroup, Ref, Target, Text, _Strict)
from scheduler.config.source import Entries

PLAN_FILE = "plan.yaml"
UNITS_FILE = "units.yaml"

# How messages name the entries of each list: as the admin finds them in the file.
PLAN_NAMING = {
    ("obligations",): Entries("nghĩa vụ", "id", "title"),
    ("indicators",): Entries("chỉ tiêu", "id", "name"),
    ("headings",): Entries("đề mục", "id", "title"),
    ("indicator_groups",): Entries("nhóm chỉ tiêu", "id", "title"),
    ("heading_groups",): Entries("nhóm đề mục", "id", "title"),
    ("reminders", "steps"): Entries("bước nhắc", None, "kind"),
}
UNITS_NAMING = {
    ("units",): Entries("đơn vị", "code", "name"),
    ("groups",): Entries("nhóm đơn vị", "id", "name"),
    ("units", "*", "focal_points"): Entries("đầu mối", "name", "email"),
}

StepKind = Literal["notice", "reminder", "overdue", "digest"]
UNIT_STEP_KINDS = ("notice", "reminder", "overdue")


def _email(value: str) -> str:
    try:
        # Deliverability needs DNS, which a config check must not depend on. Accented letters
        # before the @ need SMTPUTF8, which most office mail servers lack: refuse them here.
        valid = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        hint = " (chữ có dấu trước @ không gửi được)" if not value.isascii() else ""
        raise ValueError(f"{value!r} không phải địa chỉ email hợp lệ{hint}") from exc
    return valid.ascii_email or valid.normalized


Email = Annotated[str, AfterValidator(_email)]


# ---------------------------------------------------------------- plan.yaml

class Signer(_Strict):
    authority: str | None = None  # "KT. GIÁM ĐỐC" when a deputy signs on behalf
    title: Text  # "PHÓ GIÁM ĐỐC"
    name: Text


class Organisation(_Strict):
    # The cơ quan chủ quản above the issuing body (UBND TỈNH above a Sở); none for a body that
    # has no parent in the document's header, such as UBND tỉnh itself (NĐ30 Phụ lục I).
    parent_body: Text | None = None
    issuing_body: Text
    # The issuing body as a name inside a sentence ("của Sở Nông nghiệp và Môi trường");
    # capitals in Vietnamese names cannot be guessed from the upper-case heading.
    issuing_body_name: Text | None = None
    abbreviation: Text  # used in "Số: /BC-SNNMT"
    office_name: Text  # "Văn phòng Sở"
    office_abbreviation: Text  # drafting unit in "Lưu: VT, VP."
    place: Text
    office_emails: list[Email] = Field(min_length=1)
    contact: Text  # how a focal point reaches the office, printed in every mail
    signer: Signer
    recipients: list[Text] = Field(min_length=1)  # Nơi nhận, without the final "Lưu: …"


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


class Ranking(_Strict):
    """How the report ranks units, printed in the report with its rule."""

    by: Literal["targets_met", "mean_achievement"] = "targets_met"
    per_group: StrictBool = False  # one ranking per unit group (sở/ngành, xã/phường…)
    late: Literal["ignore", "tie_break", "penalty"] = "tie_break"
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
    period: Literal["month", "quarter", "half_year", "year", "once"]
    due: Due | None = None  # recurring: "before day `day` of month `month` of the period"
    deadline: date | None = None  # once: the report is due before this day
    key_prefix: str = ""  # keeps period keys apart when two obligations share a rhythm
    # "Thời gian chốt số liệu": figures run from the day after it in the month before the
    # period to this day of its last month (14: 15/12 → 14/03 for the first quarter).
    data_cutoff: int | None = Field(default=None, ge=1, le=28)
    applies_to: list[Ref] = []  # unit groups or codes; empty: every unit
    indicators: list[Ident] = []
    headings: list[Ident] = []


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


class ReminderStep(_Strict):
    kind: StepKind
    working_days_before: int | None = Field(default=None, ge=1, le=60)
    working_days_after: int | None = Field(default=None, ge=1, le=60)
    cc_head: StrictBool = False

    @property
    def offset(self) -> int:
        """Negative: working days before the deadline; positive: after (counting its day)."""
        return -self.working_days_before if self.working_days_before else (self.working_days_after or 0)

    @property
    def id(self) -> str:
        """Stable name of the step in the send ledger, e.g. `notice-10`, `overdue+1`."""
        return f"{self.kind}{self.offset:+d}"


class Reminders(_Strict):
    send_at: time = time(8, 0)
    steps: list[ReminderStep] = Field(min_length=1)


class WorkingDays(_Strict):
    extra_days_off: list[date] = []
    extra_working_days: list[date] = []


class Plan(_Strict):
    organisation: Organisation
    document: PlanDocument | None = Field(default=None, alias="plan")
    campaign: Campaign
    report: ReportWording = ReportWording()
    ranking: Ranking | None = None  # none: the report ranks nobody
    calendar: WorkingDays = WorkingDays()
    reminders: Reminders
    obligations: list[Obligation] = Field(min_length=1)
    indicator_groups: list[IndicatorGroup] = []
    indicators: list[Indicator] = []
    heading_groups: list[HeadingGroup] = []
    headings: list[Heading] = []


# ---------------------------------------------------------------- units.yaml

class Person(_Strict):
    name: Text
    email: Email
    phone: str | None = None


GroupId = Annotated[str, Field(pattern=GROUP_PATTERN, max_length=40)]


class UnitGroup(_Strict):
    id: GroupId  # lower case: told apart from unit codes in applies_to
    name: Text  # "Sở, ban, ngành"


class Unit(_Strict):
    code: Annotated[str, Field(pattern=UNIT_CODE_PATTERN, max_length=20)]
    name: Text
    active: StrictBool = True
    group: GroupId | None = None
    head: Person
    focal_points: list[Person] = Field(min_length=1)
    # Given: the unit owes exactly these; omitted: every obligation whose applies_to matches it.
    obligations: list[Ident] | None = Field(default=None, min_length=1)


class UnitsFile(_Strict):
    groups: list[UnitGroup] = []
    units: list[Unit] = Field(min_length=1)


# ---------------------------------------------------------------- the whole

def applies(refs: list[str], unit: Unit) -> bool:
    """Whether an entry limited to `refs` (unit groups or codes; none: everyone) concerns `unit`."""
    return not refs or unit.code in refs or (unit.group is not None and unit.group in refs)


@dataclass(frozen=True, eq=False)  # identity hash: planner caches per loaded config
class Config:
    plan: Plan
    units: tuple[Unit, ...]
    directory: Path = field(compare=False)
    groups: tuple[UnitGroup, ...] = ()

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.plan.calendar.extra_days_off, self.plan.calendar.extra_working_days)

    @cached_property
    def periods(self) -> tuple[Period, ...]:
        """Every period of the plan's obligations that overlaps the campaign, by deadline."""
        found: list[Period] = []
        campaign = self.plan.campaign
        for ob in self.plan.obligations:
            if ob.period == "once":
                assert ob.deadline is not None
                found.append(Period(ob.id, ob.id, ob.title, campaign.start, ob.deadline, ob.deadline))
            else:
                assert ob.due is not None
                kind: PeriodType = ob.period  # type: ignore[assignment]
                found += periods_in_window(
                    ob.id, kind, ob.due.month, ob.due.day, campaign.start, campaign.end, ob.key_prefix,
                    ob.data_cutoff,
                )
        return tuple(sorted(found, key=lambda p: (p.due, p.key)))

    def period(self, key: str) -> Period | None:
        return next((p for p in self.periods if p.key == key), None)

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def obligation(self, obligation_id: str) -> Obligation:
        return next(o for o in self.plan.obligations if o.id == obligation_id)

    def obligation_of(self, period: Period) -> Obligation | None:
        """None for a request whose obligation has since left the plan."""
        return next((o for o in self.plan.obligations if o.id == period.obligation), None)

    def is_recurring(self, period: Period) -> bool:
        """A period of a quarterly/yearly… obligation, as opposed to a one-off request."""
        ob = self.obligation_of(period)
        return ob is not None and ob.period != "once" and period in self.periods

    def units_for(self, period: Period) -> list[Unit]:
        """Active units that owe a report for `period`."""
        return [
            u
            for u in self.units
            if u.active
            and self.owes(u, period.obligation)
            and (period.units is None or u.code in period.units)
        ]

    def owes(self, unit: Unit, obligation_id: str) -> bool:
        """A unit that lists its obligations owes those; any other, those that apply to it."""
        if unit.obligations is not None:
            return obligation_id in unit.obligations
        ob = next((o for o in self.plan.obligations if o.id == obligation_id), None)
        return ob is not None and applies(ob.applies_to, unit)

    def group_name(self, group_id: str | None) -> str | None:
        return next((g.name for g in self.groups if g.id == group_id), None)

    def indicators_for(self, period: Period, unit: Unit | None = None) -> list[Indicator]:
        """The indicators a period asks (of `unit`, if given), each "trong đó" child right
        after its parent."""
        ob = self.obligation_of(period)
        wanted = set(ob.indicators) if ob else set()
        chosen = [i for i in self.plan.indicators if i.id in wanted and (unit is None or applies(i.applies_to, unit))]
        ids = {i.id for i in chosen}
        tops = [i for i in chosen if i.parent is None or i.parent not in ids]
        ordered = []
        for top in tops:
            ordered.append(top)
            ordered += [i for i in chosen if i.parent == top.id]
        return ordered

    def headings_for(self, period: Period, unit: Unit | None = None) -> list[Heading]:
        ob = self.obligation_of(period)
        wanted = set(ob.headings) if ob else set()
        return [h for h in self.plan.headings if h.id in wanted and (unit is None or applies(h.applies_to, unit))]

    @property
    def unit_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind in UNIT_STEP_KINDS]

    @property
    def digest_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind == "digest"]
