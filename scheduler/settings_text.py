"""pydantic's validation errors of the settings, in Vietnamese: what an admin reads when a BAOCAO_*
variable is wrong. Apart from settings.py so that the model stays readable on its own."""

from __future__ import annotations

import typing
from typing import Callable, Literal

from pydantic import ValidationError

from scheduler.text import decimal_comma


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return decimal_comma(str(value)) if isinstance(value, float) else str(value)


def _bounds(model, field: str) -> str | None:
    """The whole allowed range of a numeric field, e.g. 'từ 1 đến 65535'."""
    limits = {}
    for item in model.model_fields[field].metadata:
        for name in ("gt", "ge", "lt", "le"):
            if getattr(item, name, None) is not None:
                limits[name] = _number(getattr(item, name))
    low = f"từ {limits['ge']}" if "ge" in limits else f"lớn hơn {limits['gt']}" if "gt" in limits else None
    high = f"đến {limits['le']}" if "le" in limits else f"nhỏ hơn {limits['lt']}" if "lt" in limits else None
    if low and high:
        return f"{low} {high}" if "ge" in limits and "le" in limits else f"{low} và {high}"
    if low:
        return f"{low} trở lên" if "ge" in limits else low
    return high


def _choices(model, field: str) -> list[str]:
    def walk(annotation) -> list[str]:
        if typing.get_origin(annotation) is Literal:
            return [str(a) for a in typing.get_args(annotation)]
        return [c for arg in typing.get_args(annotation) for c in walk(arg)]

    return walk(model.model_fields[field].annotation)


def _explain(model, secret: set[str], error: dict, field: str | None) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "baocao_other":
        return ctx["message"]
    shown = "" if field in secret else f"'{error.get('input')}' "
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", "giá trị không hợp lệ"))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{shown}không phải số nguyên"
    if kind in ("float_parsing", "float_type"):
        return f"{shown}không phải số; viết dấu chấm cho phần thập phân, ví dụ 2.5"
    if kind == "finite_number":
        return f"{shown}phải là một số hữu hạn"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and field:
        return f"phải {_bounds(model, field)} (hiện là {error.get('input')})"
    if kind == "literal_error" and field:
        return f"{shown}không hợp lệ; chọn một trong: {', '.join(_choices(model, field))}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{shown}không phải giá trị đúng/sai; dùng true hoặc false"
    if kind == "string_too_short":
        return "không được để trống"
    if kind == "missing":
        return "chưa đặt; biến này là bắt buộc"
    if kind in ("string_type", "path_type"):
        return "phải là một chuỗi ký tự"
    return f"{shown}không hợp lệ".strip()  # a type this module's fields do not produce today


def setting_issues(exc: ValidationError, model, secret: set[str], env_name: Callable[[str], str]) -> list[str]:
    """Each error of a settings model, as "VARIABLE: what is wrong" (a secret's value never shown)."""
    issues = []
    for error in exc.errors():
        field = next((part for part in error["loc"] if isinstance(part, str) and part in model.model_fields), None)
        message = _explain(model, secret, error, field)
        if error["type"] == "baocao_other":
            field = error["ctx"]["field"]
        issues.append(f"{env_name(field)}: {message}" if field else message)
    return issues
