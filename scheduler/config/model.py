"""The configuration an admin edits: `plan.yaml` (organisation, obligations, indicators,
headings, reminder policy, days off) and `units.yaml` (the units and their people).

`load_config(dir)` returns a validated, immutable `Config` or raises `ConfigError` listing
every problem at once, each with file, line and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, StrictBool

from scheduler.policy.periods import Period, PeriodType, WorkingCalendar, periods_in_window
from scheduler.config.measures import GROUP_PATTERN, UNIT_CODE_PATTERN, Ident, Indicator, Text, _Strict
from scheduler.config.measures import Target  # noqa: F401 - the rest of the code takes the config's names from here
from scheduler.config.plans import (Campaign, Heading, Obligation, PlanBody, PlanDocument, Ranking, ReportWording,
                                    Signer)
from scheduler.config.source import Entries
from scheduler.text import one_off_words

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


# The part before the @ that email-validator takes as it is (RFC 5322's dot-atom, ASCII).
_DOT_ATOM = re.compile(r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z")


def _email(value: str) -> str:
    try:
        local, _, domain = value.rpartition("@")
        if value.isascii() and len(value) <= 254 and _DOT_ATOM.match(local):
            # A province's 4,000 addresses are at a few domains: each is checked once, which was
            # a fifth of loading its units.yaml (the same answers: tests/config/test_emails.py).
            return f"{local}@{_domain(domain)}"
        valid = _validate(value)
    except EmailNotValidError as exc:
        hint = " (chữ có dấu trước @ không gửi được)" if not value.isascii() else ""
        raise ValueError(f"{value!r} không phải địa chỉ email hợp lệ{hint}") from exc
    return valid.ascii_email or valid.normalized


def _validate(value: str):
    # Deliverability needs DNS, which a config check must not depend on. Accented letters
    # before the @ need SMTPUTF8, which most office mail servers lack: refuse them here.
    return validate_email(value, check_deliverability=False, allow_smtputf8=False)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """The domain as email-validator writes it (lower case, IDNA), or EmailNotValidError."""
    return _validate("x@" + domain).ascii_domain


Email = Annotated[str, AfterValidator(_email)]


# ---------------------------------------------------------------- plan.yaml

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


class Plan(PlanBody):
    """plan.yaml: what every plan of the instance shares (the organisation, its calendar, the
    reminder policy) and, as before plans/ existed, one plan of its own. Merged with the
    files of config/plans/ by load_config, this holds every plan's obligations, indicators and
    headings under ids made unique by the plan's id (see PlanPart)."""

    organisation: Organisation
    calendar: WorkingDays = WorkingDays()
    reminders: Reminders
    campaign: Campaign | None = None  # None: plan.yaml holds no plan of its own
    obligations: list[Obligation] = []


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

PLANS_DIR = "plans"


@dataclass(frozen=True)
class PlanPart:
    """One Kế hoạch of the instance, as its report needs it. `id` is "" for the plan that
    plan.yaml holds itself (its ids stay as written) and the file's name for config/plans/<id>.yaml
    (its ids become "<id>.<id in the file>", so that two plans may both say `so_hoa`)."""

    id: str
    file: str
    campaign: Campaign
    document: PlanDocument | None
    report: ReportWording
    ranking: Ranking | None
    signer: Signer
    recipients: tuple[str, ...]
    obligations: tuple[str, ...]  # the obligations' ids, as the merged plan has them

    @classmethod
    def of(cls, id: str, file: str, body: PlanBody, org: "Organisation", obligations: tuple[str, ...]) -> "PlanPart":
        """A plan's part, its signer and Nơi nhận defaulting to the organisation's."""
        assert body.campaign is not None
        return cls(id, file, body.campaign, body.document, body.report, body.ranking, body.signer or org.signer,
                   tuple(body.recipients or org.recipients), obligations)

    @property
    def title(self) -> str:
        """How a form names the plan its questions come from."""
        return self.document.title if self.document else self.campaign.title


def applies(refs: list[str], unit: Unit) -> bool:
    """Whether an entry limited to `refs` (unit groups or codes; none: everyone) concerns `unit`."""
    return not refs or unit.code in refs or (unit.group is not None and unit.group in refs)


@dataclass(frozen=True, eq=False)  # identity hash: planner caches per loaded config
class Config:
    plan: Plan
    units: tuple[Unit, ...]
    directory: Path = field(compare=False)
    groups: tuple[UnitGroup, ...] = ()
    parts: tuple[PlanPart, ...] = ()  # empty: the single plan of plan.yaml (as Config(plan=…) in tests)

    @cached_property
    def _parts(self) -> tuple[PlanPart, ...]:
        if self.parts:
            return self.parts
        plan = self.plan
        return (PlanPart.of("", PLAN_FILE, plan, plan.organisation, tuple(o.id for o in plan.obligations)),)

    def part_of(self, period: Period) -> PlanPart:
        """The Kế hoạch a period belongs to (a request: the plan of the obligation it is like)."""
        return next((p for p in self._parts if period.obligation in p.obligations), self._parts[0])

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.plan.calendar.extra_days_off, self.plan.calendar.extra_working_days)

    @cached_property
    def periods(self) -> tuple[Period, ...]:
        """Every period of the plan's obligations that overlaps the campaign, by deadline."""
        found: list[Period] = []
        windows = {ob: part.campaign for part in self._parts for ob in part.obligations}
        for ob in self.plan.obligations:
            campaign = windows[ob.id]
            if ob.period == "once":
                assert ob.deadline is not None
                found.append(Period(ob.id, ob.id, ob.title, campaign.start, ob.deadline, ob.deadline))
            else:
                # A report that goes with another takes that one's days (see Obligation.with_).
                rule = next((o for o in self.plan.obligations if o.id == ob.with_), ob) if ob.with_ else ob
                assert rule.due is not None
                kind: PeriodType = ob.period  # type: ignore[assignment]
                found += periods_in_window(
                    ob.id, kind, rule.due.month, rule.due.day, campaign.start, campaign.end, ob.key_prefix,
                    ob.data_cutoff if ob.data_cutoff is not None else rule.data_cutoff,
                )
        return tuple(sorted(found, key=lambda p: (p.due, p.key)))

    @cached_property
    def _period_by_key(self) -> dict[str, Period]:
        found: dict[str, Period] = {}
        for p in self.periods:
            found.setdefault(p.key, p)  # the first, as a scan would find it
        return found

    @cached_property
    def _unit_by_code(self) -> dict[str, Unit]:
        found: dict[str, Unit] = {}
        for u in self.units:
            found.setdefault(u.code, u)
        return found

    # Looked up per message and per form: a scan of a province's units for each was quadratic.
    def period(self, key: str) -> Period | None:
        return self._period_by_key.get(key)

    def unit(self, code: str) -> Unit | None:
        return self._unit_by_code.get(code)

    def obligation(self, obligation_id: str) -> Obligation:
        return next(o for o in self.plan.obligations if o.id == obligation_id)

    def obligation_of(self, period: Period) -> Obligation | None:
        """None for a request whose obligation has since left the plan."""
        return next((o for o in self.plan.obligations if o.id == period.obligation), None)

    def is_recurring(self, period: Period) -> bool:
        """A period of a quarterly/yearly… obligation, as opposed to a one-off request."""
        # Asked for every unit of every period at every tick (through `bundle`): worked out once
        # per period, not by a scan of the periods comparing each field by field.
        found = self._recurring.get(period)
        if found is None:
            ob = self.obligation_of(period)
            found = self._recurring[period] = (ob is not None and ob.period != "once"
                                               and period in frozenset(self.periods))
        return found

    @cached_property
    def _recurring(self) -> dict[Period, bool]:
        return {}

    def units_for(self, period: Period) -> list[Unit]:
        """Active units that owe a report for `period`."""
        return [
            u
            for u in self.units
            if u.active
            and self.owes(u, period.obligation)
            and (period.units is None or u.code in period.units)
        ]

    def bundle(self, period: Period, unit: Unit) -> list[Period]:
        """The periods of the plans that `unit` owes on `period`'s due day, in the plans' order:
        one form, one link and one set of reminders for them all (one per unit and deadline).
        A request stands alone: it has its own title and questions."""
        if not self.is_recurring(period):
            return [period]
        key = (period.due, unit.code)
        if key not in self._bundles:
            order = {o.id: n for n, o in enumerate(self.plan.obligations)}
            self._bundles[key] = sorted((p for p in self.periods if p.due == period.due and self.owes(unit, p.obligation)),
                                        key=lambda p: (order.get(p.obligation, len(order)), p.key))
        return self._bundles[key] or [period]

    @cached_property
    def _bundles(self) -> dict[tuple, list[Period]]:
        return {}

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
        if period.indicators is not None:
            wanted &= period.indicators
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
        if period.headings is not None:
            wanted &= period.headings
        chosen = [h for h in self.plan.headings if h.id in wanted and (unit is None or applies(h.applies_to, unit))]
        if self.is_recurring(period):
            return chosen
        # A one-off request asks "Phương hướng … thời gian tới", not "… quý tiếp theo": the form,
        # its mails, its XLSX and its report all take the titles from here.
        return [h.model_copy(update={"title": one_off_words(h.title)}) for h in chosen]

    @property
    def unit_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind in UNIT_STEP_KINDS]

    @property
    def digest_steps(self) -> list[ReminderStep]:
        return [s for s in self.plan.reminders.steps if s.kind == "digest"]
