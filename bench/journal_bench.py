"""Journal size: bytes per node-hour of 1 Hz sampling kept by the SampleRecorder policy.

A simulated 3-node cluster (a primary with two streaming standbys) is sampled once a
second of simulated time: WAL advancing at an Odoo-like rate (quiet stretches, steady
work, an occasional import burst), standbys a little behind, and now and then a state
change (a receiver reconnect, replay paused for a while, a node unreachable for a few
seconds). Every sample goes through :meth:`Journal.record_sample` into a real journal
in a temporary directory; the growth of the SQLite file (after a WAL checkpoint, so
the WAL is folded in and empty) is extrapolated to one node-hour.

    .venv/bin/python -m bench.journal_bench [MINUTES]
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from checks.incident.journal import JOURNAL_FILE, Journal
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.observe.sample_policy import SampleRecorder

TARGET_BYTES_PER_NODE_HOUR = 5 * 1024 * 1024
NODES = ("node1", "node2", "node3")
START = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
SYSID = "7312345678901234567"
VERSION = "15.8 (Debian 15.8-0+deb12u1)"


class _Cluster:
    """A primary and two standbys whose positions move like a working Odoo database's."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lsn = 0x16_B374D848
        self.received = {"node2": self.lsn, "node3": self.lsn}
        self.replayed = dict(self.received)
        self.burst_until = -1
        self.paused_until = -1
        self.down_until = -1
        self.reconnect_at = -1

    def _wal_rate(self, t: int) -> int:
        if t < self.burst_until:
            return self.rng.randint(8, 20) * 1024 * 1024  # a batch import or a cron recomputing stock
        if self.rng.random() < 1 / 300:
            self.burst_until = t + self.rng.randint(10, 40)
        if (t // 120) % 3 == 0:
            return self.rng.randint(0, 40) * 1024  # a quiet stretch
        return self.rng.randint(100, 1500) * 1024  # users confirming orders and posting invoices

    def tick(self, t: int) -> list[NodeSample]:
        rng = self.rng
        self.lsn += self._wal_rate(t)
        if rng.random() < 1 / 400:
            self.paused_until = t + rng.randint(20, 90)
        if rng.random() < 1 / 600:
            self.down_until = t + rng.randint(3, 15)
        if rng.random() < 1 / 500:
            self.reconnect_at = t
        for name in self.received:
            self.received[name] = max(self.received[name], self.lsn - rng.randint(0, 64 * 1024))
            if not (name == "node3" and t < self.paused_until):
                self.replayed[name] = max(self.replayed[name], self.received[name] - rng.randint(0, 256 * 1024))
        at = START + timedelta(seconds=t, microseconds=rng.randint(0, 40_000))
        common = dict(observed_at=at, reachable=True, server_version=VERSION, cluster_name="main",
                      system_identifier=SYSID, timeline=1, latency_ms=round(rng.uniform(0.4, 3.0), 2))
        peers = tuple(
            ReplicationPeer(application_name=n, client_addr=f"10.0.0.{i + 2}", state="streaming", sync_state="async",
                            sent_lsn=format_lsn(self.lsn), write_lsn=format_lsn(self.received[n]),
                            flush_lsn=format_lsn(self.received[n]), replay_lsn=format_lsn(self.replayed[n]),
                            write_lag_s=round(rng.uniform(0, 0.01), 6), flush_lag_s=round(rng.uniform(0, 0.02), 6),
                            replay_lag_s=round(rng.uniform(0, 0.5), 6))
            for i, n in enumerate(self.received)
        )
        out = [NodeSample(name="node1", in_recovery=False, tx_read_only="off", current_lsn=format_lsn(self.lsn),
                          replication=peers, **common)]
        for name in self.received:
            if name == "node2" and t < self.down_until:
                out.append(NodeSample(name=name, observed_at=at, reachable=False,
                                      error="connection to server at \"10.0.0.2\", port 5432 failed: timeout expired"))
                continue
            status = "stopping" if name == "node2" and t == self.reconnect_at else "streaming"
            out.append(NodeSample(
                name=name, in_recovery=True, tx_read_only="on", receive_lsn=format_lsn(self.received[name]),
                replay_lsn=format_lsn(self.replayed[name]),
                bytes_not_replayed=self.received[name] - self.replayed[name],
                raw_replay_delay_s=round(rng.uniform(0, 1.5) + (max(0, self.paused_until - t) if name == "node3"
                                                                else 0), 6),
                replay_paused=name == "node3" and t < self.paused_until,
                wal_receiver=WalReceiver(status=status, sender_host="10.0.0.1", sender_port=5432, received_tli=1,
                                         slot_name=f"slot_{name}"),
                **common,
            ))
        return out


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob(JOURNAL_FILE + "*"))


def simulate(minutes_simulated: float = 10, *, keep_all: bool = False, seed: int = 7) -> dict:
    """Run the simulation; returns the figures (bytes per node-hour, samples offered and kept)."""
    cluster = _Cluster(random.Random(seed))
    recorder = SampleRecorder(slo_replay_delay_s=30.0)
    with tempfile.TemporaryDirectory(prefix="ofc-journal-bench-") as tmp:
        journal = Journal.create(Path(tmp) / "inc", incident_id="bench", cluster="main", recorder=recorder)
        journal.checkpoint()
        before = _size(journal.dir)
        offered = kept = 0
        for t in range(int(minutes_simulated * 60)):
            for sample in cluster.tick(t):
                offered += 1
                kept += journal.record_sample(sample, force=keep_all)
        journal.checkpoint()
        grown = _size(journal.dir) - before
        journal.close()
    per_node_hour = grown / len(NODES) * 60 / minutes_simulated
    return {"bytes_per_node_hour": round(per_node_hour), "samples_offered": offered, "samples_kept": kept,
            "bytes_per_kept_sample": round(grown / kept) if kept else None, "minutes_simulated": minutes_simulated}


def journal_bytes_per_node_hour(minutes_simulated: float = 10) -> float:
    """Journal growth per node-hour of 1 Hz sampling under the default recording policy."""
    return float(simulate(minutes_simulated)["bytes_per_node_hour"])


def main(argv: list[str]) -> int:
    minutes = float(argv[0]) if argv else 10
    kept = simulate(minutes)
    every = simulate(minutes, keep_all=True)
    mib = 1024 * 1024
    print(f"policy:   {kept['bytes_per_node_hour'] / mib:.2f} MiB per node-hour "
          f"({kept['samples_kept']}/{kept['samples_offered']} samples kept, {kept['bytes_per_kept_sample']} B each)")
    print(f"keep all: {every['bytes_per_node_hour'] / mib:.2f} MiB per node-hour "
          f"({every['bytes_per_kept_sample']} B each)")
    print(f"target:   under {TARGET_BYTES_PER_NODE_HOUR / mib:.0f} MiB per node-hour: "
          f"{'ok' if kept['bytes_per_node_hour'] < TARGET_BYTES_PER_NODE_HOUR else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
