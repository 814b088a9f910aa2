"""The report's long loops stamped out (report/stamp.py) make the document the full render
makes, part for part; a loop whose output may differ per item is left to Jinja; any doubt after
the render renders again without stamping."""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import date, datetime

import pytest
from jinja2 import Environment, StrictUndefined
from lxml import etree

from scheduler.clock import TZ
from scheduler.report import stamp
from scheduler.report.consolidate import consolidate
from scheduler.report.docx import TEMPLATE, fill, jinja_env, load
from scheduler.report.render import render
from tests.conftest import ROOT, full, returned
from tests.report.realistic import quarter_returns
from tests.report.test_plan_report import example, returns

TEMPLATES = ROOT / "templates" / "docx"
MADE = datetime(2026, 12, 7, 8, tzinfo=TZ)


def parts(content: bytes) -> dict[str, bytes]:
    """Every part of the package, its XML canonicalised (escaping, attribute order)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: etree.tostring(etree.fromstring(z.read(name)), method="c14n") if name.endswith(".xml")
                or name.endswith(".rels") else z.read(name) for name in z.namelist()}


def both(config, result, threshold: int) -> tuple[bytes, bytes, int]:
    data = (TEMPLATES / TEMPLATE).read_bytes()
    plain = fill(load(TEMPLATES / TEMPLATE, data), config, result, MADE.date(), jinja_env(), MADE)
    env = stamp.StampingEnvironment(threshold, undefined=StrictUndefined, autoescape=True)
    stamped = fill(load(TEMPLATES / TEMPLATE, data), config, result, MADE.date(), env, MADE)
    return plain, stamped, len(env.stamps)


def _signed(shipped_config):
    period = shipped_config.period("2026-Q4")
    return shipped_config, consolidate(shipped_config, period, quarter_returns(), quarter_returns(seed=7))


def _hostile(shipped_config):
    # Markup, quotes, an emoji and control characters in a unit's text (test_report.sample_report's)
    data = {"BPMC": returned("BPMC", full(so_hoa={"num": 1, "den": 2}), narrative={
                "tuyen_truyen": "Niêm yết <hướng dẫn> & \"cầm tay chỉ việc\" 😀\x01\x0b tại xã Tân Tiến.\nĐoạn thứ hai.",
                "ton_tai": "Số hoá chưa kịp.", "phuong_huong": "Số hoá 100%."}),
            "TTRA": returned("TTRA", full(so_hoa={"num": 9, "den": 108}), on_time=False),
            "KL": returned("KL", full())}
    return shipped_config, consolidate(shipped_config, shipped_config.period("2026-Q4"), data)


def _example(name, key):
    def build(_):
        config = example(name)
        period = config.period(key)
        return config, consolidate(config, period, returns(config, period))
    return build


@pytest.mark.parametrize("case, threshold", [
    (_signed, 1), (_hostile, 1),
    (_example("001", "2026-Q4"), stamp.THRESHOLD),  # 147 units: the province's own report
    (_example("003", "2025-H2"), 1),  # 23 indicators: three appendix tables
], ids=["signed", "hostile", "province-147", "23-indicators"])
def test_the_stamped_report_is_the_full_render_part_for_part(shipped_config, case, threshold):
    config, result = case(shipped_config)
    plain, stamped, count = both(config, result, threshold)
    assert count  # something was stamped: the test compares the fast path, not the slow one twice
    assert parts(stamped) == parts(plain)


def test_a_short_report_is_not_stamped_at_all(shipped_config):
    config, result = _signed(shipped_config)
    _, _, count = both(config, result, stamp.THRESHOLD)
    assert count == 0  # 15 units: the loops are left to Jinja, the file is python-docx's own


def _loop(source: str):
    return next(Environment().parse(source).find_all(stamp.nodes.For))


@pytest.mark.parametrize("source", [
    "{% for u in rows %}<w:tr>{{ u.tt }}{{ u['name'] }}{% for c in u.cells %}<w:tc>{{ c }}</w:tc>{% endfor %}"
    "{% if m.assessed %}{{ u.met }}{% endif %}</w:tr>{% endfor %}",
    "{% for line in lines %}<w:p><w:r><w:t>{{ line }}</w:t></w:r></w:p>{% endfor %}",
])
def test_a_loop_that_only_prints_its_item_is_stamped(source):
    assert stamp.usage(_loop(source)) is not None


@pytest.mark.parametrize("source", [
    "{% for u in rows %}<w:tr>{% if u.late %}muộn{% endif %}</w:tr>{% endfor %}",  # differs per item
    "{% for u in rows %}<w:tr>{{ u.name|upper }}</w:tr>{% endfor %}",  # a filter on the value
    "{% for u in rows %}<w:tr>{{ loop.index }}</w:tr>{% endfor %}",
    "{% for u in rows %}<w:tr>{% set x = u.name %}{{ x }}</w:tr>{% endfor %}",
    "{% for u in rows %}<w:tr>{{ chart }}</w:tr>{% endfor %}",  # printing it adds a part each time
    "{% for u in rows %}<w:tr>{{ u.items }}</w:tr>{% endfor %}",  # a dict's method, not a field
    "{% for h in heads %}<w:tc>{{ h }}</w:tc>{% endfor %}",  # cells: they make the table's grid
    "{% for u in rows %}{{ u.name }}, {% endfor %}",  # inside a paragraph's text
    "{% for u in rows if u.name %}<w:p>{{ u.name }}</w:p>{% endfor %}",
])
def test_a_loop_whose_output_may_differ_per_item_is_left_to_jinja(source):
    assert stamp.usage(_loop(source)) is None


def _package(xml: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", xml)
    return out.getvalue()


ROWS = [{"name": f"Đơn vị <{n}> & “{n}”", "cells": [str(n), "KPS", n]} for n in range(30)]
ROW = "{% for u in rows %}<w:p>{{ u.name }}{% for c in u.cells %}|{{ c }}{% endfor %}</w:p>{% endfor %}"


def test_expanding_the_stand_in_gives_what_jinja_gives():
    env = stamp.StampingEnvironment(2, autoescape=True)
    rendered = env.from_string(f"<w:body>{ROW}</w:body>").render(rows=ROWS)
    assert len(env.stamps) == 1 and len(rendered) < 300
    expected = Environment(autoescape=True).from_string(f"<w:body>{ROW}</w:body>").render(rows=ROWS)
    with zipfile.ZipFile(io.BytesIO(env.expand(_package(rendered)))) as z:
        assert z.read("word/document.xml").decode() == expected


@pytest.mark.parametrize("rows", [
    [dict(r, name=f"dòng\n{n}") for n, r in enumerate(ROWS)],  # docxtpl turns \n into a line break
    [dict(r, cells=r["cells"][:n % 3]) for n, r in enumerate(ROWS)],  # not as many cells in each row
    [dict(r, cells=[{"x": 1}]) for r in ROWS],
])
def test_items_docxtpl_would_rewrite_or_that_differ_in_shape_are_not_stamped(rows):
    env = stamp.StampingEnvironment(2, autoescape=True)
    env.from_string(ROW).render(rows=rows)
    assert env.stamps == []


def test_a_template_that_changes_what_the_loop_printed_is_refused_after_the_render():
    env = stamp.StampingEnvironment(2, autoescape=True)
    rendered = env.from_string("{% set x %}" + ROW + "{% endset %}{{ x|upper }}").render(rows=ROWS)
    with pytest.raises(stamp.Unstampable):
        env.expand(_package(rendered))


def test_when_stamping_fails_the_report_is_rendered_in_full_all_the_same(shipped_config, monkeypatch, caplog):
    config, result = _example("001", "2026-Q4")(shipped_config)
    reference = render(config, result, date(2026, 12, 7), TEMPLATES, MADE)

    def refuse(self, docx, level=1):
        raise stamp.Unstampable("test")

    monkeypatch.setattr(stamp.StampingEnvironment, "expand", refuse)
    with caplog.at_level(logging.WARNING, logger="baocao.report"):
        assert parts(render(config, result, date(2026, 12, 7), TEMPLATES, MADE)) == parts(reference)
    assert not caplog.records  # a template stamping cannot follow is no fault

    def broken(self, docx, level=1):
        raise KeyError("bug")

    monkeypatch.setattr(stamp.StampingEnvironment, "expand", broken)
    with caplog.at_level(logging.WARNING, logger="baocao.report"):
        assert parts(render(config, result, date(2026, 12, 7), TEMPLATES, MADE)) == parts(reference)
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # a bug of stamping's own is told
