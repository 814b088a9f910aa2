"""The web process compiles every page before it serves (web.context.Pages.warm): the first unit
after a start or a restart does not wait for it, and an edited page that does not compile, or
was saved in another encoding, fails only where it is shown, as it did before."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from jinja2 import TemplateSyntaxError

from scheduler.web.context import Pages
from tests.conftest import ROOT


def test_warm_compiles_every_page_and_leaves_a_broken_one_to_fail_where_it_is_shown(tmp_path):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "web" / "broken.html").write_text("{% if %}", encoding="utf-8")
    (tmp_path / "templates" / "web" / "saved_in_cp1258.html").write_bytes("<p>Báo cáo</p>".encode("cp1258"))
    pages = Pages(SimpleNamespace(settings=SimpleNamespace(templates_dir=str(tmp_path / "templates"))))
    env = pages.templates.env

    pages.warm()

    compiled = {name for _loader, name in env.cache.keys()}
    assert {"form.html", "base.html", "office_index.html", "error.html"} <= compiled
    assert "broken.html" not in compiled and "saved_in_cp1258.html" not in compiled
    with pytest.raises(TemplateSyntaxError):
        env.get_template("broken.html")
