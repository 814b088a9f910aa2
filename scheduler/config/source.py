"""Strict loading of the YAML files an admin edits, with a line number for every path.

PyYAML reads YAML 1.1 (`no` becomes False, `08:00` becomes 480) and silently keeps the last of
two duplicated keys. ruamel.yaml reads YAML 1.2 and keeps the node tree with positions, so we
report every duplicated key at once and can point each validation error at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from scheduler.config.yamltree import SAFE_TO_COMPOSE, Shape, check_depth, may_nest_past, nfc, to_plain


class _Constructor(SafeConstructor):
    """Dates stay text: ruamel would raise a bare ValueError (no line) for 2026-02-30, while
    pydantic then reports it at its line like any other bad value."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


class _Resolver(VersionedResolver):
    """A file's YAML version, looked up once: ruamel's look-up per scalar took a quarter of the load."""

    @property
    def processing_version(self) -> Any:
        if "_version" not in self.__dict__:
            self._version = VersionedResolver.processing_version.fget(self)  # type: ignore[attr-defined]
        return self._version


def _syntax_message(exc: MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """A YAML syntax error in Vietnamese, at the line where the admin must look. The wording
    matched is libyaml's (through ruamel.yaml.clib) or ruamel's own, which is nearly the same."""
    problem, context = exc.problem or "", exc.context or ""
    at = (exc.problem_mark.line + 1) if exc.problem_mark else None
    opened = (exc.context_mark.line + 1) if exc.context_mark else None
    index = exc.problem_mark.index if exc.problem_mark else None
    if "tab" in problem or "\\t" in problem or (index is not None and text[index:index + 1] == "\t"):
        return at, "có ký tự Tab: YAML chỉ thụt lề bằng dấu cách"
    if "escape" in problem or "hexdecimal" in problem:  # "C:\Users" in double quotes
        return at, ("chuỗi trong dấu nháy kép có dấu '\\' không hợp lệ; dùng dấu nháy đơn ('C:\\Users') "
                    "hoặc viết '\\\\'")
    if "quoted scalar" in context:
        return opened or at, "thiếu dấu nháy đóng cho chuỗi mở ở dòng này"
    if "flow sequence" in context or "flow mapping" in context:
        return opened or at, "thiếu dấu đóng ] hoặc } cho danh sách mở ở dòng này"
    if at is not None and _value_start(text, at - 1) in ("*", "&"):
        # `name: *Thanh tra*`: an alias or an anchor, whatever libyaml then trips on
        return at, "ký tự '*' hoặc '&' ở đầu giá trị có nghĩa riêng trong YAML (bí danh); đặt cả giá trị trong dấu nháy"
    if ("expected <block end>" in problem or "did not find expected key" in problem
            or "expected '-' indicator" in problem or "block mapping" in context or "block collection" in context):
        return at, _INDENT
    if "mapping values are not allowed" in problem and exc.problem_mark is not None:
        return _stray_colon(text, exc.problem_mark.line, exc.problem_mark.column)
    if "cannot start any token" in problem and index is not None:  # @, ` and % are reserved in YAML
        return at, f"ký tự '{text[index:index + 1]}' không được đứng đầu một giá trị; đặt cả giá trị trong dấu nháy"
    if "constructor for the tag" in problem:
        tag = problem.rsplit(" ", 1)[-1]
        return at, f"thẻ {tag} không dùng trong tệp cấu hình; xoá thẻ, chỉ để giá trị"
    if "another document" in problem:
        return at, "tệp chỉ được chứa một tài liệu YAML: xoá dòng '---' ở đây và phần thừa sau nó"
    if "could not find expected ':'" in problem:  # libyaml gives up on the next line
        return opened or at, "thiếu dấu ':' sau tên khoá"
    if "block scalar" in context:
        return opened or at, "sau dấu | hoặc > chỉ được xuống dòng (nội dung viết từ dòng sau, thụt vào)"
    if "anchor" in context or "alias" in context or "undefined alias" in problem:
        return at, "ký tự '*' hoặc '&' ở đầu giá trị có nghĩa riêng trong YAML (bí danh); đặt cả giá trị trong dấu nháy"
    # Never ruamel's English: the line, and what to look at there.
    return at, "viết sai cú pháp YAML ở dòng này: kiểm tra thụt lề, dấu ':' sau tên khoá và các dấu nháy"


_INDENT = ("thụt lề không khớp với các dòng trên: các khoá (và các mục '- ') cùng cấp phải thẳng cột, cùng số dấu "
          "cách đầu dòng")


def _stray_colon(text: str, line: int, column: int) -> tuple[int, str]:
    """libyaml's "mapping values are not allowed here" (0-based line and column of the ':'),
    told apart: a ':' inside a value, a line indented deeper than the one above (read as the
    continuation of its value), or a key above left without its ':'."""
    lines = text.splitlines()
    current = lines[line] if line < len(lines) else ""
    if re.search(r":(\s|$)", current[:column]):
        return line + 1, "giá trị có dấu ':' phải đặt trong dấu nháy, ví dụ: \"Giờ: 08:00\""
    above = next((n for n in range(line - 1, -1, -1)
                  if lines[n].strip() and not lines[n].lstrip().startswith("#")), None)
    if above is None:
        return line + 1, _INDENT
    before = lines[above]
    item = before.strip()[2:] if before.strip().startswith("- ") else before.strip()
    if not re.search(r":(\s|$)", item):
        return above + 1, "thiếu dấu ':' sau tên khoá"
    if _indent(current) > _indent(before):
        return line + 1, f"thụt lề không khớp với các dòng trên: dòng này thụt vào sâu hơn dòng {above + 1}"
    return line + 1, _INDENT


def _value_start(text: str, line: int) -> str:
    """The first character of the value on a 0-based line ("key: value" or "- value")."""
    lines = text.splitlines()
    content = lines[line].strip() if 0 <= line < len(lines) else ""
    match = re.match(r"(?:-\s+)*(?:[^\s:#'\"][^:#]*:\s+)?(\S)", content)
    return match.group(1) if match else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


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


@dataclass(frozen=True)
class Entries:
    """How the entries of one list are named for the admin who looks for them in the file:
    by `key` ("đơn vị TTRA"), with `detail` when the key is shared or unusable
    ("đơn vị BPMC (Thanh tra Sở)"), otherwise by a 1-based ordinal ("bước nhắc thứ 3")."""

    noun: str
    key: str | None = None
    detail: str | None = None


# A list's path, "*" standing for each index above it: ("units", "*", "focal_points").
Naming = dict[tuple[str, ...], Entries]


def _usable(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= 60 and value.isprintable()


def _shorten(text: str, width: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


@dataclass
class YamlDocument:
    """A parsed file: its data as plain Python and its node tree for line look-ups."""

    file: str
    data: Any
    root: Node | None
    naming: Naming = field(default_factory=dict)

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

    def source_of(self, loc: Loc) -> str | None:
        """The text as written for a scalar YAML did not read as a string (`012`, `1.10`, `yes`
        is a string but `true` is not): the admin must see what they typed, not 12."""
        node = self.root
        for part in loc:
            if isinstance(node, MappingNode):
                node = next((v for k, v in node.value if isinstance(k, ScalarNode) and nfc(k.value) == part), None)
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return None
        if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:str":
            return node.value
        return None

    def names(self, loc: Loc) -> list[str]:
        """`loc` as the admin finds it: keys as written in the file, entries of a list by name."""
        parts: list[str] = []
        data, pattern = self.data, ()
        for part in loc:
            if isinstance(part, int):
                items = data if isinstance(data, list) else []
                rule = self.naming.get(pattern)
                if rule is None:
                    parts.append(f"mục thứ {part + 1}")
                else:
                    if parts and pattern and parts[-1] == pattern[-1]:
                        parts.pop()  # "đơn vị TTRA", not "units › đơn vị TTRA"
                    parts.append(_entry_name(rule, items, part))
                data = items[part] if 0 <= part < len(items) else None
                pattern += ("*",)
            else:
                if re.fullmatch(r"[\w.-]+", str(part)):  # not pydantic's own parts (function-after[…])
                    parts.append(str(part))
                data = data.get(part) if isinstance(data, dict) else None
                pattern += (str(part),)
        return parts

    def describe(self, loc: Loc) -> str:
        """'đơn vị KHTC › đầu mối Phạm Thu Hà › email'"""
        return " › ".join(self.names(loc))

    def entry(self, loc: Loc) -> str:
        """The entry `loc` ends at, for a message about another one: 'đơn vị ở dòng 15' reads
        better than the path: 'bước nhắc thứ 1 (notice)'."""
        names = self.names(loc)
        return names[-1] if names else ""

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line_of(loc), self.describe(loc), message)


def _entry_name(rule: Entries, items: list[Any], index: int) -> str:
    item = items[index] if 0 <= index < len(items) and isinstance(items[index], dict) else {}
    primary = item.get(rule.key) if rule.key else None
    detail = item.get(rule.detail) if rule.detail else None
    detail = _shorten(detail) if isinstance(detail, str) and detail.strip() and detail.isprintable() else None
    if _usable(primary):
        same = [o for o in items if isinstance(o, dict) and _usable(o.get(rule.key))
                and o[rule.key].strip().casefold() == primary.strip().casefold()]
        name = f"{rule.noun} {primary.strip()}"
        if len(same) > 1:
            name += f" ({detail})" if detail else f" (thứ {index + 1})"
        return name
    return f"{rule.noun} thứ {index + 1}" + (f" ({detail})" if detail else "")


def _duplicate_keys(doc: YamlDocument) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    stack: list[tuple[Node | None, Loc]] = [(doc.root, ())]
    while stack:
        current, loc = stack.pop()
        if isinstance(current, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in current.value:
                key = nfc(key_node.value) if isinstance(key_node, ScalarNode) else None
                if key is not None and key in seen:
                    issues.append(ConfigIssue(doc.file, key_node.start_mark.line + 1, doc.describe(loc + (key,)),
                                              f"khoá '{key}' bị lặp lại (đã có ở dòng {seen[key]}); xoá một trong "
                                              "hai dòng"))
                elif key is not None:
                    seen[key] = key_node.start_mark.line + 1
                stack.append((value_node, loc + (key,)))
        elif isinstance(current, SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, loc + (index,)))
    return sorted(issues, key=lambda i: i.line or 0)


def load_yaml(path: Path, display_name: str | None = None,
              naming: Naming | None = None) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """Parse one file. Returns the document (None if unreadable) and the issues found so far.
    `naming` says how the entries of its lists are named in messages (see Entries)."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ConfigIssue(name, None, "", "không tìm thấy tệp")]
    except IsADirectoryError:
        return None, [ConfigIssue(name, None, "", "đây là thư mục, không phải tệp YAML")]
    except PermissionError:
        return None, [ConfigIssue(name, None, "", "không có quyền đọc tệp")]
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        return None, [ConfigIssue(name, line, "", "tệp không phải UTF-8 (có thể đã lưu bằng mã Windows); "
                                                  "mở tệp và lưu lại với mã hoá UTF-8")]
    except OSError as exc:
        return None, [ConfigIssue(name, None, "", f"không đọc được tệp (mã lỗi hệ thống {exc.errno})")]
    # "safe" composes in C (libyaml, through ruamel.yaml.clib) yet resolves scalars by YAML 1.2
    # rules; ruamel's pure-Python round-trip scanner took ten times as long, on every command.
    yaml = YAML(typ="safe")
    yaml.Constructor, yaml.Resolver = _Constructor, _Resolver
    yaml.allow_duplicate_keys = True  # we report them all ourselves, below
    try:
        if may_nest_past(text, SAFE_TO_COMPOSE):
            check_depth(yaml, text)  # libyaml's events: a third of the time composing takes
        root = yaml.compose(text)
        # Built from the same node tree: parsing the text a second time cost as much again.
        plain, repeated = to_plain(root, yaml.constructor) if root is not None else (None, False)
    except Shape as exc:
        return None, [ConfigIssue(name, exc.line, "", exc.message)]
    except MarkedYAMLError as exc:
        line, message = _syntax_message(exc, text)
        return None, [ConfigIssue(name, line, "", message)]
    except (ValueError, TypeError):  # e.g. a tag such as !!int on a word
        at = text.find("!!")
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        return None, [ConfigIssue(name, line, "", "có giá trị mang thẻ !! không đọc được (ví dụ !!int trước chữ); "
                                                  "xoá thẻ, chỉ để giá trị")]
    if root is None:
        return None, [ConfigIssue(name, None, "", "tệp rỗng")]
    doc = YamlDocument(name, plain, root, dict(naming or {}))
    return doc, _duplicate_keys(doc) if repeated else []
