"""A report version's mail to the office carries the DOCX and its PDF (issue 13), or the DOCX
alone when LibreOffice is not installed, said once in the journal; stores made before the PDF
get its column with their reports kept (migration 0006)."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from datetime import datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from docx import Document
from sqlmodel import Session, select

from scheduler.cli.main import App, cli
from scheduler.clock import TZ
from scheduler.report import pdf
from scheduler.store.tables import ReportRow
from tests.conftest import full, store_return as submit, tick_at

SOFFICE = shutil.which("soffice")  # looked up before a test hides it from PATH
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
needs_libreoffice = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("pdftotext") is None) and not os.environ.get("CI"),
    reason="needs LibreOffice and poppler-utils (apt-get install libreoffice-writer-nogui poppler-utils)")


def report_mails(smtp_server):
    return [m for m in smtp_server.recorder.take() if m["X-Baocao-Step"].startswith("report")]


def stored_versions(service) -> list[ReportRow]:
    with Session(service.engine) as session:
        return list(session.exec(select(ReportRow).order_by(ReportRow.version)).all())


@needs_libreoffice
def test_the_office_gets_each_report_version_as_docx_then_pdf(smtp_server, make_service, tmp_path):
    service = make_service(smtp_server.port)
    submit(service, "BPMC", datetime(2026, 12, 3, 10, tzinfo=TZ), full())
    tick_at(service, "2026-12-07T08:00:00+07:00")  # Monday after the deadline: version 1
    [mail] = report_mails(smtp_server)
    docx, pdf_part = mail.iter_attachments()
    assert (docx.get_content_type(), docx.get_filename()) == (DOCX_TYPE, "bao-cao-2026-Q4-ban-1.docx")
    assert (pdf_part.get_content_type(), pdf_part.get_filename()) == ("application/pdf", "bao-cao-2026-Q4-ban-1.pdf")
    Document(io.BytesIO(docx.get_content()))  # opens
    data = pdf_part.get_content()
    assert data.startswith(b"%PDF")
    (tmp_path / "ban-1.pdf").write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "ban-1.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "BÁO CÁO" in text and "tháng 12 năm 2026" in text  # made on 07/12/2026, Việt Nam time
    assert ("Tệp đính kèm: bao-cao-2026-Q4-ban-1.docx và bao-cao-2026-Q4-ban-1.pdf (cùng nội dung; bản PDF để xem "
            "và in).") in mail.get_body(("plain",)).get_content()
    assert "bao-cao-2026-Q4-ban-1.pdf (cùng nội dung" in mail.get_body(("html",)).get_content()
    [row] = stored_versions(service)
    assert (row.content, row.pdf) == (docx.get_content(), data)  # the mail carries what is stored


def test_without_libreoffice_the_office_gets_the_docx_alone_and_the_journal_says_why_once(
        smtp_server, make_service, tmp_path, monkeypatch, caplog):
    nothing = tmp_path / "bin"
    nothing.mkdir()
    monkeypatch.setenv("PATH", str(nothing))  # a host without LibreOffice
    monkeypatch.setattr(pdf, "_missing_told", False)  # as in a process just started
    service = make_service(smtp_server.port)
    submit(service, "BPMC", datetime(2026, 12, 3, 10, tzinfo=TZ), full())
    with caplog.at_level(logging.INFO, logger="baocao"):
        tick_at(service, "2026-12-07T08:00:00+07:00")
        first = report_mails(smtp_server)
        submit(service, "KL", datetime(2026, 12, 8, 9, tzinfo=TZ), full(so_hoa={"num": 1, "den": 2}))
        tick_at(service, "2026-12-08T09:05:00+07:00")  # a late report: version 2
        second = report_mails(smtp_server)
        app = App(service.settings, lambda: datetime(2026, 12, 8, 10, tzinfo=TZ))
        fresh = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "-o", str(tmp_path / "q4.docx")], obj=app)
        stored = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "--version", "1", "-o",
                                          str(tmp_path / "v1.docx")], obj=app)
    for n, mail in enumerate(first + second, 1):
        assert [(a.get_content_type(), a.get_filename()) for a in mail.iter_attachments()] == [
            (DOCX_TYPE, f"bao-cao-2026-Q4-ban-{n}.docx")]
        body = mail.get_body(("plain",)).get_content()
        assert f"Tệp đính kèm: bao-cao-2026-Q4-ban-{n}.docx\n" in body and ".pdf" not in body
    assert [m["X-Baocao-Step"] for m in first + second] == ["report-v1", "report-v2"]
    assert [row.pdf for row in stored_versions(service)] == [None, None]
    said = [r for r in caplog.records if "LibreOffice" in r.getMessage()]
    assert [(r.name, r.levelno, r.getMessage()) for r in said] == [
        ("baocao.report", logging.WARNING,
         "Không tìm thấy LibreOffice (soffice): báo cáo chỉ có bản DOCX, không có bản PDF; cài gói "
         "libreoffice-writer-nogui để có bản PDF.")]
    assert fresh.exit_code == 0, fresh.output
    assert fresh.output.strip().endswith(f"vào {tmp_path / 'q4.docx'}.")
    assert stored.exit_code == 0, stored.output
    assert stored.output.strip().endswith(f"vào {tmp_path / 'v1.docx'}.")
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == []
    if SOFFICE:  # LibreOffice installed since: the stored version gets its PDF when fetched
        monkeypatch.setenv("PATH", os.path.dirname(SOFFICE) + os.pathsep + os.defpath)
        again = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "--version", "1", "-o",
                                         str(tmp_path / "v1.docx")], obj=app)
        assert again.exit_code == 0 and again.output.strip().endswith(f"bản PDF vào {tmp_path / 'v1.pdf'}."), again.output
        assert (tmp_path / "v1.pdf").read_bytes().startswith(b"%PDF")


def test_migration_0006_adds_the_pdf_column_to_a_store_made_by_0001_and_keeps_its_reports(make_service, any_db_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config as AlembicConfig
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from scheduler.store.db import MIGRATIONS, make_engine

    old_docx = b"PK\x03\x04 the DOCX version 1 was mailed as"
    engine = make_engine(any_db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(sa.text(
            "INSERT INTO report (period_key, version, created_at, filename, content, sources, mailed_at) VALUES "
            "('2026-Q4', 1, '2026-12-07 01:00:00', 'bao-cao-2026-Q4-ban-1.docx', :content, '{\"BPMC\": 1}', "
            "'2026-12-07 01:00:05')"), {"content": old_docx})
    engine.dispose()
    service = make_service(database_url=any_db_url)  # migrates to the newest revision, as `run` does
    columns = {c["name"]: c for c in sa.inspect(service.engine).get_columns("report")}
    assert columns["pdf"]["nullable"] is True
    [row] = stored_versions(service)
    assert (row.version, row.filename, row.content, row.sources, row.pdf) == (
        1, "bao-cao-2026-Q4-ban-1.docx", old_docx, {"BPMC": 1}, None)
    assert row.created_at == datetime(2026, 12, 7, 8, tzinfo=TZ)
    with service.engine.connect() as conn:  # the migrations make exactly what the models describe
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                SQLModel.metadata) == []
