"""The report as PDF (scheduler/report/pdf.py), made by the real LibreOffice: a fresh profile
per conversion, nothing left behind, a conversion that hangs stopped with its whole process
group; `baocao report` writes the PDF beside the DOCX."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from scheduler.cli.main import App, cli
from scheduler.clock import TZ
from scheduler.report import pdf, versions
from scheduler.report.consolidate import consolidate
from scheduler.report.render import render
from tests.conftest import ROOT, full, store_return as submit, tick_at

SOFFICE = shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")
needs_libreoffice = pytest.mark.skipif(
    (SOFFICE is None or PDFTOTEXT is None) and not os.environ.get("CI"),
    reason="needs LibreOffice and poppler-utils (apt-get install libreoffice-writer-nogui poppler-utils)")


def pdf_text(data: bytes, where: Path) -> str:
    path = where / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run([PDFTOTEXT or "pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def sample_docx(config) -> bytes:
    period = config.period("2026-Q4")
    return render(config, consolidate(config, period, {}), date(2026, 12, 7), ROOT / "templates" / "docx")


def processes(marker: str) -> dict[int, str]:
    """Live processes whose command line mentions `marker` (a conversion's folder): pid → line."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # gone meanwhile
            continue
        if marker in line:
            found[int(proc.name)] = line
    return found


@needs_libreoffice
def test_two_conversions_at_once_both_make_the_pdf_and_write_nothing_outside_their_folder(
        shipped_config, tmp_path, monkeypatch):
    """Each conversion has its own profile: with a shared one, the second LibreOffice would hand its
    job to the first and exit with nothing converted. HOME is not written to (read-only for the
    service under ProtectHome=), and the scratch folder goes away."""
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    docx = sample_docx(shipped_config)
    made: list[bytes | None] = [None, None]

    def convert(n: int) -> None:
        made[n] = pdf.to_pdf(docx)

    threads = [threading.Thread(target=convert, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(m is not None and m.startswith(b"%PDF") for m in made)
    text = pdf_text(made[0], tmp_path)
    assert "BÁO CÁO" in text and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert list(home.iterdir()) == [] and list(scratch.iterdir()) == []


@needs_libreoffice
def test_a_conversion_that_hangs_is_stopped_with_every_process_it_started(shipped_config, tmp_path, monkeypatch,
                                                                         caplog):
    """`soffice` is a launcher (oosplash) running soffice.bin: on a timeout, killing the launcher
    alone would leave the converter running, holding the output pipe, and the report waiting on
    it forever. The test makes the real soffice.bin hang (SIGSTOP) as soon as it appears."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    marker = str(tmp_path)
    got: list = []
    stopped: list[int] = []

    def convert() -> None:
        got.append(pdf.to_pdf(sample_docx(shipped_config), timeout=8))

    def hang_the_converter() -> None:
        deadline = time.monotonic() + 60
        while not got and time.monotonic() < deadline:
            for pid, line in processes(marker).items():
                if "soffice.bin" in line:
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
                    return
            time.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="baocao.report"):
        converting = threading.Thread(target=convert, daemon=True)
        converting.start()
        hang_the_converter()
        converting.join(timeout=40)
    try:
        assert stopped, "soffice.bin never started"
        assert not converting.is_alive(), "to_pdf is still waiting on the hung converter"
        assert got == [None]
        assert [r.getMessage() for r in caplog.records] == [
            "Không chuyển được báo cáo tổng hợp sang PDF (LibreOffice chạy quá 8 giây, đã dừng): báo cáo chỉ có "
            "bản DOCX."]
        deadline = time.monotonic() + 10
        while processes(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes(marker) == {}
        assert list(tmp_path.iterdir()) == []
    finally:
        for pid in processes(marker):  # only when the test failed: what this test started
            os.kill(pid, signal.SIGKILL)


@needs_libreoffice
def test_baocao_report_writes_the_pdf_beside_the_docx_fresh_or_stored(make_service, smtp_server, tmp_path):
    service = make_service(smtp_server.port)
    submit(service, "BPMC", datetime(2026, 12, 3, 10, tzinfo=TZ), full())
    tick_at(service, "2026-12-07T08:00:00+07:00")  # version 1, with its PDF
    app = App(service.settings, lambda: datetime(2026, 12, 7, 9, tzinfo=TZ))

    result = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "-o", str(tmp_path / "q4.docx")], obj=app)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"vào {tmp_path / 'q4.docx'}, bản PDF vào {tmp_path / 'q4.pdf'}.")
    assert "BÁO CÁO" in pdf_text((tmp_path / "q4.pdf").read_bytes(), tmp_path)

    result = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "--version", "1",
                                      "-o", str(tmp_path / "v1.docx")], obj=app)
    assert result.exit_code == 0, result.output
    assert f", bản PDF vào {tmp_path / 'v1.pdf'}." in result.output
    with Session(service.engine) as session:
        stored = versions.latest_version(session, "2026-Q4")
    assert (tmp_path / "v1.pdf").read_bytes() == stored.pdf  # the very PDF the office was sent
    assert (tmp_path / "v1.docx").read_bytes() == stored.content

    result = CliRunner().invoke(cli, ["report", "--period", "2026-Q4", "--no-pdf", "-o", str(tmp_path / "only.docx")],
                                obj=app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "only.docx").exists() and not (tmp_path / "only.pdf").exists()
    assert "PDF" not in result.output
