"""What goes in each part of the report, decided from the plan and the consolidation: which
sections exist and their Roman numbers (a part with nothing to say is left out, not printed
empty), the results headings numbered as the plan groups them, the report's own sentences,
the ranking per unit group, the appendix matrix cut into tables that fit the page, and, at
province scale, the units' texts moved from the body to an appendix. Pure: no Word here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.config.model import Config, Heading
from scheduler.policy.periods import Period
from scheduler.report.consolidate import Consolidation
from scheduler.report import prose
from scheduler.report.wording import amount, inside_sentence, percent, period_phrase, sentence_case
from scheduler.text import REPORT_STATE

# From this many units owing a report, the body summarises and the texts go to an appendix:
# 147 units answering one paragraph per heading made 78 pages of body (issue 12).
PROVINCE_SCALE = 50
# Indicator columns in one appendix table: a landscape A4 page holds TT, the unit's name and
# the met count plus ten columns of 1,6 cm, wide enough for "100%" or "96,8%" in 10 pt.
MATRIX_COLUMNS = 10
NOTHING = "Chưa có đơn vị báo cáo nội dung này."

ROMANS = ["I", "II", "III", "IV", "V"]  # the body's sections, in NĐ30's Roman numerals


@dataclass
class Sections:
    """Roman numbers of the body's sections; None: the section is left out."""

    results: str | None
    indicators: str | None
    shortcomings: str | None
    next_steps: str | None
    proposals: str | None

    @classmethod
    def of(cls, present: dict[str, bool]) -> "Sections":
        numbers: dict[str, str | None] = {}
        n = 0
        for key in ("results", "indicators", "shortcomings", "next_steps", "proposals"):
            numbers[key] = ROMANS[n] if present[key] else None
            n += present[key]
        return cls(**numbers)


def province_scale(result: Consolidation) -> bool:
    return len(result.units) >= PROVINCE_SCALE


def results_items(config: Config, result: Consolidation, headings: list[Heading], summary: bool,
                  previous: Period | None = None) -> list[dict]:
    """Section I's headings, numbered as the plan groups them (1., 1.1, 1.2): each opens with the
    department's figures for the indicators tied to it, then each unit that wrote something of
    substance, one paragraph each (at province scale, how many units wrote, their texts being in
    Phụ lục I). A heading with neither is left out, not printed with a placeholder."""
    titles = {g.id: g.title for g in config.plan.heading_groups}
    items: list[dict] = []
    numbers: dict[str, str] = {}
    top = 0
    for heading in headings:
        if heading.section not in ("results", "good_practices"):
            continue
        lines = heading_lines(result, heading, summary, previous)
        if not lines:
            continue
        if heading.group and heading.group in titles:
            if heading.group not in numbers:
                top += 1
                numbers[heading.group] = str(top)
                items.append({"number": str(top), "title": titles[heading.group], "lines": []})
            sub = sum(1 for i in items if i["number"].startswith(numbers[heading.group] + "."))
            items.append({"number": f"{numbers[heading.group]}.{sub + 1}", "title": heading.title, "lines": lines})
        else:
            top += 1
            items.append({"number": str(top), "title": heading.title, "lines": lines})
    return items


def heading_lines(result: Consolidation, heading: Heading, summary: bool, previous: Period | None) -> list[str]:
    tied = set(heading.indicators)
    figures = [r for r in result.indicators if r.indicator.id in tied or r.indicator.parent in tied]
    opening = [prose.heading_opening(figures, result.period, previous)] if figures else []
    entries = with_substance(result.narratives.get(heading.id, []))
    if not entries:
        return opening
    if heading.section == "good_practices" and (summary or len(entries) > 1):
        # the basis for commendation: the units by name first, at province scale too
        opening.append(f"Các đơn vị báo cáo {inside_sentence(heading.title)}: {prose.names([u for u, _ in entries], '; ')}.")
    if summary:
        return opening + summary_lines(entries, len(result.units))
    return opening + prose.unit_paragraphs(entries)


def with_substance(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The units' texts that say something ("Không phát sinh" is no contribution)."""
    return [(unit, text) for unit, text in entries if prose.unit_paragraph(unit, text) is not None]


def unit_lines(entries: list[tuple[str, str]], total: int, summary: bool, empty: str | None = NOTHING) -> list[str]:
    """A section's units: one paragraph each, or at province scale how many wrote."""
    entries = with_substance(entries)
    if not entries:
        return [empty] if empty else []
    return summary_lines(entries, total) if summary else prose.unit_paragraphs(entries)


def summary_lines(entries: list[tuple[str, str]], total: int) -> list[str]:
    """A heading's units at province scale: how many wrote on it, their texts in Phụ lục I."""
    return [f"Có {len(entries)}/{total} đơn vị báo cáo nội dung này; nội dung của từng đơn vị tại Phụ lục I."]


def shortcoming_lines(result: Consolidation, entries: list[tuple[str, str]], summary: bool,
                      appendix: str = "Phụ lục") -> list[str]:
    """Each indicator below its target with its figure and the units below it, then what the
    units themselves say of their shortcomings and causes."""
    lines = prose.shortfall_paragraphs(result, appendix)
    own = unit_lines(entries, len(result.units), summary, empty=None)
    if own and not summary:
        lines.append("Các đơn vị nêu tồn tại, hạn chế và nguyên nhân như sau:")
    return lines + own


def section_entries(result: Consolidation, headings: list[Heading], kind: str) -> list[tuple[str, str]]:
    return [e for h in headings if h.section == kind for e in result.narratives.get(h.id, [])]


def plan_citation(config: Config, period: Period) -> str:
    """"Kế hoạch số 72/KH-SNN ngày 10/12/2021 của Sở … về triển khai …", as the report cites it."""
    doc = config.part_of(period).document
    if doc is None:
        return ""
    org = config.plan.organisation
    text = "Kế hoạch" + (f" số {doc.number}" if doc.number else "")
    if doc.dated:
        text += f" ngày {doc.dated:%d/%m/%Y}"
    text += f" của {doc.issued_by or org.issuing_body_name or org.issuing_body}"
    title = doc.title
    if title[:1].isupper() and title[1:2].islower():  # "Phát động …" inside a sentence; "TTHC …" kept
        title = title[0].lower() + title[1:]
    return f"{text} về {title}"


def period_words(config: Config, period: Period) -> str:
    """The period inside a sentence: "quý IV năm 2026", "6 tháng cuối năm 2025", or a request's title
    without its "Báo cáo" ("… báo cáo kết quả rà soát TTHC …", not "kết quả báo cáo rà soát")."""
    if config.is_recurring(period):
        return inside_sentence(period_phrase(period))
    return request_words(period) if period.title else period.key


def request_words(period: Period) -> str:
    """A one-off report's subject where a sentence has just said "báo cáo kết quả": its title
    without "Báo cáo" nor a "Kết quả" of its own ("Báo cáo kết quả rà soát TTHC" is "… báo cáo kết
    quả rà soát TTHC", not "kết quả kết quả rà soát TTHC")."""
    return re.sub(r"^kết quả\s+(?=\S)", "", inside_sentence(request_title(period)))


def request_title(period: Period) -> str:
    """A one-off report's trích yếu: its title without the "Báo cáo" that BÁO CÁO above it says."""
    return sentence_case(re.sub(r"^(Báo cáo|BÁO CÁO)\s+", "", period.title))


def sentence(template: str, config: Config, period: Period) -> str:
    org = config.plan.organisation
    if not config.is_recurring(period):
        # A plan's opening or closing is written for its periods: what it puts between "kết quả"
        # and the period ("… kết quả thực hiện phong trào thi đua {ky}") is the recurring report's
        # subject, which a one-off request's title replaces.
        template = re.sub(r"(kết quả)\s[^{}]*?\{ky\}", r"\1 {ky}", template)
    return template.format(ke_hoach=plan_citation(config, period) or "Kế hoạch", ky=period_words(config, period),
                           co_quan=org.issuing_body_name or org.issuing_body)


def ranking_rows(config: Config, result: Consolidation) -> list[dict]:
    """The ranking table's rows: per unit group when the plan ranks per group (a row naming
    the group, then its units from 1), else one list."""
    rows: list[dict] = []
    for group in result.rankings:
        rule = config.part_of(result.period).ranking
        if group.name is not None and rule is not None and rule.per_group:
            rows.append({"rank": "", "name": f"Khối {inside_sentence(group.name)}", "met": "", "mean": "",
                         "status": ""})
        for place, unit in enumerate(group.rows, 1):
            rows.append({"rank": str(place), "name": unit.name, "met": f"{unit.met}/{unit.assessed}",
                         "mean": prose.achievement(unit.mean_achievement) if unit.mean_achievement is not None else "—",
                         "status": REPORT_STATE[unit.state]})
    return rows


def ranking_rule(config: Config, period: Period) -> str:
    rule = config.part_of(period).ranking
    if rule is None:
        return ""
    if rule.by == "targets_met":
        text = ("Xếp hạng theo tỷ lệ chỉ tiêu đạt mục tiêu trên số chỉ tiêu có số liệu của đơn vị; cùng tỷ lệ thì "
                "theo mức hoàn thành bình quân (mỗi chỉ tiêu tính kết quả so với mục tiêu, tối đa 100%)")
    else:
        text = ("Xếp hạng theo mức hoàn thành bình quân (mỗi chỉ tiêu tính kết quả so với mục tiêu, tối đa 100%); "
                "cùng mức thì theo tỷ lệ chỉ tiêu đạt mục tiêu")
    if rule.late == "tie_break":
        text += "; vẫn bằng nhau thì đơn vị báo cáo đúng hạn xếp trước"
    elif rule.late == "after":
        text = "Đơn vị báo cáo đúng hạn xếp trước đơn vị báo cáo muộn; trong mỗi nhóm, " + inside_sentence(text)
    elif rule.late == "penalty":
        text += f"; đơn vị báo cáo muộn bị trừ {amount(rule.late_penalty)} điểm"
    text += "; cuối cùng theo tên đơn vị."
    if rule.per_group:
        text = "Xếp hạng riêng trong từng khối. " + text
    return text


def unranked_line(result: Consolidation) -> str:
    if not result.unranked:
        return ""
    return ("- Không xếp hạng (không có chỉ tiêu nào có mục tiêu và số liệu để đánh giá): "
            + ", ".join(u.name for u in result.unranked) + ".")


def matrices(result: Consolidation, missing_suffix: str = " (chưa báo cáo)") -> list[dict]:
    """The per-unit appendix matrix, cut into tables of at most MATRIX_COLUMNS indicators,
    each with its own heads and rows, so that no column is squeezed until "96,8%" wraps."""
    from scheduler.report.consolidate import value_of

    count = len(result.indicators)
    size = -(-count // -(-count // MATRIX_COLUMNS)) if count else 1  # balanced: 23 → 8, 8, 7; 11 → 6, 5
    chunks = [result.indicators[i:i + size] for i in range(0, count, size)]
    heads = column_heads(result)
    tables = []
    for n, chunk in enumerate(chunks, 1):
        rows = []
        for place, unit in enumerate(result.units, 1):
            cells = []
            for r in chunk:
                if unit.state == "missing":
                    cells.append("")
                elif r.indicator.id not in unit.ratios:
                    cells.append("—")
                elif unit.ratios[r.indicator.id] is None:
                    cells.append("KPS")
                else:
                    value = value_of(r.indicator, unit.ratios[r.indicator.id])
                    cells.append("—" if value is None else prose.marked(
                        percent(value, r.target) if r.indicator.kind == "ratio" else amount(value), prose.unit_met(unit, r)))
            rows.append({"tt": place, "name": unit.name + (missing_suffix if unit.state == "missing" else ""),
                         "cells": cells, "met": f"{unit.met}/{unit.assessed}" if unit.assessed else
                         ("—" if unit.state != "missing" else "")})
        caption = (f"Bảng {n}/{len(chunks)}: chỉ tiêu {heads[chunk[0].indicator.id]} – {heads[chunk[-1].indicator.id]}"
                   if len(chunks) > 1 else "")
        tables.append({"caption": caption, "heads": [heads[r.indicator.id] for r in chunk], "rows": rows,
                       "assessed": any(r.target is not None for r in result.indicators),
                       "marked": any(c.endswith("*") for row in rows for c in row["cells"])})
    return tables


def column_heads(result: Consolidation) -> dict[str, str]:
    """Each indicator's column head in the appendix: its number; a "trong đó" child its
    parent's with a letter (2.5a), which the table's note explains."""
    heads: dict[str, str] = {}
    parent, letter = "", 0
    for r in result.indicators:
        if r.depth:
            heads[r.indicator.id] = f"{parent}{'abcdefghijklmnopqrstuvwxyz'[letter]}"
            letter += 1
        else:
            parent, letter = r.number, 0
            heads[r.indicator.id] = r.number
    return heads


def child_note(result: Consolidation) -> str:
    """" (2.5a: chỉ tiêu “trong đó” của chỉ tiêu 2.5)", from the report's first child, if any."""
    heads = column_heads(result)
    child = next((r for r in result.indicators if r.depth), None)
    if child is None:
        return ""
    head = heads[child.indicator.id]
    return f" ({head}: chỉ tiêu “trong đó” của chỉ tiêu {head[:-1]})"


def narrative_appendix(config: Config, result: Consolidation, headings: list[Heading]) -> list[dict]:
    """At province scale: each heading with the units' texts, grouped by unit group."""
    groups = {u.name: u.group for u in result.units}
    order = [g.name for g in config.groups] + [None]
    parts = []
    written = [(h, entries) for h in headings if (entries := with_substance(result.narratives.get(h.id, [])))]
    for n, (heading, entries) in enumerate(written, 1):
        blocks = []
        for letter, group in zip("abcdefghijklmnopqrstuvwxyz", [g for g in order if any(
                groups.get(unit) == g for unit, _ in entries)]):
            mine = [(unit, text) for unit, text in entries if groups.get(unit) == group]
            blocks.append({"title": f"{letter}) {group}" if group else "", "lines": prose.unit_paragraphs(mine)})
        parts.append({"number": str(n), "title": heading.title, "blocks": blocks})
    return parts


def indicators_note(ranking: bool, appendix: str) -> str:
    """Section II's last paragraph: where each unit's figures (and the ranking) are."""
    return (f"Kết quả các chỉ tiêu của từng đơn vị{' và xếp hạng các đơn vị' if ranking else ''} tại {appendix} "
            "kèm theo Báo cáo này.")


def ranking_none(config: Config, result: Consolidation) -> str:
    """The one sentence that replaces the ranking when the plan ranks but nobody can be ranked."""
    if config.part_of(result.period).ranking is None or result.rankings or not result.indicators:
        return ""  # a report that asks for no figures ranks nobody and need not say so
    if not result.on_time and not result.late:
        return "Kỳ này không xếp hạng: chưa có đơn vị nào gửi báo cáo."
    return "Kỳ này không xếp hạng: chưa có đơn vị nào báo cáo số liệu để đánh giá so với mục tiêu."
