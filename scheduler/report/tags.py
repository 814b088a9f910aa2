"""The report template's tags as Word shows them (a paragraph a line), and their syntax
checked tag by tag, each fault said in Vietnamese: Jinja stops at the first and says it in
English."""


import difflib
import html
import re
from dataclasses import dataclass

import jinja2
from docxtpl import DocxTemplate
from jinja2 import Environment


# What Word shows: the text of each paragraph, and the tags in it.
TAG = re.compile(r"\{\{(?:(?!\{\{|\{%|\}\}).)*\}\}|\{%(?:(?!\{%|\{\{|%\}).)*%\}|\{#.*?#\}", re.S)
_STRAY = re.compile(r"\{\{|\{%|\}\}|%\}")
_INNER = re.compile(r"^[{][{%]-?(?:(p|tr|tc|r)(?=\s))?(.*?)-?[%}][}]$", re.S)
# docxtpl's own statements, rewritten by it before Jinja sees them.
_DOCXTPL = {"vm", "hm", "colspan", "cellbg"}
_BLOCKS = {"for", "if", "macro", "call", "filter", "with", "block", "autoescape"}
# Word's autocorrect turns quotes curly; docxtpl straightens them back before Jinja parses.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass
class Part:
    where: str  # "" for the body; " (ở đầu trang)" for a header…
    paragraphs: list[str]
    source: str  # what Jinja parses: docxtpl's patched XML, one paragraph a line as its render has it


def parts_of(tpl: DocxTemplate) -> list[Part]:
    from docx.oxml import parse_xml

    parts = [Part("", _paragraphs(tpl.docx.element.body), source_of(tpl, tpl.get_xml()))]
    for uri, where in ((tpl.HEADER_URI, " (ở đầu trang)"), (tpl.FOOTER_URI, " (ở chân trang)")):
        for _, part in tpl.get_headers_footers(uri):
            parts.append(Part(where, _paragraphs(parse_xml(part.blob)), source_of(tpl, tpl.get_part_xml(part))))
    return parts


def source_of(tpl: DocxTemplate, xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(xml))


def _paragraphs(element) -> list[str]:
    """Each paragraph's text in document order; a text box's paragraphs are their own, not
    part of the paragraph holding the box."""
    from docx.oxml.ns import qn

    texts: dict[object, list[str]] = {}
    p_tag = qn("w:p")
    for t in element.iter(qn("w:t")):
        owner = next(t.iterancestors(p_tag), None)
        texts.setdefault(owner, []).append(t.text or "")
    return ["".join(chunks) for chunks in texts.values()]


def line_text(line: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()


def shorten(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def split_tag(tag: str) -> tuple[str, str]:
    """'{%p for x in y %}' → ('p', 'for x in y')"""
    match = _INNER.match(tag)
    assert match is not None
    return match.group(1) or "", match.group(2).strip().translate(_QUOTES)


# Jinja's names for what it met, as Word shows them (jinja2.lexer._describe_token_type).
_TOKENS = {
    "end of print statement": "dấu đóng }}",
    "end of statement block": "dấu đóng %}",
    "begin of print statement": "dấu mở {{",
    "begin of statement block": "dấu mở {%",
    "end of template": "cuối mẫu",
    "template data / text": "chữ thường",
    "string": "một chuỗi trong dấu nháy",
    "integer": "một số",
    "float": "một số",
    "name": "một tên",
}


def _token(text: str) -> str:
    return _TOKENS.get(text, f"'{text}'")


def jinja_reason(exc: jinja2.TemplateSyntaxError, env: Environment) -> str:
    """Jinja's English message, said in Vietnamese (with a suggestion where one is clear)."""
    message = exc.message or ""
    if m := re.match(r"No filter named '([^']+)'", message):
        close = difflib.get_close_matches(m.group(1), list(env.filters), n=1)
        return f"không có bộ lọc |{m.group(1)}" + (f" (có phải |{close[0]}?)" if close else "")
    if m := re.match(r"No test named '([^']+)'", message):
        return f"không có phép thử '{m.group(1)}'"
    if m := re.match(r"Encountered unknown tag '([^']+)'", message):
        known = ["for", "if", "elif", "else", "endfor", "endif", "set", "with", "endwith"]
        close = difflib.get_close_matches(m.group(1), known, n=1)
        return f"không có lệnh '{m.group(1)}'" + (f" (có phải '{close[0]}'?)" if close else "")
    if m := re.match(r"""unexpected char (['"])(.+?)\1""", message):
        if m.group(2) in ("'", '"'):
            return f"dấu nháy {m.group(2)} chưa có dấu nháy đóng"
        return f"ký tự {m.group(2)} không đúng chỗ"
    if m := re.match(r"unexpected '(.+)', expected '(.+)'$", message):  # a bracket left open
        closing = m.group(2)
        return f"dấu mở {dict(zip(')]}', '([{')).get(closing, '')} chưa có dấu đóng {closing}".replace("  ", " ")
    if m := re.match(r"unexpected '(.+)'$", message):
        met = m.group(1)
        if met in ("end of print statement", "end of statement block"):
            return f"thiếu giá trị (sau phép tính hoặc dấu phẩy) trước {_token(met)}"
        return f"{_token(met) if met in _TOKENS else 'ký tự ' + met} không đúng chỗ"
    if message.startswith("Expected an expression"):
        return "thiếu biểu thức (tên biến hoặc giá trị)"
    if m := re.match(r"expected token '([^']+)', got '([^']+)'", message):
        wanted, got = m.groups()
        if wanted == "in":
            return "thiếu từ khoá 'in'"
        if got in ("end of print statement", "end of statement block"):
            what = "tên (biến, bộ lọc hoặc thuộc tính)" if wanted == "name" else _token(wanted)
            return f"thiếu {what} trước {_token(got)}"
        if wanted in ("end of print statement", "end of statement block"):
            return f"thừa {_token(got)} trước {_token(wanted)}"
        return f"thiếu {_token(wanted)} trước {_token(got)}"
    if message.lower().startswith("unexpected end of template"):
        return "thẻ chưa viết hết"
    if message.startswith("tag name expected"):
        return "thiếu tên lệnh sau {%"
    if message.startswith("expected name or number"):
        return "thiếu tên thuộc tính sau dấu chấm"
    if message.startswith("expected subscript expression"):
        return "thiếu giá trị trong dấu [ ]"
    if message.startswith("invalid syntax for function call"):
        return "lời gọi hàm viết sai (kiểm tra dấu phẩy và dấu ngoặc)"
    if message.startswith("can't assign to"):
        return "vế trái của dấu = phải là một tên"
    return "cú pháp không hợp lệ"


def syntax_problems(part: Part, env: Environment) -> list[str]:
    """The part as Jinja parses it; when that fails, each tag on its own, so that the one to
    retype can be named. Always: the opening and closing tags paired up (docxtpl's prefixes
    included, which Jinja never sees) and braces left open."""
    problems: list[str] = []
    stack: list[tuple[str, str, str]] = []  # (keyword, docxtpl prefix, tag as typed)
    try:
        env.from_string(part.source)
        failure = None
    except jinja2.TemplateSyntaxError as exc:
        failure = exc

    def compile_(source: str, tag: str) -> None:
        if failure is None:
            return  # the whole part compiles: so does each tag (and compiling ~60 costs 0.1 s)
        try:
            env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"thẻ {tag}{part.where} viết sai: {jinja_reason(exc, env)}")

    for text in part.paragraphs:
        for stray in _STRAY.finditer(TAG.sub(lambda m: " " * len(m.group(0)), text)):
            at = stray.start()
            # An opener left open: show what follows it; a closer without opener: what precedes.
            fragment = (shorten(text[at:].strip(), 40) if stray.group(0)[0] == "{"
                        else "…" * (at > 38) + text[max(0, at - 38):at + 2].strip())
            missing = {"{{": "thiếu dấu đóng }}", "{%": "thiếu dấu đóng %}", "}}": "thiếu dấu mở {{",
                       "%}": "thiếu dấu mở {%"}[stray.group(0)]
            problems.append(f"thẻ “{fragment}”{part.where} {missing}")
        for match in TAG.finditer(text):
            tag = match.group(0)
            if tag.startswith("{#"):
                continue
            prefix, inner = split_tag(tag)
            if tag.startswith("{{"):
                compile_("{{ " + inner + " }}", tag)
                continue
            keyword = re.match(r"\w*", inner).group(0)  # type: ignore[union-attr]  # \w* always matches
            if keyword in _DOCXTPL:
                continue
            if keyword in _BLOCKS or (keyword == "set" and "=" not in inner):
                compile_(f"{{% {inner} %}}{{% end{keyword} %}}", tag)
                stack.append((keyword, prefix, tag))
            elif keyword in ("elif", "else"):
                if not stack or stack[-1][0] not in (("if",) if keyword == "elif" else ("if", "for")):
                    problems.append(f"thẻ {tag}{part.where} nằm ngoài khối "
                                    f"{{%{prefix} if … %}}{'' if keyword == 'elif' else ' hoặc {%' + prefix + ' for … %}'}")
                elif keyword == "elif":
                    compile_(f"{{% if true %}}{{% {inner} %}}{{% endif %}}", tag)
            elif keyword.startswith("end") and keyword[3:] in _BLOCKS | {"set"}:
                opened = keyword[3:]
                if not any(k == opened for k, _, _ in stack):
                    problems.append(f"thẻ {tag}{part.where} không có thẻ mở {{%{prefix} {opened} … %}} tương ứng")
                    continue
                while stack[-1][0] != opened:  # a block left open inside this one
                    k, p, t = stack.pop()
                    problems.append(f"thẻ {t}{part.where} chưa có thẻ đóng {{%{p} end{k} %}} trước {tag}")
                k, p, t = stack.pop()
                if p != prefix:  # docxtpl removes a paragraph for one and a table row for the other
                    problems.append(f"thẻ {tag}{part.where} không cùng loại với thẻ mở {t}: viết "
                                    f"{{%{p} end{k} %}}")
            else:
                compile_(f"{{% {inner} %}}", tag)
                # A mistyped closer ({%p endfr %}) still closes its block: otherwise every
                # block around it would be reported as left open too.
                close = difflib.get_close_matches(keyword[3:], [k for k, _, _ in stack], n=1) if keyword[:3] == "end" else []
                if close:
                    while stack and stack[-1][0] != close[0]:
                        stack.pop()
                    stack.pop()
    for k, p, t in stack:
        problems.append(f"thẻ {t}{part.where} chưa có thẻ đóng {{%{p} end{k} %}}")
    if failure is not None and not problems:  # something the tag-by-tag look missed
        lines = part.source.splitlines()
        line = line_text(lines[failure.lineno - 1]) if failure.lineno and failure.lineno <= len(lines) else ""
        where = f" ở đoạn “{shorten(line)}”" if line else ""
        problems.append(f"lỗi cú pháp{where}{part.where}: {jinja_reason(failure, env)}")
    return problems
