"""Loading the config: both YAML files read and validated, every problem found at once, each at
its file and line and named as the admin finds the entry; then the checks across entries
(unique codes, references between the files, reminder steps that collide)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from scheduler.config.source import ConfigError, ConfigIssue, YamlDocument, load_yaml
from scheduler.config.model import (PLAN_FILE, PLAN_NAMING, UNIT_CODE_PATTERN, UNIT_STEP_KINDS, UNITS_FILE, UNITS_NAMING,
                                    Config, Plan, ReminderStep, UnitsFile)


def load_config(directory: Path | str) -> Config:
    """Load and validate both files; raise ConfigError with every problem found."""
    directory = Path(directory)
    if not directory.is_dir():  # a command typed away from the service's folder, most likely
        raise ConfigError([ConfigIssue(str(directory), None, "", (
            f"không có thư mục cấu hình {directory.resolve()} (thư mục hiện tại {Path.cwd()}); chạy lệnh trong thư mục "
            "của dịch vụ, hoặc đặt BAOCAO_CONFIG_DIR (hay --config THƯ_MỤC) trỏ tới thư mục chứa plan.yaml và "
            "units.yaml"))])
    plan_doc, issues = load_yaml(directory / PLAN_FILE, _display(directory, PLAN_FILE), PLAN_NAMING)
    units_doc, more = load_yaml(directory / UNITS_FILE, _display(directory, UNITS_FILE), UNITS_NAMING)
    issues += more
    plan = _validate(plan_doc, Plan, issues)
    units_file = _validate(units_doc, UnitsFile, issues)
    if plan_doc is not None:
        issues += _plan_issues(plan, plan_doc)
    if units_doc is not None:
        issues += _units_issues(units_doc, plan_doc)
        if plan_doc is not None:
            issues += _applies_issues(plan_doc, units_doc)
    if issues or plan is None or units_file is None:
        order = {plan_doc.file if plan_doc else "": 0}
        raise ConfigError(sorted(issues, key=lambda i: (order.get(i.file, 1), i.line or 0)))
    return Config(plan=plan, units=tuple(units_file.units), directory=directory, groups=tuple(units_file.groups))


def _display(directory: Path, name: str) -> str:
    return str(directory / name)


def _validate(doc: YamlDocument | None, model: type[BaseModel], issues: list[ConfigIssue]) -> Any:
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        issues.append(ConfigIssue(doc.file, 1, "", "tệp phải là một bảng khoá: giá trị"))
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            issues.append(doc.issue(err["loc"], describe_error(err, doc.source_of(err["loc"]))))
        return None


_EXPECTED = {
    "string_type": "cần một dòng chữ",
    "int_type": "cần một số nguyên",
    "bool_type": "cần true hoặc false",
    "list_type": "cần một danh sách (các dòng bắt đầu bằng '- ')",
    "model_type": "cần các dòng khoá: giá trị",
    "dict_type": "cần các dòng khoá: giá trị",
    "model_attributes_type": "cần các dòng khoá: giá trị",
}


def describe_error(err: dict[str, Any], source: str | None = None) -> str:
    """A pydantic error in words an admin can act on (Vietnamese). `source` is the value as
    written when YAML did not read it as text (`012`, read as 12), shown instead of the value."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return "thiếu trường bắt buộc"
    if kind == "extra_forbidden":
        return "khoá không được phép (gõ nhầm tên khoá?)"
    if value is None and kind != "value_error":  # `name:` with nothing after it
        return "chưa có giá trị" + (f": {_EXPECTED[kind]}" if kind in _EXPECTED else "")
    if source is not None and not isinstance(value, str) and isinstance(value, (int, float, bool)):
        value = _Written(source)
    if kind == "string_type":
        if isinstance(value, _Written) or isinstance(value, (int, float, bool)):
            last = err["loc"][-1] if err["loc"] else None
            read_as = "true/false" if isinstance(err.get("input"), bool) else "số"
            example = f'{last}: "{value}"' if isinstance(last, str) else f'"{value}"'
            return f"{value} được YAML đọc là {read_as}, không phải chữ: đặt trong dấu nháy ({example})"
        return f"{value!r} phải là chuỗi chữ"
    if kind == "bool_type":
        return f"{value!r} không hợp lệ: chỉ dùng true hoặc false"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{value!r} phải là số nguyên"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{value!r} phải trong khoảng cho phép ({'≥ ' + str(ctx['ge']) if 'ge' in ctx else '≤ ' + str(ctx['le'])})"
    if kind == "literal_error":
        return f"{value!r} không hợp lệ; chọn một trong: {str(ctx.get('expected', '')).replace(' or ', ', ')}"
    if kind.startswith("date"):
        return f"{value!r} không phải ngày hợp lệ (viết YYYY-MM-DD)"
    if kind.startswith("time"):
        return f"{value!r} không phải giờ hợp lệ (viết \"HH:MM\")"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == UNIT_CODE_PATTERN:
            return f"{value!r}: mã đơn vị chỉ dùng CHỮ IN HOA không dấu, chữ số, '-' và '_'"
        return f"{value!r} chỉ được gồm chữ cái không dấu, chữ số, '-', '_' và '.'"
    if kind == "string_too_long":
        return f"{value!r} quá dài (tối đa {ctx.get('max_length')} ký tự)"
    if kind == "too_short":
        return "danh sách không được rỗng"
    if kind == "list_type":
        return "phải là một danh sách (các dòng bắt đầu bằng '- ')"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "phải là một bảng khoá: giá trị"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


class _Written(str):
    """A value as the admin wrote it, shown without quotes: 012, not '012' or 12."""

    def __repr__(self) -> str:
        return str(self)


def _items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The list at `path` in raw YAML data, tolerating anything malformed (already reported)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return [item if isinstance(item, dict) else {} for item in data] if isinstance(data, list) else []


def _unique(items: list[dict[str, Any]], key: str, loc: tuple, doc: YamlDocument, what: str, noun: str) -> list[ConfigIssue]:
    issues, seen = [], {}
    for index, item in enumerate(items):
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


def _other(doc: YamlDocument, loc: tuple) -> str:
    """Another entry a message points to: 'bước nhắc thứ 1 (notice) ở dòng 45'."""
    return f"{doc.entry(loc)} ở dòng {doc.line_of(loc)}"


def _refs(items: Any, known: set[str], loc: tuple, doc: YamlDocument, message: str) -> list[ConfigIssue]:
    if not isinstance(items, list):
        return []
    return [doc.issue(loc + (j,), message.format(ref)) for j, ref in enumerate(items) if isinstance(ref, str) and ref not in known]


def _plan_issues(plan: Plan | None, doc: YamlDocument) -> list[ConfigIssue]:
    """Checks across entries; they run on the raw data so that they report even when some
    other field of the same file is invalid."""
    raw = doc.data if isinstance(doc.data, dict) else {}
    issues: list[ConfigIssue] = []
    issues += _unique(_items(raw, "obligations"), "id", ("obligations",), doc, "mã nghĩa vụ", "nghĩa vụ")
    issues += _unique(_items(raw, "indicators"), "id", ("indicators",), doc, "mã chỉ tiêu", "chỉ tiêu")
    issues += _unique(_items(raw, "headings"), "id", ("headings",), doc, "mã đề mục", "đề mục")
    issues += _unique(_items(raw, "indicator_groups"), "id", ("indicator_groups",), doc, "mã nhóm chỉ tiêu", "nhóm chỉ tiêu")
    issues += _unique(_items(raw, "heading_groups"), "id", ("heading_groups",), doc, "mã nhóm đề mục", "nhóm đề mục")
    indicator_ids = {i.get("id") for i in _items(raw, "indicators")}
    heading_ids = {h.get("id") for h in _items(raw, "headings")}
    for i, ob in enumerate(_items(raw, "obligations")):
        loc = ("obligations", i)
        issues += _refs(ob.get("indicators"), indicator_ids, loc + ("indicators",), doc, "chỉ tiêu '{}' chưa được định nghĩa trong indicators")
        issues += _refs(ob.get("headings"), heading_ids, loc + ("headings",), doc, "đề mục '{}' chưa được định nghĩa trong headings")
    issues += _group_refs(raw, doc)
    if plan is None:
        return issues
    issues += _indicator_issues(plan, doc)
    if plan.ranking is not None and plan.ranking.late_penalty and plan.ranking.late != "penalty":
        issues.append(doc.issue(("ranking", "late_penalty"), "late_penalty chỉ dùng với late: penalty"))
    if plan.campaign.end < plan.campaign.start:
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
        if ob.due is None:
            issues.append(doc.issue(loc, "báo cáo định kỳ cần 'due' (month, day)"))
        if ob.deadline is not None:
            issues.append(doc.issue(loc + ("deadline",), "báo cáo định kỳ dùng 'due', không dùng 'deadline'"))
        shape = (ob.period, ob.key_prefix)
        if shape in keys:
            issues.append(doc.issue(loc + ("key_prefix",), f"trùng kỳ báo cáo với {_other(doc, ('obligations', keys[shape]))}; đặt key_prefix khác nhau"))
        keys.setdefault(shape, i)
    days_off = set(plan.calendar.extra_days_off)
    for j, d in enumerate(plan.calendar.extra_working_days):
        if d in days_off:
            issues.append(doc.issue(("calendar", "extra_working_days", j), f"ngày {d:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm việc"))
    issues += _step_issues(plan.reminders.steps, doc)
    return issues


def _step_issues(steps: list[ReminderStep], doc: YamlDocument) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: dict[tuple[str, int], int] = {}
    unit_days: dict[int, int] = {}
    for j, step in enumerate(steps):
        loc = ("reminders", "steps", j)
        if (step.working_days_before is None) == (step.working_days_after is None):
            issues.append(doc.issue(loc, "cần đúng một trong hai: working_days_before hoặc working_days_after"))
            continue
        if step.kind == "overdue" and step.working_days_after is None:
            issues.append(doc.issue(loc, "nhắc quá hạn (overdue) phải sau hạn: dùng working_days_after"))
        if step.kind in ("notice", "reminder") and step.working_days_before is None:
            issues.append(doc.issue(loc, f"bước '{step.kind}' phải trước hạn: dùng working_days_before"))
        if (step.kind, step.offset) in seen:
            issues.append(doc.issue(loc, f"bước nhắc trùng với {_other(doc, ('reminders', 'steps', seen[step.kind, step.offset]))}"))
        seen.setdefault((step.kind, step.offset), j)
        if step.kind in UNIT_STEP_KINDS:
            # One mail per unit per day: a second unit step on the same day would be noise.
            if step.offset in unit_days and unit_days[step.offset] != j:
                issues.append(doc.issue(loc, f"trùng ngày gửi với {_other(doc, ('reminders', 'steps', unit_days[step.offset]))}"))
            unit_days.setdefault(step.offset, j)
    return issues


def _units_issues(doc: YamlDocument, plan_doc: YamlDocument | None) -> list[ConfigIssue]:
    raw = doc.data if isinstance(doc.data, dict) else {}
    units = _items(raw, "units")
    issues = _unique(units, "code", ("units",), doc, "mã đơn vị", "đơn vị")
    issues += _unique(_items(raw, "groups"), "id", ("groups",), doc, "mã nhóm đơn vị", "nhóm đơn vị")
    groups = {g.get("id") for g in _items(raw, "groups")}
    for i, unit in enumerate(units):
        ref = unit.get("group")
        if isinstance(ref, str) and ref not in groups:
            issues.append(doc.issue(("units", i, "group"), f"nhóm đơn vị '{ref}' chưa được định nghĩa trong groups (đầu tệp)"))
    plan_raw = plan_doc.data if plan_doc and isinstance(plan_doc.data, dict) else None
    obligation_ids = {o.get("id") for o in _items(plan_raw, "obligations")} if plan_raw else None
    for i, unit in enumerate(units):
        issues += _unique(_items(unit, "focal_points"), "email", ("units", i, "focal_points"), doc, "email",
                          "đầu mối")
        if obligation_ids is not None:
            issues += _refs(unit.get("obligations"), obligation_ids, ("units", i, "obligations"), doc, "nghĩa vụ '{}' chưa được định nghĩa trong plan.yaml")
    return issues


def _group_refs(raw: dict, doc: YamlDocument) -> list[ConfigIssue]:
    """Indicators and headings name groups that exist."""
    issues: list[ConfigIssue] = []
    for items, groups, noun in (("indicators", "indicator_groups", "nhóm chỉ tiêu"), ("headings", "heading_groups", "nhóm đề mục")):
        known = {g.get("id") for g in _items(raw, groups)}
        for i, item in enumerate(_items(raw, items)):
            ref = item.get("group")
            if isinstance(ref, str) and ref not in known:
                issues.append(doc.issue((items, i, "group"), f"{noun} '{ref}' chưa được định nghĩa trong {groups}"))
    return issues


def _indicator_issues(plan: Plan, doc: YamlDocument) -> list[ConfigIssue]:
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
                issues.append(doc.issue(loc + ("parent",), "chỉ tiêu “trong đó” chỉ dùng cho tỷ lệ (kind: ratio) thuộc một tỷ lệ"))
            if ind.denominator is not None:
                issues.append(doc.issue(loc + ("denominator",), "chỉ tiêu “trong đó” dùng chung mẫu số với chỉ tiêu chính: bỏ denominator"))
        elif ind.kind in ("ratio", "mean") and ind.denominator is None:
            what = "mẫu số (denominator)" if ind.kind == "ratio" else "số trường hợp để chia (denominator), ví dụ “Số lượt giao dịch”"
            issues.append(doc.issue(loc, f"chỉ tiêu {kind} cần {what}"))
        if ind.kind == "count" and ind.denominator is not None:
            issues.append(doc.issue(loc + ("denominator",), "chỉ tiêu số lượng (kind: count) chỉ có một số liệu: bỏ denominator"))
        if ind.kind == "ratio" and ind.unit is not None:
            issues.append(doc.issue(loc + ("unit",), "chỉ tiêu tỷ lệ tính bằng %: bỏ unit"))
        if ind.kind != "ratio" and ind.unit is None:
            issues.append(doc.issue(loc, f"chỉ tiêu {kind} cần đơn vị tính (unit), ví dụ “tin, bài” hoặc “phút/lượt”"))
        for target in ind.target.all() if ind.target else []:
            if ind.kind == "ratio" and not target.percent_sign:
                issues.append(doc.issue(loc + ("target",), f"mục tiêu của tỷ lệ viết bằng %: \"{target}%\""))
            elif ind.kind != "ratio" and target.percent_sign:
                issues.append(doc.issue(loc + ("target",), f"chỉ tiêu {kind} tính bằng {ind.unit or 'đơn vị của nó'}, không phải %: viết như \"{str(target)[:-1]}\""))
            elif target.written_unit and ind.kind != "ratio" and target.written_unit != (ind.unit or "") and not (ind.unit or "").startswith(target.written_unit):
                issues.append(doc.issue(loc + ("target",), f"mục tiêu ghi đơn vị “{target.written_unit}” khác đơn vị của chỉ tiêu (unit: {ind.unit})"))
            elif target.written_unit and ind.kind == "ratio":
                issues.append(doc.issue(loc + ("target",), f"sau dấu % không ghi gì thêm (“{target.written_unit}”)"))
    for j, ob in enumerate(plan.obligations):
        asked = set(ob.indicators)
        for k, ref in enumerate(ob.indicators):
            child = by_id.get(ref)
            if child is not None and child.parent is not None and child.parent not in asked:
                issues.append(doc.issue(("obligations", j, "indicators", k),
                                        f"chỉ tiêu “trong đó” '{ref}' cần cả chỉ tiêu chính '{child.parent}' trong danh sách"))
    return issues


def _applies_issues(plan_doc: YamlDocument, units_doc: YamlDocument) -> list[ConfigIssue]:
    """Every applies_to names a unit group or a unit code of units.yaml."""
    raw = plan_doc.data if isinstance(plan_doc.data, dict) else {}
    units_raw = units_doc.data if isinstance(units_doc.data, dict) else {}
    groups = {g.get("id") for g in _items(units_raw, "groups")}
    codes = {u.get("code") for u in _items(units_raw, "units")}
    issues: list[ConfigIssue] = []
    for items in ("obligations", "indicators", "headings"):
        for i, item in enumerate(_items(raw, items)):
            refs = item.get("applies_to")
            for k, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in groups and ref not in codes:
                    hint = " (mã đơn vị viết IN HOA)" if ref.upper() in codes else ""
                    issues.append(plan_doc.issue((items, i, "applies_to", k),
                                                 f"'{ref}' không phải nhóm đơn vị (groups) hay mã đơn vị trong units.yaml{hint}"))
    return issues
