"""Cutover under Odoo-like load through PgBouncer: our PAUSE/RELOAD/RESUME switchover against the
runbook's old way of the same switch (stop the old primary, ``pg_promote()``, point pgbouncer.ini
at the new one, restart PgBouncer). Same lab shape, same load, same run."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from checks.config.files import write_atomic
from checks.config.model import load_config
from checks.observe.connect import node_connection
from checks.stages.pgbouncer import rewrite_databases
from lab import pgbouncer
from lab.load import run_load

ROOT = Path(__file__).resolve().parent.parent


def _under_load(lab, seconds: float, action) -> dict:
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(run_load(lab.dir, seconds=seconds, workers=4)))
    worker.start()
    time.sleep(seconds / 3)
    action()
    worker.join()
    return result


async def _pg_promote(node, sampling) -> None:
    async with node_connection(node, sampling, purpose="bench") as conn:
        await conn.fetchval("SELECT pg_promote(wait => true)", timeout=60)


def _old_way_switch(lab, old: str, new: str) -> None:
    """Stop the old primary (its fence), ``pg_promote()`` the new one, rewrite PgBouncer's
    [databases] to it, and restart PgBouncer (SIGTERM, an immediate shutdown, then start), as
    ``systemctl restart pgbouncer`` does."""
    _, cluster = load_config(lab.status()["config"]).cluster(None)
    lab.crash(old)
    target = cluster.node(new)
    asyncio.run(_pg_promote(target, cluster.sampling))
    pgb = cluster.pgbouncers[0]
    ini = Path(pgb.ini_path)
    text, _done = rewrite_databases(ini.read_text(encoding="utf-8"), pgb.databases, target.host, target.port)
    write_atomic(ini, text, keep_owner=True)      # PgBouncer (the postgres user) must still read it
    os.kill(pgbouncer.pid(lab.paths), signal.SIGTERM)
    while pgbouncer.pid(lab.paths) is not None:
        time.sleep(0.01)
    pgbouncer.start(lab.paths, lab.paths.load())


def _switchover(make_lab, root: Path, seconds: float) -> dict:
    """One planned switchover (``drill --fence``: PAUSE, fence, promote, RELOAD, RESUME) under load, on a fresh lab."""
    lab = make_lab(root, replicas=2)
    try:
        def switch_over():
            proc = subprocess.run([sys.executable, "-m", "cli", "drill", lab.status()["config"], "--incident",
                                   str(root / f"switch-{time.time_ns()}"), "--yes", "--approver", "alice", "--fence"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(f"switchover failed: {proc.stdout[-1500:]}")

        result = _under_load(lab, seconds, switch_over)
    finally:
        lab.down()
    if result.get("rows") is not None and result["rows"] != result["committed"]:
        raise RuntimeError(f"rows lost in the switchover: {result}")
    return result


def _restart_way(make_lab, root: Path, seconds: float) -> dict:
    """The runbook's old way of the same switch, on a fresh lab, under the same load."""
    lab = make_lab(root, replicas=2)
    try:
        return _under_load(lab, seconds, lambda: _old_way_switch(lab, "node1", "node2"))
    finally:
        lab.down()


def cutover_figures(make_lab, root: Path, seconds: float, runs: int = 3) -> dict:
    """Each way ``runs`` times: the stall is the median of the runs' longest waits (one switchover is
    one sample of a machine whose speed varies by a third; the worst run is reported beside it),
    and failed transactions are counted over every run."""
    paused = [_switchover(make_lab, root, seconds) for _ in range(runs)]
    restarted = [_restart_way(make_lab, root, seconds) for _ in range(runs)]
    stalls = sorted(r["max_stall_ms"] for r in paused)
    old_stalls = sorted(r["max_stall_ms"] for r in restarted)
    return {
        "cutover_failed_txns_pause": sum(r["failed"] for r in paused),
        "cutover_stall_ms": round(statistics.median(stalls), 1),
        "cutover_stall_ms_worst": round(stalls[-1], 1),
        "cutover_committed_pause": sum(r["committed"] for r in paused),
        "cutover_failed_clients_restart": sum(r["failed"] for r in restarted),
        "cutover_stall_ms_restart": round(statistics.median(old_stalls), 1),
        "cutover_note": (f"Switchover: {runs} runs each way, {seconds:g} s of load (4 writers through PgBouncer) "
                         f"each, on a fresh lab; stalls of our switchover {', '.join(f'{x:.0f}' for x in stalls)} ms, "
                         f"of the restart way {', '.join(f'{x:.0f}' for x in old_stalls)} ms; failed counted over "
                         "every run."),
    }
