"""Signals from the first instant of `baocao run`.

Python's default action for SIGHUP is to die, and systemd counts a death by SIGHUP as a clean
stop (no restart). `systemctl reload` during the second it takes to load the config and migrate
the store must not stop the service: until the event loop takes the signals over, a SIGHUP is
remembered and acted on (the YAML reloaded) as soon as the loop runs, and a SIGTERM stops the
start-up cleanly. Imported first by the command module, before anything slow."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

_hup_pending = False


class StopDuringStart(SystemExit):
    """SIGTERM/SIGINT before the service was up: leave with status 0, as a stop would."""

    def __init__(self) -> None:
        super().__init__(0)


def _on_hup(signum, frame) -> None:
    global _hup_pending
    _hup_pending = True


def _on_stop(signum, frame) -> None:
    raise StopDuringStart()


def _on_interrupt(signum, frame) -> None:
    # Ctrl+C: a command loads its modules as it goes (issue 16), so the interrupt can land in an
    # import, in a weakref callback (where Python prints the exception and carries on) or in
    # pydantic's compiled core (where any exception becomes a PanicException). An exception
    # cannot be trusted to end the command there: leave at once instead. Nothing is lost that
    # a kill would not lose: the store's transactions roll back and the ledger resends, with its
    # Message-ID, a message whose acceptance was not recorded. `run` hands SIGINT to its event
    # loop (a clean stop) as soon as it serves.
    sys.stderr.write("Đã huỷ.\n")
    sys.stderr.flush()
    os._exit(130)  # as a shell reports a command stopped by Ctrl+C


def _is_baocao(argv: list[str]) -> bool:
    """Started as the `baocao` command (its console script, or `python -m scheduler`), not merely
    imported by another program (pytest, a script of the admin's)."""
    first = argv[0] if argv else ""
    return Path(first).name == "baocao" or first.endswith(str(Path("scheduler", "__main__.py")))


def install(argv: list[str]) -> None:
    """Ctrl+C is quiet from the first instant, for every command. SIGHUP and SIGTERM are taken
    over at once for `baocao run` only: a one-shot command keeps the usual meaning of a hang-up.
    A program that only imports the CLI keeps its own signals."""
    if not _is_baocao(argv):
        return
    if "BAOCAO_WEB_CHILD" in os.environ:  # the web process of a `run` (service/webproc)
        # Its parent says when it stops, by closing their link: a terminal's Ctrl+C and
        # systemd's stop signal both processes, and its parent must not mistake it for a crash.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        return
    signal.signal(signal.SIGINT, _on_interrupt)
    if "run" not in argv[1:]:
        return
    signal.signal(signal.SIGHUP, _on_hup)
    signal.signal(signal.SIGTERM, _on_stop)


def take_pending_hup() -> bool:
    """Whether a SIGHUP arrived before the loop took the signals over (and forget it)."""
    global _hup_pending
    pending, _hup_pending = _hup_pending, False
    return pending


# ---------------------------------------------------------------- what systemd is told (sd_notify)
#
# The protocol is one datagram per message to the socket systemd names in NOTIFY_SOCKET
# (sd_notify(3)); a dozen lines here rather than the `sdnotify` package, unchanged since 2017 and
# silent about the watchdog's interval. Without NOTIFY_SOCKET (started by hand, Type=exec, tests)
# nothing is sent.


def notify(message: str) -> bool:
    """Send `message` ("READY=1", "WATCHDOG=1", "STATUS=…") to systemd; whether it went."""
    import socket

    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False  # systemd went away (or never listened): the service runs on regardless
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings when systemd watches this process (WatchdogSec=): half
    its timeout, as sd_watchdog_enabled(3) advises; None when nobody watches."""

    usec, pid = os.environ.get("WATCHDOG_USEC", ""), os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2
