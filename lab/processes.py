"""Running commands as the service user, reading /proc, signalling, probing ports."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import LabError
from .procfs import (  # noqa: F401 (re-exported)
    all_pids, descendants, is_stopped, proc_cmdline, proc_ppid, proc_state, send
)

SERVICE_USER = "postgres"
LOOPBACK = "127.0.0.1"


def as_root() -> bool:
    return os.geteuid() == 0


def service_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise LabError(f"running as root needs a '{SERVICE_USER}' user to run PostgreSQL and PgBouncer") from None


def as_service_user(argv: Sequence[str]) -> list[str]:
    """argv prefixed with runuser when we are root (PostgreSQL refuses root)."""
    if as_root():
        return ["runuser", "-u", SERVICE_USER, "--", *argv]
    return list(argv)


def child_env(**extra: str) -> dict[str, str]:
    """Our environment without PG* variables that would steer libpq elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.update(extra)
    return env


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run(argv: Sequence[str], *, what: str, cwd: Path, service: bool = False,
        stdin: str | None = None, timeout: float = 60.0) -> str:
    """Run argv (never through a shell); return stdout or raise LabError naming `what`."""
    full = as_service_user(argv) if service else list(argv)
    try:
        proc = subprocess.run(full, cwd=cwd, input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=child_env(PGCONNECT_TIMEOUT="3"))
    except FileNotFoundError:
        raise LabError(f"{what}: command not found: {full[0]}") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{what}: no answer within {timeout:g} s") from None
    if proc.returncode != 0:
        raise LabError(f"{what} failed: {last_line(proc.stderr or proc.stdout)}")
    return proc.stdout


def give_away(*paths: Path, recursive: bool = False) -> None:
    """chown paths to the service user when we are root (no-op otherwise)."""
    if not as_root():
        return
    account = service_account()
    for path in paths:
        targets: Iterable[Path] = [path]
        if recursive and path.is_dir():
            targets = [path, *path.rglob("*")]
        for target in targets:
            os.chown(target, account.pw_uid, account.pw_gid, follow_symlinks=False)


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write text atomically with the given mode, owned by the service user."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    give_away(tmp)
    os.replace(tmp, path)


def check_traversable(directory: Path) -> None:
    """Raise unless the service user can reach directory through every parent."""
    if not as_root():
        return
    account = service_account()
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for parent in reversed(directory.parents):
        try:
            st = parent.stat()
        except FileNotFoundError:
            return  # checked again once created
        if st.st_uid == account.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise LabError(f"{parent} is not traversable by the '{SERVICE_USER}' user "
                           f"(needs o+x); choose another --dir")


# ---- /proc: in procfs, which the lab's fence runs as a stdlib-only script ----

def reap(pid: int) -> None:
    """Collect pid if it is our own child, so it leaves no zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_gone(pids: Iterable[int], timeout: float) -> bool:
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending:
        for pid in list(pending):
            reap(pid)
            if proc_state(pid) is None:
                pending.discard(pid)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return not pending


def terminate(pids: Sequence[int], timeout: float = 5.0) -> None:
    """SIGCONT (frozen ones too), SIGTERM (SIGQUIT for a postmaster: immediate shutdown),
    then SIGKILL what is left after timeout, a postmaster's children included."""
    live = [pid for pid in pids if proc_state(pid) is not None]
    live += [child for pid in live if is_postgres(pid) for child in descendants(pid) if child not in live]
    for pid in live:
        send(pid, signal.SIGCONT)
        send(pid, signal.SIGQUIT if is_postgres(pid) else signal.SIGTERM)
    if not wait_gone(live, timeout):
        for pid in live:
            send(pid, signal.SIGKILL)
        wait_gone(live, 2.0)


def is_postgres(pid: int) -> bool:
    argv = proc_cmdline(pid)
    return bool(argv) and os.path.basename(argv[0]) in ("postgres", "postmaster")


def lab_processes(marker: str) -> list[int]:
    """postgres / pgbouncer / proxy / Odoo stand-in processes whose command line mentions marker."""
    mine = {os.getpid()}
    parent = os.getppid()
    while parent > 1:
        mine.add(parent)
        parent = proc_ppid(parent) or 1
    found = []
    for pid in all_pids():
        if pid in mine or proc_state(pid) is None:
            continue
        argv = proc_cmdline(pid)
        if not argv or not any(marker in arg for arg in argv):
            continue
        program = os.path.basename(argv[0])
        if program in ("postgres", "postmaster", "pgbouncer") or "lab.proxy" in argv \
                or "lab.odoo_standin" in argv:
            found.append(pid)
    return found


# ---- ports -----------------------------------------------------------------

def port_busy(port: int) -> bool:
    """True when something already listens on (or holds) 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def require_free(port: int, purpose: str) -> None:
    if port_busy(port):
        raise LabError(f"port {port} on {LOOPBACK} is busy (wanted for {purpose}); "
                       f"stop what uses it or choose another --base-port")
