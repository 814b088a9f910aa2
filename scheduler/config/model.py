"""The configuration an admin edits: `plan.yaml` (organisation, obligations, indicators,
headings, reminder policy, days off) and `units.yaml` (the units and their people).

`load_config(dir)` returns a validated, immutable `Config` or raises `ConfigError` listing
every problem at once, each with file, line and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from scheduler.text import decimal_comma
from scheduler.policy.periods import Period, PeriodType, WorkingCalendar, periods_in_window
from scheduler.config.source import Entries

PLAN_FILE = "plan.yaml"
UNITS_FILE = "units.yaml"

# How messages name the entries of each list: as the admin finds them in the file.
PLAN_NAMING = {
    ("obligations",): Entries("nghĩa vụ", "id", "title"),
    ("indicators",): Entries("chỉ tiêu", "id", "name"),
    ("headings",): Entries("đề mục", "id", "title"),
    ("reminders", "steps"): Entries("bước nhắc", None, "kind"),
}
UNITS_NAMING = {
    ("units",): Entries("đơn vị", "code", "name"),
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


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("không được để trống")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ValueError("có ký tự điều khiển (xuống dòng, tab…); viết trên một dòng")
    return value


Email = Annotated[str, AfterValidator(_email)]
Text = Annotated[str, AfterValidator(_text)]
IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
UNIT_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]*$"
Ident = Annotated[str, Field(pattern=IDENT_PATTERN, max_length=40)]


class _Strict(BaseModel):
    # Unknown keys are errors: a typo such as `emial:` must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    end: date


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
    indicators: list[Ident] = []
    headings: list[Ident] = []


_TARGET = re.compile(r"^\s*(>=|≥|>|=)\s*(-?\d+(?:[.,]\d+)?)\s*%\s*$")
_OPS = {">=": ">=", "≥": ">=", ">": ">", "=": "="}


@dataclass(frozen=True)
class Target:
    op: Literal[">=", ">", "="]
    percent: float

    def met(self, ratio_percent: float) -> bool:
        if self.op == ">=":
            return ratio_percent >= self.percent - 1e-9
        if self.op == ">":
            return ratio_percent > self.percent + 1e-9
        return abs(ratio_percent - self.percent) < 1e-9

    def __str__(self) -> str:
        sign = {">=": "≥", ">": ">", "=": "="}[self.op]
        value = decimal_comma(f"{self.percent:g}")
        return f"{sign} {value}%"


def _target(value: Any) -> Target:
    if isinstance(value, Target):
        return value
    if value is None:
        raise ValueError("chưa có giá trị: viết như \"≥ 90%\"")
    match = _TARGET.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} không hợp lệ: viết như \"≥ 90%\", \"> 95%\" hoặc \"= 100%\"")
    percent = float(match.group(2).replace(",", "."))
    if not 0 <= percent <= 100:
        raise ValueError(f"mục tiêu {percent:g}% nằm ngoài khoảng 0–100%")
    return Target(_OPS[match.group(1)], percent)


class Indicator(_Strict):
    id: Ident
    name: Text
    numerator: Text  # label of the count on top, e.g. "Số hồ sơ được số hoá"
    denominator: Text  # label of the count below, e.g. "Tổng số hồ sơ"
    target: Annotated[Target, BeforeValidator(_target)]


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
    campaign: Campaign
    calendar: WorkingDays = WorkingDays()
    reminders: Reminders
    obligations: list[Obligation] = Field(min_length=1)
    indicators: list[Indicator] = []
    headings: list[Heading] = []


# ---------------------------------------------------------------- units.yaml

class Person(_Strict):
    name: Text
    email: Email
    phone: str | None = None


class Unit(_Strict):
    code: Annotated[str, Field(pattern=UNIT_CODE_PATTERN, max_length=20)]
    name: Text
    active: StrictBool = True
    head: Person
    focal_points: list[Person] = Field(min_length=1)
    obligations: list[Ident] = Field(min_length=1)


class UnitsFile(_Strict):
    units: list[Unit] = Field(min_length=1)


# ---------------------------------------------------------------- the whole

@dataclass(frozen=True, eq=False)  # identity hash: planner caches per loaded config
class Config:
    plan: Plan
    units: tuple[Unit, ...]
    directory: Path = field(compare=False)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.plan.calendar.extra_days_off, self.plan.calendar.extra_working_days)

    @cached_property
    def periods(self) -> tuple[Period, ...]:
        """Every period of the plan's obligations whose deadline is inside the campaign, by deadline."""
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
                    ob.id, kind, ob.due.month, ob.due.day, campaign.start, campaign.end, ob.key_prefix
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
            and period.obligation in u.obligations
            and (period.units is None or u.code in period.units)
        ]

    @property
    def unit_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind in UNIT_STEP_KINDS]

    @property
    def digest_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind == "digest"]
