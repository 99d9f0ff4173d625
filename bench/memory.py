"""Memory after 30 minutes of 1 Hz samples of 10 nodes: the real app (panels, sparklines, the Watch,
an operator session journaling samples), fed 18,000 samples headless as fast as it takes them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from checks.config.model import Cluster
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, WalReceiver

START = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _sample(name: str, i: int, second: int) -> NodeSample:
    at = START + timedelta(seconds=second)
    lsn = format_lsn(0x3000000 + second * 8192)
    if i == 0:
        return NodeSample(name=name, observed_at=at, reachable=True, in_recovery=False, tx_read_only="off",
                          current_lsn=lsn, flush_lsn=lsn, timeline=1, system_identifier="7", latency_ms=1.0)
    return NodeSample(name=name, observed_at=at, reachable=True, in_recovery=True, tx_read_only="on",
                      receive_lsn=lsn, replay_lsn=lsn, bytes_not_replayed=0, raw_replay_delay_s=0.2, timeline=1,
                      system_identifier="7", latency_ms=1.0, wal_receiver=WalReceiver(status="streaming"))


def rss_mb_10_nodes(minutes: float = 30) -> dict:
    from checks.runbook.session import Session
    from tui.app import CockpitApp
    from tui.messages import NodeSampled

    names = [f"n{i:02d}" for i in range(1, 11)]
    cluster = Cluster.model_validate({"nodes": [{"name": n, "dsn": "postgresql://u@127.0.0.1:1/postgres"}
                                                for n in names], "approvers": ["alice"]})
    directory = Path(tempfile.mkdtemp(prefix="ofc-rss-")) / "inc"
    session = Session("bench", cluster, directory, seat="operator", name="bench")
    seconds = int(minutes * 60)

    async def go() -> dict:
        app = CockpitApp("bench", cluster, session=session)
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.pause(0.2)
            before = _rss_mb()
            for second in range(seconds):
                for i, name in enumerate(names):
                    app.on_node_sampled(NodeSampled(_sample(name, i, second)))
                if second % 300 == 0:
                    await pilot.pause()
            await pilot.pause(0.2)
            return {"rss_mb_10_nodes": round(_rss_mb(), 1), "rss_mb_10_nodes_at_start": round(before, 1)}

    try:
        return asyncio.run(go())
    finally:
        session.close()


def rss_mb_10_nodes_fresh(minutes: float = 30) -> dict:
    """:func:`rss_mb_10_nodes` in a process of its own: the bench's process has held other journals."""
    out = subprocess.run([sys.executable, "-m", "bench.memory", str(minutes)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(rss_mb_10_nodes(float(sys.argv[1]) if len(sys.argv) > 1 else 30)))
