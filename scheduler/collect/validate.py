"""What a unit returns, and whether it is acceptable. Pure: every channel (the web form, a
YAML/JSON file, the XLSX template) turns its input into an `Entry` of texts and gets back
either a clean `Report` or errors keyed by field, which the channel words as its own
location (a form field, a cell, a key).

Field keys: "<indicator>.num", "<indicator>.den", "<indicator>" (the pair), "h.<heading>",
"submitted_by". A count, and a "trong đó" child (which takes its parent's denominator), have
no ".den": a unit types one figure. Stored figures are {"num", "den"} ({"num"} for a count).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from scheduler.policy.periods import Period
from scheduler.config.model import Config, Heading, Indicator, Unit
from scheduler.text import CONTROL, number, substantive

NOT_APPLICABLE = "Không phát sinh"
MAX_TEXT = 20_000  # characters per heading: several pages, far above any real answer
MAX_COUNT = 10**9

_NUMBER = re.compile(r"^\d{1,3}([. ]\d{3})+$|^\d+$")
_PERCENT = re.compile(r"^\d+([.,]\d+)?\s*%$")


def clean_text(value: str) -> str:
    """NFC, unified newlines, no control characters, no trailing blanks."""
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL.sub("", value).strip()


@dataclass
class Entry:
    """What a person typed, as text, before any judgement."""

    figures: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # id → (num, den, không phát sinh)
    narrative: dict[str, str] = field(default_factory=dict)
    submitted_by: str = ""


@dataclass(frozen=True)
class Report:
    """A valid report: counts (None = không phát sinh) and narrative texts."""

    figures: dict[str, dict[str, int] | None]
    narrative: dict[str, str]
    submitted_by: str

    def below_target(self, config: Config, period: Period | None = None) -> list[str]:
        """Names of indicators whose own value misses the period's target."""
        missed = []
        for ind in config.plan.indicators:
            value, target = ind.value(self.figures.get(ind.id)), ind.target_for(period)
            if value is not None and target is not None and not target.met(value):
                missed.append(ind.name)
        return missed


def indicators_for(config: Config, period: Period, unit: Unit | None = None) -> list[Indicator]:
    """What the period asks (of `unit`, if given: only what applies to it)."""
    return config.indicators_for(period, unit)


def headings_for(config: Config, period: Period, unit: Unit | None = None) -> list[Heading]:
    return config.headings_for(period, unit)


def parse_count(text: str) -> int | None:
    """A whole number ≥ 0 as people write it: "1234", "1.234" or "1 234" (also with the
    non-breaking space Word and Excel put in "1 234"); None if it is not one."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not _NUMBER.match(text):
        return None
    value = int(re.sub(r"[. ]", "", text))
    return value if value <= MAX_COUNT else None


def validate(config: Config, period: Period, entry: Entry,
             unit: Unit | None = None) -> tuple[Report | None, dict[str, str]]:
    errors: dict[str, str] = {}
    figures: dict[str, dict[str, int] | None] = {}
    asked = indicators_for(config, period, unit)
    by_id = {ind.id: ind for ind in asked}
    for ind in asked:  # a "trong đó" child comes after its parent
        num_text, den_text, not_applicable = entry.figures.get(ind.id, ("", "", False))
        if not ind.has_denominator:
            den_text = ""
        if not_applicable:
            if num_text.strip() or den_text.strip():
                both = "hai ô số liệu" if ind.has_denominator else "ô số liệu"
                errors[ind.id] = f"đã chọn “{NOT_APPLICABLE}” thì để trống {both}"
            figures[ind.id] = None
            continue
        fields = [(".num", num_text, ind.numerator)] + ([(".den", den_text, ind.denominator)] if ind.has_denominator else [])
        values = {}
        for key, text, label in fields:
            values[key] = value = parse_count(text)
            if not text.strip():
                errors[ind.id + key] = f"chưa nhập “{label}” (nếu không có, chọn “{NOT_APPLICABLE}”)"
            elif _PERCENT.match(text.strip()):
                errors[ind.id + key] = f"“{text.strip()}” là tỷ lệ; ghi số lượng “{label}” (số nguyên), không ghi tỷ lệ"
            elif value is None:
                errors[ind.id + key] = f"“{text.strip()}” không phải số nguyên không âm"
        num, den = values[".num"], values.get(".den")
        if num is None or (ind.has_denominator and den is None):
            continue
        if ind.kind == "count":
            figures[ind.id] = {"num": num}
            continue
        if ind.parent is not None:  # trong đó: a part of the parent's numerator, over its denominator
            parent = by_id.get(ind.parent)
            got = figures.get(ind.parent, "missing")
            if got is None:
                errors[ind.id] = f"chỉ tiêu chính “{parent.name if parent else ind.parent}” đã chọn “{NOT_APPLICABLE}”: chọn “{NOT_APPLICABLE}” cho cả chỉ tiêu này"
            elif parent is None:  # check-config keeps a child with its parent; never drop a figure unsaid
                errors[ind.id] = f"chỉ tiêu chính “{ind.parent}” không được hỏi trong kỳ này; liên hệ Văn phòng"
            elif got != "missing":
                if num > got["num"]:
                    errors[ind.id] = (f"“{ind.numerator}” ({number(num)}) lớn hơn “{parent.numerator}” ({number(got['num'])}): "
                                      f"số “trong đó” là một phần của chỉ tiêu chính")
                else:
                    figures[ind.id] = {"num": num, "den": got["den"]}
            continue
        if den == 0:
            errors[ind.id + ".den"] = f"“{ind.denominator}” bằng 0: nếu trong kỳ không có, chọn “{NOT_APPLICABLE}”"
        elif ind.kind == "ratio" and num > den:
            errors[ind.id] = f"“{ind.numerator}” ({number(num)}) lớn hơn “{ind.denominator}” ({number(den)})"
        else:
            figures[ind.id] = {"num": num, "den": den}
    narrative = {}
    for heading in headings_for(config, period, unit):
        text = clean_text(entry.narrative.get(heading.id, ""))
        if len(text) > MAX_TEXT:
            errors["h." + heading.id] = f"quá dài ({len(text)} ký tự; tối đa {MAX_TEXT})"
        narrative[heading.id] = text
    submitted_by = clean_text(entry.submitted_by).replace("\n", " ")
    if not submitted_by:
        errors["submitted_by"] = "chưa nhập họ tên người gửi báo cáo"
    elif len(submitted_by) > 200:
        errors["submitted_by"] = "họ tên quá dài"
    report = Report(figures, narrative, submitted_by)
    missed = report.below_target(config, period)
    for heading in headings_for(config, period, unit):
        text = narrative[heading.id]
        if "h." + heading.id in errors:
            continue
        if heading.required is True and not text:
            errors["h." + heading.id] = "phần này bắt buộc"
        elif heading.required == "below_target" and missed and not text:
            errors["h." + heading.id] = "bắt buộc vì có chỉ tiêu chưa đạt mục tiêu: " + "; ".join(missed)
        elif heading.required == "below_target" and missed and not substantive(text):
            # "Không phát sinh" under Tồn tại while a target is missed explains nothing
            errors["h." + heading.id] = ("cần nêu tồn tại, nguyên nhân vì có chỉ tiêu chưa đạt mục tiêu: "
                                         + "; ".join(missed))
    return (None, errors) if errors else (report, {})


def figure_text(value: dict[str, int] | None | str) -> str:
    """A stored figure as people read it: "1.234 / 1.300" ("1.234" for a count), "Không phát
    sinh", or "" if absent."""
    if value is None:
        return NOT_APPLICABLE
    if not value:
        return ""
    if "den" not in value:
        return number(value["num"])
    return f"{number(value['num'])} / {number(value['den'])}"


def as_entry(figures: dict[str, Any] | None, narrative: dict[str, str] | None, submitted_by: str | None) -> Entry:
    """An Entry from stored values: a form pre-filled with the last revision."""
    entry = Entry(narrative=dict(narrative or {}), submitted_by=submitted_by or "")
    for key, value in (figures or {}).items():
        entry.figures[key] = ("", "", True) if value is None else (str(value["num"]), str(value.get("den", "")), False)
    return entry


def target_text(ind: Indicator, period: Period | None) -> str:
    """The period's target as the plan writes it, with its unit; "" when there is none."""
    target = ind.target_for(period)
    if target is None:
        return ""
    return f"{target} {ind.unit}" if ind.unit and not target.percent_sign else str(target)


def shown(config: Config, period: Period, figures: dict[str, Any] | None,
          narrative: dict[str, str] | None, unit: Unit | None = None) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A stored revision as the pages show it: each figure with its target, then each text
    under its heading."""
    return ([{"name": ind.name, "value": figure_text((figures or {}).get(ind.id, "")), "target": target_text(ind, period)}
             for ind in indicators_for(config, period, unit)],
            [{"title": h.title, "text": (narrative or {}).get(h.id, "")} for h in headings_for(config, period, unit)])
