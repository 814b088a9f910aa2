"""How long `baocao report` takes for 20 units, beyond the interpreter's start.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/report_bench.py [--units 20] [--repeat 7]

It builds a config with N units (the shipped ones, plus made-up ones if N is larger), a SQLite
store in which every unit has returned figures and narrative for 2026-Q4, then times:
- the whole `baocao report --period 2026-Q4` command in a fresh process, as the office runs it,
  against `python -c pass` in a fresh process (the interpreter's start);
- how that splits: importing the libraries the command uses, and the work itself;
- in a warm process: loading the config, consolidating, rendering the DOCX with its chart.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-Q4"


def timed(fn, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def make_config(directory: Path, units: int) -> None:
    """The shipped config; made-up units appended to units.yaml until there are `units`."""
    shutil.copytree(ROOT / "config", directory)
    from scheduler.config.load import load_config

    have = len([u for u in load_config(directory).units if u.active])
    extra = "".join(
        f"\n  - code: DV{n}\n    name: Đơn vị thử nghiệm số {n}\n    active: true\n"
        f"    head: {{name: Nguyễn Văn A, email: dv{n}.truong@example.org}}\n"
        f"    focal_points:\n      - {{name: Trần Thị B, email: dv{n}.daumoi@example.org}}\n    obligations: [quy]\n"
        for n in range(have + 1, units + 1))
    with open(directory / "units.yaml", "a", encoding="utf-8") as f:
        f.write(extra)


def fill_store(url: str, config_dir: Path, units: int) -> int:
    """Every unit has returned figures and a few paragraphs of narrative, on time."""
    from sqlmodel import Session

    from scheduler.store import db
    from scheduler.clock import TZ
    from scheduler.config.load import load_config
    from scheduler.store.tables import Submission
    from scheduler.collect.validate import headings_for, indicators_for

    config = load_config(config_dir)
    engine = db.open_store(url)
    now = datetime(2026, 12, 3, 9, tzinfo=TZ)
    rng = random.Random(1)
    period = config.period(PERIOD)
    with Session(engine) as session:
        db.sync_config(session, config, now)
        reporters = [u for u in config.units_for(period)][:units]
        for unit in reporters:
            figures = {}
            for ind in indicators_for(config, period):
                den = rng.randint(10, 2000)
                figures[ind.id] = {"num": rng.randint(den * 7 // 10, den), "den": den}
            narrative = {h.id: f"{unit.name}: nội dung {h.title.lower()}. " * 8 for h in headings_for(config, period)}
            session.add(Submission(period_key=PERIOD, unit_code=unit.code, revision=1, received_at=now, on_time=True,
                                   channel="form", figures=figures, narrative=narrative))
        session.commit()
    return len(reporters)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", args.units)
        url = f"sqlite:///{tmp}/b.db"
        reporters = fill_store(url, tmp_path / "config", args.units)
        env = dict(os.environ, BAOCAO_DATABASE_URL=url, BAOCAO_CONFIG_DIR=str(tmp_path / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key")

        def fresh(*code: str):
            return lambda: subprocess.run([sys.executable, *code], env=env, check=True, capture_output=True)

        command = ["-m", "scheduler", "report", "--period", PERIOD, "-o", f"{tmp}/r.docx"]
        fresh(*command)()  # once untimed: bytecode caches, the key file
        bare = timed(fresh("-c", "pass"), args.repeat)
        libraries = timed(fresh("-c", "import scheduler.cli.main, scheduler.report.render"), args.repeat)
        whole = timed(fresh(*command), args.repeat)
        out = subprocess.run([sys.executable, *command], env=env, check=True, capture_output=True, text=True).stdout

        # The same steps in this (warm) process, to show where the work goes.
        from sqlmodel import Session

        from scheduler.report import versions
        from scheduler.store import db
        from scheduler.config.load import load_config
        from scheduler.report.render import render

        config_time = timed(lambda: load_config(tmp_path / "config"), args.repeat)
        config = load_config(tmp_path / "config")
        engine = db.open_store(url)
        period = config.period(PERIOD)
        with Session(engine) as session:
            consolidation_time = timed(lambda: versions.consolidation(session, config, period), args.repeat)
            result = versions.consolidation(session, config, period)
        template = ROOT / "templates" / "docx"
        render_time = timed(lambda: render(config, result, date(2026, 12, 7), template), args.repeat)
        size = len(render(config, result, date(2026, 12, 7), template))

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0] * 1000:7.1f} ms median, {pair[1] * 1000:7.1f} ms min"

    print(f"units: {args.units} ({reporters} with figures and narrative), period {PERIOD}, repeat: {args.repeat}")
    print(f"  the command says: {out.strip()}")
    print(f"`baocao report`, fresh process:     {ms(whole)}")
    print(f"  bare interpreter (python -c pass): {ms(bare)}")
    print(f"  beyond the interpreter's start:    {(whole[0] - bare[0]) * 1000:7.1f} ms median, "
          f"{(whole[1] - bare[1]) * 1000:7.1f} ms min")
    print(f"    of which importing libraries:    {(libraries[0] - bare[0]) * 1000:7.1f} ms median "
          "(SQLAlchemy/SQLModel, pydantic, ruamel.yaml, docxtpl)")
    print(f"    of which the work itself:        {(whole[0] - libraries[0]) * 1000:7.1f} ms median")
    print("warm process, per step:")
    print(f"  load and validate the config:      {ms(config_time)}")
    print(f"  read the store and consolidate:    {ms(consolidation_time)}")
    print(f"  render the DOCX with its chart:    {ms(render_time)} ({size // 1024} KB)")


if __name__ == "__main__":
    main()
