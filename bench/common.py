"""What every bench script needs: a config with N units, a store they have reported into, and
timing helpers. Scripts in bench/ print figures and assert nothing: speed is measured here, each
figure against a baseline taken in the same run, never in unit tests."""

from __future__ import annotations

import random
import shutil
import statistics
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-Q4"


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, min) seconds of `repeat` calls of fn."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def make_config(directory: Path, units: int) -> None:
    """The shipped config; made-up units appended to units.yaml until there are `units` active."""
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


def fill_store(url: str, config_dir: Path, units: int, period_key: str = PERIOD) -> int:
    """Every unit (up to `units`) has returned figures and a few paragraphs of narrative, on time."""
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
    period = config.period(period_key)
    with Session(engine) as session:
        db.sync_config(session, config, now)
        reporters = [u for u in config.units_for(period)][:units]
        for unit in reporters:
            figures = {}
            for ind in indicators_for(config, period):
                den = rng.randint(10, 2000)
                figures[ind.id] = {"num": rng.randint(den * 7 // 10, den), "den": den}
            narrative = {h.id: f"{unit.name}: nội dung {h.title.lower()}. " * 8 for h in headings_for(config, period)}
            session.add(Submission(period_key=period_key, unit_code=unit.code, revision=1, received_at=now,
                                   on_time=True, channel="form", figures=figures, narrative=narrative))
        session.commit()
    engine.dispose()
    return len(reporters)


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}× the baseline" if baseline else "n/a"
