"""What an idle `baocao run` holds and spends: its memory (RSS) and CPU over a minute, for 19 and 1,000 units.

Prints figures; asserts nothing (speed and memory are measured here, never in unit tests).

    .venv/bin/python bench/idle_bench.py [--units 19,1000] [--seconds 60]

For each unit count it starts a real `baocao run` in dry-run (no SMTP host: mail is written to an outbox
folder), with a temp SQLite store, a temp config (bench/common.make_config) and BAOCAO_HTTP_PORT set to a
free port; waits until /healthz answers and reports a first tick, and the outbox has stopped growing (10 s
without a new mail, the process not busy); then reads,
over `--seconds`, the process's (and any child's) RSS and peak RSS from /proc/<pid>/status (VmRSS, VmHWM)
and its CPU time from the scheduler's clock (/proc/<pid>/task/*/schedstat). The baseline is a bare
`python -c "import time; time.sleep(60)"` measured the same way in the same run; a second one,
an asyncio loop that wakes once a second and does nothing, says what waking costs on this
machine (on a VM, a wake from idle can cost milliseconds of CPU: the service's idle CPU is
mostly its wakes, so it is read against this).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, make_config, ratio  # noqa: E402

sys.path.insert(0, str(ROOT))  # this checkout's scheduler, here as in the service (cwd=ROOT)
TICKS = os.sysconf("SC_CLK_TCK")
WAKER = ("import asyncio\n"
         "async def main():\n"
         "    while True:\n"
         "        await asyncio.sleep(1)\n"
         "asyncio.run(main())\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """The process and its descendants (a web worker, a converter), as /proc lists them now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return found


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """Time on a CPU, summed over the process's threads, from the scheduler's own clock
    (/proc/<pid>/task/*/schedstat, in ns): stat's utime and stime are sampled at clock ticks, and a
    process that wakes for a millisecond at a time is mostly missed by them."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as fh:
                total += int(fh.read().split()[0])
    except OSError:  # no schedstat (or the process went): the ticks
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat(5))
    return total / 1e9


def measure(pid: int, seconds: float) -> dict:
    """RSS (sum over the tree, sampled each second: the largest seen), peak RSS, CPU seconds spent."""
    pids = tree(pid)
    cpu_start = sum(cpu_seconds(p) for p in pids)
    wall_start = time.monotonic()
    rss_max = 0
    while time.monotonic() - wall_start < seconds:
        rss_max = max(rss_max, sum(status_kb(p, "VmRSS") for p in tree(pid)))
        time.sleep(1)
    pids = tree(pid)
    wall = time.monotonic() - wall_start
    cpu = sum(cpu_seconds(p) for p in pids) - cpu_start
    return {"rss_mb": rss_max / 1024, "hwm_mb": sum(status_kb(p, "VmHWM") for p in pids) / 1024,
            "cpu_s": cpu, "cpu_pct": 100 * cpu / wall, "processes": len(pids)}


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return json.loads(answer.read())
    except Exception:  # noqa: BLE001 - not up yet (or 503 while the store is busy): ask again
        return None


def service(units: int, seconds: float) -> tuple[dict, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", units)
        port = free_port()
        env = dict(os.environ, BAOCAO_DATABASE_URL=f"sqlite:///{tmp}/b.db", BAOCAO_CONFIG_DIR=str(tmp_path / "config"),
                   BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_SECRET_KEY_FILE=f"{tmp}/key",
                   BAOCAO_OUTBOX_DIR=f"{tmp}/outbox", BAOCAO_HTTP_PORT=str(port), BAOCAO_LOG_LEVEL="WARNING")
        env.pop("BAOCAO_SMTP_HOST", None)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "run"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while (state := health(port)) is None or not state.get("last_tick"):
                if proc.poll() is not None:
                    raise SystemExit(f"baocao run exited ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
                if time.monotonic() - started > 600:
                    raise SystemExit("baocao run did not report a first tick within 10 minutes")
                time.sleep(0.5)
            # The first tick is recorded before its mail is all written: idle is when the outbox stops
            # growing (10 s without a new file) and the process has spent no CPU for a second.
            outbox, still = -1, 0
            while still < 10 and time.monotonic() - started < 900:
                count = len(list((tmp_path / "outbox").glob("*.eml"))) if (tmp_path / "outbox").is_dir() else 0
                before = cpu_seconds(proc.pid)
                time.sleep(1)
                busy = cpu_seconds(proc.pid) - before > 0.05
                still = 0 if count != outbox or busy else still + 1
                outbox = count
            ready = time.monotonic() - started
            return measure(proc.pid, seconds), ready, outbox
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def baseline(code: str, seconds: float) -> dict:
    """`python -c code`, measured as the service is."""
    proc = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(1)
    try:
        return measure(proc.pid, seconds)
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", default="19,1000")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    bare = baseline(f"import time; time.sleep({args.seconds + 5})", args.seconds)
    print(f"baseline `python -c \"import time; time.sleep(…)\"` over {args.seconds:.0f} s: RSS {bare['rss_mb']:.1f} MB, "
          f"peak {bare['hwm_mb']:.1f} MB, CPU {bare['cpu_s'] * 1000:.1f} ms ({bare['cpu_pct']:.3f}%)")
    woken = baseline(WAKER, args.seconds)
    print(f"baseline an asyncio loop waking once a second, over {args.seconds:.0f} s: CPU {woken['cpu_s'] * 1000:.1f} ms "
          f"({woken['cpu_pct']:.3f}%): {woken['cpu_s'] / args.seconds * 1000:.2f} ms of CPU per wake on this machine")
    for units in (int(n) for n in args.units.split(",")):
        idle, ready, outbox = service(units, args.seconds)
        print(f"`baocao run`, {units} units, idle after its first tick ({ready:.1f} s to idle; {outbox} mails in the "
              f"outbox), {idle['processes']} process(es), over {args.seconds:.0f} s:")
        print(f"  RSS {idle['rss_mb']:.1f} MB ({ratio(idle['rss_mb'], bare['rss_mb'])}); "
              f"beyond the bare interpreter {idle['rss_mb'] - bare['rss_mb']:.1f} MB")
        print(f"  peak RSS (VmHWM) {idle['hwm_mb']:.1f} MB ({ratio(idle['hwm_mb'], bare['hwm_mb'])})")
        print(f"  CPU {idle['cpu_s'] * 1000:.1f} ms ({idle['cpu_pct']:.3f}% of one core; the baselines "
              f"{bare['cpu_pct']:.3f}% asleep, {woken['cpu_pct']:.3f}% waking once a second: "
              f"{ratio(idle['cpu_s'], woken['cpu_s']) if woken['cpu_s'] else 'n/a'})")


if __name__ == "__main__":
    main()
