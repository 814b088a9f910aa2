"""What a plan measures: indicators of three kinds and their targets, as the admin writes them.

- ratio: Σ numerators / Σ denominators, in percent ("Tỷ lệ hồ sơ xử lý trực tuyến ≥ 90%");
  a "trong đó" child shares its parent's denominator and its numerator may not exceed the
  parent's ("trên 90% đúng hạn, trong đó trên 60% trước hạn").
- count: Σ of one figure per unit, in the indicator's own unit ("số tin, bài"), with or
  without a target.
- mean: Σ totals / Σ cases ("thời gian chờ đợi tối đa 30 phút/lượt": total minutes over visits).

A target is an operator and a value (≥ > = ≤ <), "%" for a ratio; it may change by year or
period ({2022: "≥ 30%", 2025: "≥ 80%"}: a year not listed takes the latest earlier one).
Pure: parsing and comparison only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scheduler.policy.periods import Period
from scheduler.text import decimal_comma

IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
UNIT_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]*$"
GROUP_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Ident = Annotated[str, Field(pattern=IDENT_PATTERN, max_length=40)]
# An id another plan may have prefixed ("so_hoa", "kiem-soat-tthc.dung_han"): same_as, with.
QualifiedRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=81)]
# A reference in applies_to: a unit group's id (lower case) or a unit's code (upper case).
Ref = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=40)]

Op = Literal[">=", ">", "=", "<=", "<"]
_OPS = {">=": ">=", "≥": ">=", ">": ">", "=": "=", "<=": "<=", "≤": "<=", "<": "<"}
_SIGNS = {">=": "≥", ">": ">", "=": "=", "<=": "≤", "<": "<"}
_TARGET = re.compile(r"^\s*(>=|≥|>|=|<=|≤|<)\s*(-?\d+(?:[.,]\d+)?)\s*(%?)\s*(.*?)\s*$")
_EPS = 1e-9


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("không được để trống")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ValueError("có ký tự điều khiển (xuống dòng, tab…); viết trên một dòng")
    return value


Text = Annotated[str, AfterValidator(_text)]


class _Strict(BaseModel):
    # Unknown keys are errors: a typo such as `emial:` must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Target:
    op: Op
    value: float
    percent_sign: bool = True  # written with "%": a ratio's target
    written_unit: str = ""  # "phút" in "≤ 30 phút", checked against the indicator's unit

    @property
    def percent(self) -> float:
        return self.value

    @property
    def upward(self) -> bool:
        """Whether more is better (≥ > =) rather than less (≤ <)."""
        return self.op in (">=", ">", "=")

    def met(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.value - _EPS
        if self.op == ">":
            return value > self.value + _EPS
        if self.op == "<=":
            return value <= self.value + _EPS
        if self.op == "<":
            return value < self.value - _EPS
        return abs(value - self.value) < _EPS

    def achievement(self, value: float) -> float:
        """How far `value` goes towards the target: 1 when it is met, just under 1 when it is not
        but the ratio would say so ("> 95%" at 95%, "= 0%" at 2%), so that no unit that misses a
        target shows a full mean achievement."""
        if self.met(value):
            return 1.0
        if self.op == "=" and value > self.value:
            share = self.value / value if value > 0 else 0.0
        elif self.upward:
            share = 0.0 if self.value <= 0 else value / self.value
        else:
            share = 0.0 if value <= 0 else self.value / value
        return max(0.0, min(share, 1.0 - 1e-6))

    def __str__(self) -> str:
        value = decimal_comma(f"{self.value:g}")
        return f"{_SIGNS[self.op]} {value}" + ("%" if self.percent_sign else "")


def parse_target(value: Any) -> Target:
    if isinstance(value, Target):
        return value
    if value is None:
        raise ValueError("chưa có giá trị: viết như \"≥ 90%\" (tỷ lệ) hoặc \"≤ 30\" (số lượng, bình quân)")
    match = _TARGET.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} không hợp lệ: viết như \"≥ 90%\", \"> 95%\", \"= 100%\", \"≤ 30\"")
    number = float(match.group(2).replace(",", "."))
    percent_sign = bool(match.group(3))
    if percent_sign and not 0 <= number <= 100:
        raise ValueError(f"mục tiêu {number:g}% nằm ngoài khoảng 0–100%")
    if number < 0:
        raise ValueError(f"mục tiêu {number:g} không được âm")
    return Target(_OPS[match.group(1)], number, percent_sign, match.group(4))


@dataclass(frozen=True)
class Targets:
    """An indicator's target, one for the whole plan or one per year or period."""

    by: tuple[tuple[str, Target], ...]  # ("*", t) for one target; else ("2022", t), ("2026-Q4", t)…

    def all(self) -> list[Target]:
        return [t for _, t in self.by]

    def for_period(self, period: Period | None) -> Target | None:
        if len(self.by) == 1 and self.by[0][0] == "*":
            return self.by[0][1]
        if period is None:
            return self.by[-1][1] if self.by else None
        # A plan of config/plans/ writes "2025-H2"; the engine keys its period "<plan>-2025-H2".
        for key, target in self.by:
            if not key.isdigit() and (period.key == key or period.key.endswith("-" + key)):
                return target
        year = period.start.year
        years = [(int(k), t) for k, t in self.by if k.isdigit() and int(k) <= year]
        return max(years, key=lambda kt: kt[0])[1] if years else None


def _targets(value: Any) -> Targets | None:
    if value is None or isinstance(value, Targets):
        return value
    if isinstance(value, dict):
        if not value:
            raise ValueError("cần ít nhất một năm: viết như {2022: \"≥ 30%\", 2025: \"≥ 80%\"}")
        found = []
        for key, written in value.items():
            key_text = str(key)
            if not (re.fullmatch(r"(19|20)\d\d", key_text) or re.fullmatch(r"(19|20)\d\d-[A-Za-z0-9-]+", key_text)):
                raise ValueError(f"{key_text!r} không phải năm (2025) hay mã kỳ (2025-Q4)")
            try:
                found.append((key_text, parse_target(written)))
            except ValueError as exc:
                raise ValueError(f"năm {key_text}: {exc}") from None
        return Targets(tuple(sorted(found)))
    return Targets((("*", parse_target(value)),))


IndicatorKind = Literal["ratio", "count", "mean"]


class IndicatorGroup(_Strict):
    id: Ident
    title: Text  # "Nhóm chỉ tiêu về công tác hướng dẫn, hỗ trợ người dân"


FIGURE_PLACEHOLDERS = {"tu_so": "tổng tử số (hoặc tổng số liệu) của các đơn vị", "mau_so": "tổng mẫu số"}


def _figure_sentence(value: str | None) -> str | None:
    import string

    if value is None:
        return None
    value = value.strip()
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError:
        raise ValueError("dấu { } không khớp: viết {tu_so} hoặc {mau_so}") from None
    unknown = [n for n, _, _ in fields if n not in FIGURE_PLACEHOLDERS]
    if unknown:
        raise ValueError(f"không có chỗ điền {{{unknown[0]}}}; dùng: {{tu_so}}, {{mau_so}}")
    if any(spec or conv for _, spec, conv in fields):  # "{mau_so:d}" would fail on the deadline
        raise ValueError("chỗ điền chỉ viết {tu_so} hoặc {mau_so}, không thêm dấu : hay !")
    if not fields:
        raise ValueError("câu chưa có chỗ điền số liệu: thêm {tu_so} (và {mau_so} nếu có)")
    # The report goes on after it (", đạt 93,6%, vượt mục tiêu …"): no full stop of its own.
    return value.rstrip(" .;,")


class Indicator(_Strict):
    id: Ident
    name: Text
    kind: IndicatorKind = "ratio"
    group: Ident | None = None
    numerator: Text  # ratio: the part; count: what is counted; mean: the total
    denominator: Text | None = None  # ratio, mean: the whole or the cases; none for count or a "trong đó" child
    unit: Text | None = None  # count, mean: what the value is in ("tin, bài", "phút/lượt")
    target: Annotated[Targets | None, BeforeValidator(_targets)] = None
    parent: Ident | None = None  # a "trong đó" child of this ratio
    applies_to: list[Ref] = []
    # The same figure as another plan's indicator ("so_hoa", "kiem-soat-tthc.dung_han"): when
    # both are due in one form, the unit types it once.
    same_as: QualifiedRef | None = None
    # How the report says the department's figures, with {tu_so} and {mau_so} where they go:
    # "Toàn Sở tiếp nhận {mau_so} hồ sơ, trong đó {tu_so} hồ sơ được xử lý trực tuyến". The
    # report adds the result against the target and the trend. None: the indicator's name.
    sentence: Annotated[Text | None, AfterValidator(_figure_sentence)] = None

    @property
    def has_denominator(self) -> bool:
        """Whether a unit types a second figure (a child takes its parent's)."""
        return self.kind != "count" and self.parent is None

    def target_for(self, period: Period | None) -> Target | None:
        return self.target.for_period(period) if self.target else None

    def value(self, figure: dict | None) -> float | None:
        """The indicator's value for a stored figure: percent, sum or mean; None if it has none."""
        if not figure:
            return None
        if self.kind == "count":
            return float(figure["num"])
        if not figure.get("den"):
            return None
        return (100.0 if self.kind == "ratio" else 1.0) * figure["num"] / figure["den"]


class HeadingGroup(_Strict):
    id: Ident
    title: Text  # "Nhóm nhiệm vụ về chỉ đạo, điều hành"
