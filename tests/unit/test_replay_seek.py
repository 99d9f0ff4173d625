"""Replay seeking against a naive fold: on a generated journal (ten minutes of three nodes at 1 Hz
with a crash of the primary, a promotion, the old primary back writable, receivers dropping and
nodes blinking out, events of every seat), :meth:`Recording.state_at` at many random moments, in
random order and with checkpoints every few samples, gives exactly what a Watch fed with every
journaled sample up to that moment gives, with the events up to it and the runbook over them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import pytest

from checks.incident.journal import Journal
from checks.observe.assess import Watch
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.runbook.gates import evaluate
from checks.training.replay import TRAIL_SAMPLES, Recording

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
SECONDS = 600
CRASH_S, PROMOTE_S, REPOINT_S, BACK_S, GONE_S = 150, 200, 230, 380, 430
SYSID = "7445012345678901234"
PORTS = {"node1": 54321, "node2": 54322, "node3": 54323}
CONFIG = "[clusters.lab]\napprovers = [\"dave\"]\n" + "".join(
    f"\n[[clusters.lab.nodes]]\nname = \"{name}\"\ndsn = \"postgresql://cockpit@127.0.0.1:{port}/postgres\"\n"
    for name, port in PORTS.items())
EVENT_KINDS = (("note", "scribe", "carol", None), ("status", "operator", "alice", None),
               ("evidence", "operator", "alice", 1), ("decision", "operator", "alice", 0),
               ("action", "operator", "alice", 0), ("todo", "scribe", "carol", None),
               ("alarm", "operator", "alice", None))


class _Cluster:
    """node1 primary until CRASH_S; node2 promoted at PROMOTE_S (timeline 2), node3 re-pointed at it at
    REPOINT_S; node1 back, writable on timeline 1, from BACK_S to GONE_S. Standbys now and then drop
    their receiver or stop answering for a few seconds."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lsn = {name: 0x3000000 for name in PORTS}
        self.blink_until = {"node2": -1, "node3": -1}
        self.stopping_until = {"node2": -1, "node3": -1}

    def primary(self, t: int) -> str | None:
        if t < CRASH_S:
            return "node1"
        return "node2" if t >= PROMOTE_S else None

    def upstream(self, name: str, t: int) -> str | None:
        """The node a standby streams from at ``t`` (None: its receiver is gone)."""
        if t < CRASH_S:
            return "node1"
        if name == "node3" and t >= REPOINT_S:
            return "node2"
        return None

    def tick(self, t: int) -> list[NodeSample]:
        rng = self.rng
        at = T0 + timedelta(seconds=t, microseconds=rng.randint(0, 40_000))
        common = dict(observed_at=at, reachable=True, server_version="15.8", system_identifier=SYSID,
                      latency_ms=1.0, cluster_name="lab")
        primary = self.primary(t)
        if primary is not None:
            self.lsn[primary] += rng.choice((0, 64 * 1024, 2 * 1024 * 1024, 20 * 1024 * 1024))
        out = []
        for name in PORTS:
            if name in self.blink_until:
                if rng.random() < 1 / 90:
                    self.blink_until[name] = t + rng.randint(2, 8)
                if rng.random() < 1 / 70:
                    self.stopping_until[name] = t + rng.randint(2, 12)
            old_back = name == "node1" and BACK_S <= t < GONE_S
            if (name == "node1" and t >= CRASH_S and not old_back) or t < self.blink_until.get(name, -1):
                out.append(NodeSample(name=name, observed_at=at, reachable=False,
                                      error=f"connection to server at \"127.0.0.1\", port {PORTS[name]} failed: "
                                            "Connection refused"))
                continue
            if name == primary or old_back:
                peers = tuple(ReplicationPeer(application_name=s, client_addr="127.0.0.1", state="streaming",
                                              sync_state="async", sent_lsn=format_lsn(self.lsn[name]),
                                              replay_lsn=format_lsn(self.lsn[name]))
                              for s in PORTS if s != name and self.upstream(s, t) == name)
                out.append(NodeSample(name=name, in_recovery=False, tx_read_only="off", replication=peers,
                                      timeline=1 if name == "node1" else 2, current_lsn=format_lsn(self.lsn[name]),
                                      flush_lsn=format_lsn(self.lsn[name]), **common))
                continue
            lead = self.upstream(name, t)
            if lead is not None:
                self.lsn[name] = self.lsn[lead] - rng.choice((0, 8192, 3 * 1024 * 1024))
            receiver = None
            if lead is not None:
                status = "stopping" if t < self.stopping_until[name] else "streaming"
                receiver = WalReceiver(status=status, sender_host="127.0.0.1", sender_port=PORTS[lead])
            out.append(NodeSample(
                name=name, in_recovery=True, tx_read_only="on", timeline=2 if t >= REPOINT_S else 1,
                receive_lsn=format_lsn(self.lsn[name]), replay_lsn=format_lsn(self.lsn[name]),
                bytes_not_replayed=0, raw_replay_delay_s=round(rng.uniform(0, 2) + (t - CRASH_S if lead is None
                                                                                     else 0), 3),
                replay_paused=False, wal_receiver=receiver, **common))
        return out


def build_journal(root: Path, *, seed: int) -> Path:
    """``root/inc``: the scenario sampled through the journal's policy, ~60 events between the samples."""
    rng = random.Random(seed)
    cluster = _Cluster(random.Random(seed + 1))
    (root / "clusters.toml").write_text(CONFIG)
    journal = Journal.create(root / "inc", incident_id="seek", cluster="lab", config_path=root / "clusters.toml")
    event_at = sorted(rng.uniform(0, SECONDS) for _ in range(60))
    clock = {"now": T0}
    with mock.patch("checks.incident.journal.utcnow", lambda: clock["now"]):
        journal.append("role", "roles: operator alice, scribe carol, approver dave", seat="operator", author="alice",
                       stage=0, data={"roles": {"operator": "alice", "scribe": "carol", "approver": "dave"}})
        for t in range(SECONDS):
            for sample in cluster.tick(t):
                journal.record_sample(sample)
            while event_at and event_at[0] < t + 1:
                clock["now"] = T0 + timedelta(seconds=event_at.pop(0))
                kind, seat, author, stage = rng.choice(EVENT_KINDS)
                journal.append(kind, f"{kind} at {clock['now']:%H:%M:%S}", seat=seat, author=author, stage=stage)
    journal.close()
    return root / "inc"


def naive_frames(directory: Path, cluster, moments: list[datetime]) -> dict[datetime, tuple]:
    """For each moment: (view, trail, samples) of one fresh Watch fed, oldest first, with every sample
    the journal holds up to it, and the events up to it with the runbook evaluated over them."""
    with Journal.open(directory) as journal:
        samples, events = journal.samples(), journal.events()
    out = {}
    watch, view, trail, fed = Watch("lab", cluster), None, [], 0
    for moment in sorted(moments):
        while fed < len(samples) and samples[fed].observed_at <= moment:
            sample = samples[fed]
            view = watch.update(sample, now=sample.observed_at)
            trail.append(view.node(sample.name))
            fed += 1
        upto = [e for e in events if e.at <= moment]
        out[moment] = (view, tuple(trail[-TRAIL_SAMPLES:]), fed, tuple(upto), evaluate(cluster, upto))
    return out


@pytest.mark.parametrize("seed", [3, 17])
def test_random_seeks_equal_a_naive_fold(tmp_path, seed):
    directory = build_journal(tmp_path, seed=seed)
    recording = Recording.load(directory, checkpoint_every=7)
    assert recording.config_loaded
    rng = random.Random(seed)
    moments = [recording.start + timedelta(seconds=rng.uniform(-5, recording.duration_s + 5)) for _ in range(70)]
    moments += [recording.samples[i].observed_at for i in rng.sample(range(len(recording.samples)), 10)]
    rng.shuffle(moments)
    expected = naive_frames(directory, recording.cluster, moments)
    kinds = set()
    for moment in moments:
        view, trail, fed, events, runbook = expected[moment]
        frame = recording.state_at(moment)
        assert frame.sample_count == fed
        assert frame.view == view, f"the view at {moment:%H:%M:%S.%f} differs from a Watch fed every sample"
        assert frame.trail == trail
        assert frame.events == events and frame.runbook == runbook
        if view is not None:
            kinds.add((view.verdict, view.split_brain, tuple(n.role for n in view.nodes)))
    assert len(kinds) >= 4  # the seeks landed before, in and after the crash, and in the split brain


def test_the_generated_journal_holds_what_the_seeks_must_get_right(tmp_path):
    """The scenario exercises the Watch's memory: a standby that lost its receiver after the crash is
    said to follow node1 (remembered), not merely 'not streaming'; the old primary back is a split brain."""
    recording = Recording.load(build_journal(tmp_path, seed=3))
    after_crash = recording.state_at(T0 + timedelta(seconds=CRASH_S + 20)).view
    assert after_crash.node("node2").followed == "node1" and not after_crash.node("node2").streaming
    assert recording.state_at(T0 + timedelta(seconds=BACK_S + 20)).view.split_brain
    assert recording.state_at(T0 + timedelta(seconds=REPOINT_S + 20)).view.node("node3").followed == "node2"
    assert 300 < len(recording.samples) < 3 * SECONDS and len(recording.events) == 61
