"""One lab PostgreSQL node: initdb, configuration, base backup, start/stop, role."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import time
from pathlib import Path

from . import procfs
from .errors import LabError
from .layout import LabPaths, NodeSpec
from .processes import LOOPBACK, descendants, give_away, is_stopped, last_line, run, send, wait_gone, write_file

HBA = """\
# LAB pg_hba.conf (generated): the cockpit must use its password, the rest is trusted.
host    all          cockpit  127.0.0.1/32  scram-sha-256
host    all          all      127.0.0.1/32  trust
host    replication  all      127.0.0.1/32  trust
local   all          all                    trust
local   replication  all                    trust
"""
INCLUDE_LINE = "include 'lab.conf'  # LAB settings, written by failover-cockpit lab\n"


def pg_tool(name: str) -> str:
    """Absolute path of a PostgreSQL program (newest /usr/lib/postgresql/*/bin first)."""
    override = os.environ.get("LAB_PG_BINDIR")
    dirs = [override] if override else []
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]), reverse=True)
    for directory in dirs:
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise LabError(f"PostgreSQL program {name!r} not found (looked in /usr/lib/postgresql/*/bin and PATH)")


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def node_conf(paths: LabPaths, node: NodeSpec) -> str:
    settings = {
        "listen_addresses": quote(LOOPBACK),
        "port": str(node.port),
        "unix_socket_directories": quote(str(paths.run)),
        "cluster_name": quote(node.name),
        "wal_level": "replica",
        "max_wal_senders": "10",
        "max_replication_slots": "10",
        "wal_keep_size": quote("64MB"),
        "hot_standby": "on",
        "wal_log_hints": "on",
        "password_encryption": quote("scram-sha-256"),
        "log_line_prefix": quote("%m [%p] %q%u@%d "),
    }
    lines = [f"# LAB settings for {node.name} (generated; this is not a production server)"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def prepare_dirs(paths: LabPaths, node: NodeSpec) -> None:
    for directory in (paths.node_dir(node.name), paths.log_dir(node.name)):
        directory.mkdir(mode=0o755, exist_ok=True)
        give_away(directory)


def init_primary(paths: LabPaths, node: NodeSpec) -> None:
    """initdb, then the lab's postgresql.conf include and pg_hba.conf."""
    prepare_dirs(paths, node)
    data = paths.data_dir(node.name)
    run([pg_tool("initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=trust",
         "-E", "UTF8", "--locale=C", "--wal-segsize=1", "--no-sync"],
        what=f"initdb for {node.name} in {data}", cwd=paths.root, service=True, timeout=120)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n" + INCLUDE_LINE)
    write_file(data / "lab.conf", node_conf(paths, node), 0o600)
    write_file(data / "pg_hba.conf", HBA, 0o600)


def base_backup(paths: LabPaths, node: NodeSpec, primary: NodeSpec) -> None:
    """pg_basebackup -R from the primary's real port, then this node's own settings."""
    prepare_dirs(paths, node)
    data = paths.data_dir(node.name)
    run([pg_tool("pg_basebackup"), "-h", LOOPBACK, "-p", str(primary.port), "-U", "postgres",
         "-D", str(data), "-R", "-c", "fast", "-X", "stream", "--no-sync"],
        what=f"pg_basebackup of {node.name} from {primary.name} (port {primary.port})",
        cwd=paths.root, service=True, timeout=120)
    write_file(data / "lab.conf", node_conf(paths, node), 0o600)


def start(paths: LabPaths, node: NodeSpec) -> None:
    data = paths.data_dir(node.name)
    log = paths.log_file(node.name)
    try:
        run([pg_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30", "start"],
            what=f"starting {node.name} (port {node.port})", cwd=paths.root, service=True, timeout=40)
    except LabError as exc:
        raise LabError(f"{exc}; see {log}: {last_log_line(log)}") from None


def stop(paths: LabPaths, node: NodeSpec, mode: str, timeout: int = 10) -> None:
    run([pg_tool("pg_ctl"), "-D", str(paths.data_dir(node.name)), "-m", mode, "-w", "-t", str(timeout),
         "stop"], what=f"stopping {node.name} ({mode})", cwd=paths.root, service=True, timeout=timeout + 5)


def quit_now(pid: int, timeout_s: float = 10.0) -> None:
    """SIGQUIT (immediate shutdown) and wait; the lab's fence (fence.sh) does the same in shell."""
    try:
        procfs.quit_now(pid, timeout_s)
    except TimeoutError as exc:
        raise LabError(str(exc)) from None


def last_log_line(log: Path) -> str:
    try:
        return last_line(log.read_text(errors="replace")[-4000:])
    except OSError:
        return "no log"


def postmaster_pid(paths: LabPaths, node: NodeSpec) -> int | None:
    """The live postmaster of node (from postmaster.pid, checked in /proc), or None."""
    return procfs.postmaster_of(paths.data_dir(node.name))


def starts_as_primary(paths: LabPaths, node: NodeSpec) -> bool:
    """A stopped node would start writable: no standby.signal in its data directory."""
    return not (paths.data_dir(node.name) / "standby.signal").exists()


def checkpoint_timeline(paths: LabPaths, node: NodeSpec) -> int:
    """The timeline of a stopped node's last checkpoint (pg_controldata), 0 when unreadable."""
    try:
        out = run([pg_tool("pg_controldata"), "-D", str(paths.data_dir(node.name))],
                  what=f"reading {node.name}'s control file", cwd=paths.root, service=True, timeout=10)
    except LabError:
        return 0
    for line in out.splitlines():
        if line.startswith("Latest checkpoint's TimeLineID:"):
            return int(line.split(":", 1)[1])
    return 0


def role(paths: LabPaths, node: NodeSpec) -> str:
    """primary / standby / down / hung, read live from the data dir and /proc."""
    pid = postmaster_pid(paths, node)
    if pid is None:
        return "down"
    if is_stopped(pid):
        return "hung"
    if (paths.data_dir(node.name) / "standby.signal").exists():
        return "standby"
    return "primary"


def freeze(pid: int) -> None:
    """SIGSTOP the postmaster first (no new children), then every descendant."""
    send(pid, signal.SIGSTOP)
    for _ in range(2):  # a second pass catches a child forked while we looked
        for child in descendants(pid):
            send(child, signal.SIGSTOP)


thaw = procfs.thaw


def shut_down(paths: LabPaths, node: NodeSpec) -> None:
    """Stop node for good: thaw, fast stop, immediate stop, then SIGKILL what is left."""
    pid = postmaster_pid(paths, node)
    if pid is None:
        return
    family = [pid, *descendants(pid)]
    thaw(pid)
    for mode in ("fast", "immediate"):
        try:
            stop(paths, node, mode, timeout=10 if mode == "fast" else 5)
            break
        except LabError:
            continue
    if not wait_gone(family, 2.0):
        for member in family:
            send(member, signal.SIGKILL)
        wait_gone(family, 2.0)


def psql(port: int, sql: str, *, what: str, timeout: float = 10.0, database: str = "postgres") -> str:
    """Run SQL (from stdin, so secrets stay out of argv) as postgres on the real port."""
    return run([pg_tool("psql"), "-h", LOOPBACK, "-p", str(port), "-U", "postgres", "-d", database,
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
               what=what, cwd=Path("/"), stdin=sql, timeout=timeout).strip()


def streaming_standbys(primary: NodeSpec) -> set[str]:
    out = psql(primary.port, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming';",
               what=f"reading pg_stat_replication on {primary.name}")
    return {line for line in out.splitlines() if line}


def wait_streaming(primary: NodeSpec, names: set[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = names - streaming_standbys(primary)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise LabError(f"{', '.join(sorted(missing))} not streaming from {primary.name} "
                           f"after {timeout:g} s (see their logs)")
        time.sleep(0.05)
