"""An eight-hour incident journal: 10,000 events and the samples of 10 nodes at 1 Hz.

The failover itself is the real one: the bundled ``clean-crash`` scenario played by its safe
path on a :class:`~checks.training.run.TrainingRun`, so every gate event (evaluation, roles,
freeze, candidate, the old primary's checks and fence, promotion, cutover, verification, close)
is what the cockpit journals, with its data. Around it, the night of an incident as a scribe and
an operator write it: notes every few seconds, status updates, TODOs, alarms, and a verification
run again every ten minutes after the cutover (each run is gate evidence, so the close-out has
hundreds of gate events to walk, not a dozen). The crash lands two hours in.

Samples: node1 the primary, node2..node10 standbys, one tick a second of simulated time through
:meth:`Journal.record_sample` and its SampleRecorder policy (the journal keeps changes and a full
sample every 10 s). The build writes with ``synchronous = OFF`` (one machine's fsyncs are not what
is measured); the rows are the ones the cockpit writes.

    .venv/bin/python -m bench.long_journal DIR [HOURS]
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

from checks.config.model import Cluster
from checks.incident.events import Event
from checks.incident.journal import Journal
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.observe.sample_policy import SampleRecorder
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "checks" / "training" / "scenarios" / "clean-crash.json"
START = datetime(2026, 12, 1, 22, 0, 0, tzinfo=timezone.utc)
NODES = tuple(f"node{i}" for i in range(1, 11))
CRASH_AT_S = 2 * 3600
VERIFY_EVERY_S = 600
_FILLER = (("note", "scribe", "carol", 60), ("status", "operator", "alice", 8), ("todo", "scribe", "carol", 4),
           ("alarm", "operator", "alice", 3), ("system", "operator", "alice", 2))
VERSION = "15.18 (Debian 15.18-0+deb12u1)"
SYSID = "7312345678901234567"


def failover_events() -> tuple[list[Event], Cluster]:
    """The safe path's journal on the recorded clean crash (real gate events), and its cluster."""
    run = TrainingRun(load_scenario(SCENARIO), "alice")
    run.advance(15)
    play_safe_path(run, scribe="carol")
    return list(run.events), run.cluster


def bench_cluster(base: Cluster) -> Cluster:
    """The scenario's cluster with ten nodes (node4..node10 as more standbys like node3)."""
    extra = [base.nodes[-1].model_copy(update={"name": name}) for name in NODES[len(base.nodes):]]
    return base.model_copy(update={"nodes": [*base.nodes, *extra]})


def _samples(t: int, state: dict, rng: random.Random, crash_at_s: int) -> list[NodeSample]:
    at = START + timedelta(seconds=t, microseconds=rng.randint(0, 40_000))
    common = dict(observed_at=at, reachable=True, server_version=VERSION, cluster_name="main",
                  system_identifier=SYSID, latency_ms=round(rng.uniform(0.4, 3.0), 2))
    crashed = t >= crash_at_s
    if not crashed:
        state["lsn"] += rng.choice((0, 4096, 65536, 400_000)) if (t // 600) % 4 else rng.randint(1, 3) * 1024 * 1024
    out = []
    for i, name in enumerate(NODES):
        if name == "node1":
            if crashed:
                out.append(NodeSample(name=name, observed_at=at, reachable=False, error="connection refused: "
                                      "the server is not running or not accepting connections on this port"))
                continue
            peers = tuple(ReplicationPeer(application_name=n, client_addr=f"10.0.0.{j + 2}", state="streaming",
                                          sync_state="async", sent_lsn=format_lsn(state["lsn"]),
                                          replay_lsn=format_lsn(state[n]), replay_lag_s=round(rng.uniform(0, .5), 3))
                          for j, n in enumerate(NODES[1:]))
            out.append(NodeSample(name=name, in_recovery=False, tx_read_only="off", timeline=1,
                                  current_lsn=format_lsn(state["lsn"]), replication=peers, **common))
            continue
        promoted = crashed and name == "node2"
        if not crashed:
            state[name] = max(state[name], state["lsn"] - rng.randint(0, 128 * 1024))
        if promoted:
            state["lsn2"] = state.get("lsn2", state[name]) + rng.choice((0, 8192, 65536))
            out.append(NodeSample(name=name, in_recovery=False, tx_read_only="off", timeline=2,
                                  current_lsn=format_lsn(state["lsn2"]), **common))
            continue
        behind = 0 if crashed or rng.random() < 0.3 else rng.randint(0, 96 * 1024)
        out.append(NodeSample(
            name=name, in_recovery=True, tx_read_only="on", timeline=1, receive_lsn=format_lsn(state[name]),
            replay_lsn=format_lsn(state[name] - behind), bytes_not_replayed=behind,
            raw_replay_delay_s=round(rng.uniform(0, 1.5) + (t - crash_at_s if crashed else 0), 3),
            wal_receiver=None if crashed else WalReceiver(status="streaming", sender_host="10.0.0.1",
                                                          sender_port=5432, received_tli=1, slot_name=f"slot_{i}"),
            **common))
    return out


def _timed_events(failover: list[Event], seconds: int, total: int, rng: random.Random,
                  crash_at_s: int) -> list[tuple[float, dict]]:
    """Every event to journal, at its second: the failover at the crash, verification runs every
    ten minutes after it, and filler (notes, status, TODOs, alarms) up to ``total``."""
    base = failover[0].at
    placed: list[tuple[float, dict]] = []
    for e in failover:
        offset = (e.at - base).total_seconds()
        at = offset if offset < 1 else crash_at_s + offset
        placed.append((at, dict(kind=e.kind, text=e.text, seat=e.seat, author=e.author, stage=e.stage,
                                data=dict(e.data))))
    close = placed.pop()                                  # the close is the bench's to make, at the end
    assert close[1]["kind"] == "close"
    verify = [p for p in placed if p[1]["kind"] == "evidence" and p[1]["stage"] == 5]
    end_of_failover = max(at for at, _ in placed)
    for n, at in enumerate(range(int(end_of_failover) + VERIFY_EVERY_S, seconds - 60, VERIFY_EVERY_S)):
        for k, (_, v) in enumerate(verify):
            placed.append((at + k * 0.5, {**v, "data": {**v["data"], "verify_run": f"bench-{n}"}}))
    weights = [w for *_, w in _FILLER]
    for i in range(total - len(placed)):
        kind, seat, author, _ = rng.choices(_FILLER, weights)[0]
        at = rng.uniform(1, seconds - 1)
        placed.append((at, dict(kind=kind, text=f"{kind} {i}: at +{timedelta(seconds=int(at))} the night goes on; "
                                f"node{rng.randint(2, 10)} replay delay looked fine", seat=seat, author=author,
                                stage=None, data={})))
    return sorted(placed, key=lambda p: p[0])


def build_long_journal(directory: Path, hours: float = 8, events: int = 10_000, *, crash_at_s: int = CRASH_AT_S,
                       seed: int = 17) -> Cluster:
    """Write the incident at ``directory``; returns its (ten-node) cluster."""
    rng = random.Random(seed)
    failover, cluster = failover_events()
    seconds = int(hours * 3600)
    timed = _timed_events(failover, seconds, events, rng, crash_at_s)
    clock = {"now": START}
    journal = Journal.create(directory, incident_id=directory.name, cluster="lab",
                             recorder=SampleRecorder(slo_replay_delay_s=cluster.slo.max_replay_delay_s))
    journal._conn.execute("PRAGMA synchronous = OFF")    # the build only: what it writes is what is measured
    state = {"lsn": 0x16_B374D848, **{n: 0x16_B374D848 for n in NODES[1:]}}
    pending = iter(timed)
    upcoming = next(pending, None)
    with mock.patch("checks.incident.journal.utcnow", lambda: clock["now"]):
        for t in range(seconds):
            for sample in _samples(t, state, rng, crash_at_s):
                journal.record_sample(sample)
            while upcoming is not None and upcoming[0] < t + 1:
                clock["now"] = START + timedelta(seconds=upcoming[0])
                journal.append(**upcoming[1])
                upcoming = next(pending, None)
    journal.close()
    return bench_cluster(cluster)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    built = build_long_journal(target, float(sys.argv[2]) if len(sys.argv) > 2 else 8)
    print(f"{target}: {len(built.nodes)} nodes")
