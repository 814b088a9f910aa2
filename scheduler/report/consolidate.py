"""Consolidation of a period's reports: pure, no I/O.

Rules (written here because the office will be asked about them):
- An indicator's result for the department is Σ numerators / Σ denominators over the units
  that reported it; "Không phát sinh" is left out. Never the mean of the units' percentages.
- A result is compared with the target's own operator (≥, >, =).
- Ranking, highest first: number of targets met; then the mean achievement, where each
  assessed indicator counts min(result / target, 1); then the unit's name in Vietnamese order.
  Units whose every indicator was "Không phát sinh" come after those with figures; units
  that did not report are not ranked (they are listed as missing).
- The trend compares with the previous period of the same obligation, in percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scheduler.policy.periods import Period
from scheduler.config.model import Config, Indicator, Target
from scheduler.collect.validate import headings_for, indicators_for
from scheduler.text import without_marks


@dataclass(frozen=True)
class Returned:
    """The revision of one unit's report that the consolidation uses."""

    unit: str
    revision: int
    on_time: bool
    received_at: datetime
    figures: dict  # indicator id → {"num", "den"} or None (không phát sinh)
    narrative: dict  # heading id → text


@dataclass(frozen=True)
class Ratio:
    num: int
    den: int

    @property
    def percent(self) -> float:
        return 100.0 * self.num / self.den


@dataclass
class IndicatorResult:
    indicator: Indicator
    total: Ratio | None  # None: nobody had figures
    units: int  # units whose figures count
    met: bool | None
    previous: float | None = None  # previous period's result, percent

    @property
    def change(self) -> float | None:
        if self.total is None or self.previous is None:
            return None
        return self.total.percent - self.previous


@dataclass
class UnitResult:
    code: str
    name: str
    state: str  # on_time | late | missing
    revision: int | None
    ratios: dict[str, Ratio | None] = field(default_factory=dict)  # None: không phát sinh; absent: not reported
    met: int = 0
    assessed: int = 0
    mean_achievement: float | None = None


@dataclass
class Consolidation:
    period: Period
    indicators: list[IndicatorResult]
    units: list[UnitResult]  # every unit that owes the period, in config order
    ranking: list[UnitResult]  # units that reported, best first
    narratives: dict[str, list[tuple[str, str]]]  # heading id → [(unit name, text)]
    sources: dict[str, int]  # unit code → revision used

    @property
    def on_time(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == "on_time"]

    @property
    def late(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == "late"]

    @property
    def missing(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == "missing"]


def vietnamese_sort_key(name: str) -> tuple:
    """Alphabetical order as Vietnamese readers expect it closely enough: base letters first
    (đ after d), then the marks."""
    return (without_marks(name.replace("đ", "d~").replace("Đ", "D~")).casefold(), name)


def achievement(ratio: Ratio, target: Target) -> float:
    return 1.0 if target.percent == 0 else min(ratio.percent / target.percent, 1.0)


def consolidate(config: Config, period: Period, returned: dict[str, Returned],
                previous: dict[str, Returned] | None = None) -> Consolidation:
    """`previous`: the returns of the period before (same obligation, so the same indicators)."""
    indicators = indicators_for(config, period)
    owing = config.units_for(period)
    codes = [u.code for u in owing] + [c for c in returned if c not in {u.code for u in owing}]
    units: list[UnitResult] = []
    for code in codes:
        unit = config.unit(code)
        got = returned.get(code)
        result = UnitResult(code, unit.name if unit else code,
                            "missing" if got is None else ("on_time" if got.on_time else "late"),
                            got.revision if got else None)
        if got is not None:
            achieved = []
            for ind in indicators:
                if ind.id not in got.figures:
                    continue
                value = got.figures[ind.id]
                ratio = Ratio(value["num"], value["den"]) if value else None
                result.ratios[ind.id] = ratio
                if ratio is not None and ratio.den:
                    result.assessed += 1
                    result.met += ind.target.met(ratio.percent)
                    achieved.append(achievement(ratio, ind.target))
            result.mean_achievement = sum(achieved) / len(achieved) if achieved else None
        units.append(result)

    results = []
    for ind in indicators:
        total, count = _total(ind.id, returned.values())
        before, _ = _total(ind.id, (previous or {}).values())
        results.append(IndicatorResult(ind, total, count, ind.target.met(total.percent) if total else None,
                                       before.percent if before else None))

    reporters = [u for u in units if u.state != "missing"]
    ranking = sorted(reporters, key=lambda u: (u.mean_achievement is None, -u.met, -(u.mean_achievement or 0),
                                               vietnamese_sort_key(u.name)))
    names = {u.code: u.name for u in units}
    narratives: dict[str, list[tuple[str, str]]] = {}
    for heading in headings_for(config, period):
        narratives[heading.id] = [(names[code], returned[code].narrative.get(heading.id, "").strip())
                                  for code in codes if code in returned
                                  and returned[code].narrative.get(heading.id, "").strip()]
    return Consolidation(period, results, units, ranking, narratives,
                         {code: r.revision for code, r in returned.items()})


def _total(indicator_id: str, returned) -> tuple[Ratio | None, int]:
    """Σ numerators / Σ denominators over the units that reported the indicator ("Không phát
    sinh" and a zero denominator left out), and how many they were."""
    counted = [r.figures[indicator_id] for r in returned if (r.figures.get(indicator_id) or {}).get("den")]
    if not counted:
        return None, 0
    return Ratio(sum(v["num"] for v in counted), sum(v["den"] for v in counted)), len(counted)
