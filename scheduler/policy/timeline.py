"""When each reminder step of a due day falls, worked out once per loaded config.

A tick asks every unit of every period which step is the latest one passed; a year's preview
asks it at each of 366 ticks. The answers depend only on the config (its calendar, `send_at`,
its steps) and the due day, so they are computed once and kept with the config's identity: a
reloaded config is a new object and gets a new schedule (and the old one goes with it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from weakref import WeakKeyDictionary

from scheduler.clock import local
from scheduler.config.model import Config, ReminderStep
from scheduler.policy.periods import Period

# A final step stays owed this many working days: a service first started in November does not
# mail June's overdue notices.
CATCH_UP_WORKING_DAYS = 5


def step_day(config: Config, due: date, step: ReminderStep) -> date:
    cal = config.calendar
    if step.offset < 0:
        return cal.working_day_before(due, -step.offset)
    return cal.working_day_from(due, step.offset)


def step_instant(config: Config, period: Period, step: ReminderStep) -> datetime:
    """When `step` of `period` is sent: `send_at` on its working day, Asia/Ho_Chi_Minh."""
    instants = _schedule(config).instants
    key = (period.due, step.offset)  # the instant depends on nothing else of the step
    found = instants.get(key)
    if found is None:
        found = instants[key] = local(step_day(config, period.due, step), config.plan.reminders.send_at)
    return found


@dataclass(frozen=True)
class Timeline:
    """One due day's steps (a unit's, or the office's digests) in time order, worked out once
    per loaded config: a tick asks the same of every unit of every period."""

    timed: tuple[tuple[datetime, ReminderStep], ...]
    instants: tuple[datetime, ...]
    ids: tuple[str, ...]
    later: tuple[tuple[str, ...], ...]  # for each step: the ids of the steps planned at or after it
    final: tuple[bool, ...]  # for each step: whether it is the last of the line
    ended: date | None  # after this day the last step is no longer caught up (CATCH_UP_WORKING_DAYS)

    def latest(self, now: datetime) -> int:
        """The index of the last step planned at or before `now` (-1: none yet)."""
        return bisect_right(self.instants, now) - 1


@dataclass
class _Schedule:
    """What the planner worked out from one loaded config (its identity: a reloaded config is
    a new object, with a new schedule)."""

    instants: dict[tuple[date, int], datetime] = field(default_factory=dict)
    lines: dict[tuple[date, str], Timeline] = field(default_factory=dict)
    unit_steps: tuple[ReminderStep, ...] = ()
    digest_steps: tuple[ReminderStep, ...] = ()


_schedules: "WeakKeyDictionary[Config, _Schedule]" = WeakKeyDictionary()


def _schedule(config: Config) -> _Schedule:
    found = _schedules.get(config)
    if found is None:
        found = _schedules[config] = _Schedule(unit_steps=tuple(config.unit_steps),
                                               digest_steps=tuple(config.digest_steps))
    return found


def timeline(config: Config, period: Period, line: str) -> Timeline:
    """`line`: "unit" (notice, reminders, overdue) or "digest"."""
    schedule = _schedule(config)
    found = schedule.lines.get((period.due, line))
    if found is None:
        steps = schedule.unit_steps if line == "unit" else schedule.digest_steps
        timed = tuple(sorted(((step_instant(config, period, s), s) for s in steps), key=lambda t: t[0]))
        instants = tuple(at for at, _ in timed)
        ids = tuple(s.id for _, s in timed)
        found = schedule.lines[(period.due, line)] = Timeline(
            timed, instants, ids,
            later=tuple(ids[bisect_left(instants, at):] for at in instants),
            final=tuple(t == timed[-1] for t in timed),
            ended=config.calendar.working_day_from(instants[-1].date(), CATCH_UP_WORKING_DAYS + 1) if timed else None,
        )
    return found


def quiet(line: Timeline, now: datetime) -> bool:
    """Whether no audience at all can be owed a step of this line at `now`: none is planned
    yet, or the last one's catch-up days are over (what `_latest_owed` would find for each)."""
    index = line.latest(now)
    return index < 0 or (line.final[index] and now.date() > line.ended)
