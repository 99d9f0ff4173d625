"""Bringing a lab node back as a standby of a new primary: pg_rewind, then standby.signal.

Facts measured on these machines (PostgreSQL 15.18) that shape this module:

- pg_rewind refuses a target that was not shut down cleanly. Without ``--no-ensure-shutdown``
  it runs crash recovery itself (``postgres --single``) first, but **not with --dry-run**: a dry
  run of a crashed node fails with "target server must be shut down cleanly". So we finish
  crash recovery ourselves (single-user mode: no listener, nobody can write to it) before either
  run. That completes what any restart would; nothing is rewound by it.
- Right after ``pg_promote`` the new primary's control file still names the old timeline until
  the checkpoint that promotion requests completes (a spread checkpoint: minutes), and pg_rewind
  then says "source and target cluster are on the same timeline ... no rewind required", wrongly.
  A ``CHECKPOINT`` on the source first fixes it.
- pg_rewind copies every non-relation file from the source, configuration included: the node
  gets the source's ``lab.conf`` (its port and cluster_name) and ``postgresql.auto.conf`` (whose
  primary_conninfo points at the node itself). After a real rewind we write the node's own
  ``lab.conf`` back, a primary_conninfo to the source and ``standby.signal``, so a rewound node can
  never come up as a second primary.
"""

from __future__ import annotations

import subprocess
import time
from typing import Callable

from .errors import LabError
from .layout import LabPaths, NodeSpec
from .postgres import node_conf, pg_tool, psql, quote, role, start, stop
from .processes import LOOPBACK, as_service_user, child_env, last_line, run, write_file

CLEAN_STATES = ("shut down", "shut down in recovery")
REWIND_TIMEOUT_S = 600.0

Echo = Callable[[str], None]


def source_conninfo(port: int) -> str:
    return f"host={LOOPBACK} port={port} user=postgres dbname=postgres"


def standby_conninfo(node: NodeSpec, primary_port: int) -> str:
    return f"host={LOOPBACK} port={primary_port} user=postgres application_name={node.name}"


def cluster_state(paths: LabPaths, node: NodeSpec) -> str:
    """``Database cluster state`` from pg_controldata: "shut down", "in production", ..."""
    out = run([pg_tool("pg_controldata"), "-D", str(paths.data_dir(node.name))],
              what=f"pg_controldata of {node.name}", cwd=paths.root, service=True, timeout=30)
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Database cluster state":
            return value.strip()
    raise LabError(f"pg_controldata of {node.name} printed no cluster state")


def ensure_clean_shutdown(paths: LabPaths, node: NodeSpec, echo: Echo) -> None:
    """Leave node stopped and cleanly shut down, as pg_rewind needs its target."""
    current = role(paths, node)
    if current == "hung":
        raise LabError(f"{node.name} is hung (SIGSTOPped): run `lab resume {node.name}` first")
    if current != "down":
        echo(f"{node.name} is running ({current}): stopping it (pg_ctl stop -m fast)")
        stop(paths, node, "fast", timeout=60)
    state = cluster_state(paths, node)
    if state in CLEAN_STATES:
        echo(f"{node.name} is cleanly shut down (pg_control: {state})")
        return
    data = paths.data_dir(node.name)
    if (data / "standby.signal").exists():
        # single-user mode refuses standby mode: a standby is started (read-only) and stopped
        echo(f"{node.name} was not shut down cleanly (pg_control: {state}); it is a standby: "
             f"starting and stopping it (fast) to finish recovery")
        start(paths, node)
        stop(paths, node, "fast", timeout=60)
    else:
        echo(f"{node.name} was not shut down cleanly (pg_control: {state}): finishing crash recovery "
             f"in single-user mode (no listener), which pg_rewind --dry-run does not do")
        started = time.monotonic()
        run([pg_tool("postgres"), "--single", "-F", "-D", str(data), "template1"],
            what=f"crash recovery of {node.name} in single-user mode", cwd=paths.root, service=True,
            stdin="", timeout=300)
        echo(f"crash recovery of {node.name} took {time.monotonic() - started:.2f} s")
    state = cluster_state(paths, node)
    if state not in CLEAN_STATES:
        raise LabError(f"{node.name} is still not cleanly shut down (pg_control: {state})")
    echo(f"{node.name} is cleanly shut down now (pg_control: {state})")


def run_pg_rewind(paths: LabPaths, node: NodeSpec, source_port: int, *, dry_run: bool) -> tuple[int, str]:
    """pg_rewind as the postgres user; its exit code and everything it printed."""
    argv = [pg_tool("pg_rewind"), f"--target-pgdata={paths.data_dir(node.name)}",
            f"--source-server={source_conninfo(source_port)}"]
    argv += ["--dry-run"] if dry_run else []
    argv += ["--progress"]
    try:
        proc = subprocess.run(as_service_user(argv), cwd=paths.root, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=REWIND_TIMEOUT_S, env=child_env(PGCONNECT_TIMEOUT="5"))
    except subprocess.TimeoutExpired:
        raise LabError(f"pg_rewind of {node.name}: no answer within {REWIND_TIMEOUT_S:g} s") from None
    return proc.returncode, proc.stdout


def write_standby_conf(paths: LabPaths, node: NodeSpec, primary_port: int) -> None:
    """The node's own lab.conf, primary_conninfo in postgresql.auto.conf, and standby.signal."""
    data = paths.data_dir(node.name)
    write_file(data / "lab.conf", node_conf(paths, node), 0o600)
    auto = data / "postgresql.auto.conf"
    try:
        lines = auto.read_text().splitlines()
    except FileNotFoundError:
        lines = ["# Do not edit this file manually!", "# It will be overwritten by the ALTER SYSTEM command."]
    lines = [line for line in lines if line.split("=", 1)[0].strip() != "primary_conninfo"]
    lines.append(f"primary_conninfo = {quote(standby_conninfo(node, primary_port))}")
    write_file(auto, "\n".join(lines) + "\n", 0o600)
    write_file(data / "standby.signal", "", 0o600)


def rewind(paths: LabPaths, node: NodeSpec, source_port: int, *, dry_run: bool, echo: Echo) -> bool:
    """CHECKPOINT the source, stop node cleanly, pg_rewind (a dry run changes no file but the
    crash recovery it needs); after a real rewind the node is configured as a standby of the source.
    True when pg_rewind had to rewind (False: "no rewind required")."""
    if source_port == node.port:
        raise LabError(f"--source-port {source_port} is {node.name}'s own port: give the new primary's")
    started = time.monotonic()  # the source first: a node is not stopped for a source that does not answer
    psql(source_port, "CHECKPOINT;", what=f"CHECKPOINT on the source (port {source_port})", timeout=120)
    echo(f"CHECKPOINT on the source (port {source_port}) in {time.monotonic() - started:.2f} s, "
         f"so its control file names its timeline")
    ensure_clean_shutdown(paths, node, echo)
    started = time.monotonic()
    code, output = run_pg_rewind(paths, node, source_port, dry_run=dry_run)
    for line in output.splitlines():
        if line.strip():
            echo(line.rstrip())
    echo(f"pg_rewind{' --dry-run' if dry_run else ''} exit {code} in {time.monotonic() - started:.2f} s")
    if code != 0:
        raise LabError(f"pg_rewind of {node.name} from port {source_port}{' (dry run)' if dry_run else ''} "
                       f"failed (exit {code}): {last_line(output)}")
    if not dry_run:
        write_standby_conf(paths, node, source_port)
        echo(f"{node.name}: own lab.conf restored (pg_rewind copies the source's), standby.signal and "
             f"primary_conninfo to port {source_port} written")
    return "no rewind required" not in output


def start_read_only(paths: LabPaths, node: NodeSpec, echo: Echo) -> None:
    """Start a stopped (or crashed) node read-only: standby.signal and no primary_conninfo, so it
    replays its own pg_wal (crash recovery included) and then waits, in recovery, following nobody.
    Its WAL is left exactly as it was, for pg_walinspect to read; the rewind stops it cleanly."""
    current = role(paths, node)
    if current == "hung":
        raise LabError(f"{node.name} is hung (SIGSTOPped): run `lab resume {node.name}` first")
    if current == "primary":
        raise LabError(f"{node.name} is running as a primary, not stopped: fence or stop it first")
    if current == "standby":
        echo(f"{node.name} is already running read-only (in recovery): nothing to do")
        return
    data = paths.data_dir(node.name)
    auto = data / "postgresql.auto.conf"
    try:
        lines = auto.read_text().splitlines()
    except FileNotFoundError:
        lines = ["# Do not edit this file manually!", "# It will be overwritten by the ALTER SYSTEM command."]
    lines = [line for line in lines if line.split("=", 1)[0].strip() != "primary_conninfo"]
    write_file(auto, "\n".join([*lines, "primary_conninfo = ''"]) + "\n", 0o600)
    write_file(data / "standby.signal", "", 0o600)
    started = time.monotonic()
    start(paths, node)
    echo(f"{node.name} started read-only (standby.signal, following nobody) on port {node.port} in "
         f"{time.monotonic() - started:.2f} s")


def start_standby(paths: LabPaths, node: NodeSpec, primary_port: int, echo: Echo) -> None:
    """Write standby.signal and primary_conninfo, then start node; a running primary is refused."""
    if primary_port == node.port:
        raise LabError(f"--primary-port {primary_port} is {node.name}'s own port: give the new primary's")
    current = role(paths, node)
    if current == "hung":
        raise LabError(f"{node.name} is hung (SIGSTOPped): run `lab resume {node.name}` first")
    if current == "primary":
        raise LabError(f"{node.name} is running as a primary: fence or stop it and rewind it first "
                       f"(`lab rewind {node.name} --source-port {primary_port}`)")
    if current == "standby":
        echo(f"{node.name} is running as a standby: stopping it (fast) to point it at port {primary_port}")
        stop(paths, node, "fast", timeout=60)
    write_standby_conf(paths, node, primary_port)
    echo(f"{node.name}: standby.signal and primary_conninfo = '{standby_conninfo(node, primary_port)}' written")
    started = time.monotonic()
    start(paths, node)
    echo(f"{node.name} started as a standby on port {node.port} (pg_ctl start -w: {time.monotonic() - started:.2f} s)")
