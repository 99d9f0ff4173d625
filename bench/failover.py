"""Promotion speed (ours against plain ``pg_promote(wait => true)``) and a headless crash failover's RTO."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.observe.connect import node_connection
from checks.stages.promote import promote_on

ROOT = Path(__file__).resolve().parent.parent
WRITE = "CREATE TABLE IF NOT EXISTS bench_write(x int); INSERT INTO bench_write VALUES (1)"


async def _ours(node, sampling) -> float:
    async with node_connection(node, sampling) as conn:
        started = time.monotonic()
        result = await promote_on(conn, node.name, sampling.statement_timeout_s)
        if not result.promoted:
            raise RuntimeError(result.error)
        await conn.execute(WRITE)
        return (time.monotonic() - started) * 1000


async def _pg_promote_wait(node, sampling) -> float:
    async with node_connection(node, sampling) as conn:
        started = time.monotonic()
        await conn.fetchval("SELECT pg_promote(wait => true)")
        await conn.execute(WRITE)
        return (time.monotonic() - started) * 1000


def promotion_figures(make_lab, root: Path, runs: int) -> dict:
    """Each run promotes two standbys of one fresh lab: one our way, one with pg_promote(wait => true).
    Both through the same bastion path (the lab's proxy), on a connection opened before the clock
    starts, from the promotion call to the first successful write on that connection."""
    ours, peer = [], []
    for _ in range(runs):
        lab = make_lab(root, replicas=2)
        try:
            _, cluster = load_config(lab.status()["config"]).cluster(None)
            ours.append(asyncio.run(_ours(cluster.node("node2"), cluster.sampling)))
            peer.append(asyncio.run(_pg_promote_wait(cluster.node("node3"), cluster.sampling)))
        finally:
            lab.down()
    return {"promote_to_writable_ms": round(statistics.median(ours), 1),
            "pg_promote_wait_ms": round(statistics.median(peer), 1)}


def failover_rto_s(make_lab, root: Path) -> dict:
    """Crash the primary of a fresh lab, then ``drill`` to a passing Odoo write probe; the RTO it journals."""
    lab = make_lab(root, replicas=2)
    try:
        config = lab.status()["config"]
        lab.crash("node1")
        incident = root / f"rto-{time.time_ns()}"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "cli", "drill", config, "--incident", str(incident),
                               "--yes", "--approver", "alice", "--fence"],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"drill failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        journal = Journal.open(incident)
        close = journal.events(kinds={"close"})[-1]
        journal.close()
        return {"failover_rto_s": close.data["rto_s"], "failover_drill_wall_s": round(wall, 2)}
    finally:
        lab.down()
