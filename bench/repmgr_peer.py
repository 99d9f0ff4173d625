"""repmgr's ``standby promote`` timed like our promotion: the peer figure ``repmgr_promote_ms``.

Each run takes a fresh lab, registers its primary (node1) and first standby (node2) with repmgr,
crashes node1 (an immediate stop, as in a failover), then on a connection to node2 opened before
the clock starts, times ``repmgr -f node2.conf standby promote`` up to the first successful write
on that connection. When Debian's ``postgresql-15-repmgr`` cannot be had, the figure is None and
``repmgr_note`` says why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from bench.failover import WRITE

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
REPMGR = PG_BINDIR / "repmgr"
PACKAGE = "postgresql-15-repmgr"
ROLE = DATABASE = "repmgr"
SETUP_SQL = f"CREATE ROLE {ROLE} LOGIN SUPERUSER;\nCREATE DATABASE {DATABASE} OWNER {ROLE};\n"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(["apt-get", *args], capture_output=True, text=True, timeout=300, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 1, "", f"apt-get {args[0]} took over 300 s")


def ensure_repmgr() -> str | None:
    """None when repmgr is there (installing it as root if needed), else one line saying why not."""
    if REPMGR.is_file():
        return None
    if os.geteuid() != 0:
        return f"{REPMGR} missing and not root to apt-get install {PACKAGE}"
    if shutil.which("apt-get") is None:
        return f"{REPMGR} missing and no apt-get to install {PACKAGE}"
    install = ("install", "-y", "-qq", PACKAGE)
    proc = _apt(*install)
    if proc.returncode != 0:
        _apt("update", "-qq")
        proc = _apt(*install)
    if REPMGR.is_file():
        return None
    why = _last_line(proc.stderr or proc.stdout) if proc.returncode != 0 else f"no {REPMGR} after install"
    return f"{PACKAGE} cannot be installed: {why}"


def repmgr_version() -> str:
    out = subprocess.run([str(REPMGR), "--version"], capture_output=True, text=True, timeout=10).stdout
    return out.split()[-1] if out.split() else "?"


def _conf(node_id: int, name: str, port: int, data_dir: str) -> str:
    # promote_check_interval / promote_check_timeout and service_promote_command are left at their
    # defaults (1 s / 60 s / unset: repmgr promotes with pg_promote() as a superuser).
    return (f"node_id={node_id}\n"
            f"node_name='{name}'\n"
            f"conninfo='host=127.0.0.1 port={port} user={ROLE} dbname={DATABASE} connect_timeout=2'\n"
            f"data_directory='{data_dir}'\n"
            f"pg_bindir='{PG_BINDIR}'\n"
            "log_level='INFO'\n")


def _repmgr(conf: Path, *args: str, timeout: float = 30.0) -> str:
    from lab.processes import as_service_user, child_env

    proc = subprocess.run(as_service_user([str(REPMGR), "-f", str(conf), *args]), capture_output=True,
                          text=True, timeout=timeout, env=child_env(), cwd="/", stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"repmgr {' '.join(args)} failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc.stderr + proc.stdout


def configure(lab) -> dict[str, Path]:
    """The repmgr role and database on node1, a repmgr.conf per registered node in <lab>/repmgr,
    node1 registered as primary, node2 as standby (waiting for its record to reach node2)."""
    from lab.postgres import psql
    from lab.processes import give_away, write_file

    nodes = {n["name"]: n for n in lab.status()["nodes"]}
    primary = nodes["node1"]
    psql(primary["port"], SETUP_SQL, what="creating the repmgr role and database on node1")
    folder = Path(lab.dir) / "repmgr"
    folder.mkdir(mode=0o755, exist_ok=True)
    give_away(folder)
    confs = {}
    for node_id, name in enumerate(("node1", "node2"), start=1):
        confs[name] = folder / f"{name}.conf"
        write_file(confs[name], _conf(node_id, name, nodes[name]["port"], nodes[name]["data_dir"]), 0o644)
    _repmgr(confs["node1"], "primary", "register")
    # repmgr's standby register reads the node records on the standby itself: wait until node2 has
    # replayed node1's registration (judged by WAL position, not by a pause long enough here)
    _wait_replayed(nodes["node1"]["port"], nodes["node2"]["port"])
    _repmgr(confs["node2"], "standby", "register", "--wait-sync=20")
    return confs


def _wait_replayed(primary_port: int, standby_port: int, timeout_s: float = 20.0) -> None:
    from lab.postgres import psql

    lsn = psql(primary_port, "SELECT pg_current_wal_lsn();", what="reading node1's WAL position")
    deadline = time.monotonic() + timeout_s
    while psql(standby_port, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn;",
               what="reading node2's replay position") != "t":
        if time.monotonic() > deadline:
            raise RuntimeError(f"node2 did not replay node1's WAL up to {lsn} within {timeout_s:g} s")
        time.sleep(0.05)


async def _timed_promote(port: int, conf: Path) -> tuple[float, str]:
    import asyncpg

    from lab.processes import as_service_user, child_env

    argv = as_service_user([str(REPMGR), "-f", str(conf), "standby", "promote"])
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres")
    try:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT,
                                                    stdin=asyncio.subprocess.DEVNULL, env=child_env(), cwd="/")
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"repmgr standby promote failed (exit {proc.returncode}): "
                               f"{out.decode(errors='replace').strip()[-1500:]}")
        await conn.execute(WRITE)
        return (time.monotonic() - started) * 1000, out.decode(errors="replace")
    finally:
        await conn.close()


def one_run(make_lab, root: Path) -> tuple[float, str]:
    """One fresh lab: configure, crash node1, time the promotion of node2. (ms, repmgr's output)"""
    lab = make_lab(root, replicas=2)
    try:
        confs = configure(lab)
        port = next(n["port"] for n in lab.status()["nodes"] if n["name"] == "node2")
        lab.crash("node1")
        return asyncio.run(_timed_promote(port, confs["node2"]))
    finally:
        lab.down()


def repmgr_promote_ms(make_lab, root: Path, runs: int) -> dict:
    """Median over at least 3 fresh labs of ``repmgr standby promote`` to the first write, in ms."""
    why = ensure_repmgr()
    if why is not None:
        return {"repmgr_promote_ms": None, "repmgr_note": why}
    try:
        times = [one_run(make_lab, Path(root))[0] for _ in range(max(3, runs))]
    except RuntimeError as exc:          # the peer failed here: not a figure, and the run goes on
        return {"repmgr_promote_ms": None, "repmgr_note": f"repmgr not measured: {str(exc).splitlines()[0]}"}
    return {"repmgr_promote_ms": round(statistics.median(times), 1),
            "repmgr_note": f"repmgr {repmgr_version()} standby promote after a crash of the primary, "
                           f"median of {len(times)}: pg_promote(), then a check every "
                           "promote_check_interval (default 1 s)"}
