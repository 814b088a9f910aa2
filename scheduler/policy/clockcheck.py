"""Is the machine's clock to be trusted? Pure decisions from what the store already knows.

- A `now` earlier than the newest tick recorded is a clock that jumped back (or ran ahead
  before): it is logged, and nothing it wrote may strand a retry (the ledger's HORIZON) or stand
  in for a step now due (the planner ignores sends planned after now).
- The very first tick of an empty store has nothing to check the clock against. Overdue mail is
  the one message that cannot be taken back — it tells a unit, its head in copy, that it is
  late — so the catch-up of overdue steps planned before that first tick is held until the admin
  confirms the date (`baocao confirm-clock DD/MM/YYYY`), and so are those planned later on that
  first day. Everything else goes: a notice or a
  reminder sent a day early does no harm, and refusing to start would leave an unattended
  service down in a restart loop. Steps planned after the first tick go as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from scheduler.clock import to_local

if TYPE_CHECKING:  # the planner imports this module for `held`
    from scheduler.policy.planner import OwedSend

NEWEST_TICK = "newest_tick"
FIRST_TICK = "first_tick"
CONFIRMED = "clock_confirmed"
# Two instances on two machines, or a tick that read the clock just before another, are a few
# seconds apart; a backward jump worth an admin's attention is more than this.
TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class ClockFacts:
    newest_tick: datetime | None  # the newest `now` any tick recorded
    first_tick: datetime | None  # when this store was first ticked with an empty ledger
    confirmed: bool  # the admin confirmed the date (or the store predates this check)


def went_back(now: datetime, facts: ClockFacts) -> timedelta | None:
    """How far the clock jumped back since the newest tick, when more than TOLERANCE."""
    if facts.newest_tick is not None and now < facts.newest_tick - TOLERANCE:
        return facts.newest_tick - now
    return None


def at_tick(facts: ClockFacts, now: datetime) -> tuple[ClockFacts, timedelta | None]:
    """The clock facts as a tick at `now` leaves them (the tick decides with these, and the
    service stores whichever changed), and how far the clock jumped back (None: it did not).

    - the first tick of a store is its first start, which the hold below is counted from;
    - a first tick recorded at a false date later than now was a clock running ahead: the first
      start is now, so the overdue steps between now and that false date are not held back;
    - the newest tick is kept as the newest `now` seen, except after a jump back (logged once).
    """
    back = went_back(now, facts)
    first = facts.first_tick if facts.first_tick is not None else now
    if back is not None and now < first:
        first = now
    newest = facts.newest_tick
    if newest is None or back is not None or now > newest:
        newest = now
    return replace(facts, newest_tick=newest, first_tick=first), back


def held(owed: Iterable[OwedSend], facts: ClockFacts) -> list[OwedSend]:
    """The owed sends to hold back until the admin confirms the clock of a first start: overdue
    steps planned before the end of the first tick's day — a machine that boots at 07:30 on a
    wrong date must not send that day's 08:00 overdue mail unchecked either."""
    if facts.confirmed or facts.first_tick is None:
        return []
    first_day = to_local(facts.first_tick).date()
    return [s for s in owed if s.kind == "overdue" and to_local(s.at).date() <= first_day]
