"""Cutover under Odoo-like load through PgBouncer: our PAUSE/RELOAD/RESUME switchover against the
runbook's old way of the same switch (stop the old primary, ``pg_promote()``, point pgbouncer.ini
at the new one, restart PgBouncer). Same lab shape, same load, same run."""

from __future__ import annotations

import asyncio
import os
import signal
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


def cutover_figures(make_lab, root: Path, seconds: float) -> dict:
    lab = make_lab(root, replicas=2)
    try:
        def switch_over():
            proc = subprocess.run([sys.executable, "-m", "cli", "drill", lab.status()["config"], "--incident",
                                   str(root / f"switch-{time.time_ns()}"), "--yes", "--approver", "alice", "--fence"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(f"switchover failed: {proc.stdout[-1500:]}")

        paused = _under_load(lab, seconds, switch_over)
    finally:
        lab.down()
    lab = make_lab(root, replicas=2)
    try:
        def switch_the_old_way():
            _old_way_switch(lab, "node1", "node2")

        restarted = _under_load(lab, seconds, switch_the_old_way)
    finally:
        lab.down()
    if paused.get("rows") is not None and paused["rows"] != paused["committed"]:
        raise RuntimeError(f"rows lost in the switchover: {paused}")
    return {
        "cutover_failed_txns_pause": paused["failed"],
        "cutover_stall_ms": round(paused["max_stall_ms"], 1),
        "cutover_committed_pause": paused["committed"],
        "cutover_failed_clients_restart": restarted["failed"],
        "cutover_stall_ms_restart": round(restarted["max_stall_ms"], 1),
    }
