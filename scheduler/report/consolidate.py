"""Consolidation of a period's reports: pure, no I/O.

Rules (written here because the office will be asked about them):
- An indicator's result for the department: a ratio is Σ numerators / Σ denominators over the
  units that reported it, never the mean of the units' percentages; a count is Σ; a mean is
  Σ totals / Σ cases. "Không phát sinh" is left out.
- A result is compared with the period's target (the year's own, when it changes by year),
  with the target's own operator (≥, >, =, ≤, <). An indicator with no target is monitored only.
- Ranking, when the plan asks for one (per unit group if it says so): by the share of the
  unit's assessed targets met, or by its mean achievement (each indicator counts its result
  against its target, at most 100%); the other measure breaks ties, then lateness if the plan
  says so, then the unit's name in Vietnamese order. A late unit may lose points instead, or
  rank after every unit that reported on time.
  Units that answered only "Không phát sinh" are listed, not ranked; units that did not
  report are not ranked (they are listed as missing).
- The trend compares with the previous period of the same obligation: percentage points for
  a ratio, the value's own unit for a count or a mean.
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
    """Summed figures: a ratio's or a mean's numerator and denominator; a count's sum (den None)."""

    num: int
    den: int | None

    @property
    def percent(self) -> float:
        return 100.0 * self.num / self.den if self.den else 0.0


def value_of(indicator: Indicator, ratio: Ratio | None) -> float | None:
    if ratio is None:
        return None
    return indicator.value({"num": ratio.num, "den": ratio.den} if ratio.den is not None else {"num": ratio.num})


@dataclass
class IndicatorResult:
    indicator: Indicator
    total: Ratio | None  # None: nobody had figures
    units: int  # units whose figures count
    met: bool | None  # None: no figures, or no target
    previous: float | None = None  # previous period's value
    target: Target | None = None  # the period's target
    number: str = ""  # "1", "2.3" as the report numbers it; "" for a "trong đó" child
    depth: int = 0  # 1: a "trong đó" child, shown indented under its parent

    @property
    def value(self) -> float | None:
        return value_of(self.indicator, self.total)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass
class IndicatorBlock:
    """Indicators under one group heading ("Nhóm chỉ tiêu về …"), or one ungrouped indicator."""

    number: str
    title: str | None  # None: an ungrouped indicator
    rows: list[IndicatorResult]


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
    group: str | None = None  # the unit group's name
    score: float | None = None  # the ranking's score, 0–100, after any lateness penalty


@dataclass
class RankGroup:
    name: str | None  # the unit group; None: every unit ranked together
    rows: list[UnitResult]


@dataclass
class Consolidation:
    period: Period
    indicators: list[IndicatorResult]
    units: list[UnitResult]  # every unit that owes the period, in config order
    ranking: list[UnitResult]  # ranked units, best first (group after group when ranked per group)
    narratives: dict[str, list[tuple[str, str]]]  # heading id → [(unit name, text)]
    sources: dict[str, int]  # unit code → revision used
    rankings: list[RankGroup] = field(default_factory=list)  # empty: the plan ranks nobody
    unranked: list[UnitResult] = field(default_factory=list)  # reported, but no target to assess ("Không phát sinh")
    blocks: list[IndicatorBlock] = field(default_factory=list)

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


def consolidate(config: Config, period: Period, returned: dict[str, Returned],
                previous: dict[str, Returned] | None = None) -> Consolidation:
    """`previous`: the returns of the period before (same obligation, so the same indicators)."""
    indicators = indicators_for(config, period)
    owing = config.units_for(period)
    owing_codes = {u.code for u in owing}
    codes = [u.code for u in owing] + [c for c in returned if c not in owing_codes]
    # Looked up once, not per unit: at province scale (2,000 units) a scan per unit is quadratic.
    by_code = {u.code: u for u in config.units}
    group_names = {g.id: g.name for g in config.groups}
    targets = [(ind, ind.target_for(period)) for ind in indicators]
    units: list[UnitResult] = []
    for code in codes:
        unit = by_code.get(code)
        got = returned.get(code)
        result = UnitResult(code, unit.name if unit else code,
                            "missing" if got is None else ("on_time" if got.on_time else "late"),
                            got.revision if got else None, group=group_names.get(unit.group) if unit else None)
        if got is not None:
            achieved = []
            for ind, target in targets:
                if ind.id not in got.figures:
                    continue
                value = got.figures[ind.id]
                ratio = Ratio(value["num"], value.get("den")) if value else None
                result.ratios[ind.id] = ratio
                measured = value_of(ind, ratio)
                if target is not None and measured is not None:
                    result.assessed += 1
                    result.met += target.met(measured)
                    achieved.append(target.achievement(measured))
            result.mean_achievement = sum(achieved) / len(achieved) if achieved else None
        units.append(result)

    results = []
    for ind in indicators:
        total, count = _total(ind, returned.values())
        before, _ = _total(ind, (previous or {}).values())
        target = ind.target_for(period)
        value = value_of(ind, total)
        results.append(IndicatorResult(ind, total, count, target.met(value) if target and value is not None else None,
                                       value_of(ind, before), target))
    blocks = _number(config, results)

    rankings, unranked = _rank(config, period, units)
    names = {u.code: u.name for u in units}
    narratives: dict[str, list[tuple[str, str]]] = {}
    for heading in headings_for(config, period):
        narratives[heading.id] = [(names[code], returned[code].narrative.get(heading.id, "").strip())
                                  for code in codes if code in returned
                                  and returned[code].narrative.get(heading.id, "").strip()]
    return Consolidation(period, results, units, [u for g in rankings for u in g.rows], narratives,
                         {code: r.revision for code, r in returned.items()}, rankings, unranked, blocks)


def previous_period(config: Config, period: Period) -> Period | None:
    """The period before, for the trend: recurring obligations only (a one-off request has no
    "previous quarter" to compare with)."""
    if not config.is_recurring(period):
        return None
    earlier = [p for p in config.periods if p.obligation == period.obligation and p.due < period.due]
    return max(earlier, key=lambda p: p.due) if earlier else None


def _number(config: Config, results: list[IndicatorResult]) -> list[IndicatorBlock]:
    """Numbers as the plan groups them: a group is "1" and its indicators "1.1", "1.2"; an
    ungrouped indicator is a number of its own; a "trong đó" child has none."""
    titles = {g.id: g.title for g in config.plan.indicator_groups}
    blocks: list[IndicatorBlock] = []
    by_group: dict[str, IndicatorBlock] = {}
    for r in results:
        if r.indicator.parent is not None and any(p.indicator.id == r.indicator.parent for p in results):
            r.depth = 1
            parent_block = next(b for b in blocks if any(p.indicator.id == r.indicator.parent for p in b.rows))
            parent_block.rows.append(r)
            continue
        group = r.indicator.group
        if group is not None and group in by_group:
            block = by_group[group]
        else:
            block = IndicatorBlock(str(len(blocks) + 1), titles.get(group) if group else None, [])
            blocks.append(block)
            if group is not None:
                by_group[group] = block
        block.rows.append(r)
        if block.title is None:
            r.number = block.number
        else:
            r.number = f"{block.number}.{sum(1 for x in block.rows if x.depth == 0)}"
    return blocks


def _rank(config: Config, period: Period, units: list[UnitResult]) -> tuple[list[RankGroup], list[UnitResult]]:
    rule = config.part_of(period).ranking
    reporters = [u for u in units if u.state != "missing"]
    unranked = [u for u in reporters if u.mean_achievement is None]
    if rule is None:
        return [], unranked
    ranked = [u for u in reporters if u.mean_achievement is not None]
    for u in ranked:
        share = 100.0 * u.met / u.assessed
        u.score = share if rule.by == "targets_met" else 100.0 * (u.mean_achievement or 0)
        if rule.late == "penalty" and u.state == "late":
            u.score = max(0.0, u.score - rule.late_penalty)

    def key(u: UnitResult) -> tuple:
        other = 100.0 * (u.mean_achievement or 0) if rule.by == "targets_met" else 100.0 * u.met / u.assessed
        late = u.state == "late"
        if rule.late == "after":  # on time first, whatever the score
            return (late, -round(u.score or 0, 9), -round(other, 9), vietnamese_sort_key(u.name))
        return (-round(u.score or 0, 9), -round(other, 9), late and rule.late == "tie_break",
                vietnamese_sort_key(u.name))

    if not rule.per_group:
        return ([RankGroup(None, sorted(ranked, key=key))] if ranked else []), unranked
    order = [g.name for g in config.groups] + [None]
    groups = [RankGroup(name, sorted([u for u in ranked if u.group == name], key=key)) for name in order]
    return [g for g in groups if g.rows], unranked


def _total(indicator: Indicator, returned) -> tuple[Ratio | None, int]:
    """Σ numerators / Σ denominators (Σ for a count) over the units that reported the
    indicator ("Không phát sinh" and a zero denominator left out), and how many they were."""
    counted = [v for r in returned if (v := r.figures.get(indicator.id)) and (indicator.kind == "count" or v.get("den"))]
    if not counted:
        return None, 0
    den = None if indicator.kind == "count" else sum(v["den"] for v in counted)
    return Ratio(sum(v["num"] for v in counted), den), len(counted)
