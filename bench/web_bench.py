"""The web under load, against a real `baocao run` (dry run: mail goes to an outbox folder).

(a) wrk, 50 connections for ~10 s: /healthz (the baseline), a unit's form GET spread over every
    unit's link, and a mix with 10% valid POSTs (CSRF token taken from a GET, each POST a new
    revision); req/s, p50/p99 and the ratio to /healthz;
(b) an open-loop paced client: 50 clients offering 50 req/s in all for 20 s, latency measured from
    each request's intended send time (coordinated omission not hidden);
(c) the office's page /vp/ at 150 and 2,000 units: median ms and the growth exponent;
(d) form GET latency while the first tick after start sends 1,000 notices (the service under
    faketime at the first notice day of 2026-Q4).

Prints figures and asserts nothing. `.venv/bin/python bench/web_bench.py [--only a,b,c,d] [--busy-core]`.
Unit links are made as the mails make them (collect.links.link_token under the service's key)
before the service starts; the tick later finds the same rows."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html.parser
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PERIOD, ROOT, fill_store, make_config, ratio  # noqa: E402

SECRET = "bench-secret-key-" + "x" * 40
PASSWORD = "mat-khau-thu-tai"
WRK = shutil.which("wrk")
FAKETIME = shutil.which("faketime")
BASE_DAY = "2026-12-01 09:00:00"  # (a)-(c): Q4 open, every unit already reported: a quiet first tick
CSRF_COOKIE = "c" * 43  # any 43-character cookie is taken as the browser's CSRF cookie


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A `baocao run` on a temp config of `units` units and a temp SQLite store."""

    def __init__(self, units: int, fill: bool, at: str | None):
        self.dir = Path(tempfile.mkdtemp(prefix="baocao-webbench-"))
        self.units, self.port = units, free_port()
        self.config_dir, self.outbox = self.dir / "config", self.dir / "outbox"
        self.url = f"sqlite:///{self.dir / 'baocao.db'}"
        make_config(self.config_dir, units)
        if fill:
            fill_store(self.url, self.config_dir, units)
        self.tokens = self._links()
        from scheduler.web.security import hash_password

        self.env = os.environ | {
            "BAOCAO_DATABASE_URL": self.url, "BAOCAO_CONFIG_DIR": str(self.config_dir),
            "BAOCAO_TEMPLATES_DIR": str(ROOT / "templates"), "BAOCAO_OUTBOX_DIR": str(self.outbox),
            "BAOCAO_SECRET_KEY": SECRET, "BAOCAO_HTTP_PORT": str(self.port), "BAOCAO_LOG_LEVEL": "WARNING",
            "BAOCAO_OFFICE_PASSWORD_HASH": hash_password(PASSWORD)}
        self.env.pop("BAOCAO_SMTP_HOST", None)  # dry run whatever the caller's environment says
        self.at = at
        self.proc: subprocess.Popen | None = None

    def _links(self) -> list[str]:
        """Every unit's link for the period, made in the links table as a mail would make it."""
        from sqlmodel import Session

        from scheduler.clock import TZ
        from scheduler.collect import links
        from scheduler.config.load import load_config
        from scheduler.store import db

        config = load_config(self.config_dir)
        engine = db.open_store(self.url)
        now = datetime(2026, 11, 1, 9, tzinfo=TZ)
        with Session(engine) as session:
            db.sync_config(session, config, now)
            tokens = [links.link_token(session, SECRET.encode(), PERIOD, u.code, now)
                      for u in config.units_for(config.period(PERIOD))]
            session.commit()
        engine.dispose()
        return tokens

    def start(self, wait_tick: bool = True) -> float:
        cmd = [str(ROOT / ".venv/bin/baocao"), "run"]
        if self.at and FAKETIME:
            cmd = [FAKETIME, "-f", f"@{self.at}"] + cmd
        self.log = open(self.dir / "service.log", "wb")
        started = time.monotonic()
        # A session of its own: faketime forks the service and its web process, and a signal to
        # faketime's pid alone would leave both running.
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        while not self._answers("/suc-khoe"):
            if self.proc.poll() is not None:
                raise SystemExit(f"baocao run exited: see {self.dir / 'service.log'}")
            time.sleep(0.05)
        up = time.monotonic() - started
        if wait_tick:  # the first tick after start done: nothing else competes with the load
            while json.loads(get(self.port, "/healthz")[2] or b"{}").get("last_tick") is None:
                time.sleep(0.2)
        return up

    def _answers(self, path: str) -> bool:
        try:
            return get(self.port, path, timeout=1)[0] == 200
        except OSError:
            return False

    def _group(self) -> list[int]:
        """The service's processes (its web process too), without faketime's wrapper."""
        wrapper = self.proc.pid if self.at and FAKETIME else None
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == wrapper:
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":  # in its process group, alive
                pids.append(int(entry.name))
        return pids

    def rss_mb(self) -> float:
        total = 0
        for pid in self._group():
            try:
                total += int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])
            except (OSError, IndexError):
                pass
        return total / 1024 if total else float("nan")

    def stop(self) -> None:
        if self.proc is not None:
            import signal

            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while self._group() and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def get(port: int, path: str, headers: dict | None = None, timeout: float = 30, method: str = "GET",
        body: bytes | None = None) -> tuple[int, dict, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class FormFields(html.parser.HTMLParser):
    """The fields a browser would post from the page's form, as shown."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._area: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._area = a.get("name")
            self.fields.append((self._area, ""))

    def handle_data(self, data):
        if self._area:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._area = None


def post_body(port: int, token: str) -> str | None:
    """A valid POST body for the unit's form (its CSRF token for CSRF_COOKIE), its narrative
    ending in `@@N@@` for the Lua script to make each POST a new revision; None if none made."""
    status, _, page = get(port, f"/f/{token}", {"Cookie": f"baocao_csrf={CSRF_COOKIE}"})
    if status != 200:
        return None
    parser = FormFields()
    parser.feed(page.decode())
    fields = dict(parser.fields)
    fields["submitted_by"] = "Người thử tải"
    area = next((k for k in fields if k.startswith("h__")), None)
    if area is None:
        return None
    fields[area] = fields[area] + " lần @@N@@"
    return urllib.parse.urlencode(fields).replace(urllib.parse.quote_plus("@@N@@"), "@@N@@")


LUA = r"""
local paths, bodies, post_every = {}, {}, %(post_every)d
local counter = 0
init = function(args)
  for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
  if post_every > 0 then for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 1000)
end
request = function()
  counter = counter + 1
  if post_every > 0 and counter %% post_every == 0 then
    local i = math.random(#bodies)
    local body = bodies[i]:gsub("@@N@@", tostring(counter) .. "-" .. tostring(math.random(1e9)))
    return wrk.format("POST", paths[i], {["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "baocao_csrf=%(cookie)s"}, body)
  end
  return wrk.format("GET", paths[math.random(#paths)])
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %%d, \"seconds\": %%f, \"p50\": %%f, \"p99\": %%f, \"max\": %%f, " ..
    "\"errors\": %%d, \"non2xx\": %%d}\n", summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def wrk(port: int, paths: list[str], seconds: int, workdir: Path, bodies=None, post_every=0) -> dict | None:
    """wrk -c50 over `paths` (picked at random per request); with post_every N, every Nth request
    is a POST of bodies[i] to paths[i]."""
    if WRK is None:
        return None
    script = workdir / f"wrk-{post_every}.lua"
    path_file, body_file = workdir / f"paths-{post_every}.txt", workdir / "bodies.txt"
    path_file.write_text("\n".join(paths) + "\n")
    # Body line i is for path i: the POST's CSRF token is bound to its link.
    body_file.write_text("\n".join(bodies or []) + "\n")
    script.write_text(LUA % {"paths": path_file, "bodies": body_file, "post_every": post_every, "cookie": CSRF_COOKIE})
    cmd = [WRK, "-t2", "-c50", f"-d{seconds}s", "--timeout", "30s", "-s", str(script),
           f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("JSON ")), None)
    if line is None:
        print(out)
        return None
    got = json.loads(line[5:])
    got["rps"] = got["requests"] / got["seconds"]
    return got


def show(name: str, r: dict | None, base: dict | None = None) -> None:
    if r is None:
        print(f"  {name:<34} (not measured)")
        return
    extra = f"   {ratio(r['rps'], base['rps'])} (/healthz)" if base else ""
    errors = f"  errors {r['errors']} non-2xx/3xx {r['non2xx']}" if r.get("errors") or r.get("non2xx") else ""
    print(f"  {name:<34} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:7.1f} ms"
          f"   max {r['max']:7.1f} ms{extra}{errors}")


async def paced(port: int, paths: list[str], rate: float, clients: int, seconds: float | None,
                until=None) -> dict:
    """Open loop: client k sends its j-th request at t0 + (j * clients + k) / rate on its own
    keep-alive connection; latency runs from that intended instant, so a stalled server is
    charged for every request it kept waiting, not only the one it was answering."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    t0 = time.perf_counter() + 0.2
    stop_at = [t0 + seconds if seconds else math.inf]

    async def client(k: int) -> None:
        reader = writer = None
        j = 0
        while True:
            intended = t0 + (j * clients + k) / rate
            if intended >= stop_at[0]:
                break
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            path = paths[(j * clients + k) % len(paths)]
            for _ in range(2):  # once more on a fresh connection if the kept one was closed
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                    await reader.readexactly(length)
                    status = int(head.split(b" ", 2)[1])
                    if b"connection: close" in head.lower():
                        writer.close()
                        writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, AttributeError):
                    writer, status = None, -1
            latencies.append((time.perf_counter() - intended) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            j += 1
        if writer is not None:
            writer.close()

    async def watch() -> None:
        while not until():
            await asyncio.sleep(0.25)
        stop_at[0] = time.perf_counter()

    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    if until is not None:
        tasks.append(asyncio.create_task(watch()))
    await asyncio.gather(*tasks)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")  # noqa: E731
    return {"n": len(latencies), "p50": q(0.5), "p99": q(0.99), "max": latencies[-1] if latencies else float("nan"),
            "seconds": time.perf_counter() - t0, "statuses": statuses}


def show_paced(name: str, r: dict) -> None:
    bad = {k: v for k, v in r["statuses"].items() if k != 200}
    print(f"  {name:<34} {r['n']} requests in {r['seconds']:.1f} s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:7.1f} ms"
          f"   max {r['max']:7.1f} ms" + (f"   non-200: {bad}" if bad else ""))


def login(port: int) -> str:
    """The office's session cookie, logged in as a browser would (CSRF token from the login page)."""
    cookie = f"baocao_csrf={CSRF_COOKIE}"
    _, _, page = get(port, "/vp/dang-nhap", {"Cookie": cookie})
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    body = urllib.parse.urlencode({"csrf": csrf, "user": "vanphong", "password": PASSWORD}).encode()
    status, headers, _ = get(port, "/vp/dang-nhap", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                             method="POST", body=body)
    session = re.search(r"baocao_vp=([^;]+)", headers.get("set-cookie", ""))
    if status != 303 or session is None:
        raise SystemExit(f"office login failed: {status}")
    return f"{cookie}; baocao_vp={session.group(1)}"


def part_a_b(only: set[str]) -> None:
    units = 1000
    print(f"(a)/(b) form under load, {units} units, every unit reported once (fill_store)")
    svc = Service(units, fill=True, at=BASE_DAY)
    try:
        svc.start()
        print(f"  service RSS {svc.rss_mb():.0f} MB; form page {len(get(svc.port, '/f/' + svc.tokens[0])[2]) / 1024:.1f} KB")
        if "a" in only:
            if WRK is None:
                print("  wrk not found: apt-get install wrk  (skipping the closed-loop figures)")
            else:
                health = wrk(svc.port, ["/healthz"], 10, svc.dir)
                show("GET /healthz (baseline)", health)
                form = wrk(svc.port, [f"/f/{t}" for t in svc.tokens], 10, svc.dir)
                show("GET /f/<token>", form, health)
                picked = svc.tokens[:200]
                bodies = [post_body(svc.port, t) for t in picked]
                pairs = [(t, b) for t, b in zip(picked, bodies) if b]
                if pairs:
                    mix = wrk(svc.port, [f"/f/{t}" for t, _ in pairs], 10, svc.dir, bodies=[b for _, b in pairs],
                              post_every=10)
                    show("GET + 10% POST /f/<token>", mix, health)
                else:
                    print("  no valid POST body could be made: mix skipped")
                print("  goal: form GET ≥ 0.80× /healthz")
        if "b" in only:
            base = asyncio.run(paced(svc.port, ["/suc-khoe"], rate=50, clients=50, seconds=10))
            show_paced("paced /suc-khoe (baseline), 10 s", base)
            r = asyncio.run(paced(svc.port, [f"/f/{t}" for t in svc.tokens], rate=50, clients=50, seconds=20))
            show_paced("paced 50 req/s, 50 clients, 20 s", r)
            print(f"  p99 {ratio(r['p99'], base['p99'])} (/suc-khoe, the same pacing); goal: p99 ≤ 50 ms")
    finally:
        svc.stop()


def part_c() -> None:
    print("(c) office page /vp/ (logged in), median of 9 after 2 warm-ups")
    times = {}
    for units in (150, 2000):
        svc = Service(units, fill=True, at=BASE_DAY)
        try:
            svc.start()
            cookie = login(svc.port)
            runs, health = [], []
            for n in range(11):
                start = time.perf_counter()
                status, _, body = get(svc.port, "/vp/", {"Cookie": cookie})
                elapsed = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                get(svc.port, "/suc-khoe")
                if n >= 2:
                    runs.append(elapsed)
                    health.append((time.perf_counter() - start) * 1000)
            times[units] = statistics.median(runs)
            print(f"  {units:>5} units: /vp/ {times[units]:7.1f} ms (status {status}, {len(body) / 1024:.0f} KB); "
                  f"/suc-khoe {statistics.median(health):.1f} ms: {ratio(times[units], statistics.median(health))}")
        finally:
            svc.stop()
    exponent = math.log(times[2000] / times[150]) / math.log(2000 / 150)
    print(f"  growth exponent 150 → 2,000 units: {exponent:.2f} (1.00 is linear); goal: 2,000 units ≤ 100 ms")


def first_notice_day(svc: Service) -> str | None:
    """The first instant `baocao plan` says notices of PERIOD go out."""
    # Asked as of 1 October (under faketime): the plan starts from now, and a notice day already
    # past would only show as the step a late start catches up.
    out = subprocess.run([FAKETIME, "-f", "@2026-10-01 00:00:00", str(ROOT / ".venv/bin/baocao"), "plan", "--from",
                          "2026-10-01", "--to", "2026-12-31", "--json"],
                         env=svc.env, cwd=svc.dir, capture_output=True, text=True)
    try:
        sends = json.loads(out.stdout)
    except json.JSONDecodeError:
        print(out.stdout[-500:], out.stderr[-500:])
        return None
    sends = sends.get("sends", sends) if isinstance(sends, dict) else sends
    ats = sorted(s["at"] for s in sends if s.get("period") == PERIOD and s.get("kind") == "notice" and s.get("unit"))
    return ats[0] if ats else None


def part_d() -> None:
    units = 1000
    print(f"(d) form GET while the first tick after start sends {units} notices")
    if FAKETIME is None:
        print("  faketime not found: apt-get install faketime  (skipped)")
        return
    svc = Service(units, fill=False, at=None)
    try:
        at = first_notice_day(svc)
        if at is None:
            print("  no notice day found by baocao plan (skipped)")
            return
        # faketime reads the machine's local time zone: give it that instant in local time.
        svc.at = datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        print(f"  clock at {svc.at} (first notice of {PERIOD}, from baocao plan)")
        started = time.monotonic()
        svc.start(wait_tick=False)

        def tick_done() -> bool:
            sent = len(list(svc.outbox.glob("*.eml"))) if svc.outbox.exists() else 0
            return sent >= units or time.monotonic() - started > 180

        r = asyncio.run(paced(svc.port, [f"/f/{t}" for t in svc.tokens], rate=20, clients=20, seconds=None,
                              until=tick_done))
        sent = len(list(svc.outbox.glob("*.eml")))
        print(f"  {sent} mails in the outbox {time.monotonic() - started:.1f} s after start")
        show_paced("paced 20 req/s during the tick", r)
        after = asyncio.run(paced(svc.port, [f"/f/{t}" for t in svc.tokens], rate=20, clients=20, seconds=5))
        show_paced("paced 20 req/s after it (baseline)", after)
        print(f"  max during the tick: {ratio(r['max'], after['p50'])} (p50 after); goal: never over 100 ms")
    finally:
        svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="a,b,c,d", help="which parts, e.g. a,c")
    parser.add_argument("--busy-core", action="store_true",
                        help="(d) also beside a process that keeps one core busy, as a shared VM's neighbour would")
    options = parser.parse_args()
    only = set(options.only.split(","))
    if FAKETIME is None:
        print("faketime not found (apt-get install faketime): the service runs on the real clock")
    if only & {"a", "b"}:
        part_a_b(only)
    if "c" in only:
        part_c()
    if "d" in only:
        part_d()
        if options.busy_core:
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                print("(d) again, beside a process that keeps one core busy")
                part_d()
            finally:
                hog.kill()


if __name__ == "__main__":
    main()
