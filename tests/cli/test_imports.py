"""A command loads what it uses (issue 16): `--help` no config models, no store, no report libraries;
`check-config` no store (it reads YAML and checks the DOCX template, it opens no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
sys.argv = ["baocao", *json.loads(sys.argv[1])]
from scheduler.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded(*args: str, **env: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=120, check=True)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def test_help_loads_neither_the_config_models_nor_the_store_nor_the_report_libraries():
    assert loaded("--help") & {"pydantic", "pydantic_settings", "sqlalchemy", "sqlmodel", "docxtpl", "jinja2",
                               "openpyxl", "aiosmtplib", "fastapi"} == set()


def test_check_config_opens_no_store_so_loads_no_sqlalchemy(tmp_path):
    # A database URL set, as on a server: checking its shape must not import SQLAlchemy either.
    modules = loaded("check-config", BAOCAO_DATABASE_URL=f"sqlite:///{tmp_path}/b.db")
    assert modules & {"sqlalchemy", "sqlmodel", "alembic", "openpyxl", "aiosmtplib", "fastapi", "uvicorn"} == set()


WEB_PROBE = """
import json, sys
from pathlib import Path
import sqlalchemy as sa
import scheduler.cli.main, scheduler.service.webproc, scheduler.service.tick  # the web process's own path
from scheduler.config.load import load_config
from scheduler.settings import load_settings
from scheduler.web import WebContext, create_app
config = load_config(Path(sys.argv[1]))
create_app(WebContext(load_settings(), lambda: None, sa.create_engine("sqlite://"), lambda: config)).state.warm()
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_web_process_loads_no_report_or_spreadsheet_library_until_one_is_asked_for():
    # The web process lives beside `run` for ever: python-docx, docxtpl, lxml and openpyxl were
    # ~16 MB of it for a console that only catches the report's TemplateError.
    run = subprocess.run([sys.executable, "-c", WEB_PROBE, str(ROOT / "config")], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "BAOCAO_SECRET_KEY": "k" * 40}, timeout=120, check=True)
    modules = set(json.loads(run.stdout.strip().splitlines()[-1]))
    assert "fastapi" in modules
    assert modules & {"docx", "docxtpl", "lxml", "openpyxl", "apscheduler", "alembic"} == set()
