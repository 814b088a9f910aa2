"""The office's Word template checked before the day it is needed, and a report version made
exactly once when two processes make it at the same moment (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scheduler.report import versions
from scheduler.store import db
from scheduler.clock import TZ
from scheduler.report.consolidate import consolidate
from scheduler.store.tables import ReportRow, SendRow, Submission
from scheduler.report.docx import TEMPLATE, TemplateError
from scheduler.report.render import check_template, render
from tests.conftest import ROOT, SHIPPED_CONFIG, SHIPPED_DOCX, templates_with



def baocao(args: list[str], tmp_path: Path, templates: Path) -> subprocess.CompletedProcess:
    """A real `baocao` process, run away from the source folder as an admin runs it."""
    env = dict(os.environ, BAOCAO_CONFIG_DIR=str(SHIPPED_CONFIG), BAOCAO_TEMPLATES_DIR=str(templates),
               BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path / 'baocao.db'}", BAOCAO_SECRET_KEY_FILE=str(tmp_path / "key"))
    return subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def q4_report(config, template_dir: Path) -> bytes:
    return render(config, consolidate(config, config.period("2026-Q4"), {}), date(2026, 12, 7), template_dir)


# ---------------------------------------------------------------- the template, checked

def test_the_shipped_template_passes_check_template(shipped_config):
    assert check_template(shipped_config, SHIPPED_DOCX) == []


def test_check_config_names_a_mistyped_placeholder_and_exits_1_without_a_traceback(tmp_path):
    templates = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    run = baocao(["check-config"], tmp_path, templates)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    docx = templates / "docx" / TEMPLATE
    assert run.stderr.splitlines() == [
        "Mẫu báo cáo có 1 lỗi, cần sửa trước khi chạy:",
        f"  {docx}: biến {{{{ titel }}}} không có trong dữ liệu báo cáo (có phải {{{{ title }}}}?)",
    ]
    assert "Cấu hình hợp lệ" not in run.stdout
    assert unicodedata.is_normalized("NFC", run.stderr)


def test_check_config_still_prints_the_summary_when_the_template_is_fine(tmp_path):
    run = baocao(["check-config"], tmp_path, ROOT / "templates")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Cấu hình hợp lệ") and run.stderr == ""


def test_render_raises_template_error_naming_the_placeholder(tmp_path, shipped_config):
    templates = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    with pytest.raises(TemplateError) as caught:
        q4_report(shipped_config, templates / "docx")
    assert str(caught.value) == (f"mẫu báo cáo {templates / 'docx' / TEMPLATE}: biến {{{{ titel }}}} không có trong "
                                 "dữ liệu báo cáo (có phải {{ title }}?)")


@pytest.mark.parametrize("old, new, problem", [
    # an attribute get_undeclared_template_variables cannot see: only a test render finds it
    ("{{ org.parent_body|upper }}", "{{ org.parent_bod|upper }}",
     "thuộc tính parent_bod trong thẻ {{ org.parent_bod|upper }} không có trong dữ liệu báo cáo "
     "(có phải {{ org.parent_body|upper }}?)"),
    # inside the table rows of indicators
    ("{{ i.name }}", "{{ i.nam }}", "biến {{ i.nam }} không có trong dữ liệu báo cáo (có phải {{ i.name }}?)"),
    ("{{ title }}", "{{ title }", "thẻ “{{ title }” thiếu dấu đóng }}"),
    ("{%p for line in next_steps %}", "{%p for line in %}",
     "thẻ {%p for line in %} viết sai: thiếu biểu thức (tên biến hoặc giá trị)"),
    ("{%p endfor %}", "{%p endfr %}", "thẻ {%p endfr %} viết sai: không có lệnh 'endfr' (có phải 'endfor'?)"),
    ("{{ title }}", "{{ title|uper }}", "thẻ {{ title|uper }} viết sai: không có bộ lọc |uper (có phải |upper?)"),
    ("{%tr endfor %}", "{%p endfor %}",
     "thẻ {%p endfor %} không cùng loại với thẻ mở {%tr for i in indicators %}: viết {%tr endfor %}"),
])
def test_a_broken_tag_is_named_by_check_template_and_by_render(tmp_path, shipped_config, old, new, problem):
    templates = templates_with(tmp_path, old, new)
    docx = templates / "docx" / TEMPLATE
    assert check_template(shipped_config, templates / "docx") == [f"{docx}: {problem}"]


def test_render_names_a_broken_tag_instead_of_jinja_s_english(tmp_path, shipped_config):
    templates = templates_with(tmp_path, "{%p endfor %}", "{%p endfr %}")
    with pytest.raises(TemplateError) as caught:
        q4_report(shipped_config, templates / "docx")
    assert caught.value.problems == ["thẻ {%p endfr %} viết sai: không có lệnh 'endfr' (có phải 'endfor'?)"]


def test_every_mistyped_placeholder_is_listed_at_once(tmp_path, shipped_config):
    templates = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    docx = templates / "docx" / TEMPLATE
    with zipfile.ZipFile(docx) as z:  # a second typo, further down
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts["word/document.xml"] = parts["word/document.xml"].replace(b"{{ signer_name }}", b"{{ signer.name }}")
    with zipfile.ZipFile(docx, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert check_template(shipped_config, templates / "docx") == [
        f"{docx}: biến {{{{ titel }}}} không có trong dữ liệu báo cáo (có phải {{{{ title }}}}?)",
        f"{docx}: biến {{{{ signer.name }}}} không có trong dữ liệu báo cáo (có phải {{{{ signer_name }}}}?)",
    ]


@pytest.mark.parametrize("content, problem", [
    (None, "không tìm thấy tệp"),
    (b"PK\x03\x04 half a file", "tệp không phải tài liệu Word .docx hoặc đã bị hỏng; mở bằng Word rồi lưu lại dạng "
                                 "Word Document (*.docx)"),
])
def test_a_missing_or_broken_file_is_a_template_error_not_a_zip_error(tmp_path, shipped_config, content, problem):
    folder = tmp_path / "docx"
    folder.mkdir()
    if content is not None:
        (folder / TEMPLATE).write_bytes(content)
    assert check_template(shipped_config, folder) == [f"{folder / TEMPLATE}: {problem}"]
    with pytest.raises(TemplateError) as caught:
        q4_report(shipped_config, folder)
    assert str(caught.value) == f"mẫu báo cáo {folder / TEMPLATE}: {problem}"


def test_a_template_fault_leaves_no_version_and_the_session_usable(tmp_path, db_url, shipped_config):
    templates = templates_with(tmp_path, "{{ title }}", "{{ titel }}")
    engine = db.open_store(db_url)
    now = datetime(2026, 12, 7, 8, tzinfo=TZ)
    with Session(engine) as session:
        db.sync_config(session, shipped_config, now)
        session.commit()
        with pytest.raises(TemplateError):
            versions.make_version(session, shipped_config, shipped_config.period("2026-Q4"), now,
                                 templates / "docx", "baocao@example.org")
        session.commit()
        assert versions.version_count(session, "2026-Q4") == 0
        assert not session.exec(select(SendRow).where(SendRow.step == "report-v1")).all()
        # once fixed, the next tick makes version 1 in the same session
        row = versions.make_version(session, shipped_config, shipped_config.period("2026-Q4"), now, SHIPPED_DOCX,
                                   "baocao@example.org")
        session.commit()
        assert row is not None and row.version == 1
    engine.dispose()


# ---------------------------------------------------------------- two processes, one version

# Each child makes version 1 of 2026-Q4. Both read "no version yet" and render; a file barrier
# after rendering (the real render runs, then waits) makes both insert at the same moment, so
# the race happens every run rather than now and then.
CHILD = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from sqlmodel import Session
    from scheduler.report import versions
    from scheduler.store import db
    from scheduler.clock import TZ
    from scheduler.config.load import load_config

    url, barrier, me, config_dir, docx = sys.argv[1:]
    barrier = Path(barrier)
    from scheduler.report import render as rendering  # make_version imports render from it when it renders

    real_render = rendering.render

    def render_then_wait(*args, **kwargs):
        content = real_render(*args, **kwargs)
        (barrier / me).touch()
        print("rendered", flush=True)
        deadline = time.monotonic() + 60
        while len(list(barrier.iterdir())) < 2:
            if time.monotonic() > deadline:
                sys.exit("the other process never rendered")
            time.sleep(0.005)
        return content

    rendering.render = render_then_wait
    config = load_config(config_dir)
    engine = db.make_engine(url)
    with Session(engine) as session:
        row = versions.make_version(session, config, config.period("2026-Q4"), datetime(2026, 12, 7, 8, tzinfo=TZ),
                                   Path(docx), "baocao@example.org")
        session.commit()
        made = "none" if row is None else f"made {row.version}"
        print(made, "seen", versions.version_count(session, "2026-Q4"), flush=True)  # the session still works
    engine.dispose()
""")


def test_two_processes_making_version_1_at_once_store_one_version_and_one_mail(tmp_path, any_db_url, shipped_config):
    engine = db.open_store(any_db_url)
    now = datetime(2026, 12, 7, 8, tzinfo=TZ)
    with Session(engine) as session:
        db.sync_config(session, shipped_config, now)
        session.add(Submission(period_key="2026-Q4", unit_code="BPMC", revision=1, received_at=datetime(2026, 12, 3, 9, tzinfo=TZ),
                               on_time=True, channel="form", figures={"so_hoa": {"num": 9, "den": 10}},
                               narrative={"tuyen_truyen": "Đã làm."}))
        session.commit()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    children = [subprocess.Popen([sys.executable, "-c", CHILD, any_db_url, str(barrier), str(n), str(SHIPPED_CONFIG),
                                  str(SHIPPED_DOCX)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0 and "Traceback" not in out + err, out + err
    said = sorted(out.splitlines()[-1] for out, _ in outputs)
    assert [out.splitlines()[0] for out, _ in outputs] == ["rendered", "rendered"]  # both really raced
    assert said == ["made 1 seen 1", "none seen 1"]
    with Session(engine) as session:
        versions = session.exec(select(ReportRow).where(ReportRow.period_key == "2026-Q4")).all()
        mails = session.exec(select(SendRow).where(SendRow.period_key == "2026-Q4", SendRow.kind == "report")).all()
    assert [(v.version, v.sources) for v in versions] == [(1, {"BPMC": 1})]
    assert [m.step for m in mails] == ["report-v1"]
    engine.dispose()


# ---------------------------------------------------------------- issue 10: Jinja's English, said in Vietnamese

@pytest.mark.parametrize("new, problem", [
    ("{{ title | }}", "thẻ {{ title | }} viết sai: thiếu tên (biến, bộ lọc hoặc thuộc tính) trước dấu đóng }}"),
    ("{{ title[ }}", "thẻ {{ title[ }} viết sai: dấu mở [ chưa có dấu đóng ]"),
    ("{{ title + }}", "thẻ {{ title + }} viết sai: thiếu giá trị (sau phép tính hoặc dấu phẩy) trước dấu đóng }}"),
    ("{{ title ‘x’ }}", "thẻ {{ title ‘x’ }} viết sai: thừa một chuỗi trong dấu nháy trước dấu đóng }}"),
    ("{{ ‘title }}", "thẻ {{ ‘title }} viết sai: dấu nháy ' chưa có dấu nháy đóng"),
    ("{{ title. }}", "thẻ {{ title. }} viết sai: thiếu tên thuộc tính sau dấu chấm"),
])
def test_a_broken_placeholder_reads_like_the_other_config_errors(tmp_path, shipped_config, new, problem):
    templates = templates_with(tmp_path, "{{ title }}", new)
    docx = templates / "docx" / TEMPLATE
    problems = check_template(shipped_config, templates / "docx")
    assert problems == [f"{docx}: {problem}"]
    assert not any(word in problems[0] for word in ("statement", "expected", "unexpected", "token"))


def test_check_config_lists_yaml_errors_and_template_errors_together(tmp_path, config_dir):
    templates = templates_with(tmp_path, "{{ title }}", "{{ title | }}")
    units = config_dir / "units.yaml"
    text = units.read_text(encoding="utf-8")
    units.write_text(text.replace("    name: Thanh tra Sở", "      name: Thanh tra Sở", 1), encoding="utf-8")
    env = dict(os.environ, BAOCAO_CONFIG_DIR=str(config_dir), BAOCAO_TEMPLATES_DIR=str(templates))
    run = subprocess.run([sys.executable, "-m", "scheduler", "check-config"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    lines = text.splitlines()
    ttra = next(n for n, line in enumerate(lines, 1) if "code: TTRA" in line)
    assert run.stderr.splitlines() == [
        "Cấu hình có 1 lỗi, cần sửa trước khi chạy:",
        f"  {units}:{ttra + 1}: thụt lề không khớp với các dòng trên: dòng này thụt vào sâu hơn dòng {ttra}",
        "Mẫu báo cáo có 1 lỗi, cần sửa trước khi chạy:",
        f"  {templates / 'docx' / TEMPLATE}: thẻ {{{{ title | }}}} viết sai: thiếu tên (biến, bộ lọc hoặc thuộc tính) "
        "trước dấu đóng }}",
    ]
