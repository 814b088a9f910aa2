"""What a unit is asked, worded once for every channel (the form, the XLSX template, the mails):
for each indicator that applies to the unit, the figures it types and their labels, the
indicator's own unit, its target or that none is set, and the days the figures cover.

- ratio: two figures, numerator and denominator;
- count: one figure, in the indicator's unit ("tin, bài");
- mean: two figures, a total and its cases ("phút/lượt");
- a "trong đó" child: one figure, its numerator, over its parent's denominator.
Pure wording: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.collect.validate import indicators_for, target_text
from scheduler.config.model import Config, Indicator, Unit, applies
from scheduler.policy.periods import Period

NO_TARGET = "Không giao mục tiêu (theo dõi)"


def data_range(period: Period, formal: bool = False) -> str:
    """"Số liệu tính từ 15/06/2025 đến 14/12/2025" when the figures' days differ from the period's;
    `formal`, as the signed report writes it: "từ ngày 15/06/2025 đến ngày 14/12/2025"."""
    if period.data_from is None or period.data_to is None:
        return ""
    day = "ngày " if formal else ""
    return f"Số liệu tính từ {day}{period.data_from:%d/%m/%Y} đến {day}{period.data_to:%d/%m/%Y}"


@dataclass(frozen=True)
class Asked:
    ind: Indicator
    number: str  # "5" for an indicator, "5.1" for its "trong đó" child
    parent: Indicator | None  # the child's parent
    target: str  # "≥ 90%", "≤ 30 phút/lượt"; "" when none is set

    @property
    def id(self) -> str:
        return self.ind.id

    @property
    def fields(self) -> list[tuple[str, str]]:
        """(key suffix, label) of each figure typed: (".num", …) and, if any, (".den", …)."""
        ind = self.ind
        if self.parent is not None or ind.parent is not None:
            return [(".num", f"Trong đó: {ind.numerator}")]
        if ind.kind == "count":
            return [(".num", f"{ind.numerator} ({ind.unit})" if ind.unit else ind.numerator)]
        return [(".num", ind.numerator), (".den", ind.denominator or "")]

    @property
    def note(self) -> str:
        """What the figures make, in words, beside them ("" for a plain ratio)."""
        ind = self.ind
        if ind.parent is not None:
            whole = self.parent.denominator if self.parent else None
            return ("Chỉ ghi tử số; tính trên cùng mẫu số với chỉ tiêu trên"
                    + (f" (“{whole}”)" if whole else "") + ", không lớn hơn tử số của chỉ tiêu trên.")
        if ind.kind == "count":
            return "Ghi một số, không có mẫu số" + (f" (đơn vị tính: {ind.unit})." if ind.unit else ".")
        if ind.kind == "mean":
            per = f" ({ind.unit})" if ind.unit else ""
            return f"Bình quân{per} = {ind.numerator} ÷ {ind.denominator}; tử số có thể lớn hơn mẫu số."
        return ""

    @property
    def target_line(self) -> str:
        """"Mục tiêu: > 90%" or "Không giao mục tiêu (theo dõi)"."""
        return f"Mục tiêu: {self.target}" if self.target else NO_TARGET

    @property
    def mail_line(self) -> str:
        """The figures asked, as a mail lists them under the indicator."""
        ind = self.ind
        if ind.parent is not None:
            whole = self.parent.denominator if self.parent else None
            return f"trong đó: {ind.numerator}" + (f" (trên cùng mẫu số “{whole}”)" if whole else "")
        if ind.kind == "count":
            return f"số liệu: {ind.numerator}" + (f" ({ind.unit})" if ind.unit else "")
        if ind.kind == "mean":
            return f"{ind.numerator} / {ind.denominator}" + (f" (bình quân, {ind.unit})" if ind.unit else "")
        return f"{ind.numerator} / {ind.denominator}"


def asked(config: Config, period: Period, unit: Unit | None = None) -> list[Asked]:
    """The indicators the period asks of `unit` (of anyone, without it), numbered, each child
    under its parent."""
    found, top, sub = [], 0, 0
    chosen = indicators_for(config, period, unit)
    ids = {i.id for i in chosen}
    by_id = {i.id: i for i in config.plan.indicators}
    for ind in chosen:
        if ind.parent is not None and ind.parent in ids:
            sub += 1
            number = f"{top}.{sub}"
        else:
            top, sub = top + 1, 0
            number = str(top)
        found.append(Asked(ind, number, by_id.get(ind.parent) if ind.parent else None, target_text(ind, period)))
    return found


def for_whom(config: Config, refs: list[str]) -> str:
    """"Sở, ban, ngành; Văn phòng Sở" for an applies_to list ("" for everyone)."""
    names = []
    for ref in refs:
        unit = config.unit(ref)
        names.append(unit.name if unit else config.group_name(ref) or ref)
    return "; ".join(names)


def not_for(config: Config, refs: list[str], unit: Unit | None) -> bool:
    """Whether an entry limited to `refs` leaves `unit` out."""
    return unit is not None and not applies(refs, unit)
