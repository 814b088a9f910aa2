"""One form for everything a unit owes on one day (issue 12): the periods of several plans due
together, each a part of the form under its plan's name, and no question asked twice.

A later part's indicator that is `same_as` an earlier part's (either way round, or both the
same as a third) is not asked again when both periods' figures cover the same days: the unit
types it once and each plan's report takes it. Over different days (a quarter and a half-year)
the same measure is a different figure, so it is asked in each part. A heading `same_as`
another is one text for both reports, whatever the days. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.collect.validate import Entry, headings_for, indicators_for
from scheduler.config.model import Config, Heading, Indicator, Unit
from scheduler.policy.periods import Period


@dataclass
class Part:
    period: Period
    title: str  # the plan and the report it belongs to, as the form heads its part
    indicators: list[Indicator]  # asked in this part
    headings: list[Heading]  # asked in this part
    # own field key → (index of the earlier part that asks it, its key there)
    shared: dict[str, tuple[int, str]] = field(default_factory=dict)


def _days(period: Period) -> tuple:
    return (period.data_from or period.start, period.data_to or period.end)


def _same(a: str, a_as: str | None, b: str, b_as: str | None) -> bool:
    return a == b_as or b == a_as or (a_as is not None and a_as == b_as)


def part_title(config: Config, period: Period) -> str:
    """"Báo cáo … hằng quý (Quý IV/2026)"; a title ending as the period begins ("… 6 tháng" and
    "6 tháng cuối năm 2026") does not say it twice."""
    ob = config.obligation_of(period)
    title = ob.title if ob else period.title
    for word in ("6 tháng", "hằng tháng", "hằng quý", "hằng năm", "tháng", "quý", "năm"):
        begins = period.title.lower()
        if title.endswith(" " + word) and (begins.startswith(word) or begins.startswith(word.split()[-1])):
            title = title[:-len(word) - 1]
            break
    return f"{title} ({period.title})"


def parts(config: Config, periods: list[Period], unit: Unit) -> list[Part]:
    found: list[Part] = []
    for period in periods:
        own = Part(period, part_title(config, period), [], [])
        for ind in indicators_for(config, period, unit):
            source = next(((n, i) for n, p in enumerate(found) if _days(p.period) == _days(period)
                           for i in p.indicators if _same(ind.id, ind.same_as, i.id, i.same_as)), None)
            if source is None:
                own.indicators.append(ind)
            else:
                own.shared[ind.id] = (source[0], source[1].id)
        for heading in headings_for(config, period, unit):
            source = next(((n, h) for n, p in enumerate(found) for h in p.headings
                           if _same(heading.id, heading.same_as, h.id, h.same_as)), None)
            if source is None:
                own.headings.append(heading)
            else:
                own.shared["h." + heading.id] = (source[0], "h." + source[1].id)
        found.append(own)
    return found


def prefix(index: int, count: int) -> str:
    """What a part's field names start with: nothing in a one-part form (the form as ever);
    "p2-" in the second part of several, since two parts of one plan may ask the same
    indicator (the half-year and the monthly list both ask `dung_han`)."""
    return f"p{index + 1}-" if count > 1 else ""


def filled(part: Part, own: Entry, entries: list[Entry]) -> Entry:
    """One part's entry as its report reads it: what was typed in the part (`own`), and its
    shared fields from the part that asked them (`entries`: every part's, in order)."""
    figures, narrative = dict(own.figures), dict(own.narrative)
    for key, (index, source) in part.shared.items():
        if key.startswith("h."):
            narrative[key[2:]] = entries[index].narrative.get(source[2:], "")
        else:
            figures[key] = entries[index].figures.get(source, ("", "", False))
    return Entry(figures, narrative, own.submitted_by)


def error_key(part: Part, index: int, count: int, key: str) -> str:
    """An error's field key in the whole form: in its part, or, for a shared field, where the
    unit typed it."""
    for own, (source_index, source) in part.shared.items():
        if key == own or key.startswith(own + "."):
            return prefix(source_index, count) + source + key[len(own):]
    return prefix(index, count) + key
