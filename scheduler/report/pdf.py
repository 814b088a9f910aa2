"""The report as PDF beside its DOCX, made by LibreOffice headless (an edge: a child process).

The PDF is a convenience: the office reads or prints it where Word is not at hand, and keeps
editing the DOCX. So a missing or failing LibreOffice never stops a report: `to_pdf` returns
None, the report goes out as DOCX alone, and the journal says why.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("baocao.report")

MISSING = ("Không tìm thấy LibreOffice (soffice): báo cáo chỉ có bản DOCX, không có bản PDF; "
           "cài gói libreoffice-writer-nogui để có bản PDF.")

# A missing LibreOffice is a fact of the machine, not of one report: said once per process,
# not at every version of every period. Looked up again each time all the same, so that
# installing it while the service runs is enough.
_missing_told = False
_told_lock = threading.Lock()


def executable() -> str | None:
    """LibreOffice's launcher on PATH: `soffice` (every package has it), or `libreoffice`."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: bytes, timeout: float = 120) -> bytes | None:
    """The PDF of a DOCX, or None (logged) when LibreOffice is absent or the conversion fails."""
    global _missing_told
    soffice = executable()
    if soffice is None:
        with _told_lock:
            if not _missing_told:
                _missing_told = True
                log.warning(MISSING)
        return None
    # A PDF is an extra: no failure here (a full /tmp, a leftover the kill could not remove) may
    # cost the office its DOCX.
    try:
        with tempfile.TemporaryDirectory(prefix="baocao-pdf-", ignore_cleanup_errors=True) as tmp:
            work = Path(tmp)
            source = work / "bao-cao.docx"
            source.write_bytes(docx)
            problem = _convert(soffice, work, source, timeout)
            made = work / "out" / "bao-cao.pdf"
            if problem is None:
                pdf = made.read_bytes() if made.is_file() else b""
                if pdf.startswith(b"%PDF"):
                    return pdf
                problem = "LibreOffice không tạo ra tệp PDF"
    except OSError as exc:  # not executable, out of memory for a fork, no room in /tmp…
        problem = f"không chạy được {soffice}: {exc.strerror or exc}"
    log.warning("Không chuyển được báo cáo tổng hợp sang PDF (%s): báo cáo chỉ có bản DOCX.", problem)
    return None


def _convert(soffice: str, work: Path, source: Path, timeout: float) -> str | None:
    """Run one conversion in `work`; what went wrong, or None."""
    args = [soffice, "--headless", "--norestore", "--nolockcheck", "--nologo", "--nodefault",
            # Its own profile: a running LibreOffice (the office clerk's, or a second conversion
            # at the same moment) owns the default one, and the new process would hand the job
            # to it and exit without converting anything.
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--convert-to", "pdf", "--outdir", str(work / "out"), str(source)]
    # Nothing written to the service's home (read-only under systemd's ProtectHome=, and
    # LibreOffice's and fontconfig's caches are not ours to leave there): all of it goes in
    # `work`, removed with it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {
        "HOME": str(work), "TMPDIR": str(work)}
    # Its own process group: `soffice` is a script starting soffice.bin, and a timeout must
    # stop both, not leave the real converter running on.
    proc = subprocess.Popen(args, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return f"LibreOffice chạy quá {timeout:g} giây, đã dừng"
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        said = " ".join(output.decode("utf-8", "replace").split())[-300:]
        return f"LibreOffice kết thúc với mã {proc.returncode}" + (f": {said}" if said else "")
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=10)  # reaps it, and drains the pipe the group held open
    except subprocess.TimeoutExpired:  # a straggler outside the group still holds the pipe
        if proc.stdout is not None:
            proc.stdout.close()
        proc.wait(timeout=10)
