"""Reading /proc and signalling processes, with the standard library only.

The lab's crash, hang and resume use it in-process. The lab's fence, which a planned switchover
runs inside PgBouncer's PAUSE, is ``fence.sh`` beside it: the same SIGCONT, SIGQUIT and wait, from a
shell that starts in about a millisecond.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _read(path: str, mode: str = "r"):
    with open(path, mode) as f:
        return f.read()


def proc_state(pid: int) -> str | None:
    """The one-letter state of pid (R, S, T, ...), or None when it is gone or a zombie."""
    try:
        raw = _read(f"/proc/{pid}/stat")
    except (OSError, ValueError):
        return None
    state = raw[raw.rfind(")") + 2:].split(" ", 1)[0]
    return None if state in ("Z", "X", "x") else state


def proc_ppid(pid: int) -> int | None:
    try:
        raw = _read(f"/proc/{pid}/stat")
    except OSError:
        return None
    return int(raw[raw.rfind(")") + 2:].split(" ")[1])


def proc_cmdline(pid: int) -> list[str]:
    try:
        raw = _read(f"/proc/{pid}/cmdline", "rb")
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid, parents before children."""
    by_parent: dict[int, list[int]] = {}
    for candidate in all_pids():
        parent = proc_ppid(candidate)
        if parent is not None:
            by_parent.setdefault(parent, []).append(candidate)
    found: list[int] = []
    queue = list(by_parent.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(by_parent.get(child, []))
    return found


def is_stopped(pid: int) -> bool:
    return proc_state(pid) in ("T", "t")


def send(pid: int, sig: signal.Signals) -> bool:
    """Send sig to pid; False when it no longer exists."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def postmaster_of(data_dir: str | os.PathLike) -> int | None:
    """The live postmaster of a data directory (from postmaster.pid, checked in /proc), or None."""
    data_dir = os.fspath(data_dir)
    try:
        pid = int(_read(os.path.join(data_dir, "postmaster.pid")).split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    if proc_state(pid) is None or str(data_dir) not in proc_cmdline(pid):
        return None
    return pid


def thaw(pid: int) -> None:
    """SIGCONT a (possibly SIGSTOPped) postmaster and its children."""
    for child in descendants(pid):
        send(child, signal.SIGCONT)
    send(pid, signal.SIGCONT)


def quit_now(pid: int, timeout_s: float = 10.0) -> None:
    """An immediate shutdown, as ``pg_ctl stop -m immediate`` does (SIGQUIT to the postmaster), but
    waiting for it in 10 ms steps instead of pg_ctl's 100 ms. Raises TimeoutError."""
    if not send(pid, signal.SIGQUIT):
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc_state(pid) is None:
            return
        time.sleep(0.01)
    raise TimeoutError(f"postmaster {pid} did not stop within {timeout_s:g}s of SIGQUIT")


if __name__ == "__main__":   # a fence from a lab config older than fence.sh: fail, never a silent success
    sys.exit("procfs.py is no longer the lab's fence: `failover-cockpit lab up` rewrites the lab's "
             "clusters.toml with lab/fence.sh")
