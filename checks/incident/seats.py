"""Seats at an incident, and the operator seat's exclusive lock (docs/design.md section 5.4).

Only one process may sit in the operator seat of an incident: :class:`OperatorLock`
holds ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``DIR/operator.lock`` for the life of
the process, so the kernel releases it when the process dies, even by kill -9.
``DIR/operator.json`` says who holds it (name, host, pid, since); it is only
believed while the lock is actually held, so a stale file after a crash is harmless.

flock is local to one host: the incident directory must live on the bastion's own
disk, not on a network file system.

This lock is per incident. One operator per *cluster*, whatever the incident directory,
is :class:`checks.incident.cluster_lock.ClusterLock`; :func:`checks.incident.operator_seat.take_operator_seat`
takes both, in the order that keeps this lock's refusal for a second process on the same
incident.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from checks.config.files import write_atomic
from checks.errors import CockpitError
from checks.observe.sample import iso_utc, utcnow

OPERATOR = "operator"
SCRIBE = "scribe"
APPROVER = "approver"
OBSERVER = "observer"
SEATS = (OPERATOR, SCRIBE, APPROVER, OBSERVER)

LOCK_FILE = "operator.lock"
HOLDER_FILE = "operator.json"


class SeatError(CockpitError):
    """One line about a seat."""


class SeatTaken(SeatError):
    """The operator seat is held by another process."""

    def __init__(self, message: str, holder: dict | None) -> None:
        super().__init__(message)
        self.holder = holder



def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_alive(info: dict | None) -> bool:
    """operator.json names a process that may be alive (not a dead pid on this host)."""
    if not info:
        return False
    pid = info.get("pid")
    return not (info.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid))


class OperatorLock:
    """The operator seat of the incident in ``dir``."""

    def __init__(self, dir: Path, incident_id: str | None = None) -> None:
        self.dir = Path(dir)
        self.incident_id = incident_id or self.dir.name
        self.lock_path = self.dir / LOCK_FILE
        self.holder_path = self.dir / HOLDER_FILE
        self._fd: int | None = None
        self._info: dict | None = None

    @property
    def held(self) -> bool:
        """This object holds the seat."""
        return self._fd is not None

    def acquire(self, name: str) -> None:
        """Take the operator seat for ``name``; SeatTaken (one line) if another process has it."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SeatError(f"cannot open {self.lock_path}: {exc.strerror or exc}") from None
        for attempt in range(3):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Held; or only probed for a moment by holder() in another seat: look, then retry.
                holder = self._read_holder(wait=True)
                if holder_alive(holder) or attempt == 2:
                    os.close(fd)
                    raise SeatTaken(self._taken_message(holder), holder) from None
            except OSError as exc:
                os.close(fd)
                raise SeatError(f"cannot lock {self.lock_path}: {exc.strerror or exc}") from None
        info = {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "since": iso_utc(utcnow())}
        try:
            write_atomic(self.holder_path, json.dumps(info, sort_keys=True) + "\n")
        except OSError as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise SeatError(f"cannot write {self.holder_path}: {exc.strerror or exc}") from None
        self._fd, self._info = fd, info

    def release(self) -> None:
        """Give the seat up (dying does the same)."""
        if self._fd is None:
            return
        try:
            if self._read_holder(wait=False) == self._info:
                self.holder_path.unlink(missing_ok=True)
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = self._info = None

    def holder(self) -> dict | None:
        """Who holds the seat now (name, host, pid, since), or None if nobody does."""
        if self._fd is not None:
            return dict(self._info or {})
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._read_holder(wait=True) or {"name": "?", "host": "?", "pid": None, "since": "?"}
        finally:
            os.close(fd)  # closing drops a shared lock we may have taken
        return None

    def _read_holder(self, *, wait: bool) -> dict | None:
        """operator.json; while ``wait``, give a holder that just took the lock a moment to write it."""
        info = None
        for _ in range(25 if wait else 1):
            try:
                info = json.loads(self.holder_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = None
            info = info if isinstance(info, dict) else None
            if holder_alive(info):
                return info
            time.sleep(0.02 if wait else 0)
        return info

    def _taken_message(self, holder: dict | None) -> str:
        h = holder or {}
        return (f"the operator seat of incident {self.incident_id} is held by {h.get('name', '?')} on "
                f"{h.get('host', '?')} (pid {h.get('pid', '?')}) since {h.get('since', '?')}; "
                "join as --seat observer (or scribe) instead")

    def __enter__(self) -> OperatorLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
