"""How long `baocao plan` takes for the year, and what one planner call costs, for 150 and 1,000 units.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/planner_bench.py [--units 150,1000] [--repeat 5]

For each unit count it builds a config (the shipped one, made-up units appended: bench/common.make_config)
and an empty SQLite store (no unit has reported: every unit is owed every step), then times:
- `baocao plan --from <1 Jan> --to <31 Dec>` of this year in a fresh process, as the office runs it,
  against `python -c pass` in a fresh process (the interpreter's start), and the same command for a
  whole year ahead (`--from today --to today + 364 days`, the campaign stretched to cover it), which makes
  the preview replay 365 ticks over every period of that year;
- in this (warm) process: one planner call at 08:00 on the day of the 2026-Q4 notice (every unit owed a
  mail), against the same call on a day when nothing is owed (the planner's floor: the sending-hours test and
  the periods' schedule); and the preview itself (planner.preview, the tick replayed over the range),
  against loading what it reads from the store.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, make_config, ratio, timed  # noqa: E402

sys.path.insert(0, str(ROOT))  # this checkout's scheduler, in this process as in the fresh ones (-m, cwd)


def ms(pair: tuple[float, float]) -> str:
    return f"{pair[0] * 1000:8.1f} ms median, {pair[1] * 1000:8.1f} ms min"


def stretch_campaign(config_dir: Path, end: date) -> None:
    """The shipped campaign ends on 31/12/2026: a year ahead needs the periods of that year."""
    plan = config_dir / "plan.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("end: 2026-12-31", f"end: {end.isoformat()}"), encoding="utf-8")


def bench(units: int, repeat: int) -> None:
    from scheduler.clock import TZ, system_clock
    from scheduler.config.load import load_config
    from scheduler.policy import planner
    from scheduler.policy.clockcheck import ClockFacts
    from scheduler.service import preview as service_preview
    from scheduler.store import db

    today = system_clock().date()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", units)
        make_config(tmp_path / "ahead", units)
        stretch_campaign(tmp_path / "ahead", today + timedelta(days=400))
        url, url_ahead = f"sqlite:///{tmp}/b.db", f"sqlite:///{tmp}/ahead.db"
        for store in (url, url_ahead):
            db.open_store(store).dispose()  # as `baocao run` leaves it before its first tick
        env = dict(os.environ, BAOCAO_DATABASE_URL=url, BAOCAO_CONFIG_DIR=str(tmp_path / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key")

        def fresh(*args: str, config: str = "config"):
            run_env = dict(env, BAOCAO_CONFIG_DIR=str(tmp_path / config),
                           BAOCAO_DATABASE_URL=url if config == "config" else url_ahead)
            return lambda: subprocess.run([sys.executable, *args], env=run_env, check=True, capture_output=True,
                                          cwd=ROOT)

        year = ["-m", "scheduler", "plan", "--from", f"{today.year}-01-01", "--to", f"{today.year}-12-31", "--json"]
        ahead = ["-m", "scheduler", "plan", "--from", today.isoformat(), "--to",
                 (today + timedelta(days=364)).isoformat(), "--json"]
        fresh(*year)()  # once untimed: bytecode caches
        bare = timed(fresh("-c", "pass"), repeat)
        whole = timed(fresh(*year), repeat)
        whole_ahead = timed(fresh(*ahead, config="ahead"), max(1, repeat // 2))
        sends = len(__import__("json").loads(fresh(*year)().stdout))
        sends_ahead = len(__import__("json").loads(fresh(*ahead, config="ahead")().stdout))

        # Warm: the planner alone, as the tick calls it at 08:00.
        config = load_config(tmp_path / "ahead")
        periods = list(config.periods)
        q4 = config.period("2026-Q4")
        notice = min(planner.step_instant(config, q4, s) for s in config.unit_steps)
        busy = timed(lambda: planner.owed_at(config, periods, planner.Facts(), notice), repeat * 4)
        owed = len(planner.owed_at(config, periods, planner.Facts(), notice))
        calm_day = datetime(2026, 10, 1, 8, tzinfo=TZ)  # a Thursday with no step of any period
        calm = timed(lambda: planner.owed_at(config, periods, planner.Facts(), calm_day), repeat * 4)

        # Warm: the preview of the year ahead, and reading what it needs from the store.
        engine = db.open_existing(url_ahead)
        now = system_clock()
        end = now + timedelta(days=365)
        never = ClockFacts(None, None, False)
        from sqlmodel import Session

        def read():
            with Session(engine) as session:
                return db.all_periods(session, config), db.load_facts(session, config, now)

        reading = timed(read, repeat)
        stored_periods, facts = read()
        replay = timed(lambda: planner.preview(config, stored_periods, facts, never, now, end), repeat)
        whole_preview = timed(lambda: service_preview.preview(engine, config, now, end), repeat)
        engine.dispose()

    print(f"units: {units}, repeat: {repeat}, today {today:%d/%m/%Y}")
    print(f"  bare interpreter (python -c pass):           {ms(bare)}")
    print(f"  `baocao plan` {today.year} (whole year), fresh:      {ms(whole)}  ({sends} mails)")
    print(f"    beyond the interpreter's start:            {(whole[0] - bare[0]) * 1000:8.1f} ms median "
          f"(the whole command {ratio(whole[0], bare[0])})")
    print(f"  `baocao plan` a year ahead (365 ticks):      {ms(whole_ahead)}  ({sends_ahead} mails)")
    print(f"    beyond the interpreter's start:            {(whole_ahead[0] - bare[0]) * 1000:8.1f} ms median "
          f"(the whole command {ratio(whole_ahead[0], bare[0])})")
    print(f"  planner.owed_at at 08:00, notice day ({owed} owed): {ms(busy)}")
    print(f"    per unit:                                  {busy[0] / units * 1e6:8.1f} µs")
    print(f"    a day nothing is owed (the floor):         {calm[0] * 1e6:8.1f} µs median, {calm[1] * 1e6:8.1f} µs min  "
          f"(the busy day is {ratio(busy[0], calm[0])})")
    print(f"  preview of a year ahead, warm (replay only): {ms(replay)}")
    print(f"    with reading the store (service.preview):  {ms(whole_preview)}")
    print(f"    reading the store alone (the baseline):    {ms(reading)}  "
          f"(replay is {ratio(replay[0], reading[0])})")
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", default="150,1000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for units in (int(n) for n in args.units.split(",")):
        bench(units, args.repeat)


if __name__ == "__main__":
    main()
