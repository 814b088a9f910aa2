"""The install an office does from the README: the shipped systemd unit, its environment, its settings.

The unit is read from systemd/baocao.service itself (paths, Environment=, EnvironmentFile=,
StateDirectory=, UMask=), so a change to the unit is tested as shipped, not as remembered here.
"""

from __future__ import annotations

import compileall
import email
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from email.policy import default as default_policy
from pathlib import Path

import pytest

from scheduler.settings import Settings, env_name
from tests.conftest import ROOT, SHIPPED_CONFIG, free_port

UNIT = ROOT / "systemd" / "baocao.service"
README = ROOT / "README.md"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
# systemd's default PATH for services; nothing else of the caller's environment reaches the service.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unit_settings(section: str = "Service") -> list[tuple[str, str]]:
    """(key, value) of each assignment in one section of the unit, in order, comments dropped."""
    entries, current, pending = [], None, ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):  # systemd's line continuation
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == section:
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


def unit_value(key: str) -> str:
    values = [v for k, v in unit_settings() if k == key]
    assert len(values) == 1, f"{key}= should be set once in {UNIT.name}, found {values}"
    return values[0]


def unit_environment() -> dict[str, str]:
    """What the unit's Environment= lines set (each may hold several quoted assignments)."""
    env = {}
    for key, value in unit_settings():
        if key == "Environment":
            for item in shlex.split(value):
                name, _, val = item.partition("=")
                env[name] = val
    return env


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments and blank lines skipped)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and line[0] not in "#;":
            name, _, val = line.partition("=")
            env[name.strip()] = val.strip().strip("'\"")
    return env


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


# ---------------------------------------------------------------- the unit file


@pytest.mark.skipif(SYSTEMD_ANALYZE is None and not os.environ.get("CI"),
                    reason="needs systemd-analyze (apt-get install systemd)")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    assert SYSTEMD_ANALYZE, "systemd-analyze is missing: apt-get install systemd (.ci/run does it)"
    # `verify` also checks that ExecStart's program exists and is executable. This machine has no
    # /opt/baocao, so the copy verified here has /opt/baocao replaced by a folder holding this
    # venv's real `baocao` console script at the same relative place (.venv/bin/baocao); no other
    # character of the unit changes.
    code_dir = unit_value("WorkingDirectory")
    program = shlex.split(unit_value("ExecStart"))[0]
    assert program.startswith(code_dir + "/"), "ExecStart should run the venv inside WorkingDirectory"
    console_script = Path(sys.executable).parent / "baocao"
    assert console_script.exists(), f"{console_script} missing: install the project (pip install -e .)"
    stand_in = tmp_path / code_dir.lstrip("/")
    target = stand_in / Path(program).relative_to(code_dir)
    target.parent.mkdir(parents=True)
    target.symlink_to(console_script)
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(code_dir, str(stand_in)), encoding="utf-8")

    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_variable_the_unit_sets_is_a_setting_baocao_reads():
    # Settings ignore unknown BAOCAO_* names, so a typo in the unit would be silently dropped.
    settings = {env_name(field) for field in Settings.model_fields}
    unknown = sorted(name for name in unit_environment() if name.startswith("BAOCAO_") and name not in settings)
    assert unknown == []


def test_unit_keeps_everything_the_service_writes_in_its_state_directory():
    # ProtectSystem=strict leaves only StateDirectory= writable: the database, the generated key
    # and the outbox must be there, not at their defaults relative to the read-only code folder.
    state = "/var/lib/" + unit_value("StateDirectory")
    env = unit_environment()
    assert unit_value("ProtectSystem") == "strict"
    assert env["BAOCAO_DATABASE_URL"].startswith(f"sqlite:///{state}/")
    assert env["BAOCAO_SECRET_KEY_FILE"].startswith(f"{state}/")
    assert env["BAOCAO_OUTBOX_DIR"].startswith(f"{state}/")


# ---------------------------------------------------------------- the service on a read-only code folder


def _can_mount_privately() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


class Child:
    """The service process, its output collected line by line as journald would."""

    def __init__(self, args, env, cwd, umask):
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, preexec_fn=lambda: os.umask(umask))
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.saw(text):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader take the last lines
                if self.saw(text):
                    return
                break
            time.sleep(0.05)
        else:
            if self.saw(text):
                return
        raise AssertionError(f"no line with {text!r}; output:\n" + "\n".join(self.lines))


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if skip != p and skip not in p.parents and not p.is_symlink()}


def test_service_starts_from_a_read_only_code_copy_with_the_units_environment(tmp_path):
    """The unit as shipped, on a machine laid out as the README says, with ProtectSystem=strict.

    Everything the unit names under /opt, /etc and /var is moved under one scratch root. As root
    the test makes the whole file system read-only for the service (a private mount namespace:
    / re-mounted read-only, the state directory bind-mounted writable), which is what
    ProtectSystem=strict + StateDirectory= do; not as root, it falls back to a code copy without
    write bits and compares what changed. PrivateTmp= is not reproduced: /tmp is read-only here too."""
    root = tmp_path / "root"

    def moved(value: str) -> str:
        return re.sub(r"(?<![\w.])/(opt|etc|var)/", lambda m: f"{root}/{m.group(1)}/", value)

    code = Path(moved(unit_value("WorkingDirectory")))
    state = Path(moved("/var/lib/" + unit_value("StateDirectory")))
    program, *args = shlex.split(unit_value("ExecStart"))
    assert args == ["run"]

    # The code as `git clone` leaves it, byte-compiled as pip does at install (the service cannot
    # write __pycache__ later). What runs it stands in for the console script `pip install .`
    # writes into .venv/bin: this test's interpreter and dependencies, the package from the copy,
    # the clock pinned (time ticks from there) so that the day's mail is known.
    shutil.copytree(ROOT, code, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", "tests", "bench"))
    compileall.compile_dir(code / "scheduler", quiet=1)
    launcher = Path(moved(program))
    launcher.parent.mkdir(parents=True)
    launcher.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(code)!r})\n"
        "import pydantic.v1  # as tests/run_frozen.py: imported before the clock is pinned\n"
        "import scheduler, scheduler.service, scheduler.web\n"
        f"assert scheduler.__file__.startswith({str(code)!r}), scheduler.__file__\n"
        "from freezegun import freeze_time\n"
        "from scheduler.cli.main import cli\n"
        "with freeze_time('2026-11-27T10:00:00+07:00', tick=True, real_asyncio=True):\n"
        "    cli(sys.argv[1:], prog_name='baocao')\n", encoding="utf-8")
    launcher.chmod(0o755)

    env = {k: moved(v) for k, v in unit_environment().items()}
    shutil.copytree(SHIPPED_CONFIG, env["BAOCAO_CONFIG_DIR"])
    # The admin's EnvironmentFile= (optional, "-"): here it only moves the port off 8080, which
    # another program on this machine may hold; it is read over Environment= as systemd does.
    port = free_port()
    env_files = [v for k, v in unit_settings() if k == "EnvironmentFile"]
    assert env_files == ["-/etc/baocao/baocao.env"]
    env_file = Path(moved(env_files[0].lstrip("-")))
    env_file.write_text(f"# /etc/baocao/baocao.env\nBAOCAO_HTTP_PORT={port}\n", encoding="utf-8")
    env |= read_environment_file(env_file)
    # What systemd itself adds for User= and StateDirectory=.
    env |= {"PATH": SYSTEMD_PATH, "HOME": str(state), "USER": "baocao", "LOGNAME": "baocao",
            "SHELL": "/usr/sbin/nologin", "STATE_DIRECTORY": str(state)}
    state.mkdir(parents=True, mode=int(unit_value("StateDirectoryMode"), 8))

    for path in code.rglob("*"):
        path.chmod(path.stat().st_mode & ~0o222)
    code.chmod(code.stat().st_mode & ~0o222)
    if _can_mount_privately():
        # The state directory becomes its own (writable) mount, then / is re-mounted read-only:
        # only in this private namespace, the rest of the machine is untouched.
        script = (f"mount --bind {shlex.quote(str(state))} {shlex.quote(str(state))} && "
                  "mount -o remount,bind,ro / && "
                  f"exec {shlex.quote(str(launcher))} {' '.join(map(shlex.quote, args))}")
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    else:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: a private mount namespace (unshare -m) should be possible")
        command = [str(launcher), *args]
    before = _snapshot(tmp_path, skip=state)

    child = Child(command, env, cwd=code, umask=int(unit_value("UMask"), 8))  # WorkingDirectory=
    try:
        child.wait_for("Lượt nhắc 27/11/2026")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/suc-khoe", timeout=10) as response:
            assert response.status == 200
        # A link from a mail the service wrote opens that unit's form: the key it generated works.
        mails = sorted((state / "outbox").glob("*.eml"))
        assert len(mails) == 18
        notice = email.message_from_bytes((state / "outbox" / "2026-Q4_KL_notice-10.eml").read_bytes(),
                                          policy=default_policy)
        link = re.search(r"http://127\.0\.0\.1:\d+/f/\S+", notice.get_body(("plain",)).get_content()).group(0)
        assert link.startswith(f"http://127.0.0.1:{port}/f/")
        with urllib.request.urlopen(link, timeout=10) as response:
            page = response.read().decode("utf-8")
        assert "Chi cục Kiểm lâm" in page

        child.proc.send_signal(signal.SIGTERM)
        assert child.proc.wait(timeout=60) == 0
    finally:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()
    output = "\n".join(child.lines)
    assert child.saw("Đã dừng.")
    assert "Traceback" not in output and "Read-only file system" not in output, output

    # Database, key and outbox are in the state directory, nothing of the service's elsewhere:
    # not in the code copy, not in the configuration folder.
    written = {str(p.relative_to(state)) for p in state.rglob("*")}
    assert {"baocao.db", "secret_key", "outbox"} <= written
    assert not [name for name in written if name.startswith("baocao.db-")]  # closed cleanly
    assert _snapshot(tmp_path, skip=state) == before
    # UMask=0027: what the service wrote (unit links in every mail, the key) is not readable by
    # other local users.
    readable = [name for name in written if stat.S_IMODE((state / name).stat().st_mode) & 0o007]
    assert readable == []


# ---------------------------------------------------------------- every setting is documented


def test_every_setting_is_in_the_readme_environment_table():
    section = readme_section("Biến môi trường")
    documented = set(re.findall(r"`(BAOCAO_[A-Z0-9_]+)`", section))
    settings = {env_name(field) for field in Settings.model_fields}
    assert sorted(settings - documented) == []  # read by baocao, not explained to the admin
    assert sorted(documented - settings) == []  # explained, but baocao does not read it
