"""The report's long loops (a row per unit in the appendix matrix and the ranking, a paragraph
per unit in Phụ lục I) rendered once and stamped out, instead of 2,000 times through Jinja,
docxtpl's regexes, lxml and python-docx.

Why: at province scale those loops make a 34 MB document.xml, and every step between Jinja
and the zip (docxtpl's newline handling, its table fix, python-docx's tree, the matrix widths)
walked all of it; the report took tens of seconds and hundreds of MB. Here a loop that only
prints its items' values runs once, over one stand-in item whose values are sentinels, inside
two markers. After the document is saved, the stand-in's XML between the markers (the office's
row or paragraph formatting, every post-processing step applied to it) is written once per
item, each sentinel replaced by the item's value escaped as Jinja escapes it: the XML Word
reads is the same as the full render's (tests/report/test_stamp.py compares them).

Only what is provably the same is stamped. The template's loop (the office edits it in Word)
must use its item only as `{{ u.field }}`, `{{ line }}`, or `{%tc for c in u.cells %}{{ c }}`,
with `{% if %}` tests that do not look at the item; the items must be plain values or dicts of
them (a list value the same length in every item), with no character docxtpl or XML would
rewrite. Anything else is rendered by Jinja as before; anything unexpected after the render
raises Unstampable, and the caller renders again without stamping.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from dataclasses import dataclass, field

from jinja2 import Environment, nodes
from markupsafe import Markup, escape

THRESHOLD = 20  # shorter loops are left to Jinja: stamping them would save nothing
_SCALARS = (str, int, float, type(None))
# What docxtpl turns into XML of its own (\t \n \a \f) or XML 1.0 cannot hold.
_REWRITTEN = re.compile(r"[\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_STAMP, _MARK = "baocao_stamp", "baocao_mark"


class Unstampable(Exception):
    """The stamped document is not certainly the full render's: render again without stamping."""


@dataclass(frozen=True)
class _Use:
    """How a loop's body uses its item: printed whole, fields printed, fields looped over."""

    whole: bool = False
    printed: frozenset[str] = frozenset()
    iterated: frozenset[str] = frozenset()


@dataclass
class _Found:
    whole: bool = False
    printed: set[str] = field(default_factory=set)
    iterated: set[str] = field(default_factory=set)


def _field(expr: nodes.Node, var: str) -> str | None:
    """'cells' for `u.cells` or `u['cells']`; None for anything else."""
    if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name) and expr.node.name == var:
        # u.items on a dict is the method, not the value: never treated as a field
        return None if hasattr(dict, expr.attr) else expr.attr
    if (isinstance(expr, nodes.Getitem) and isinstance(expr.node, nodes.Name) and expr.node.name == var
            and isinstance(expr.arg, nodes.Const) and isinstance(expr.arg.value, str)):
        return expr.arg.value
    return None


def _pure_test(test: nodes.Node, names: set[str]) -> bool:
    """A test that is the same for every item: it reads none of `names` and calls nothing."""
    for node in [test, *test.find_all(nodes.Node)]:
        if isinstance(node, nodes.Call) or (isinstance(node, nodes.Name) and node.name in names):
            return False
    return True


def _inner(body: list[nodes.Node], var: str, outer: str) -> bool:
    """The body of `{% for c in u.cells %}`: only `{{ c }}`, data and tests reading neither."""
    for node in body:
        if isinstance(node, nodes.Output):
            if not all(isinstance(e, nodes.TemplateData) or (isinstance(e, nodes.Name) and e.name == var)
                       for e in node.nodes):
                return False
        elif isinstance(node, nodes.If):
            if not (_pure_test(node.test, {var, outer, "loop"}) and _inner(node.body, var, outer)
                    and _inner(node.elif_, var, outer) and _inner(node.else_, var, outer)):
                return False
        else:
            return False
    return True


def _statements(body: list[nodes.Node], var: str, found: _Found) -> bool:
    for node in body:
        if isinstance(node, nodes.Output):
            for expr in node.nodes:
                if isinstance(expr, nodes.TemplateData):
                    continue
                if isinstance(expr, nodes.Name) and expr.name == var:
                    found.whole = True
                elif (key := _field(expr, var)) is not None:
                    found.printed.add(key)
                else:  # anything else may differ per item or act when printed (the chart does)
                    return False
        elif isinstance(node, nodes.If):
            if not (_pure_test(node.test, {var, "loop"}) and _statements(node.body, var, found)
                    and _statements(node.elif_, var, found) and _statements(node.else_, var, found)):
                return False
        elif isinstance(node, nodes.For):
            key = _field(node.iter, var)
            if (key is None or node.test is not None or node.recursive or not isinstance(node.target, nodes.Name)
                    or not _inner(node.body, node.target.name, var) or not _inner(node.else_, "", var)):
                return False
            found.iterated.add(key)
        else:  # {% set %}, macros, calls, includes: not the same once as N times
            return False
    return True


_ROW_OR_PARAGRAPH = re.compile(r"<w:(?:tr|p)[ >]")


def usage(loop: nodes.For) -> _Use | None:
    """How the loop uses its item, if only in ways a stamp reproduces; else None. Only loops
    over table rows ({%tr %}) and paragraphs ({%p %}): the number of cells a row has ({%tc %})
    sets the table's grid and the matrix's widths, so a stand-in cell would not do."""
    if loop.test is not None or loop.recursive or not isinstance(loop.target, nodes.Name):
        return None
    first = next((n for o in loop.body if isinstance(o, nodes.Output) for n in o.nodes), None)
    if not isinstance(first, nodes.TemplateData) or not _ROW_OR_PARAGRAPH.match(first.data.lstrip()):
        return None
    found = _Found()
    if not _statements(loop.body, loop.target.name, found):
        return None
    if (found.whole and (found.printed or found.iterated)) or found.printed & found.iterated:
        return None
    return _Use(found.whole, frozenset(found.printed), frozenset(found.iterated))


class StampingEnvironment(Environment):
    """A Jinja environment for one render: it rewrites each stampable loop of the templates it
    parses, keeps the items of the loops it stamped, and `expand`s the saved document."""

    def __init__(self, threshold: int = THRESHOLD, **options):
        super().__init__(**options)
        self.threshold = threshold
        self.token = secrets.token_hex(6)  # no text of a unit can hold it by chance
        self.stamps: list[tuple[list, _Use]] = []
        self._uses: list[_Use] = []  # the parsed loops' uses, by index (a Const holds only literals)
        self._protos: list[object] = []  # each stamp's stand-in item, told apart by identity
        self.globals[_STAMP] = self._stamp
        self.globals[_MARK] = self._mark

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            use = usage(loop)
            if use is None:
                continue
            self._uses.append(use)

            def call(name: str, *args: nodes.Expr) -> nodes.Call:
                return nodes.Call(nodes.Name(name, "load"), list(args), [], None, None)

            item = nodes.Name(loop.target.name, "load")
            loop.iter = call(_STAMP, loop.iter, nodes.Const(len(self._uses) - 1))
            loop.body = ([nodes.Output([call(_MARK, item, nodes.Const("B"))])] + loop.body
                         + [nodes.Output([call(_MARK, item, nodes.Const("E"))])])
            for node in (loop.iter, loop.body[0], loop.body[-1]):
                node.set_lineno(loop.lineno)
        return tree

    def _sentinel(self, stamp: int, key: str = "", index: int | str = "") -> str:
        return f"\uf8f0{self.token}:{stamp}:{key}:{index}\uf8f1"

    def _stamp(self, seq, which: int):
        """One stand-in item for `seq`, or `seq` itself when it cannot be stamped."""
        use = self._uses[which]
        proto: object
        if not isinstance(seq, (list, tuple)) or len(seq) < self.threshold:
            return seq
        if use.whole:
            if not all(isinstance(x, _SCALARS) for x in seq) or not _plain(seq, self.token):
                return seq
            proto = str(self._sentinel(len(self.stamps)))
        else:
            lengths = _uniform(seq, use, self.token)
            if lengths is None:
                return seq
            n = len(self.stamps)
            proto = {k: self._sentinel(n, k) for k in use.printed} | {
                k: [self._sentinel(n, k, i) for i in range(count)] for k, count in lengths.items()}
        self.stamps.append((list(seq), use))
        self._protos.append(proto)
        return [proto]

    def _mark(self, item, which: str) -> Markup:
        for n, proto in enumerate(self._protos):
            if item is proto:
                return Markup(f"\uf8f2{self.token}:{n}:{which}\uf8f3")
        return Markup("")

    def expand(self, docx: bytes, level: int = 1) -> bytes:
        """The saved document with every stand-in written out once per item. The parts written
        out are deflated at `level` 1: at 2,000 units document.xml is 34 MB of near-identical
        rows, which level 1 packs to 0.7 MB in a third of the time level 6 takes (0.45 MB); the
        other parts keep python-docx's level."""
        if not self.stamps:
            return docx
        mark = self.token.encode()
        region = re.compile(f"\uf8f2{self.token}:(\\d+):B\uf8f3(.*?)\uf8f2{self.token}:\\1:E\uf8f3", re.S)
        sentinel = re.compile(f"\uf8f0{self.token}:(\\d+):([^:\uf8f1]*):(\\d*)\uf8f1")
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(docx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if mark not in data and not _BRACKETS_UTF8.search(data):
                    zout.writestr(info.filename, data)
                    continue
                zout.compresslevel = level
                with zout.open(info.filename, "w") as stream:
                    for piece in self._pieces(data.decode("utf-8"), region, sentinel):
                        stream.write(piece.encode("utf-8"))
                zout.compresslevel = None
        return out.getvalue()

    def _pieces(self, text: str, region: re.Pattern, sentinel: re.Pattern):
        """The part's XML in chunks of about a megabyte (the whole of it is never held twice)."""
        at, chunk = 0, []
        size = 0
        escaped: dict = {}
        for match in region.finditer(text):
            chunk.append(_checked(text[at:match.start()], self.token))
            items, use = self.stamps[int(match.group(1))]
            body = match.group(2)
            if "<wp:docPr" in body:  # a drawing's id must be unique, and docxtpl numbers them
                raise Unstampable("a drawing inside a stamped loop")
            parts = sentinel.split(body)
            statics, keys = parts[0::4], list(zip(parts[1::4], parts[2::4], parts[3::4]))
            if any(int(stamp) != int(match.group(1)) for stamp, _, _ in keys):
                raise Unstampable("another loop's value inside a stamped loop")
            for static in statics:
                _checked(static, self.token)
            fields = [(key, None if index == "" else int(index)) for _, key, index in keys]
            for item in items:
                for static, (key, index) in zip(statics, fields):
                    value = item if use.whole else item[key] if index is None else item[key][index]
                    chunk.append(static)
                    # Escaped as Jinja's autoescape does; the matrix repeats "KPS", "—", "100%"…
                    if (out := escaped.get((type(value), value))) is None:
                        out = escaped[type(value), value] = str(escape(value))
                    chunk.append(out)
                chunk.append(statics[-1])
                size += len(body)
                if size > 1 << 20:
                    yield "".join(chunk)
                    chunk, size = [], 0
            at = match.end()
        chunk.append(_checked(text[at:], self.token))
        yield "".join(chunk)


_BRACKETS = re.compile("[\uf8f0-\uf8f3]")  # what sentinels and markers are wrapped in
_BRACKETS_UTF8 = re.compile(b"\xef\xa3[\xb0-\xb3]")


def _checked(text: str, token: str) -> str:
    # A sentinel or marker outside its loop's region, whole or in part: the template changed what
    # the loop printed ({{ rows|upper }}, a truncate), so copies of the stand-in would not be it.
    # (A unit's text holding one of these four private-use characters only costs the fast path.)
    if token in text or _BRACKETS.search(text):
        raise Unstampable("a stamp's sentinel outside its loop")
    return text


def _plain(values, token: str) -> bool:
    """No value holds what docxtpl or XML would rewrite, nor the token (looked for in one pass)."""
    text = " ".join(v for v in values if isinstance(v, str))  # a space: no match, and no token, across values
    return not _REWRITTEN.search(text) and token not in text


def _uniform(seq, use: _Use, token: str) -> dict[str, int] | None:
    """Each looped-over field's length, the same in every item; None if the items are not
    dicts of plain values (and of lists of them) as the loop uses them."""
    lengths: dict[str, int] = {}
    values: list = []
    for item in seq:
        if type(item) is not dict:
            return None
        for key in use.printed:
            if key not in item or not isinstance(item[key], _SCALARS):
                return None
            values.append(item[key])
        for key in use.iterated:
            inner = item.get(key)
            if not isinstance(inner, (list, tuple)) or lengths.setdefault(key, len(inner)) != len(inner):
                return None
            if not all(isinstance(v, _SCALARS) for v in inner):
                return None
            values += inner
    return lengths if _plain(values, token) else None
