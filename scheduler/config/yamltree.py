"""The shape of a YAML node tree and its plain Python values (config/source reads the files).

libyaml composes by C recursion and aliases can make a few lines stand for a billion values:
what a file may nest and expand to is checked here, in the walk that converts it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

# Deeper than this is no config an admin writes, and libyaml composes by C recursion (a file
# 200 000 levels deep overflows the stack), our conversions by Python recursion.
MAX_DEPTH = 50
# What aliases may expand to: a few anchors can stand for a billion values.
MAX_VALUES = 100_000


class Shape(Exception):
    """A tree refused for its shape: the line to look at, and what to tell the admin."""

    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message


def check_depth(yaml: YAML, text: str) -> None:
    """Count the nesting in libyaml's event stream (a loop, no recursion) before composing."""
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise Shape(event.start_mark.line + 1, _too_deep())
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


# libyaml's composer recursed 20,000 levels on an 8 MB stack here (a thread's stack is as large:
# glibc takes the process's limit) and about 4,000 on 2 MB.
SAFE_TO_COMPOSE = 2_000


def may_nest_past(text: str, limit: int) -> bool:
    """Whether the text could nest deeper than `limit`: a block collection inside another starts
    at a later column (so on a line at least that long), a flow one after a '[' or a '{' — two
    levels for '[a: …' (a list, and the one-pair mapping in it). Most files are far below, and
    need not be read for their events before composing."""
    widest = max(map(len, text.splitlines()), default=0)
    return widest + 2 * (text.count("[") + text.count("{")) >= limit


def _too_deep() -> str:
    return (f"các khối lồng nhau quá sâu (hơn {MAX_DEPTH} cấp) từ dòng này; tệp chỉ cần vài cấp: kiểm tra các "
            "dấu [ và { chưa đóng, và thụt lề")


_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
# What the resolver gives a plain scalar; anything else (!!binary, `<<`, `=`, a tag of one's own)
# is left to ruamel's constructor, which knows it or says why not.
_SCALARS = frozenset({_STR, "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                      "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"})


def to_plain(root: Node, constructor: SafeConstructor) -> tuple[Any, bool]:
    """The node tree as plain Python values (`plain`), and whether a mapping repeats a key.

    One walk (a loop, post-order, each node once) that also checks what aliases may make of the
    tree: no cycle, nothing deeper than MAX_DEPTH (counted from the root, as the event stream
    counts it, so the line is the first one past the limit), no more than MAX_VALUES values once
    expanded. It replaced three walks (the checks, ruamel's constructor, the conversion) that took
    a third of loading a province's units.yaml."""
    done: dict[int, tuple[Any, int, int]] = {}  # id → (value, height in collections, values)
    active: set[int] = set()
    repeated = False
    stack: list[tuple[Node, int, bool, int]] = [(root, 1, False, 0)]  # node, level, children done, holder's line
    while stack:
        node, level, children_done, held_at = stack.pop()
        key = id(node)
        if not children_done:
            if key in done:  # an alias met again: what it stands for now hangs `level` deep
                if level - 1 + done[key][1] > MAX_DEPTH:
                    raise Shape(held_at + 1, _too_deep())  # where the alias is used
                continue
            if isinstance(node, ScalarNode):
                done[key] = (_scalar(node, constructor), 0, 1)
                continue
            if level > MAX_DEPTH:
                raise Shape(node.start_mark.line + 1, _too_deep())
            active.add(key)
            stack.append((node, level, True, held_at))
            line = node.start_mark.line
            # Pushed in reverse, popped in the file's order: a node is first reached where it is first written.
            for kid in reversed(_kids(node, keys=False)):
                if id(kid) in active:
                    raise Shape(kid.start_mark.line + 1, "một bí danh (*…) trỏ về chính khối chứa nó (lồng vô hạn); "
                                                          "viết thẳng các giá trị")
                stack.append((kid, level + 1, False, line))
            continue
        active.discard(key)
        kids = [done.get(id(k), _LEFT) for k in _kids(node)]
        height = 1 + max((k[1] for k in kids), default=0)
        values = 1 + sum(k[2] for k in kids)
        if values > MAX_VALUES:
            raise Shape(node.start_mark.line + 1, f"các bí danh (*…) ở đây nhân lên thành hơn "
                         f"{MAX_VALUES:,} giá trị".replace(",", ".") + "; viết thẳng các giá trị, không dùng bí danh")
        tag = node.tag
        if tag == _SEQ:
            value: Any = [k[0] for k in kids]
        elif tag == _MAP and all(_plain_key(k) for k, _ in node.value):
            value, names = {}, set()
            for (key_node, _), (name, _h, _n), (item, _h, _n) in zip(node.value, kids[::2], kids[1::2]):
                # As _duplicate_keys compares them: `1` and `"1"` are the same line to the admin.
                written = name if isinstance(name, str) else nfc(key_node.value)
                repeated = repeated or written in names
                names.add(written)
                value.setdefault(name, item)  # the first one stands, as in ruamel
        else:  # a merge key (<<), a complex key, !!set, !!omap: ruamel's own rules
            value = plain(constructor.construct_document(node))
            # Which keys it repeats is _duplicate_keys's to say (a key a merge brings in that the
            # mapping sets again is one): it reads the tree as ruamel left it.
            repeated = repeated or isinstance(node, MappingNode)
        done[key] = (value, height, values)
    return done[id(root)][0], repeated


_LEFT = (None, 0, 1)  # a key the walk leaves to ruamel's constructor (see _kids)


def _plain_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag in _SCALARS


def _kids(node: Node, keys: bool = True) -> list[Node]:
    """The nodes inside `node`. Without `keys`, a mapping's tagged scalar keys (`<<`, `=`) are left
    out: only ruamel's constructor reads them, as part of their mapping."""
    if not isinstance(node, MappingNode):
        return list(node.value)
    return [n for k, v in node.value for n in ((k, v) if keys or not isinstance(k, ScalarNode) or _plain_key(k)
                                               else (v,))]


def _scalar(node: ScalarNode, constructor: SafeConstructor) -> Any:
    tag = node.tag
    if tag == _STR:
        return unicodedata.normalize("NFC", node.value)
    if tag in _SCALARS:
        return plain(constructor.yaml_constructors[tag](constructor, node))
    return plain(constructor.construct_document(node))


def plain(value: Any) -> Any:
    """ruamel's containers and scalars as plain Python values, every string (keys too) in NFC:
    text pasted from Word or typed on a Mac may arrive decomposed and would then never compare
    equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", str(value))
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    for kind in (bool, int, float):  # bool first: it is an int too
        if isinstance(value, kind):
            return kind(value)
    return value


nfc = plain  # what source.py compares a key as written with
