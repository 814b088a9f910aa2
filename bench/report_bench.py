"""`baocao report` for 20, 200 and 2,000 units, against the same per-unit table built with plain
python-docx in the same run.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/report_bench.py [--units 20 200 2000] [--repeat 3] [--no-pdf] [--pdf-max-units 200]

For each size it builds a config with N units (the shipped ones, plus made-up ones), a SQLite
store in which every unit has returned figures for 11 indicators and narrative for 2026-Q4, then:
- the command `baocao report --period 2026-Q4` in a fresh process, as the office runs it, beyond
  `python -c pass` (the interpreter's start), making the DOCX only: LibreOffice is kept off its
  PATH, as on a machine without it (the command has no switch to skip the PDF);
- its CPU time beyond the interpreter's (on a shared machine the wall time is the load's too) and
  its peak RSS, both by getrusage(RUSAGE_CHILDREN) in a process that runs only it;
- in this (warm) process: the DOCX rendering alone (config loaded, store read and consolidated);
- the baseline: the same per-unit table (one row per unit; TT, the unit, one column per
  indicator, the met count) built with plain python-docx `Document().add_table` + `add_row`
  and saved, in this process; and the ratios to it;
- the PDF conversion, once: LibreOffice's own time, which the command adds when it is installed
  (skipped with --no-pdf, and above --pdf-max-units: for 2,000 units LibreOffice takes minutes).

The goal (issue 16): 2,000 units ≤ 1 s beyond the interpreter and ≥ 10× faster than the
baseline, peak RSS ≤ 150 MB; it applies to the DOCX, not to LibreOffice's conversion.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PERIOD, ROOT, fill_store, make_config, timed  # noqa: E402

# Runs the command given as its arguments; prints its wall time, CPU time (s) and peak RSS (KB).
_CHILD = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
          "subprocess.run(sys.argv[1:], check=True, capture_output=True); t = time.perf_counter() - t; "
          "r = resource.getrusage(resource.RUSAGE_CHILDREN); print(t, r.ru_utime + r.ru_stime, r.ru_maxrss)")


def child(env: dict, *args: str) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KB) of `python *args` in a fresh process; the CPU time is what
    a shared machine's load does not inflate."""
    out = subprocess.run([sys.executable, "-c", _CHILD, sys.executable, *args], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def runs(env: dict, repeat: int, *args: str) -> dict:
    got = [child(env, *args) for _ in range(repeat)]
    walls, cpus = sorted(g[0] for g in got), sorted(g[1] for g in got)
    return {"wall": (walls[len(walls) // 2], walls[0]), "cpu": (cpus[len(cpus) // 2], cpus[0]),
            "peak": max(g[2] for g in got)}


def _without_libreoffice(path: str) -> str:
    """PATH without the folders holding LibreOffice's launchers: the command then writes the
    DOCX alone (report/pdf.py looks for soffice on PATH), so its own time is what is measured."""
    return os.pathsep.join(d for d in path.split(os.pathsep)
                           if d and not any((Path(d) / name).exists() for name in ("soffice", "libreoffice")))


def baseline(rows: list[dict], heads: list[str]) -> bytes:
    """The per-unit table, one row per unit with the same columns, with plain python-docx."""
    from docx import Document

    document = Document()
    table = document.add_table(rows=1, cols=len(heads) + 3)
    for cell, text in zip(table.rows[0].cells, ["TT", "Đơn vị", *heads, "Số chỉ tiêu đạt"]):
        cell.text = text
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, [str(row["tt"]), row["name"], *row["cells"], row["met"]]):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def ms(pair: tuple[float, float]) -> str:
    return f"{pair[0] * 1000:8.1f} ms median, {pair[1] * 1000:8.1f} ms min"


def one_size(units: int, repeat: int, pdf: bool, pdf_max: int) -> dict:
    from sqlmodel import Session

    from scheduler.config.load import load_config
    from scheduler.report import versions
    from scheduler.report.docx import context, load, TEMPLATE
    from scheduler.report.render import render
    from scheduler.store import db

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", units)
        url = f"sqlite:///{tmp}/b.db"
        reporters = fill_store(url, tmp_path / "config", units)
        env = dict(os.environ, BAOCAO_DATABASE_URL=url, BAOCAO_CONFIG_DIR=str(tmp_path / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key",
                   PATH=_without_libreoffice(os.environ.get("PATH", "")))

        command = ["-m", "scheduler", "report", "--period", PERIOD, "-o", f"{tmp}/r.docx"]
        said = subprocess.run([sys.executable, *command], env=env, check=True, capture_output=True, text=True)
        bare = runs(env, repeat, "-c", "pass")  # (the run above made the bytecode caches and the key file)
        whole = runs(env, repeat, *command)

        # The same work in this (warm) process: the rendering alone, and the baseline.
        config = load_config(tmp_path / "config")
        engine = db.open_store(url)
        with Session(engine) as session:
            result = versions.consolidation(session, config, config.period(PERIOD))
        engine.dispose()
        template = ROOT / "templates" / "docx"
        today = date(2026, 12, 7)
        warm = timed(lambda: render(config, result, today, template), repeat)
        content = render(config, result, today, template)
        values = context(config, result, today, load(template / TEMPLATE, (template / TEMPLATE).read_bytes()))
        rows, heads = values["matrix_rows"], values["matrix_heads"]
        base = timed(lambda: baseline(rows, heads), repeat)
        converted = None
        if pdf and units <= pdf_max:
            from scheduler.report.pdf import executable, to_pdf

            if executable() is not None:
                start = time.perf_counter()
                made = to_pdf(content, timeout=900)
                converted = (time.perf_counter() - start, len(made) if made else 0)
    beyond = tuple(w - b for w, b in zip(whole["wall"], bare["wall"]))
    beyond_cpu = tuple(w - b for w, b in zip(whole["cpu"], bare["cpu"]))
    print(f"{units} units ({reporters} with figures and narrative, {len(heads)} indicators), period {PERIOD}, "
          f"repeat {repeat}")
    print(f"  the command says: {said.stdout.strip()}")
    print(f"  `baocao report`, DOCX only, fresh process: {ms(whole['wall'])}; CPU {ms(whole['cpu'])}")
    print(f"    bare interpreter (python -c pass):      {ms(bare['wall'])}; CPU {ms(bare['cpu'])}")
    print(f"    beyond the interpreter's start:         {ms(beyond)}  ({beyond[0] / base[0]:.2f}× the add_row baseline's time)")
    print(f"      in CPU time:                          {ms(beyond_cpu)}  ({beyond_cpu[0] / base[0]:.2f}× the add_row baseline's time)")
    print(f"    peak RSS:                               {whole['peak'] / 1024:8.1f} MB")
    print(f"  DOCX rendering, warm process:             {ms(warm)}  ({warm[0] / base[0]:.2f}× the add_row baseline's time; "
          f"{len(content) // 1024} KB)")
    print(f"  baseline, python-docx add_row, warm:      {ms(base)}")
    print(f"    the baseline takes {base[0] / beyond[0]:.1f}× the command's time beyond the interpreter, "
          f"{base[0] / warm[0]:.1f}× the warm rendering's")
    if converted is not None:
        print(f"  PDF conversion by LibreOffice (once):     {converted[0] * 1000:8.1f} ms "
              f"({converted[1] // 1024} KB; added by the command when LibreOffice is installed)")
    elif pdf and units <= pdf_max:
        print("  PDF conversion: LibreOffice (soffice) not installed, not measured")
    else:
        print(f"  PDF conversion: not timed above {pdf_max} units (--pdf-max-units)")
    return {"units": units, "beyond": beyond[0], "cpu": beyond_cpu[0], "warm": warm[0], "base": base[0],
            "peak": whole["peak"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="+", default=[20, 200, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="do not time LibreOffice's conversion")
    parser.add_argument("--pdf-max-units", type=int, default=200,
                        help="time the PDF conversion up to this many units (LibreOffice takes minutes for 2,000)")
    args = parser.parse_args()

    bare_libraries = subprocess.run([sys.executable, "-X", "importtime", "-c",
                                     "import scheduler.cli.main, scheduler.report.render"],
                                    capture_output=True, text=True).stderr.splitlines()
    imported = sum(int(line.split("|")[0].split(":")[1]) for line in bare_libraries if line.startswith("import time:")
                   and line.split("|")[0].split(":")[1].strip().isdigit())
    print(f"importing the command's modules: {imported / 1000:.0f} ms (python -X importtime, self times summed)")
    print(f"LibreOffice: {shutil.which('soffice') or shutil.which('libreoffice') or 'not installed'}")
    figures = [one_size(units, args.repeat, args.pdf, args.pdf_max_units) for units in args.units]
    print("summary (DOCX; the goal at 2,000 units: ≤ 1000 ms beyond the interpreter, ≥ 10× the baseline, ≤ 150 MB):")
    for f in figures:
        print(f"  {f['units']:5d} units: beyond the interpreter {f['beyond'] * 1000:7.1f} ms "
              f"(CPU {f['cpu'] * 1000:7.1f} ms), warm rendering "
              f"{f['warm'] * 1000:7.1f} ms, baseline {f['base'] * 1000:7.1f} ms "
              f"(baseline / command {f['base'] / f['beyond']:.1f}×), peak RSS {f['peak'] / 1024:.0f} MB")


if __name__ == "__main__":
    main()
