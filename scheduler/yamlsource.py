"""Strict loading of the YAML files an admin edits, with a line number for every path.

PyYAML reads YAML 1.1 (`no` becomes False, `08:00` becomes 480) and silently keeps the last of
two duplicated keys. ruamel.yaml reads YAML 1.2 and keeps the node tree with positions, so we
report every duplicated key at once and can point each validation error at its line.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class _Constructor(SafeConstructor):
    """Dates stay text: ruamel would raise a bare ValueError (no line) for 2026-02-30, while
    pydantic then reports it at its line like any other bad value."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _syntax_message(exc: MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """A YAML syntax error in Vietnamese, at the line where the admin must look. The wording
    matched is libyaml's (through ruamel.yaml.clib) or ruamel's own, which is nearly the same."""
    problem, context = exc.problem or "", exc.context or ""
    at = (exc.problem_mark.line + 1) if exc.problem_mark else None
    opened = (exc.context_mark.line + 1) if exc.context_mark else None
    index = exc.problem_mark.index if exc.problem_mark else None
    if "tab" in problem or "\\t" in problem or (index is not None and text[index:index + 1] == "\t"):
        return at, "có ký tự Tab: YAML chỉ thụt lề bằng dấu cách"
    if "quoted scalar" in context:
        return opened or at, "thiếu dấu nháy đóng cho chuỗi mở ở dòng này"
    if "flow sequence" in context or "flow mapping" in context:
        return opened or at, "thiếu dấu đóng ] hoặc } cho danh sách mở ở dòng này"
    if "expected <block end>" in problem or "block mapping" in context or "block collection" in context:
        return at, f"thụt lề không khớp với khối bắt đầu ở dòng {opened}" if opened else "thụt lề không khớp"
    if "mapping values are not allowed" in problem:
        return at, "dấu ':' không đúng chỗ: thụt lề sai, hoặc giá trị có dấu ':' cần đặt trong dấu nháy"
    if "cannot start any token" in problem and index is not None:  # @ and ` are reserved in YAML
        return at, f"ký tự '{text[index:index + 1]}' không được đứng đầu một giá trị; đặt cả giá trị trong dấu nháy"
    if "constructor for the tag" in problem:
        tag = problem.rsplit(" ", 1)[-1]
        return at, f"thẻ {tag} không dùng trong tệp cấu hình; xoá thẻ, chỉ để giá trị"
    if "another document" in problem:
        return at, "tệp chỉ được chứa một tài liệu YAML: xoá dòng '---' ở đây và phần thừa sau nó"
    if "could not find expected ':'" in problem:
        return at, "thiếu dấu ':' sau tên khoá"
    return at, f"lỗi cú pháp YAML ({problem or context})"

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, phrased for the admin who has to fix it."""

    file: str
    line: int | None
    loc: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.loc}: {self.message}" if self.loc else f"{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def nfc(value: Any) -> Any:
    """Plain Python containers with every string (keys too) normalised to NFC: text pasted
    from Word or typed on a Mac may arrive decomposed and would then never compare equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", str(value))
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


@dataclass
class YamlDocument:
    """A parsed file: its data as plain Python and its node tree for line look-ups."""

    file: str
    data: Any
    root: Node | None

    def line_of(self, loc: Loc) -> int | None:
        """1-based line of the deepest node that `loc` reaches (the parent when a key is missing)."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            child = None
            if isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, ScalarNode) and nfc(key_node.value) == part:
                        child = value_node
                        # An unknown key is best shown at the key itself.
                        line = key_node.start_mark.line + 1
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line_of(loc), format_loc(loc), message)


def _duplicate_keys(node: Node | None, file: str) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    stack = [(node, ())]
    while stack:
        current, loc = stack.pop()
        if isinstance(current, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in current.value:
                key = nfc(key_node.value) if isinstance(key_node, ScalarNode) else None
                if key is not None and key in seen:
                    issues.append(
                        ConfigIssue(
                            file,
                            key_node.start_mark.line + 1,
                            format_loc(loc + (key,)),
                            f"khoá '{key}' bị lặp lại (đã có ở dòng {seen[key]}); xoá một trong hai dòng",
                        )
                    )
                elif key is not None:
                    seen[key] = key_node.start_mark.line + 1
                stack.append((value_node, loc + (key,)))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, loc + (index,)))
    return sorted(issues, key=lambda i: i.line or 0)


def load_yaml(path: Path, display_name: str | None = None) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """Parse one file. Returns the document (None if unreadable) and the issues found so far."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ConfigIssue(name, None, "", "không tìm thấy tệp")]
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        return None, [ConfigIssue(name, line, "", "tệp không phải UTF-8 (có thể đã lưu bằng mã Windows); "
                                                  "mở tệp và lưu lại với mã hoá UTF-8")]
    # "safe" composes in C (libyaml, through ruamel.yaml.clib) yet resolves scalars by YAML 1.2
    # rules; ruamel's pure-Python round-trip scanner took ten times as long, on every command.
    yaml = YAML(typ="safe")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = True  # we report them all ourselves, below
    try:
        root = yaml.compose(text)
        # Built from the same node tree: parsing the text a second time cost as much again.
        data = yaml.constructor.construct_document(root) if root is not None else None
    except MarkedYAMLError as exc:
        line, message = _syntax_message(exc, text)
        return None, [ConfigIssue(name, line, "", message)]
    except (ValueError, TypeError) as exc:  # e.g. a tag such as !!int on a word
        return None, [ConfigIssue(name, None, "", f"có giá trị không đọc được ({exc}); kiểm tra các giá trị có thẻ !!")]
    if root is None:
        return None, [ConfigIssue(name, None, "", "tệp rỗng")]
    doc = YamlDocument(name, nfc(_plain(data)), root)
    return doc, _duplicate_keys(root, name)


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers and scalar subclasses as plain Python values."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
