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
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PERIOD, ROOT, fill_store, make_config, timed  # noqa: E402


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
