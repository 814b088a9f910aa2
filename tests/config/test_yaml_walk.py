"""The config loader converts ruamel's node tree itself, in the walk that checks it: it must
give what ruamel's own constructor gives, for the shipped files and for edits of them."""

import random
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from scheduler.config import source, yamltree

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "a: 1\nb: [1, 2, {c: d}]\nc: ~\nd: yes\ne: 0o10\nf: 1.5e3\ng: .inf\nh: 2026-01-05\ni: '08:00'\nj: 08:00\n",
    "a: &x [1, {b: 2}]\nb: *x\nc: [*x, *x]\n",
    "base: &b {x: 1, y: 0}\nd:\n  <<: *b\n  y: 2\n",
    "? [a, b]\n: c\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\nx: !!binary aGVsbG8=\ny: !!str 12\n",
    "k: cafe\u0301\nl: [Nguye\u0302\u0303n, {Ho\u0300a: 1}]\n1: a\n2.5: b\ntrue: c\n",
]


def ruamels(text: str):
    yaml = YAML(typ="safe")
    yaml.Constructor, yaml.Resolver = source._Constructor, source._Resolver
    yaml.allow_duplicate_keys = True
    root = yaml.compose(text)
    ours, repeated = yamltree.to_plain(root, yaml.constructor)
    yaml = YAML(typ="safe")
    yaml.Constructor, yaml.Resolver = source._Constructor, source._Resolver
    yaml.allow_duplicate_keys = True
    root = yaml.compose(text)
    return ours, repeated, yamltree.plain(yaml.constructor.construct_document(root))


def edits(rng: random.Random, count: int):
    bases = [(ROOT / "config" / name).read_text(encoding="utf-8") for name in ("units.yaml", "plan.yaml")]
    for n in range(count):
        chars = list(bases[n % 2])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[at]
            else:
                chars.insert(at, rng.choice(" :-[]{}&*'\"\n#!|>,?a1"))
        yield "".join(chars)


@pytest.mark.parametrize("text", TEXTS + [(ROOT / "config" / n).read_text(encoding="utf-8")
                                          for n in ("units.yaml", "plan.yaml")])
def test_the_walk_reads_what_ruamel_reads(text):
    ours, repeated, theirs = ruamels(text)
    assert ours == theirs
    # A mapping ruamel's rules build (a merge, a set) is always handed to the check of repeated keys.
    assert repeated == any(sign in text for sign in ("<<", "!!set", "!!omap", "? "))


def test_edited_files_read_alike_or_fail_alike():
    read = 0
    for text in edits(random.Random(7), 400):
        try:
            ours, repeated, theirs = ruamels(text)
        except (MarkedYAMLError, yamltree.Shape, ValueError, TypeError):
            continue  # load_yaml reports these; which one comes first is its business
        if not repeated:  # with a repeated key the file is refused whatever its data says
            assert ours == theirs
            read += 1
    assert read > 100


@pytest.mark.parametrize("text, message", [
    # A key a merge (<<) brings in and the mapping sets again, or written twice beside a merge.
    ("base: &b {x: 1}\nd:\n  <<: *b\n  x: 2\n", "khoá 'x' bị lặp lại"),
    ("mac_dinh: &d {group: so}\nunits:\n- <<: *d\n  code: A\n  name: X\n  name: Y\n",
     "khoá 'name' bị lặp lại (đã có ở dòng 5)"),
    ("s: !!set {a, a}\n", "khoá 'a' bị lặp lại"),
    ("a: <<\n", "thẻ 'tag:yaml.org,2002:merge' không dùng trong tệp cấu hình"),
])
def test_what_ruamels_rules_build_is_checked_too(tmp_path, text, message):
    written = tmp_path / "x.yaml"
    written.write_text(text, encoding="utf-8")
    _, issues = source.load_yaml(written)
    assert any(message in issue.message for issue in issues), issues


def test_a_key_of_its_own_tag_reads_as_written(tmp_path):
    written = tmp_path / "x.yaml"
    written.write_text("=: 1\nbase: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", encoding="utf-8")
    doc, issues = source.load_yaml(written)
    assert issues == [] and doc.data == {"=": 1, "base": {"x": 1}, "d": {"x": 1, "y": 2}}
