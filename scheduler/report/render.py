"""Rendering the report, and every fault of the office's template found and named: at start,
on reload and by `baocao check-config`, the day a typo is made in Word, not on the deadline."""


import difflib
import logging
import re
from datetime import date, datetime, time
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Undefined

from scheduler.policy.periods import Period
from scheduler.config.model import Config
from scheduler.report.consolidate import Consolidation
from scheduler.report.docx import TEMPLATE, TemplateError, context, fill, jinja_env, load, read_template
from scheduler.report.stamp import StampingEnvironment, Unstampable
from scheduler.report.tags import (TAG, Part, split_tag, jinja_reason, line_text, parts_of, shorten, source_of,
                                   syntax_problems)

log = logging.getLogger("baocao.report")


def render(config: Config, result: Consolidation, today: date, template_dir: Path,
           made: datetime | None = None) -> bytes:
    """The report as DOCX bytes (`made`: when, for its properties; default 08:00 of `today`).
    A fault in the template raises TemplateError naming it."""
    path = template_dir / TEMPLATE
    data = read_template(path)
    failure: Exception | None = None
    try:
        # Its long loops stamped out (report/stamp.py): the same document, in a fraction of the time.
        stamped = fill(load(path, data), config, result, today,
                       StampingEnvironment(undefined=StrictUndefined, autoescape=True), made)
    except Exception as exc:  # noqa: BLE001 - the render below is the reference: it says what is wrong
        stamped, failure = None, exc
    if stamped is not None:
        return stamped
    tpl = load(path, data)
    try:
        content = fill(tpl, config, result, today, jinja_env(), made)
        if not isinstance(failure, Unstampable):  # the template is fine: the fault was stamping's own
            log.warning("Lập báo cáo theo cách nhanh bị lỗi, đã lập lại theo cách thường.", exc_info=failure)
        return content
    except Exception as exc:
        if not _template_fault(exc):
            raise  # our own bug: keep its traceback for the log
        # Jinja stops at the first fault and says it in English: look again, tag by tag.
        try:
            problems = _diagnose(path, data, config, [(result, today)])
        except Exception:  # noqa: BLE001 - the fault found first still gets reported
            problems = []
        raise TemplateError(path, problems or [_describe(exc, tpl)]) from exc


def check_template(config: Config | None, template_dir: Path) -> list[str]:
    """Every fault of the report template, each as "file: problem" (empty: fine). Run at start,
    on reload and by `baocao check-config`, so that a typo made in Word is found the day it is
    made, not on the deadline when the report is due. Takes a few tenths of a second.
    Without a config (the YAML files have errors) only the file and its tags' syntax are
    checked: which names exist depends on the plan."""
    path = template_dir / TEMPLATE
    try:
        data = read_template(path)
        if config is None:
            env = jinja_env()
            problems = [p for part in parts_of(load(path, data)) for p in syntax_problems(part, env)]
        else:
            problems = _diagnose(path, data, config, _samples(config))
    except TemplateError as exc:
        problems = exc.problems
    return [f"{path}: {p}" for p in problems]


def _samples(config: Config) -> list[tuple[Consolidation, date]]:
    """What a test render fills the template with: the plan's first period with no report in
    (every list empty), and for each obligation its first period with every unit reporting,
    some late, some "không phát sinh" (every loop, the chart, the trend)."""
    from scheduler.clock import TZ
    from scheduler.report.consolidate import Returned, consolidate
    from scheduler.collect.validate import headings_for, indicators_for

    periods = list(config.periods)
    if not periods:  # a campaign with no period in it: a stand-in, only for the names the template may use
        ob, campaign = config.plan.obligations[0], config.plan.campaign
        periods = [Period(ob.id, ob.id, ob.title, campaign.start, campaign.end, campaign.end)]
    samples = [(consolidate(config, periods[0], {}), periods[0].due)]
    obligations: set[str] = set()
    for period in periods:
        if period.obligation in obligations:
            continue
        obligations.add(period.obligation)
        indicators = [i.id for i in indicators_for(config, period)]
        narrative = {h.id: "Nội dung mẫu.\nĐoạn thứ hai." for h in headings_for(config, period)}
        received = datetime.combine(period.due, time(9), TZ)
        returns = {}
        for n, unit in enumerate(config.units_for(period) or config.units[:3]):
            figures = {i: (None if n % 3 == 2 else {"num": 9 - n % 3, "den": 9}) for i in indicators}
            returns[unit.code] = Returned(unit.code, 1, n % 3 != 1, received, figures, narrative)
        samples.append((consolidate(config, period, returns, returns), period.due))
    return samples


def _template_fault(exc: BaseException) -> bool:
    """Whether rendering failed because of the template rather than our code: a Jinja error,
    XML the tags broke, or an error raised by the template's own expressions ({{ title|round }})
    and not by our code it calls (the chart)."""
    from lxml.etree import XMLSyntaxError

    return isinstance(exc, (jinja2.TemplateError, XMLSyntaxError)) or _template_line(exc) is not None


_OURS = str(Path(__file__).resolve().parents[1])  # the scheduler package


def _template_line(exc: BaseException) -> int | None:
    """The template line (one paragraph a line, see Part) an error came from, if the template
    raised it: Jinja puts the template's own line numbers into the traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == "<template>":
            line = tb.tb_lineno
        elif filename.startswith(_OURS):
            line = None  # our code ran after the template: the fault is ours
        tb = tb.tb_next
    return line


def _uses(parts: list[Part], name: str, attribute: bool) -> list[tuple[str, str]]:
    """(tag, where) of every tag that uses `name`, as a variable or as an attribute."""
    pattern = (re.compile(rf"\.{re.escape(name)}\b|\[\s*['\"]{re.escape(name)}['\"]\s*\]") if attribute
               else re.compile(rf"(?<![\w.'\"]){re.escape(name)}\b"))
    found = []
    for part in parts:
        for text in part.paragraphs:
            for match in TAG.finditer(text):
                if not match.group(0).startswith("{#") and pattern.search(split_tag(match.group(0))[1]):
                    if (match.group(0), part.where) not in found:
                        found.append((match.group(0), part.where))
    return found


def _unknown(parts: list[Part], name: str, known, attribute: bool) -> str:
    """'biến {{ titel }} không có trong dữ liệu báo cáo (có phải {{ title }}?)'"""
    known = [k for k in known if isinstance(k, str)]
    close = difflib.get_close_matches(name, known, n=1)
    uses = _uses(parts, name, attribute)
    if not uses:
        return f"biến {name} không có trong dữ liệu báo cáo" + (f" (có phải {close[0]}?)" if close else "")
    tag, where = uses[0]
    more = f" (và {len(uses) - 1} chỗ khác)" if len(uses) > 1 else ""
    inner = split_tag(tag)[1]
    if re.fullmatch(r"[\w.]+", inner):  # a plain {{ placeholder }}: the tag says it all
        text = f"biến {tag}{where}{more} không có trong dữ liệu báo cáo"
    else:
        text = f"{'thuộc tính' if attribute else 'biến'} {name} trong thẻ {tag}{where}{more} không có trong dữ liệu báo cáo"
    if not attribute and re.fullmatch(r"[\w.]+", inner) and "." in inner:
        # {{ signer.name }} for {{ signer_name }}: the whole placeholder is the likelier typo
        whole = difflib.get_close_matches(inner, known, n=1)
        fixed = tag.replace(inner, whole[0]) if whole else None
    elif close:
        fixed = (re.sub(rf"\.{re.escape(name)}\b", "." + close[0], tag) if attribute
                 else re.sub(rf"(?<![\w.'\"]){re.escape(name)}\b", close[0], tag))
    else:
        fixed = None
    return text + (f" (có phải {fixed}?)" if fixed else "")


def _recording_env(seen: list[tuple[object, str | None]]) -> Environment:
    """Like StrictUndefined, but noting each missing name and carrying on, so that a test
    render finds every mistyped attribute ({{ org.parent_bod }}) at once, not one per run.
    Each part's source is compiled once for every test render made with it: they render the
    same template (compiling was a third of check-config's time)."""
    compiled: dict[str, jinja2.Template] = {}

    class Recording(Undefined):
        def _note(self):
            if (self._undefined_obj, self._undefined_name) not in seen:
                seen.append((self._undefined_obj, self._undefined_name))

        def __str__(self):
            self._note()
            return ""

        def __iter__(self):
            self._note()
            return iter(())

        def __bool__(self):
            self._note()
            return False

        def __len__(self):
            self._note()
            return 0

        def __getattr__(self, name):
            if name[:2] == "__":
                raise AttributeError(name)
            self._note()
            return self

    env = jinja_env(Recording)
    compile_source = env.from_string

    def from_string(source, *args, **kwargs):
        if args or kwargs or not isinstance(source, str):
            return compile_source(source, *args, **kwargs)
        if source not in compiled:
            compiled[source] = compile_source(source)
        return compiled[source]

    env.from_string = from_string  # type: ignore[method-assign]
    return env


def _diagnose(path: Path, data: bytes, config: Config, samples: list[tuple[Consolidation, date]]) -> list[str]:
    """Every fault found in the template (without the file name): syntax first, since nothing
    else can be checked past it; then names the report data does not have; then what a test
    render of each sample still trips on."""
    patched: dict[str, str] = {}  # every template below cleans the same parts' XML: once
    tpl = load(path, data, patched)
    env = jinja_env()
    parts = parts_of(tpl)
    problems = [p for part in parts for p in syntax_problems(part, env)]
    if problems:
        return problems
    keys = context(config, samples[0][0], samples[0][1], tpl).keys()
    undeclared = tpl.get_undeclared_template_variables(env, dict.fromkeys(keys))
    first_use = {name: min(((i, j) for i, part in enumerate(parts) for j, text in enumerate(part.paragraphs)
                            if re.search(rf"(?<![\w.]){re.escape(name)}\b", text)), default=(len(parts), 0))
                 for name in undeclared}  # reported in the order a reader meets them
    problems += [_unknown(parts, name, keys, attribute=False)
                 for name in sorted(undeclared, key=lambda n: (first_use[n], n))]
    seen: list[tuple[object, str | None]] = []
    recording = _recording_env(seen)
    for result, today in samples:
        seen.clear()
        trial = load(path, data, patched)
        try:
            fill(trial, config, result, today, recording)
        except Exception as exc:  # noqa: BLE001 - every fault is reported, none is raised
            problem = _describe(exc, trial)
            if problem not in problems:
                problems.append(problem)
        for obj, name in seen:
            if name is None or (obj is jinja2.utils.missing and name in undeclared):
                continue
            attribute = obj is not jinja2.utils.missing
            problem = _unknown(parts, name, obj.keys() if isinstance(obj, dict) else (), attribute)
            if problem not in problems:
                problems.append(problem)
    return problems


def _describe(exc: BaseException, tpl: DocxTemplate) -> str:
    """A fault the checks above did not name, said as precisely as the error allows."""
    env = jinja_env()
    if isinstance(exc, jinja2.UndefinedError):
        reason = "dùng một tên không có trong dữ liệu báo cáo"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        reason = jinja_reason(exc, env)
    elif isinstance(exc, jinja2.TemplateError) or _template_line(exc) is not None:
        reason = "giá trị không hợp với phép tính hoặc bộ lọc trong thẻ"
    else:
        reason = "các thẻ làm hỏng cấu trúc tài liệu (thường do thẻ {%p %}, {%tr %} đặt sai chỗ)"
    line = getattr(exc, "lineno", None) if isinstance(exc, jinja2.TemplateSyntaxError) else _template_line(exc)
    part = getattr(tpl, "current_rendering_part", None)
    if line and part is not None:
        try:
            xml = tpl.get_xml() if part is tpl.docx._part else tpl.get_part_xml(part)
            text = line_text(source_of(tpl, xml).splitlines()[line - 1])
        except Exception:  # noqa: BLE001 - only a hint: the message stands without it
            text = ""
        tags = [m.group(0) for m in TAG.finditer(text)]
        if tags:
            return f"thẻ {', '.join(tags)} lỗi khi lập thử báo cáo: {reason}"
        if text:
            return f"đoạn “{shorten(text)}” lỗi khi lập thử báo cáo: {reason}"
    return f"lỗi khi lập thử báo cáo: {reason}"
