"""A unit's return written as YAML or JSON (by hand, or from another system), read back with
every problem at its line and key."""

from __future__ import annotations

import difflib
import unicodedata
from pathlib import Path
from typing import Any


from scheduler.collect.filetype import NOT_OURS
from scheduler.collect.problems import ImportError_, Loc, Problem, shown_value
from scheduler.policy.periods import Period
from scheduler.config.model import Config
from scheduler.collect.asked import not_for
from scheduler.collect.validate import NOT_APPLICABLE, Entry, headings_for, indicators_for
from scheduler.config.source import YamlDocument, load_yaml


# ---- YAML / JSON

def read_yaml(path: Path, config: Config, period: Period, unit_code: str | None = None
              ) -> tuple[Entry, dict[str, Loc], list[Problem], set[str]]:
    """An Entry from a YAML or JSON file (JSON is YAML 1.2); locations are `file:line: key`."""
    doc, issues = load_yaml(path)
    if doc is None:
        raise ImportError_([Problem(f"{i.file}:{i.line}" if i.line else "", i.message if i.line else f"tệp {path}: {i.message}",
                                    (i.line or 0, 0)) for i in issues])
    # Duplicated keys: the file can still be read (the last one counts), so its other problems
    # are found too; the message names the key.
    problems = [Problem(f"{i.file}:{i.line}" if i.line else str(i.file), i.message, (i.line or 0, 0)) for i in issues]
    covered: set[str] = set()
    data = doc.data
    if not isinstance(data, dict):
        first = data.strip().splitlines()[0] if isinstance(data, str) and data.strip() else ""
        if path.suffix.lower() == ".csv" or first.count(",") + first.count(";") + first.count("\t") >= 2:
            raise ImportError_([Problem("", f"tệp {path} là bảng số liệu dạng CSV (các cột cách nhau bằng dấu phẩy), "
                                            f"{NOT_OURS}; hãy điền mẫu XLSX tạo bằng `baocao template`")])
        raise ImportError_(problems + [Problem(f"{path}:1", "tệp phải là một bảng khoá: giá trị (submitted_by, "
                                                            "indicators, narrative); xem ví dụ trong README", (1, 0))])

    def at(loc: tuple) -> Loc:
        line = _key_line(doc, loc)
        dotted = ".".join(map(str, loc))
        return Loc(f"{doc.file}:{line}: {dotted}" if line else dotted, (line or 0, len(loc)))

    def flag(loc: tuple, message: str, *keys: str) -> None:
        place = at(loc)
        problems.append(Problem(place.text, message, place.order))
        covered.update(keys)

    allowed = {"submitted_by", "indicators", "narrative", "period", "unit"}
    for key in data:
        if key not in allowed:
            flag((key,), f"khoá không được phép; dùng: {', '.join(sorted(allowed))}")
    if data.get("period") not in (None, period.key):
        flag(("period",), f"tệp ghi kỳ “{_scalar(data['period'])}”, không phải kỳ {period.key}")
    if unit_code and data.get("unit") is not None and _scalar(data["unit"]).strip().upper() != unit_code:
        flag(("unit",), f"tệp ghi đơn vị “{_scalar(data['unit'])}”, không phải {unit_code}")
    by = data.get("submitted_by")
    if by is not None and not isinstance(by, str):
        flag(("submitted_by",), "phải là một dòng chữ (họ tên, chức vụ người gửi)", "submitted_by")
    entry = Entry(submitted_by=by if isinstance(by, str) else "")
    where = {"submitted_by": at(("submitted_by",))}

    unit = config.unit(unit_code) if unit_code else None
    wanted, headings = indicators_for(config, period, unit), headings_for(config, period, unit)
    others = {i.id for i in indicators_for(config, period) if not_for(config, i.applies_to, unit)}
    indicators = data.get("indicators")
    if not isinstance(indicators, dict):
        what = ("thiếu phần indicators" if "indicators" not in data else
                "phần indicators trống" if indicators is None else "phần indicators viết sai dạng")
        flag(("indicators",), f"{what}: ghi mỗi chỉ tiêu một dòng “mã chỉ tiêu: {{num: …, den: …}}” (chỉ tiêu đếm "
                              f"số lượng, “trong đó”: “mã chỉ tiêu: số”) hoặc “mã chỉ tiêu: {NOT_APPLICABLE}” "
                              "(xem ví dụ trong README)",
             *(k for i in wanted for k in (i.id, f"{i.id}.num", f"{i.id}.den")))
        indicators = {}
    known = {i.id for i in wanted}
    # A plan of config/plans/ writes its ids plainly (`dung_han`); the engine knows them as
    # `kiem-soat-tthc.dung_han`. Either is accepted; `written` keeps the file's own key for its line.
    plan_id = config.part_of(period).id
    written: dict[str, Any] = {}

    def own_ids(found: dict, ids: set[str]) -> dict:
        if not plan_id:
            return found
        mapped = {}
        for key, value in found.items():
            full = f"{plan_id}.{key}" if isinstance(key, str) and f"{plan_id}.{key}" in ids else key
            written[full] = key
            mapped[full] = value
        return mapped

    indicators = own_ids(indicators, known | others)
    for key in indicators:
        if key in others:
            flag(("indicators", written.get(key, key)), f"chỉ tiêu “{written.get(key, key)}” không giao cho {unit.name}; xoá dòng này (không được nhập)")
        elif key not in known:
            guess = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
            flag(("indicators", written.get(key, key)), f"chỉ tiêu “{key}” không có trong kỳ này" + (f"; có phải “{guess[0]}”?" if guess else ""))
    for ind in wanted:
        loc = ("indicators", written.get(ind.id, ind.id))
        where |= {ind.id: at(loc), f"{ind.id}.num": at(loc + ("num",)), f"{ind.id}.den": at(loc + ("den",))}
        keys = (ind.id, f"{ind.id}.num", f"{ind.id}.den")
        shape = _shape(ind)
        if ind.id not in indicators:
            if isinstance(data.get("indicators"), dict):
                flag(("indicators",), f"thiếu chỉ tiêu {ind.id} (“{ind.name}”): ghi {ind.id}: {shape} "
                                      f"hoặc {ind.id}: {NOT_APPLICABLE}", *keys)
            continue
        value = indicators[ind.id]
        if isinstance(value, str) and value.strip().lower() in ("không phát sinh", "khong_phat_sinh", "kps"):
            entry.figures[ind.id] = ("", "", True)
        elif not ind.has_denominator and not isinstance(value, (dict, list, str)):
            entry.figures[ind.id] = (_count(value), "", False)  # one figure: `tin_bai: 12`
        elif isinstance(value, dict) and not ind.has_denominator:
            if set(value) - {"num"}:
                flag(loc, f"{_one(ind)}: viết {ind.id}: {shape}, không ghi "
                          f"{', '.join(sorted(map(str, set(value) - {'num'})))}", *keys)
            else:
                entry.figures[ind.id] = (_count(value.get("num")), "", False)
        elif isinstance(value, dict):
            extra = set(value) - {"num", "den"}
            if extra:
                flag(loc, f"chỉ dùng num và den (thừa: {', '.join(sorted(map(str, extra)))})")
            entry.figures[ind.id] = (_count(value.get("num")), _count(value.get("den")), False)
        elif ind.has_denominator and not isinstance(value, (list, str)) and value is not None:
            flag(loc, f"chỉ tiêu này cần hai số: viết {ind.id}: {shape} hoặc \"{NOT_APPLICABLE}\"", *keys)
        else:
            flag(loc, f"viết {shape} hoặc \"{NOT_APPLICABLE}\"", *keys)

    narrative = data.get("narrative")
    if narrative is not None and not isinstance(narrative, dict):
        flag(("narrative",), "phải là các dòng “mã đề mục: nội dung”", *(f"h.{h.id}" for h in headings))
    narrative = narrative if isinstance(narrative, dict) else {}
    known_headings = {h.id for h in headings}
    other_headings = {h.id for h in headings_for(config, period) if not_for(config, h.applies_to, unit)}
    narrative = own_ids(narrative, known_headings | other_headings)
    for key, value in narrative.items():
        if key in other_headings:
            if value:
                flag(("narrative", written.get(key, key)), f"đề mục “{written.get(key, key)}” không giao cho {unit.name}; xoá dòng này (không được nhập)")
        elif key not in known_headings:
            # a typo must not drop a unit's text without a word
            flag(("narrative", written.get(key, key)), f"đề mục “{key}” không có trong kỳ này; dùng: {', '.join(sorted(known_headings))}")
        elif value is not None and not isinstance(value, str):
            flag(("narrative", written.get(key, key)), "nội dung phải là chữ (dùng | để viết nhiều dòng)", f"h.{key}")
    for h in headings:
        if isinstance(narrative.get(h.id), str):
            entry.narrative[h.id] = narrative[h.id]
        where[f"h.{h.id}"] = at(("narrative", written.get(h.id, h.id)))
    return entry, where, problems, covered


def _shape(ind) -> str:
    """How the file writes one indicator's figures."""
    return "{num: …, den: …}" if ind.has_denominator else "<một số>"


def _one(ind) -> str:
    if ind.parent is not None:
        return f"chỉ tiêu “trong đó” chỉ ghi một số (tử số; mẫu số lấy của chỉ tiêu {ind.parent})"
    return "chỉ tiêu đếm số lượng chỉ ghi một số"


def _scalar(value: Any) -> str:
    """A value as written, or a word for a list or table where one value belongs (never its
    repr, which may be huge or nested thousands deep)."""
    return "(danh sách hoặc bảng)" if isinstance(value, (list, dict)) else shown_value(value)


def _key_line(doc: YamlDocument, loc: tuple) -> int | None:
    """The line of the deepest key of `loc` present in the file: `indicators:` itself, not the
    first line under it, and for a key that is missing the key it belongs under."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    node, line = doc.root, None
    for part in loc:
        if not isinstance(node, MappingNode):
            break
        match = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode)
                      and unicodedata.normalize("NFC", str(k.value)) == part), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line or doc.line_of(loc)


def _count(value: Any) -> str:
    """A count from YAML as text. Floats must fail: `1.234` in YAML is the decimal 1,234 and
    must not be read as the Vietnamese-written 1.234 (one thousand two hundred thirty-four)."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, float):
        return f"{value!r} (số thập phân)"
    return shown_value(value)
