"""How long the everyday commands take beyond the interpreter's start, and how much of it is importing.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/commands_bench.py [--units 19] [--repeat 7]

With a config of N units (bench/common.make_config; 19 are the shipped ones) and an existing SQLite store
(as `baocao run` leaves it), it times in fresh processes, against `python -c pass` (the interpreter's start):
- `baocao --help`, `baocao check-config`, `baocao status --period 2026-Q4`;
- for each, the import time alone (`python -X importtime`: the sum over the modules it loads), and the
  heaviest top-level packages it loads, so that what a command pays for and does not use shows;
- in this process, the parts of check-config that are not imports: loading the YAML and checking the
  DOCX template (a test render).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PERIOD, ROOT, make_config, ratio, timed  # noqa: E402

sys.path.insert(0, str(ROOT))  # this checkout's scheduler, here as in the fresh processes (cwd=ROOT)


def ms(pair: tuple[float, float]) -> str:
    return f"{pair[0] * 1000:7.1f} ms median, {pair[1] * 1000:7.1f} ms min"


def import_profile(args: list[str], env: dict) -> tuple[float, dict[str, float]]:
    """(seconds importing in all, seconds per top-level package) from -X importtime's self times."""
    run = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True)
    total, per_package = 0.0, defaultdict(float)
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:"):].split("|")
        self_time = int(self_us) / 1e6
        total += self_time
        per_package[name.strip().split(".")[0]] += self_time
    return total, dict(per_package)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=19)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from scheduler.store import db

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", args.units)
        url = f"sqlite:///{tmp}/b.db"
        db.open_store(url).dispose()
        env = dict(os.environ, BAOCAO_DATABASE_URL=url, BAOCAO_CONFIG_DIR=str(tmp_path / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key")
        commands = {
            "--help": ["-m", "scheduler", "--help"],
            "check-config": ["-m", "scheduler", "check-config"],
            f"status --period {PERIOD}": ["-m", "scheduler", "status", "--period", PERIOD],
        }

        def fresh(*code: str):
            return lambda: subprocess.run([sys.executable, *code], env=env, cwd=ROOT, check=True, capture_output=True)

        for command in commands.values():
            fresh(*command)()  # once untimed: bytecode caches
        bare = timed(fresh("-c", "pass"), args.repeat)
        bare_imports, _ = import_profile(["-c", "pass"], env)
        results = {name: (timed(fresh(*command), args.repeat), import_profile(command, env))
                   for name, command in commands.items()}

        # check-config's own work, in this (warm) process.
        from scheduler.config.load import load_config
        from scheduler.report.render import check_template

        config_time = timed(lambda: load_config(tmp_path / "config"), args.repeat)
        config = load_config(tmp_path / "config")
        start = time.perf_counter()
        check_template(config, ROOT / "templates" / "docx")
        first_check = time.perf_counter() - start
        template_time = timed(lambda: check_template(config, ROOT / "templates" / "docx"), args.repeat)

    print(f"units: {args.units}, repeat: {args.repeat}")
    print(f"bare interpreter (python -c pass): {ms(bare)}; its own imports {bare_imports * 1000:.1f} ms")
    for name, (whole, (imports, packages)) in results.items():
        print(f"`baocao {name}`, fresh process: {ms(whole)}")
        print(f"  beyond the interpreter's start: {(whole[0] - bare[0]) * 1000:7.1f} ms median "
              f"(the whole command {ratio(whole[0], bare[0])})")
        print(f"  importing (-X importtime, beyond python -c pass): {(imports - bare_imports) * 1000:7.1f} ms")
        heaviest = sorted(((t, p) for p, t in packages.items() if p != "encodings"), reverse=True)[:8]
        print("  heaviest packages: " + ", ".join(f"{p} {t * 1000:.0f} ms" for t, p in heaviest))
    print("check-config's work beyond imports (warm, this process):")
    print(f"  loading the YAML ({args.units} units): {ms(config_time)}")
    print(f"  checking the DOCX template: first call {first_check * 1000:.1f} ms; then {ms(template_time)}")


if __name__ == "__main__":
    main()
