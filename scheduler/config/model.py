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
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from scheduler.policy.periods import Period, PeriodType, WorkingCalendar, periods_in_window
from scheduler.config.source import ConfigError, ConfigIssue, Entries, YamlDocument, load_yaml

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
    parent_body: Text
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
        value = f"{self.percent:g}".replace(".", ",")
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


def load_config(directory: Path | str) -> Config:
    """Load and validate both files; raise ConfigError with every problem found."""
    directory = Path(directory)
    if not directory.is_dir():  # a command typed away from the service's folder, most likely
        raise ConfigError([ConfigIssue(str(directory), None, "", (
            f"không có thư mục cấu hình {directory.resolve()} (thư mục hiện tại {Path.cwd()}); chạy lệnh trong thư mục "
            "của dịch vụ, hoặc đặt BAOCAO_CONFIG_DIR (hay --config THƯ_MỤC) trỏ tới thư mục chứa plan.yaml và "
            "units.yaml"))])
    plan_doc, issues = load_yaml(directory / PLAN_FILE, _display(directory, PLAN_FILE), PLAN_NAMING)
    units_doc, more = load_yaml(directory / UNITS_FILE, _display(directory, UNITS_FILE), UNITS_NAMING)
    issues += more
    plan = _validate(plan_doc, Plan, issues)
    units_file = _validate(units_doc, UnitsFile, issues)
    if plan_doc is not None:
        issues += _plan_issues(plan, plan_doc)
    if units_doc is not None:
        issues += _units_issues(units_doc, plan_doc)
    if issues or plan is None or units_file is None:
        order = {plan_doc.file if plan_doc else "": 0}
        raise ConfigError(sorted(issues, key=lambda i: (order.get(i.file, 1), i.line or 0)))
    return Config(plan=plan, units=tuple(units_file.units), directory=directory)


def _display(directory: Path, name: str) -> str:
    return str(directory / name)


def _validate(doc: YamlDocument | None, model: type[BaseModel], issues: list[ConfigIssue]) -> Any:
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        issues.append(ConfigIssue(doc.file, 1, "", "tệp phải là một bảng khoá: giá trị"))
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            issues.append(doc.issue(err["loc"], describe_error(err, doc.source_of(err["loc"]))))
        return None


_EXPECTED = {
    "string_type": "cần một dòng chữ",
    "int_type": "cần một số nguyên",
    "bool_type": "cần true hoặc false",
    "list_type": "cần một danh sách (các dòng bắt đầu bằng '- ')",
    "model_type": "cần các dòng khoá: giá trị",
    "dict_type": "cần các dòng khoá: giá trị",
    "model_attributes_type": "cần các dòng khoá: giá trị",
}


def describe_error(err: dict[str, Any], source: str | None = None) -> str:
    """A pydantic error in words an admin can act on (Vietnamese). `source` is the value as
    written when YAML did not read it as text (`012`, read as 12), shown instead of the value."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return "thiếu trường bắt buộc"
    if kind == "extra_forbidden":
        return "khoá không được phép (gõ nhầm tên khoá?)"
    if value is None and kind != "value_error":  # `name:` with nothing after it
        return "chưa có giá trị" + (f": {_EXPECTED[kind]}" if kind in _EXPECTED else "")
    if source is not None and not isinstance(value, str) and isinstance(value, (int, float, bool)):
        value = _Written(source)
    if kind == "string_type":
        if isinstance(value, _Written) or isinstance(value, (int, float, bool)):
            last = err["loc"][-1] if err["loc"] else None
            read_as = "true/false" if isinstance(err.get("input"), bool) else "số"
            example = f'{last}: "{value}"' if isinstance(last, str) else f'"{value}"'
            return f"{value} được YAML đọc là {read_as}, không phải chữ: đặt trong dấu nháy ({example})"
        return f"{value!r} phải là chuỗi chữ"
    if kind == "bool_type":
        return f"{value!r} không hợp lệ: chỉ dùng true hoặc false"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{value!r} phải là số nguyên"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{value!r} phải trong khoảng cho phép ({'≥ ' + str(ctx['ge']) if 'ge' in ctx else '≤ ' + str(ctx['le'])})"
    if kind == "literal_error":
        return f"{value!r} không hợp lệ; chọn một trong: {str(ctx.get('expected', '')).replace(' or ', ', ')}"
    if kind.startswith("date"):
        return f"{value!r} không phải ngày hợp lệ (viết YYYY-MM-DD)"
    if kind.startswith("time"):
        return f"{value!r} không phải giờ hợp lệ (viết \"HH:MM\")"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == UNIT_CODE_PATTERN:
            return f"{value!r}: mã đơn vị chỉ dùng CHỮ IN HOA không dấu, chữ số, '-' và '_'"
        return f"{value!r} chỉ được gồm chữ cái không dấu, chữ số, '-', '_' và '.'"
    if kind == "string_too_long":
        return f"{value!r} quá dài (tối đa {ctx.get('max_length')} ký tự)"
    if kind == "too_short":
        return "danh sách không được rỗng"
    if kind == "list_type":
        return "phải là một danh sách (các dòng bắt đầu bằng '- ')"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "phải là một bảng khoá: giá trị"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


class _Written(str):
    """A value as the admin wrote it, shown without quotes: 012, not '012' or 12."""

    def __repr__(self) -> str:
        return str(self)


def _items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The list at `path` in raw YAML data, tolerating anything malformed (already reported)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return [item if isinstance(item, dict) else {} for item in data] if isinstance(data, list) else []


def _unique(items: list[dict[str, Any]], key: str, loc: tuple, doc: YamlDocument, what: str, noun: str) -> list[ConfigIssue]:
    issues, seen = [], {}
    for index, item in enumerate(items):
        value = item.get(key)
        if not isinstance(value, (str, int)):
            continue
        norm = value.casefold() if isinstance(value, str) else value
        if norm in seen:
            issues.append(doc.issue(loc + (index, key), f"{what} {value!r} trùng với {noun} ở dòng "
                                                        f"{doc.line_of(loc + (seen[norm], key))}"))
        else:
            seen[norm] = index
    return issues


def _other(doc: YamlDocument, loc: tuple) -> str:
    """Another entry a message points to: 'bước nhắc thứ 1 (notice) ở dòng 45'."""
    return f"{doc.entry(loc)} ở dòng {doc.line_of(loc)}"


def _refs(items: Any, known: set[str], loc: tuple, doc: YamlDocument, message: str) -> list[ConfigIssue]:
    if not isinstance(items, list):
        return []
    return [doc.issue(loc + (j,), message.format(ref)) for j, ref in enumerate(items) if isinstance(ref, str) and ref not in known]


def _plan_issues(plan: Plan | None, doc: YamlDocument) -> list[ConfigIssue]:
    """Checks across entries; they run on the raw data so that they report even when some
    other field of the same file is invalid."""
    raw = doc.data if isinstance(doc.data, dict) else {}
    issues: list[ConfigIssue] = []
    issues += _unique(_items(raw, "obligations"), "id", ("obligations",), doc, "mã nghĩa vụ", "nghĩa vụ")
    issues += _unique(_items(raw, "indicators"), "id", ("indicators",), doc, "mã chỉ tiêu", "chỉ tiêu")
    issues += _unique(_items(raw, "headings"), "id", ("headings",), doc, "mã đề mục", "đề mục")
    indicator_ids = {i.get("id") for i in _items(raw, "indicators")}
    heading_ids = {h.get("id") for h in _items(raw, "headings")}
    for i, ob in enumerate(_items(raw, "obligations")):
        loc = ("obligations", i)
        issues += _refs(ob.get("indicators"), indicator_ids, loc + ("indicators",), doc, "chỉ tiêu '{}' chưa được định nghĩa trong indicators")
        issues += _refs(ob.get("headings"), heading_ids, loc + ("headings",), doc, "đề mục '{}' chưa được định nghĩa trong headings")
    if plan is None:
        return issues
    if plan.campaign.end < plan.campaign.start:
        issues.append(doc.issue(("campaign", "end"), "ngày kết thúc trước ngày bắt đầu"))
    keys: dict[tuple[str, str], int] = {}
    for i, ob in enumerate(plan.obligations):
        loc = ("obligations", i)
        if ob.period == "once":
            if ob.deadline is None:
                issues.append(doc.issue(loc, "báo cáo một lần (period: once) cần 'deadline'"))
            if ob.due is not None:
                issues.append(doc.issue(loc + ("due",), "báo cáo một lần dùng 'deadline', không dùng 'due'"))
            continue
        if ob.due is None:
            issues.append(doc.issue(loc, "báo cáo định kỳ cần 'due' (month, day)"))
        if ob.deadline is not None:
            issues.append(doc.issue(loc + ("deadline",), "báo cáo định kỳ dùng 'due', không dùng 'deadline'"))
        shape = (ob.period, ob.key_prefix)
        if shape in keys:
            issues.append(doc.issue(loc + ("key_prefix",), f"trùng kỳ báo cáo với {_other(doc, ('obligations', keys[shape]))}; đặt key_prefix khác nhau"))
        keys.setdefault(shape, i)
    days_off = set(plan.calendar.extra_days_off)
    for j, d in enumerate(plan.calendar.extra_working_days):
        if d in days_off:
            issues.append(doc.issue(("calendar", "extra_working_days", j), f"ngày {d:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm việc"))
    issues += _step_issues(plan.reminders.steps, doc)
    return issues


def _step_issues(steps: list[ReminderStep], doc: YamlDocument) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: dict[tuple[str, int], int] = {}
    unit_days: dict[int, int] = {}
    for j, step in enumerate(steps):
        loc = ("reminders", "steps", j)
        if (step.working_days_before is None) == (step.working_days_after is None):
            issues.append(doc.issue(loc, "cần đúng một trong hai: working_days_before hoặc working_days_after"))
            continue
        if step.kind == "overdue" and step.working_days_after is None:
            issues.append(doc.issue(loc, "nhắc quá hạn (overdue) phải sau hạn: dùng working_days_after"))
        if step.kind in ("notice", "reminder") and step.working_days_before is None:
            issues.append(doc.issue(loc, f"bước '{step.kind}' phải trước hạn: dùng working_days_before"))
        if (step.kind, step.offset) in seen:
            issues.append(doc.issue(loc, f"bước nhắc trùng với {_other(doc, ('reminders', 'steps', seen[step.kind, step.offset]))}"))
        seen.setdefault((step.kind, step.offset), j)
        if step.kind in UNIT_STEP_KINDS:
            # One mail per unit per day: a second unit step on the same day would be noise.
            if step.offset in unit_days and unit_days[step.offset] != j:
                issues.append(doc.issue(loc, f"trùng ngày gửi với {_other(doc, ('reminders', 'steps', unit_days[step.offset]))}"))
            unit_days.setdefault(step.offset, j)
    return issues


def _units_issues(doc: YamlDocument, plan_doc: YamlDocument | None) -> list[ConfigIssue]:
    raw = doc.data if isinstance(doc.data, dict) else {}
    units = _items(raw, "units")
    issues = _unique(units, "code", ("units",), doc, "mã đơn vị", "đơn vị")
    plan_raw = plan_doc.data if plan_doc and isinstance(plan_doc.data, dict) else None
    obligation_ids = {o.get("id") for o in _items(plan_raw, "obligations")} if plan_raw else None
    for i, unit in enumerate(units):
        issues += _unique(_items(unit, "focal_points"), "email", ("units", i, "focal_points"), doc, "email",
                          "đầu mối")
        if obligation_ids is not None:
            issues += _refs(unit.get("obligations"), obligation_ids, ("units", i, "obligations"), doc, "nghĩa vụ '{}' chưa được định nghĩa trong plan.yaml")
    return issues
