"""How fast one `baocao remind` tick delivers its notices, and how that grows with the units.

Prints figures; asserts nothing (speed is measured here, never in unit tests).

    .venv/bin/python bench/tick_bench.py [--sizes 150,500,1000,2000] [--units 1000] [--profile]

A local aiosmtpd server runs in its own process with a minimal handler (it counts, keeps each
message's Message-ID, recipients and size; it prints nothing). For every size, a fresh SQLite file
and a fresh config (bench/common.make_config) are made, and `python -m scheduler remind` runs in a
fresh process, mailing that server, with the clock pinned by `faketime` to 08:00 on the first
notice day of 2026-Q4 (found with `baocao plan --json`), when every unit is owed a notice.

(a) The tick for --units (1,000): the messages the server received, seconds of the whole command,
    msg/s, and msg/s over the delivery itself (the server's first to last message); against two
    baselines in the same run, the same number of messages of the same size (one message the tick
    sent, taken once) to the same server with smtplib: a new connection per message, and one
    connection for all. Goal: >= 500 msg/s and >= 2x the per-message baseline.
    Exactly once: distinct Message-IDs, and one message per unit (its focal points' addresses).
(b) The same tick for each of --sizes: seconds, ms per unit, and the growth exponent (the log-log
    slope between the smallest and the largest size). Goal: linear (1.0), 2,000 units <= 5 s.
(c) With --profile: the tick for --units in this process under cProfile (the same App path as
    `remind`, the clock injected), the top 25 entries by cumulative time.

BAOCAO_SMTP_CONNECTIONS and BAOCAO_LOG_LEVEL, if set, are passed on to the tick.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing
import os
import re
import secrets
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PERIOD, ROOT, make_config, ratio  # noqa: E402

TZ_NAME = "Asia/Ho_Chi_Minh"
HOST = "127.0.0.1"
_MESSAGE_ID = re.compile(rb"^message-id:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


# ---------------------------------------------------------------- the SMTP server (its own process)

def _serve(port: int, control) -> None:
    """Accept everything, as fast as aiosmtpd can; answer ("reset" | "stats") on the pipe."""
    from aiosmtpd.controller import Controller

    class Keeper:
        def __init__(self):
            self.reset()

        def reset(self):
            self.ids, self.rcpts, self.sizes, self.sample, self.first, self.last = [], [], [], None, None, None

        async def handle_DATA(self, server, session, envelope):
            data = envelope.original_content or envelope.content
            head = data[:data.find(b"\r\n\r\n")]
            found = _MESSAGE_ID.search(head)
            self.ids.append(found.group(1).decode("ascii", "replace") if found else None)
            self.rcpts.append(tuple(sorted(r.lower() for r in envelope.rcpt_tos)))
            self.sizes.append(len(data))
            if self.sample is None:
                self.sample = (envelope.mail_from, bytes(data))
            self.last = time.monotonic()
            self.first = self.first or self.last
            return "250 OK"

    keeper = Keeper()
    controller = Controller(keeper, hostname=HOST, port=port, enable_SMTPUTF8=True)
    controller.start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "reset":
            keeper.reset()
            control.send("ok")
        elif command == "stats":
            span = (keeper.last - keeper.first) if keeper.first else 0.0
            control.send({"ids": keeper.ids, "rcpts": keeper.rcpts, "sizes": keeper.sizes,
                          "sample": keeper.sample, "span": span})
        else:
            controller.stop()
            control.send("stopped")
            return


class Server:
    def __init__(self):
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = s.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(self.port, theirs), daemon=True)
        self.process.start()
        theirs.close()  # the server's end is its own now: if it dies, recv() says so instead of waiting
        try:
            assert self._pipe.recv() == "ready"  # start-up handshake, not a measurement
        except EOFError:
            raise SystemExit("the bench's SMTP server did not start (see above)") from None

    def ask(self, command: str):
        self._pipe.send(command)
        return self._pipe.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(5)


# ---------------------------------------------------------------- the tick in a fresh process

def tick_env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOCAO_") or k in
           ("BAOCAO_SMTP_CONNECTIONS", "BAOCAO_LOG_LEVEL")}
    key = tmp / "secret_key"  # as `run` leaves it: the tick reads the key file, as in production
    key.write_text(secrets.token_urlsafe(48))
    key.chmod(0o600)
    env.update(TZ=TZ_NAME, BAOCAO_DATABASE_URL=f"sqlite:///{tmp}/baocao.db", BAOCAO_CONFIG_DIR=str(tmp / "config"),
               BAOCAO_TEMPLATES_DIR=str(ROOT / "templates"), BAOCAO_OUTBOX_DIR=str(tmp / "outbox"),
               BAOCAO_SECRET_KEY_FILE=str(key), BAOCAO_SMTP_HOST=HOST, BAOCAO_SMTP_PORT=str(port),
               BAOCAO_SMTP_SECURITY="none", BAOCAO_MAIL_FROM="baocao@example.org")
    return env


def fresh_store(url: str) -> None:
    """An empty store at the current schema, as `baocao run` creates it (remind needs one)."""
    from scheduler.store import db

    db.open_store(url).dispose()


def faketime(at: datetime, *command: str) -> list[str]:
    # '@': start at that instant and let the clock run (asyncio's timers need it to move).
    return ["faketime", "-f", f"@{at:%Y-%m-%d %H:%M:%S}", *command]


def first_notice(server: Server) -> datetime:
    """08:00 on the first day of 2026-Q4's notices, as `baocao plan` previews it from 1 October."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", 0)
        env = tick_env(tmp_path, server.port)
        fresh_store(env["BAOCAO_DATABASE_URL"])
        out = subprocess.run(faketime(datetime(2026, 10, 1), sys.executable, "-m", "scheduler", "plan", "--from",
                                      "2026-10-01", "--to", "2026-12-31", "--json"),
                             env=env, check=True, capture_output=True, text=True).stdout
    notices = [p["at"] for p in json.loads(out) if p["period"] == PERIOD and p["kind"] == "notice"]
    return datetime.fromisoformat(min(notices)).replace(tzinfo=None)  # wall clock in TZ_NAME


def expected_rcpts(config_dir: Path) -> list[tuple[str, ...]]:
    """One notice per unit that owes the period, to its focal points."""
    from scheduler.config.load import load_config

    config = load_config(config_dir)
    return [tuple(sorted(p.email.lower() for p in u.focal_points)) for u in config.units_for(config.period(PERIOD))]


def run_tick(server: Server, units: int, at: datetime) -> dict:
    """The tick on a fresh store, then the same command again on it: that second tick owes nothing,
    so it is the command's fixed cost (interpreter, imports, config, sync, planner) and a check that
    a restart sends nothing twice."""
    remind = faketime(at, sys.executable, "-m", "scheduler", "remind")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", units)
        env = tick_env(tmp_path, server.port)
        fresh_store(env["BAOCAO_DATABASE_URL"])
        wanted = expected_rcpts(tmp_path / "config")
        server.ask("reset")
        start = time.perf_counter()
        done = subprocess.run(remind, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        stats = server.ask("stats")
        start = time.perf_counter()
        again = subprocess.run(remind, env=env, capture_output=True, text=True)
        idle = time.perf_counter() - start
        after = server.ask("stats")
    got = Counter(after["rcpts"])
    want = Counter(wanted)
    return dict(units=units, seconds=seconds, idle=idle, rc=(done.returncode, again.returncode),
                said=(done.stdout.strip() or done.stderr.strip()), messages=len(stats["ids"]),
                repeated=len(after["ids"]) - len(stats["ids"]), span=stats["span"], sample=stats["sample"],
                sizes=stats["sizes"], distinct_ids=len({i for i in after["ids"] if i}), no_id=after["ids"].count(None),
                owed=len(wanted), twice=sum(n - 1 for n in got.values() if n > 1),
                missing=sum((want - got).values()), unexpected=sum((got - want).values()),
                stderr_tail=[line for run in (done, again) if run.returncode
                             for line in run.stderr.strip().splitlines()[-3:]])


def exactly_once(r: dict) -> str:
    ok = (r["messages"] == r["owed"] == r["distinct_ids"] and not (r["repeated"] or r["twice"] or r["missing"]
                                                                    or r["unexpected"]))
    return (f"{'exactly once' if ok else 'NOT exactly once'}: {r['messages']} messages, {r['distinct_ids']} distinct "
            f"Message-IDs ({r['no_id']} without), {r['owed']} units owed; sent twice {r['twice']}, missing "
            f"{r['missing']}, to unexpected recipients {r['unexpected']}; the second tick sent {r['repeated']}")


# ---------------------------------------------------------------- the baselines

def baseline(server: Server, count: int, sample: tuple[str, bytes], one_connection: bool) -> tuple[float, int]:
    """`count` copies of one message the tick sent (built once), each to its own recipient."""
    sender, raw = sample
    server.ask("reset")
    start = time.perf_counter()
    if one_connection:
        with smtplib.SMTP(HOST, server.port) as smtp:
            for n in range(count):
                smtp.sendmail(sender, [f"dv{n}.daumoi@example.org"], raw)
    else:
        for n in range(count):
            with smtplib.SMTP(HOST, server.port) as smtp:
                smtp.sendmail(sender, [f"dv{n}.daumoi@example.org"], raw)
    seconds = time.perf_counter() - start
    return seconds, len(server.ask("stats")["ids"])


def baselines(server: Server, count: int, sample: tuple[str, bytes]) -> dict[str, tuple[float, int]]:
    return {"per": baseline(server, count, sample, one_connection=False),
            "one": baseline(server, count, sample, one_connection=True)}


# ---------------------------------------------------------------- (c) the profile

def profile(server: Server, units: int, at: datetime) -> None:
    import asyncio
    import cProfile
    import pstats

    from scheduler.clock import TZ
    from scheduler.cli.main import App
    from scheduler.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        make_config(tmp_path / "config", units)
        env = tick_env(tmp_path, server.port)
        fresh_store(env["BAOCAO_DATABASE_URL"])
        values = {k[len("BAOCAO_"):].lower(): v for k, v in env.items() if k.startswith("BAOCAO_")}
        now = at.replace(tzinfo=TZ)
        start = time.monotonic()  # the injected clock runs on from `at`, as faketime's does
        app = App(Settings(**values), lambda: now + timedelta(seconds=time.monotonic() - start))
        server.ask("reset")
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        report = asyncio.run(app.service().tick())
        profiler.disable()
        seconds = time.perf_counter() - began
    print(f"\n(c) cProfile of the {units}-unit tick in this process: {seconds:.2f} s under the profiler, "
          f"{len(server.ask('stats')['ids'])} messages; the tick says: {report}")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(25)
    print("  and the top 15 by own time (the loop's epoll wait is time spent waiting for the SMTP server):")
    stats.sort_stats("tottime").print_stats(15)


# ---------------------------------------------------------------- main

def tree() -> str:
    """Which code was measured: the commit, and the files changed since (others edit the tree)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "scheduler", "templates"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line[3:] for line in changed if line.strip()]
    return f"commit {head}" + (f", uncommitted changes in {', '.join(changed)}" if changed else ", clean")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="150,500,1000,2000", help="unit counts for (b), comma-separated")
    parser.add_argument("--units", type=int, default=1000, help="the size measured against the baselines in (a)")
    parser.add_argument("--profile", action="store_true", help="(c): cProfile the --units tick in this process")
    args = parser.parse_args()
    if importlib.util.find_spec("aiosmtpd") is None:  # the bench's SMTP server
        raise SystemExit("bench/tick_bench.py needs aiosmtpd, which the tests' set-up installs: "
                         ".venv/bin/pip install -e '.[test]'")
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {args.units})

    server = Server()
    try:
        at = first_notice(server)
        connections = os.environ.get("BAOCAO_SMTP_CONNECTIONS", "default")
        print(f"clock pinned with faketime to {at:%d/%m/%Y %H:%M} ({TZ_NAME}): first notice day of {PERIOD}; "
              f"aiosmtpd on {HOST}:{server.port} in its own process; BAOCAO_SMTP_CONNECTIONS={connections}")
        print(f"code measured: {tree()}")
        print(f"load average at start (the machine is shared; figures move with it): {load()}")
        # Untimed: bytecode caches of freshly edited modules, and one message the tick sends (the
        # baselines' message, so they can run before the measured tick as well as after it).
        warm = run_tick(server, 0, at)
        print(f"  warm-up tick, shipped config: {warm['seconds']:6.2f} s, {warm['messages']} messages")
        sample = warm["sample"]
        results, before, after = {}, None, None
        for units in sizes:
            if units == args.units and sample:
                before = baselines(server, units, sample)
            results[units] = r = run_tick(server, units, at)
            if units == args.units and sample:
                after = baselines(server, r["messages"] or units, sample)
            print(f"  tick, {units:5d} units: {r['seconds']:6.2f} s, {r['messages']} messages; the same command "
                  f"again (nothing owed): {r['idle']:6.2f} s, {r['repeated']} messages (rc {r['rc'][0]}, {r['rc'][1]}); "
                  f"the first says: {r['said'].splitlines()[-1] if r['said'] else ''}")
            for line in r["stderr_tail"]:
                print(f"      stderr: {line}")

        a = results[args.units]
        count = a["messages"]
        print(f"\n(a) one `remind` tick, {args.units} units")
        print(f"  {exactly_once(a)}")
        if count and before and after:
            mean_size = sum(a["sizes"]) / len(a["sizes"])
            tick_rate, delivery_rate = count / a["seconds"], count / a["span"] if a["span"] else float("nan")
            print(f"  messages: mean {mean_size / 1024:.1f} KiB; the baselines send copies of one message the tick "
                  f"sends ({len(sample[1]) / 1024:.1f} KiB), just before and just after the tick")
            print(f"  tick, whole command:                 {a['seconds']:6.2f} s  {tick_rate:7.1f} msg/s")
            print(f"  tick, delivery (the server's first to last message): {a['span']:6.2f} s  {delivery_rate:7.1f} msg/s")
            rates = {}
            for key, label in (("per", "new connection each"), ("one", "one connection     ")):
                (s1, n1), (s2, n2) = before[key], after[key]
                rates[key] = (n1 + n2) / (s1 + s2)
                print(f"  smtplib, {label}:  {n1 / s1:7.1f} msg/s before, {n2 / s2:7.1f} after "
                      f"({n1} + {n2} received); together {rates[key]:7.1f} msg/s")
            print(f"  tick msg/s (whole command) vs new connection each: {ratio(tick_rate, rates['per'])}; "
                  f"vs one connection: {ratio(tick_rate, rates['one'])}")
            print(f"  tick msg/s (delivery only) vs new connection each: {ratio(delivery_rate, rates['per'])}; "
                  f"vs one connection: {ratio(delivery_rate, rates['one'])}")
            print(f"  goal: >= 500 msg/s and >= 2× the per-message baseline; whole command {tick_rate:.0f} msg/s, "
                  f"{tick_rate / rates['per']:.2f}×; delivery only {delivery_rate:.0f} msg/s, "
                  f"{delivery_rate / rates['per']:.2f}×")
        else:
            print("  the tick sent nothing: no baseline to compare with")

        print("\n(b) the tick by size")
        for units in sizes:
            r = results[units]
            beyond = r["seconds"] - r["idle"]
            print(f"  {units:5d} units: {r['seconds']:6.2f} s  {r['seconds'] / units * 1000:6.2f} ms per unit; "
                  f"beyond the same command with nothing owed: {beyond:6.2f} s  {beyond / units * 1000:6.2f} ms per "
                  f"unit\n         {exactly_once(r)}")
        small, large = sizes[0], sizes[-1]
        if large > small:
            def slope(key) -> float:
                a, b = key(results[small]), key(results[large])
                return math.log(b / a) / math.log(large / small) if a > 0 and b > 0 else float("nan")

            print(f"  growth exponent {small} → {large} units (1.00 is linear): whole command "
                  f"{slope(lambda r: r['seconds']):.2f}; beyond the nothing-owed command "
                  f"{slope(lambda r: r['seconds'] - r['idle']):.2f}; goal: linear, 2,000 units <= 5 s")

        print(f"load average at the end: {load()}")
        if args.profile:
            profile(server, args.units, at)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
