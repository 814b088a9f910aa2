"""How long `baocao report` takes for 20 units, beyond the interpreter's start.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/report_bench.py [--units 20] [--repeat 5]

It reports, separately: importing what the command needs (once per process), consolidating
(pure), rendering the DOCX with its chart, and the whole `baocao report` command run in a
fresh process minus `python -c pass` in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    from scheduler.clock import TZ
    from scheduler.config import Person, Unit, load_config
    from scheduler.consolidate import Returned, consolidate
    from scheduler.report import render
    imports = time.perf_counter() - start

    config = load_config(ROOT / "config")
    units = list(config.units)
    while len(units) < args.units:  # add made-up units until there are enough
        n = len(units) + 1
        units.append(Unit(code=f"DV{n}", name=f"Đơn vị thử nghiệm số {n}", head=Person(name="A", email=f"a{n}@example.org"),
                          focal_points=[Person(name="B", email=f"b{n}@example.org")], obligations=["quy"]))
    config = type(config)(config.plan, tuple(u.model_copy(update={"active": True}) for u in units[: args.units]),
                          config.directory)
    period = config.period("2026-Q4")
    rng = random.Random(1)
    returned = {}
    for unit in config.units:
        figures = {}
        for ind in config.plan.indicators:
            den = rng.randint(10, 2000)
            figures[ind.id] = {"num": rng.randint(den * 7 // 10, den), "den": den}
        narrative = {h.id: f"{unit.name}: nội dung {h.title.lower()}. " * 8 for h in config.plan.headings}
        returned[unit.code] = Returned(unit.code, 1, True, datetime(2026, 12, 3, tzinfo=TZ), figures, narrative)

    result = None

    def do_consolidate():
        nonlocal result
        result = consolidate(config, period, returned)

    consolidate_med, consolidate_min = timed(do_consolidate, args.repeat)
    first = time.perf_counter()
    render(config, result, date(2026, 12, 7), ROOT / "templates" / "docx")
    first_render = time.perf_counter() - first
    render_med, render_min = timed(lambda: render(config, result, date(2026, 12, 7), ROOT / "templates" / "docx"),
                                   args.repeat)

    print(f"units: {len(config.units)}, indicators: {len(config.plan.indicators)}, repeat: {args.repeat}")
    print(f"import scheduler.report and friends: {imports * 1000:8.1f} ms (once per process)")
    print(f"consolidate (pure):                  {consolidate_med * 1000:8.1f} ms median, {consolidate_min * 1000:.1f} min")
    print(f"first render (template, lxml warm-up): {first_render * 1000:6.1f} ms")
    print(f"render DOCX with chart:              {render_med * 1000:8.1f} ms median, {render_min * 1000:.1f} min")

    # The whole command in a fresh process, as the office runs it, minus a bare interpreter.
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BAOCAO_DATABASE_URL=f"sqlite:///{tmp}/b.db", BAOCAO_CONFIG_DIR=str(ROOT / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key")
        subprocess.run([sys.executable, "-m", "scheduler", "check-config"], env=env, capture_output=True)  # migrate
        bare = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat)[0]
        libraries = timed(lambda: subprocess.run([sys.executable, "-c", "import scheduler.cli, scheduler.report"],
                                                 check=True), args.repeat)[0]
        whole = timed(lambda: subprocess.run([sys.executable, "-m", "scheduler", "report", "--period", "2026-Q4",
                                              "-o", f"{tmp}/r.docx"], env=env, check=True, capture_output=True),
                      args.repeat)[0]
    print(f"`baocao report` in a fresh process:  {whole * 1000:8.1f} ms median (shipped config, 18 units)")
    print(f"  bare interpreter:                  {bare * 1000:8.1f} ms")
    print(f"  importing the libraries it uses:   {(libraries - bare) * 1000:8.1f} ms "
          "(SQLAlchemy/SQLModel, pydantic, ruamel.yaml, docxtpl)")
    print(f"  the work itself:                   {(whole - libraries) * 1000:8.1f} ms "
          "(open and check the store, consolidate, render, write)")


if __name__ == "__main__":
    main()
