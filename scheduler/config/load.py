"""Loading the config: both YAML files read and validated, every problem found at once, each at
its file and line and named as the admin finds the entry; then the checks across entries
(unique codes, references between the files, reminder steps that collide)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from scheduler.config.checks import applies_issues, body_issues, items, other, refs, unique
from scheduler.config.instance import merge, same_as_issues
from scheduler.config.measures import GROUP_PATTERN
from scheduler.config.plans import PlanBody
from scheduler.config.source import ConfigError, ConfigIssue, YamlDocument, load_yaml
from scheduler.config.model import (PLAN_FILE, PLAN_NAMING, PLANS_DIR, UNIT_CODE_PATTERN, UNIT_STEP_KINDS, UNITS_FILE, UNITS_NAMING,
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
    files = _plan_files(directory, issues)
    docs = ([plan_doc] if plan_doc is not None else []) + [doc for _, doc, _ in files]
    if plan is not None and not plan.obligations and not files:
        issues.append(plan_doc.issue(("obligations",), "chưa có kế hoạch nào: ghi obligations (cùng campaign, indicators, "
                                                        f"headings) ở đây, hoặc mỗi kế hoạch một tệp trong {directory / PLANS_DIR}/"))
    if units_doc is not None:
        known = {o.get("id") for doc in docs[:1] for o in items(doc.data, "obligations")} | {
            f"{pid}.{o.get('id')}" for pid, doc, _ in files for o in items(doc.data, "obligations")}
        where = "plan.yaml" + (" hay plans/ (nghĩa vụ của plans/X.yaml viết X.mã)" if files else "")
        issues += _units_issues(units_doc, known if plan_doc is not None else None, where)
        for doc in docs:
            issues += applies_issues(doc, units_doc)
    # Checked whenever every file could be read, beside the other problems: all at once.
    readable = plan is not None and units_file is not None and all(body is not None for _, _, body in files)
    if readable and ((plan.obligations and plan.campaign is not None) or files):
        config = merge(plan, [(pid, f"{PLANS_DIR}/{Path(doc.file).name}", body) for pid, doc, body in files],
                       units_file, directory)
        issues += same_as_issues(config, [("", plan_doc)] + [(pid, doc) for pid, doc, _ in files])
    if issues or plan is None or units_file is None:
        order = {doc.file: n for n, doc in enumerate(docs)}
        raise ConfigError(sorted(issues, key=lambda i: (order.get(i.file, len(order)), i.line or 0)))
    return config


def _plan_files(directory: Path, issues: list[ConfigIssue]) -> list[tuple[str, YamlDocument, PlanBody | None]]:
    """config/plans/*.yaml: one Kế hoạch a file, named by its id (kiem-soat-tthc.yaml)."""
    folder = directory / PLANS_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.y*ml")):
        display = _display(directory, f"{PLANS_DIR}/{path.name}")
        if not re.fullmatch(GROUP_PATTERN, path.stem):
            issues.append(ConfigIssue(display, None, "", "tên tệp kế hoạch là mã của kế hoạch: chỉ chữ thường không dấu, "
                                                         "chữ số, '-' và '_' (ví dụ kiem-soat-tthc.yaml)"))
            continue
        doc, more = load_yaml(path, display, PLAN_NAMING)
        issues += more
        if doc is None:
            continue
        body = _validate(doc, PlanBody, issues)
        issues += body_issues(body, doc)
        found.append((path.stem, doc, body))
    return found


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


def _plan_issues(plan: Plan | None, doc: YamlDocument) -> list[ConfigIssue]:
    """plan.yaml: its own plan's entries (if it holds one), the calendar, the reminder steps."""
    issues = body_issues(plan, doc)
    if plan is None:
        return issues
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
            issues.append(doc.issue(loc, f"bước nhắc trùng với {other(doc, ('reminders', 'steps', seen[step.kind, step.offset]))}"))
        seen.setdefault((step.kind, step.offset), j)
        if step.kind in UNIT_STEP_KINDS:
            # One mail per unit per day: a second unit step on the same day would be noise.
            if step.offset in unit_days and unit_days[step.offset] != j:
                issues.append(doc.issue(loc, f"trùng ngày gửi với {other(doc, ('reminders', 'steps', unit_days[step.offset]))}"))
            unit_days.setdefault(step.offset, j)
    return issues


def _units_issues(doc: YamlDocument, obligation_ids: set[str] | None, where: str) -> list[ConfigIssue]:
    raw = doc.data if isinstance(doc.data, dict) else {}
    units = items(raw, "units")
    issues = unique(units, "code", ("units",), doc, "mã đơn vị", "đơn vị")
    issues += unique(items(raw, "groups"), "id", ("groups",), doc, "mã nhóm đơn vị", "nhóm đơn vị")
    groups = {g.get("id") for g in items(raw, "groups")}
    for i, unit in enumerate(units):
        ref = unit.get("group")
        if isinstance(ref, str) and ref not in groups:
            issues.append(doc.issue(("units", i, "group"), f"nhóm đơn vị '{ref}' chưa được định nghĩa trong groups (đầu tệp)"))
    for i, unit in enumerate(units):
        issues += unique(items(unit, "focal_points"), "email", ("units", i, "focal_points"), doc, "email",
                          "đầu mối")
        if obligation_ids is not None:
            issues += refs(unit.get("obligations"), obligation_ids, ("units", i, "obligations"), doc, "nghĩa vụ '{}' chưa được định nghĩa trong " + where)
    return issues

