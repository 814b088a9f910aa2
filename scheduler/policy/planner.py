"""What is owed now: a pure function of the config, the stored facts and `now`.

The scheduler's tick, the `baocao plan` preview and the tests all call `owed_at` (through
`decide`, with the first-start clock hold); the preview replays the tick's own decisions at the
tick's instants (`preview`). It imports no database, SMTP or web code.

Rules (DOMAIN.md, "Reminder policy"):
- every step is placed on a working day at `send_at` local time (see `step_instant`);
- notice, reminder and overdue go only to active units that have not reported;
- a service started late owes, per unit and period, only the latest step it missed, once;
  a final step stays owed for `CATCH_UP_WORKING_DAYS` working days, so a service first
  started in November does not mail June's overdue notices;
- a unit added mid-campaign joins from its first step after it appeared;
- a closed period owes nothing;
- one mail per unit and deadline: a period's unit mails wait while an earlier period of the
  unit's bundle (another plan, same due day) is unreported, and a step that mail carried is
  not sent again once the first period is reported alone;
- nothing is owed on a day off or before `send_at`: a service started on a holiday
  catches up at 08:00 on the next working day, not at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Mapping

from scheduler.policy.periods import Period
from scheduler.clock import local, to_local
from scheduler.config.model import UNIT_STEP_KINDS, Config, ReminderStep
from scheduler.policy import timeline as _steps
from scheduler.policy.timeline import Timeline, quiet, timeline

if TYPE_CHECKING:
    from scheduler.policy.clockcheck import ClockFacts

# The tick, the web and the collector take these from the planner.
step_day, step_instant, CATCH_UP_WORKING_DAYS = _steps.step_day, _steps.step_instant, _steps.CATCH_UP_WORKING_DAYS

OFFICE = "*"  # the audience of a digest in the send ledger; unit codes cannot contain "*"


@dataclass(frozen=True)
class Facts:
    """What the store knows that the planner needs."""

    reported: frozenset[tuple[str, str]] = frozenset()  # (period key, unit code)
    # (period key, audience, step id) → the step's planned instant, for every send in the ledger
    sent: Mapping[tuple[str, str, str], datetime] = field(default_factory=dict)
    joined: Mapping[str, datetime] = field(default_factory=dict)  # unit code → joined at
    closed: frozenset[str] = frozenset()  # period keys
    # (period key, audience) → planned instant of the newest step in the ledger. Step ids come
    # from the policy (notice-10); should an admin change the policy mid-period, this still
    # says how far the unit has got, so a renamed step is not sent again.
    reached: Mapping[tuple[str, str], datetime] = field(default_factory=dict)

    def with_sent(self, sends: Iterable["OwedSend"]) -> "Facts":
        sends = list(sends)
        if not sends:
            return self  # most ticks of a preview send nothing: no copy of the whole ledger
        reached = dict(self.reached)
        for s in sends:
            key = (s.period.key, s.audience)
            reached[key] = max(reached.get(key, s.at), s.at)
        return Facts(self.reported, {**self.sent, **{s.ledger_key: s.at for s in sends}}, self.joined, self.closed,
                     reached)


@dataclass(frozen=True)
class OwedSend:
    """One message the policy owes: `at` is the step's planned instant (a late service
    sends it now, but it is still that step)."""

    at: datetime
    kind: str
    step: str
    period: Period
    unit: str | None  # None for the office digest
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    ref: int | None = None  # the revision a receipt confirms, the version a report mail carries

    @property
    def audience(self) -> str:
        return self.unit or OFFICE

    @property
    def ledger_key(self) -> tuple[str, str, str]:
        return (self.period.key, self.audience, self.step)

    def as_json(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "period": self.period.key,
            "unit": self.unit,
            "to": list(self.to),
            "cc": list(self.cc),
        }


def _latest_owed(
    line: Timeline, period: Period, audience: str, facts: Facts,
    now: datetime, joined: datetime | None, carriers: tuple[str, ...] = (),
) -> tuple[ReminderStep, datetime, str] | None:
    """(the step, its instant, its id) or None. `carriers`: the keys of earlier periods of the unit's bundle, whose mails carried this
    period's steps: a step one of them sent counts as sent here (not sent again once the unit
    reports the first period alone)."""
    index = line.latest(now)
    if index < 0:
        return None
    at, step = line.timed[index]
    if joined is not None and at < joined:
        return None  # every step up to now was planned before the unit appeared
    keys = (period.key,) + carriers
    # A send planned for later than now can only have been made by a clock that ran ahead: once
    # the clock is put right it must not stand in for the steps now due (see `premature`).
    sent = facts.sent
    if sent and any(not premature(sent.get((key, audience, later)), now) for later in line.later[index] for key in keys):
        return None  # this step, or a later one, already went out
    if facts.reached:
        reached = max((r for key in keys if (r := facts.reached.get((key, audience))) is not None and r <= now),
                      default=None)
        if reached is not None and at <= reached <= now:
            return None  # a step planned for this instant or later is in the ledger (policy since changed)
    if line.final[index] and now.date() > line.ended:
        return None  # the period's reminders ended long ago; do not start a backlog
    return step, at, line.ids[index]


def premature(planned: datetime | None, now: datetime) -> bool:
    """True for a ledger entry planned after `now` (None: no entry at all, which counts the same)."""
    return planned is None or planned > now


def sending_hours(config: Config, now: datetime) -> bool:
    """A working day, at or after `send_at`: the only time the office's mail goes out."""
    local_now = to_local(now)
    return config.calendar.is_working_day(local_now.date()) and local_now.time() >= config.plan.reminders.send_at


def owed_at(config: Config, periods: Iterable[Period], facts: Facts, now: datetime) -> list[OwedSend]:
    """Every send owed at `now`, in time order (digests after the unit mails of the same instant)."""
    if not sending_hours(config, now):
        return []
    owed: list[OwedSend] = []
    for period in periods:
        if period.key in facts.closed:
            continue
        units = timeline(config, period, "unit")
        if not quiet(units, now):  # most periods of a year, on most days: nothing to ask any unit
            for unit in config.units_for(period):
                if (period.key, unit.code) in facts.reported:
                    continue
                bundle = config.bundle(period, unit)
                if _carried(period, bundle, unit, facts):
                    continue
                keys = [p.key for p in bundle]
                carriers = tuple(keys[:keys.index(period.key)]) if period.key in keys else ()
                found = _latest_owed(units, period, unit.code, facts, now, facts.joined.get(unit.code), carriers)
                if found:
                    step, at, step_id = found
                    to = tuple(p.email for p in unit.focal_points)
                    owed.append(OwedSend(
                        at=at, kind=step.kind, step=step_id, period=period, unit=unit.code, to=to,
                        cc=(unit.head.email,) if step.cc_head and unit.head.email not in to else (),
                    ))
        found = _latest_owed(timeline(config, period, "digest"), period, OFFICE, facts, now, None)
        if found:
            step, at, step_id = found
            owed.append(OwedSend(at=at, kind=step.kind, step=step_id, period=period, unit=None,
                                 to=tuple(config.plan.organisation.office_emails)))
    return sorted(owed, key=_order)


def _carried(period: Period, bundle: list[Period], unit, facts: Facts) -> bool:
    """Whether another period due the same day carries this one's mail: the unit has not
    reported an earlier period of its bundle (`config.bundle`), whose mail lists every period
    still owed."""
    for other in bundle:
        if other.key == period.key:
            return False
        if (other.key, unit.code) not in facts.reported and other.key not in facts.closed:
            return True
    return False


def _order(s: OwedSend) -> tuple:
    return (s.at, s.unit is None, s.period.due, s.period.key, s.unit or "")


# A consolidated report is made (and remade on late figures) for this long after the deadline.
# Anchored on the deadline, not the period's end: a yearly report due in February, or any
# period due long after it ends, gets its report like a quarter does.
REPORT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Decision:
    """What one tick does with the sends owed at its `now`: claims some, holds the others back
    (overdue mail of a first start whose clock nobody has confirmed, see clockcheck)."""

    claim: tuple[OwedSend, ...]
    held: tuple[OwedSend, ...]


def decide(config: Config, periods: Iterable[Period], facts: Facts, clock: "ClockFacts", now: datetime) -> Decision:
    """The tick's decision, shared by the service and `baocao plan`: what is owed (`owed_at`)
    less what the first-start clock check holds. `clock` is as `clockcheck.at_tick` left it."""
    from scheduler.policy import clockcheck

    owed = owed_at(config, periods, facts, now)
    held = clockcheck.held(owed, clock)
    kept = {id(s) for s in held}  # held is a part of owed: by identity, not field by field
    return Decision(tuple(s for s in owed if id(s) not in kept), tuple(held))


def reports_due(config: Config, periods: Iterable[Period], closed: frozenset[str] | set[str],
                now: datetime) -> list[Period]:
    """The periods whose consolidated report a tick at `now` (re)considers: sending hours, past
    the deadline by at most REPORT_WINDOW, not closed. Whether a version is made is then up to
    the figures (versions.make_version: none yet, or changed since the last one)."""
    if not sending_hours(config, now):
        return []
    return [p for p in periods
            if p.key not in closed and p.deadline <= now <= p.deadline + REPORT_WINDOW]


def report_send(config: Config, period: Period, version: int, now: datetime) -> OwedSend:
    """The mail of report version `version` to the office, made by the tick at `now`."""
    return OwedSend(at=now, kind="report", step=f"report-v{version}", period=period, unit=None, ref=version,
                    to=tuple(config.plan.organisation.office_emails))


@dataclass(frozen=True)
class Planned:
    """One message of the preview: `at` is the tick that sends it (for a step the service
    catches up, later than the step's own instant, `send.at`)."""

    at: datetime
    send: OwedSend
    held: bool = False  # held back by the first-start clock check: goes only after confirm-clock

    @property
    def caught_up(self) -> bool:
        return self.send.at < self.at and self.send.kind != "report"

    def as_json(self) -> dict:
        shown = self.send.as_json() | {"at": self.at.isoformat(timespec="seconds")}
        if self.held:
            shown["held"] = True
        return shown


def tick_instants(config: Config, now: datetime, end: datetime) -> list[datetime]:
    """When a running service decides, from `now` to `end`: now (the service's start, or its
    next check a few minutes away), then `send_at` every day. Between those instants nothing
    new becomes owed unless someone acts (a unit reports, the office opens a request)."""
    if now > end:
        return []
    ticks = [now]
    day = to_local(now).date()
    while True:
        moment = local(day, config.plan.reminders.send_at)
        if moment > end:
            return ticks
        if moment > now:
            ticks.append(moment)
        day += timedelta(days=1)


def preview(config: Config, periods: Iterable[Period], facts: Facts, clock: "ClockFacts", now: datetime,
            end: datetime, reports: Mapping[str, int] | None = None) -> list[Planned]:
    """Every message a running service sends from `now` to `end` if no unit reports from now
    on: the tick's own decisions (`decide`, `reports_due`) replayed at each of its instants,
    each send counted as made at that instant. `clock`: the clock facts in the store now
    (first tick None on a store never ticked: its first tick is `now`). `reports`: period key
    → the report version the next tick in the report window would make (a period without a
    version yet, or whose figures changed since its last one); no entry, no new version."""
    from scheduler.policy import clockcheck

    periods = list(periods)
    pending = dict(reports or {})
    held_seen: set[tuple[str, str, str]] = set()
    planned: list[Planned] = []
    for tick in tick_instants(config, now, end):
        clock, _ = clockcheck.at_tick(clock, tick)
        decision = decide(config, periods, facts, clock, tick)
        planned += [Planned(tick, s) for s in decision.claim]
        for s in decision.held:  # held again at every tick until confirmed: shown once
            if s.ledger_key not in held_seen:
                held_seen.add(s.ledger_key)
                planned.append(Planned(tick, s, held=True))
        facts = facts.with_sent(decision.claim)
        for period in reports_due(config, periods, facts.closed, tick):
            version = pending.pop(period.key, None)
            if version is not None:
                planned.append(Planned(tick, report_send(config, period, version, tick)))
    return planned


# Mails about one revision (its receipt, the request for the head's approval, its return for
# correction): each stands alone, superseding no reminder step and superseded by none.
STANDALONE = ("receipt", "approval", "returned")


def group(kind: str) -> str:
    """Sends that supersede one another: a unit's notice, reminders and overdue mails are one
    line of steps; the office's digests another; report versions a third."""
    return kind if kind in ("digest", "report") else "reminder"


def newest_steps(rows: Iterable[tuple[str, str, str, datetime]], now: datetime) -> dict[tuple[str, str, str], datetime]:
    """(period, audience, group) → the newest planned instant among ledger rows (period, audience,
    kind, planned at); receipts, approval and return mails stand alone, and rows planned after `now` (a clock that ran
    ahead) supersede nothing."""
    newest: dict[tuple[str, str, str], datetime] = {}
    for period_key, audience, kind, at in rows:
        if kind in STANDALONE or at > now:
            continue
        key = (period_key, audience, group(kind))
        newest[key] = max(newest.get(key, at), at)
    return newest


@dataclass(frozen=True)
class Waiting:
    """A ledger row about to be delivered, as the deliverer took it."""

    period_key: str
    audience: str
    kind: str
    scheduled_at: datetime
    created_at: datetime
    partial: bool  # delivered to some recipients already; the rest still get that same message


def no_longer_owed(config: Config, row: Waiting, periods: frozenset[str], closed: frozenset[str],
                   reported: frozenset[tuple[str, str]] | set, newest: Mapping[tuple[str, str, str], datetime],
                   now: datetime, give_up_after) -> tuple[str, str] | None:
    """Why a waiting send must not go after all, as (outcome, reason), or None when it is still
    owed. 'cancelled' when it stopped being owed; 'permanent' when it waited too long to mean
    anything."""
    if row.period_key not in periods:
        return "cancelled", "kỳ báo cáo không còn trong cấu hình"
    if row.kind != "receipt" and row.period_key in closed:
        return "cancelled", "kỳ báo cáo đã khoá"
    if now - row.created_at > give_up_after:
        return "permanent", f"bỏ qua: không gửi được sau {give_up_after.days} ngày"
    if row.kind not in STANDALONE and not row.partial:
        if newest.get((row.period_key, row.audience, group(row.kind)), row.scheduled_at) > row.scheduled_at:
            return "cancelled", "đã có thư mới hơn cho bước sau"  # e.g. SMTP was down past the next step
    if row.audience == OFFICE:
        return None
    unit = config.unit(row.audience)
    if unit is None or not unit.active:
        return "cancelled", "đơn vị không còn được theo dõi"
    if row.kind in UNIT_STEP_KINDS and (row.period_key, row.audience) in reported:
        return "cancelled", "đơn vị đã nộp báo cáo"
    return None
