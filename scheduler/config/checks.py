"""Checks across the entries of a plan: unique ids, references between entries and files,
the fields each kind of indicator needs, "trong đó" children, groups and applies_to. Each
problem at its file, line and field, in Vietnamese."""

from __future__ import annotations

import difflib
import re
from typing import Any

from scheduler.config.measures import IDENT_PATTERN
from scheduler.config.plans import PlanBody
from scheduler.config.source import ConfigIssue, YamlDocument

def items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The list at `path` in raw YAML data, tolerating anything malformed (already reported)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return [item if isinstance(item, dict) else {} for item in data] if isinstance(data, list) else []


def unique(entries: list[dict[str, Any]], key: str, loc: tuple, doc: YamlDocument, what: str, noun: str) -> list[ConfigIssue]:
    issues, seen = [], {}
    for index, item in enumerate(entries):
        value = item.get(key)
        if not isinstance(value, (str, int)):
            continue
        norm = value.casefold() if isinstance(value, str) else value
        if norm in seen:
            issues.append(doc.issue(loc + (index, key), f"{what} {value!r} trùng với {noun} ở dòng "
                                                        f"{doc.line_of(loc + (seen[norm], key))}"))
        else:
            seen[norm] = index
    return issues


def other(doc: YamlDocument, loc: tuple) -> str:
    """Another entry a message points to: 'bước nhắc thứ 1 (notice) ở dòng 45'."""
    return f"{doc.entry(loc)} ở dòng {doc.line_of(loc)}"


def closest(typed: str, known: list[str]) -> str | None:
    """The id the admin most likely meant: one it begins (BPTN → BPTNTKQ), else a near spelling."""
    begun = sorted(k for k in known if k.startswith(typed) or typed.startswith(k))
    if begun:
        return min(begun, key=lambda k: abs(len(k) - len(typed)))
    close = difflib.get_close_matches(typed, known, n=1, cutoff=0.8)
    return close[0] if close else None


def refs(items: Any, known: set[str], loc: tuple, doc: YamlDocument, message: str) -> list[ConfigIssue]:
    if not isinstance(items, list):
        return []
    return [doc.issue(loc + (j,), message.format(ref)) for j, ref in enumerate(items) if isinstance(ref, str) and ref not in known]


def body_issues(plan: PlanBody | None, doc: YamlDocument) -> list[ConfigIssue]:
    """Checks across the entries of one plan (plan.yaml's own, or a file of plans/); they run
    on the raw data so that they report even when some other field of the same file is invalid."""
    raw = doc.data if isinstance(doc.data, dict) else {}
    issues: list[ConfigIssue] = []
    issues += unique(items(raw, "obligations"), "id", ("obligations",), doc, "mã nghĩa vụ", "nghĩa vụ")
    issues += unique(items(raw, "indicators"), "id", ("indicators",), doc, "mã chỉ tiêu", "chỉ tiêu")
    issues += unique(items(raw, "headings"), "id", ("headings",), doc, "mã đề mục", "đề mục")
    issues += unique(items(raw, "indicator_groups"), "id", ("indicator_groups",), doc, "mã nhóm chỉ tiêu", "nhóm chỉ tiêu")
    issues += unique(items(raw, "heading_groups"), "id", ("heading_groups",), doc, "mã nhóm đề mục", "nhóm đề mục")
    indicator_ids = {i.get("id") for i in items(raw, "indicators")}
    heading_ids = {h.get("id") for h in items(raw, "headings")}
    for i, ob in enumerate(items(raw, "obligations")):
        loc = ("obligations", i)
        issues += refs(ob.get("indicators"), indicator_ids, loc + ("indicators",), doc, "chỉ tiêu '{}' chưa được định nghĩa trong indicators")
        issues += refs(ob.get("headings"), heading_ids, loc + ("headings",), doc, "đề mục '{}' chưa được định nghĩa trong headings")
    issues += _heading_figures(raw, doc)
    issues += _group_refs(raw, doc)
    if plan is None:
        return issues
    issues += _indicator_issues(plan, doc)
    if plan.approval is not None and not plan.obligations:
        # plan.yaml without a plan of its own: the key would silently apply to nothing.
        issues.append(doc.issue(("approval",), "approval chỉ áp dụng cho kế hoạch trong chính tệp này, mà tệp không có "
                                               "nghĩa vụ nào: ghi approval: head trong tệp plans/<mã>.yaml của kế hoạch cần duyệt"))
    if plan.ranking is not None and plan.ranking.late_penalty and plan.ranking.late != "penalty":
        issues.append(doc.issue(("ranking", "late_penalty"), "late_penalty chỉ dùng với late: penalty"))
    if plan.campaign is None:
        if plan.obligations:
            issues.append(doc.issue(("obligations",), "có nghĩa vụ báo cáo thì cần 'campaign' (title, start, end) của kế hoạch"))
    elif plan.campaign.end < plan.campaign.start:
        issues.append(doc.issue(("campaign", "end"), "ngày kết thúc trước ngày bắt đầu"))
    keys: dict[tuple[str, str], int] = {}
    for i, ob in enumerate(plan.obligations):
        loc = ("obligations", i)
        if ob.period == "once":
            if ob.deadline is None:
                issues.append(doc.issue(loc, "báo cáo một lần (period: once) cần 'deadline'"))
            if ob.due is not None:
                issues.append(doc.issue(loc + ("due",), "báo cáo một lần dùng 'deadline', không dùng 'due'"))
            continue
        if ob.with_ is not None:
            if ob.due is not None:
                issues.append(doc.issue(loc + ("due",), f"báo cáo gắn với '{ob.with_}' theo hạn của báo cáo đó: bỏ 'due'"))
        elif ob.due is None:
            issues.append(doc.issue(loc, "báo cáo định kỳ cần 'due' (month, day), hoặc 'with' (gắn với báo cáo khác)"))
        if ob.deadline is not None:
            issues.append(doc.issue(loc + ("deadline",), "báo cáo định kỳ dùng 'due', không dùng 'deadline'"))
        shape = (ob.period, ob.key_prefix)
        if shape in keys:
            issues.append(doc.issue(loc + ("key_prefix",), f"trùng kỳ báo cáo với {other(doc, ('obligations', keys[shape]))}; đặt key_prefix khác nhau"))
        keys.setdefault(shape, i)
    return issues


def _heading_figures(raw: dict, doc: YamlDocument) -> list[ConfigIssue]:
    """A heading's `indicators` are this plan's, and asked by an obligation that asks the
    heading: else their figures could never open that heading's section of the report."""
    known = [i.get("id") for i in items(raw, "indicators") if isinstance(i.get("id"), str)]
    issues: list[ConfigIssue] = []
    for i, heading in enumerate(items(raw, "headings")):
        named, own = heading.get("indicators"), heading.get("id")
        if not isinstance(named, list):
            continue
        asking = [ob for ob in items(raw, "obligations")
                  if isinstance(ob.get("headings"), list) and own in ob["headings"]]
        asked = {ref for ob in asking for ref in (ob.get("indicators") if isinstance(ob.get("indicators"), list) else [])}
        # An obligation naming an indicator that does not exist is reported there; its list is
        # not what the admin meant, so it is not held against the heading.
        sure = all(isinstance(ref, str) and ref in known for ref in asked)
        for k, ref in enumerate(named):
            if not isinstance(ref, str):
                continue
            loc = ("headings", i, "indicators", k)
            if ref not in known:
                close = closest(ref, [k for k in known if re.fullmatch(IDENT_PATTERN, k)])  # not 'so hoa'
                hint = f" (có phải {close}?)" if close else ""
                issues.append(doc.issue(loc, f"chỉ tiêu '{ref}' chưa được định nghĩa trong indicators{hint}"))
            elif asking and sure and ref not in asked:
                names = ", ".join(str(ob.get("id")) for ob in asking)
                issues.append(doc.issue(loc, f"chỉ tiêu '{ref}' không có trong indicators của nghĩa vụ hỏi đề mục này "
                                             f"({names}): số liệu của nó sẽ không bao giờ có trong phần này của báo cáo"))
    return issues


def _group_refs(raw: dict, doc: YamlDocument) -> list[ConfigIssue]:
    """Indicators and headings name groups that exist."""
    issues: list[ConfigIssue] = []
    for key, groups, noun in (("indicators", "indicator_groups", "nhóm chỉ tiêu"), ("headings", "heading_groups", "nhóm đề mục")):
        known = {g.get("id") for g in items(raw, groups)}
        for i, item in enumerate(items(raw, key)):
            ref = item.get("group")
            if isinstance(ref, str) and ref not in known:
                issues.append(doc.issue((key, i, "group"), f"{noun} '{ref}' chưa được định nghĩa trong {groups}"))
    return issues


def _indicator_issues(plan: PlanBody, doc: YamlDocument) -> list[ConfigIssue]:
    """Each indicator's fields fit its kind; a "trong đó" child hangs under a ratio that its
    obligations also ask."""
    issues: list[ConfigIssue] = []
    by_id = {ind.id: ind for ind in plan.indicators}
    for i, ind in enumerate(plan.indicators):
        loc = ("indicators", i)
        kind = {"ratio": "tỷ lệ", "count": "số lượng", "mean": "bình quân"}[ind.kind]
        if ind.parent is not None:
            parent = by_id.get(ind.parent)
            if parent is None:
                issues.append(doc.issue(loc + ("parent",), f"chỉ tiêu '{ind.parent}' chưa được định nghĩa trong indicators"))
            elif parent.id == ind.id or parent.parent is not None:
                issues.append(doc.issue(loc + ("parent",), "chỉ tiêu “trong đó” phải thuộc một chỉ tiêu chính, không thuộc chính nó hay một chỉ tiêu “trong đó” khác"))
            elif parent.kind != "ratio" or ind.kind != "ratio":
                issues.append(doc.issue(loc + ("parent",), "chỉ tiêu “trong đó” chỉ dùng cho tỷ lệ (kind: ratio), thuộc một chỉ tiêu tỷ lệ"))
            if ind.denominator is not None:
                issues.append(doc.issue(loc + ("denominator",), "chỉ tiêu “trong đó” dùng chung mẫu số với chỉ tiêu chính: bỏ denominator"))
        elif ind.kind in ("ratio", "mean") and ind.denominator is None:
            what = "mẫu số (denominator)" if ind.kind == "ratio" else "số trường hợp để chia (denominator), ví dụ “Số lượt giao dịch”"
            issues.append(doc.issue(loc + ("denominator",), f"chỉ tiêu {kind} cần {what}"))
        if ind.kind == "count" and ind.denominator is not None:
            issues.append(doc.issue(loc + ("denominator",), "chỉ tiêu số lượng (kind: count) chỉ có một số liệu: bỏ denominator"))
        if ind.kind == "count" and ind.sentence is not None and "mau_so" in _placeholders(ind.sentence):
            issues.append(doc.issue(loc + ("sentence",), "chỉ tiêu số lượng (kind: count) chỉ có một số liệu: "
                                                         "câu chỉ dùng {tu_so}, không có {mau_so}"))
        if ind.kind == "ratio" and ind.unit is not None:
            issues.append(doc.issue(loc + ("unit",), "chỉ tiêu tỷ lệ tính bằng %: bỏ unit"))
        if ind.kind != "ratio" and ind.unit is None:
            example = "“tin, bài”" if ind.kind == "count" else "“phút/lượt”"
            issues.append(doc.issue(loc + ("unit",), f"chỉ tiêu {kind} cần đơn vị tính (unit), ví dụ {example}"))
        for year, target in ind.target.by if ind.target else ():
            when = "" if year == "*" else f"năm {year}: " if year.isdigit() else f"kỳ {year}: "
            if ind.kind == "ratio" and not target.percent_sign:
                issues.append(doc.issue(loc + ("target",), f"{when}mục tiêu của tỷ lệ viết bằng %: \"{target}%\""))
            elif ind.kind != "ratio" and target.percent_sign:
                issues.append(doc.issue(loc + ("target",), f"{when}chỉ tiêu {kind} tính bằng {ind.unit or 'đơn vị của nó'}, không phải %: viết như \"{str(target)[:-1]}\""))
            elif target.written_unit and ind.kind != "ratio" and target.written_unit != (ind.unit or "") and not (ind.unit or "").startswith(target.written_unit):
                issues.append(doc.issue(loc + ("target",), f"{when}mục tiêu ghi đơn vị “{target.written_unit}” khác đơn vị của chỉ tiêu (unit: {ind.unit})"))
            elif target.written_unit and ind.kind == "ratio":
                issues.append(doc.issue(loc + ("target",), f"{when}sau dấu % không ghi gì thêm (“{target.written_unit}”)"))
    for j, ob in enumerate(plan.obligations):
        asked = set(ob.indicators)
        for k, ref in enumerate(ob.indicators):
            child = by_id.get(ref)
            if child is not None and child.parent in by_id and child.parent not in asked:
                issues.append(doc.issue(("obligations", j, "indicators", k),
                                        f"chỉ tiêu “trong đó” '{ref}' cần cả chỉ tiêu chính '{child.parent}' trong danh sách"))
    return issues


def _placeholders(sentence: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(sentence) if name is not None}


def applies_issues(plan_doc: YamlDocument, units_doc: YamlDocument) -> list[ConfigIssue]:
    """Every applies_to names a unit group or a unit code of units.yaml."""
    raw = plan_doc.data if isinstance(plan_doc.data, dict) else {}
    units_raw = units_doc.data if isinstance(units_doc.data, dict) else {}
    groups = {g.get("id") for g in items(units_raw, "groups")}
    codes = {u.get("code") for u in items(units_raw, "units")}
    issues: list[ConfigIssue] = []
    for key in ("obligations", "indicators", "headings"):
        for i, item in enumerate(items(raw, key)):
            named = item.get("applies_to")
            for k, ref in enumerate(named if isinstance(named, list) else []):
                if isinstance(ref, str) and ref not in groups and ref not in codes:
                    close = closest(ref, [c for c in groups | codes if isinstance(c, str)])
                    hint = (" (mã đơn vị viết IN HOA)" if ref.upper() in codes
                            else f" (có phải {close}?)" if close else "")
                    issues.append(plan_doc.issue((key, i, "applies_to", k),
                                                 f"'{ref}' không phải nhóm đơn vị (groups) hay mã đơn vị trong units.yaml{hint}"))
    return issues

