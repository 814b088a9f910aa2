"""Several Kế hoạch in one instance: plan.yaml's own plan (ids as written) and each file of
config/plans/ (ids prefixed with the file's name: `kiem-soat-tthc.dung_han`, periods
`kiem-soat-tthc-2025-H2`), merged into one Config whose lists hold every plan's entries, with
a PlanPart per plan for what its report needs (title, citation, sentences, ranking, signer).
The organisation, the calendar, the reminder policy and the units are shared."""

from __future__ import annotations

from pathlib import Path

from scheduler.config.checks import closest
from scheduler.config.model import PLAN_FILE, Config, Plan, PlanPart, UnitsFile, applies
from scheduler.config.plans import PlanBody
from scheduler.config.source import ConfigIssue, YamlDocument


RHYTHM = {"month": "hằng tháng", "quarter": "hằng quý", "half_year": "6 tháng", "year": "hằng năm", "once": "một lần"}
KIND_WORDS = {"ratio": "tỷ lệ", "count": "số lượng", "mean": "bình quân"}


def _ids(pid: str, value: str | None) -> str | None:
    return f"{pid}.{value}" if value is not None else None


def _prefixed(pid: str, body: PlanBody) -> dict:
    """A plan file's entries under ids unique across the instance."""
    own = {ob.id for ob in body.obligations}
    obligations = [ob.model_copy(update={
        "id": _ids(pid, ob.id), "key_prefix": f"{pid}-{ob.key_prefix}",
        "with_": _ids(pid, ob.with_) if ob.with_ in own else ob.with_,  # a plain id: this file's, if it has it
        "indicators": [_ids(pid, i) for i in ob.indicators], "headings": [_ids(pid, h) for h in ob.headings]})
        for ob in body.obligations]
    indicators = [ind.model_copy(update={"id": _ids(pid, ind.id), "group": _ids(pid, ind.group),
                                         "parent": _ids(pid, ind.parent)}) for ind in body.indicators]
    headings = [h.model_copy(update={"id": _ids(pid, h.id), "group": _ids(pid, h.group),
                                     "indicators": [_ids(pid, i) for i in h.indicators]}) for h in body.headings]
    return {"obligations": obligations, "indicators": indicators, "headings": headings,
            "indicator_groups": [g.model_copy(update={"id": _ids(pid, g.id)}) for g in body.indicator_groups],
            "heading_groups": [g.model_copy(update={"id": _ids(pid, g.id)}) for g in body.heading_groups]}


def merge(plan: Plan, files: list[tuple[str, str, PlanBody]], units: UnitsFile, directory: Path) -> Config:
    org = plan.organisation
    parts: list[PlanPart] = []
    lists = {key: list(getattr(plan, key)) for key in
             ("obligations", "indicators", "headings", "indicator_groups", "heading_groups")}
    if plan.obligations and plan.campaign is not None:
        parts.append(PlanPart.of("", PLAN_FILE, plan, org, tuple(o.id for o in plan.obligations)))
    for pid, file, body in files:
        entries = _prefixed(pid, body)
        for key, values in entries.items():
            lists[key] += values
        parts.append(PlanPart.of(pid, file, body, org, tuple(o.id for o in entries["obligations"])))
    first = parts[0]
    merged = plan.model_copy(update=lists | {
        # Code that knows one plan only (a request's default wording) reads the first plan's.
        "campaign": first.campaign, "document": first.document, "report": first.report, "ranking": first.ranking})
    return Config(plan=merged, units=tuple(units.units), directory=directory, groups=tuple(units.groups),
                  parts=tuple(parts))


def same_as_issues(config: Config, docs: list[tuple[str, YamlDocument]]) -> list[ConfigIssue]:
    """`same_as` names another plan's indicator (or heading) of the same shape; `with` names a
    recurring obligation of the same rhythm that goes on its own days."""
    indicators = {i.id: i for i in config.plan.indicators}
    headings = {h.id for h in config.plan.headings}
    obligations = {o.id: o for o in config.plan.obligations}
    issues: list[ConfigIssue] = []
    for pid, doc in docs:
        if doc is None:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        for i, item in enumerate(data.get("obligations") or []):
            ref = item.get("with") if isinstance(item, dict) else None
            if not isinstance(ref, str):
                continue
            mine = obligations.get(_ids(pid, item.get("id")) if pid else item.get("id"))
            host = obligations.get(_ids(pid, ref)) if pid and _ids(pid, ref) in obligations else obligations.get(ref)
            loc = ("obligations", i, "with")
            if host is None or mine is None or host.id == mine.id:
                issues.append(doc.issue(loc, f"không có nghĩa vụ '{ref}' để gắn vào (nghĩa vụ của plans/X.yaml viết X.mã)"))
            elif host.period == "once" or host.with_ is not None:
                issues.append(doc.issue(loc, f"nghĩa vụ '{ref}' phải là báo cáo định kỳ có hạn riêng (due)"))
            elif host.period != mine.period:
                issues.append(doc.issue(loc, f"nghĩa vụ '{ref}' báo cáo {RHYTHM[host.period]}, khác kỳ "
                                             f"{RHYTHM[mine.period]} của báo cáo này (period: {mine.period})"))
        for i, item in enumerate(data.get("indicators") or []):
            # A "trong đó" child is asked only of units its parent is asked of (by unit, not by
            # how applies_to is written: [BPMC] is inside [so] when BPMC is in group so).
            mine = indicators.get(_ids(pid, item.get("id")) if pid else item.get("id")) if isinstance(item, dict) else None
            parent = indicators.get(mine.parent) if mine is not None and mine.parent else None
            if parent is not None and parent.kind == "ratio" and parent.applies_to:
                asked = {u.code for u in config.units if applies(parent.applies_to, u)}
                if {u.code for u in config.units if applies(mine.applies_to, u)} - asked:
                    issues.append(doc.issue(("indicators", i, "applies_to"), "chỉ tiêu “trong đó” chỉ hỏi đơn vị được hỏi "
                                            f"chỉ tiêu chính: ghi applies_to trong [{', '.join(parent.applies_to)}]"))
        for key in ("indicators", "headings"):
            for i, item in enumerate(data.get(key) or []):
                ref = item.get("same_as") if isinstance(item, dict) else None
                if not isinstance(ref, str):
                    continue
                own = _ids(pid, item.get("id")) if pid else item.get("id")
                loc = (key, i, "same_as")
                if key == "headings":
                    if ref not in headings or ref == own:
                        issues.append(doc.issue(loc, f"không có đề mục '{ref}' ở kế hoạch khác (đề mục của plans/X.yaml "
                                                     "viết X.mã)"))
                    continue
                other, mine = indicators.get(ref), indicators.get(own)
                if other is None or ref == own:
                    close = closest(ref, [i for i in indicators if i != own])
                    hint = f"có phải {close}?" if close else "chỉ tiêu của plans/X.yaml viết X.mã"
                    issues.append(doc.issue(loc, f"không có chỉ tiêu '{ref}' ở kế hoạch khác ({hint})"))
                elif mine is not None and (other.kind != mine.kind or other.has_denominator != mine.has_denominator):
                    issues.append(doc.issue(loc, f"chỉ tiêu '{ref}' là chỉ tiêu {KIND_WORDS[other.kind]} (kind: {other.kind}), "
                                                 f"khác loại: chỉ dùng same_as cho "
                                                 "cùng một số liệu"))
    return issues
