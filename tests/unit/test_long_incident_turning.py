"""Trying to break the resumed Watch's turning points (issue 17 point 2): a Watch fed the journal's
turning points (checks.observe.sample_policy.turning_points, and the ids the journal keeps as it writes,
Journal.turning_samples) must remember what a Watch fed every sample remembers. Tried here: a journal
that ends in two writers (the old primary cut off from its standbys, a standby promoted), and samples
that reach the journal out of time order (the screen's queued samples behind an action's refresh)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bench.long_journal import failover_events
from checks.incident.journal import Journal
from checks.observe.assess import Watch
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.observe.sample_policy import turning_points

T0 = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)
SYSID = "7312345678901234567"
BASE = 0x16_B374D848


@pytest.fixture(scope="module")
def cluster():
    return failover_events()[1]                   # node1 (the primary), node2, node3


def at(t: float, node: int) -> datetime:
    return T0 + timedelta(seconds=t, milliseconds=node)     # within a round: node1, then node2, then node3


def primary(name: str, t: float, lsn: int, *, timeline: int = 1, peers: tuple[str, ...] = ()) -> NodeSample:
    return NodeSample(name=name, observed_at=at(t, int(name[-1])), reachable=True, in_recovery=False,
                      tx_read_only="off", timeline=timeline, system_identifier=SYSID, current_lsn=format_lsn(lsn),
                      replication=tuple(ReplicationPeer(application_name=p, client_addr=f"10.0.0.{p[-1]}",
                                                        state="streaming", sync_state="async") for p in peers))


def standby(name: str, t: float, lsn: int, *, streaming: bool) -> NodeSample:
    return NodeSample(name=name, observed_at=at(t, int(name[-1])), reachable=True, in_recovery=True,
                      tx_read_only="on", timeline=1, system_identifier=SYSID, receive_lsn=format_lsn(lsn),
                      replay_lsn=format_lsn(lsn), bytes_not_replayed=0, raw_replay_delay_s=0.2,
                      wal_receiver=WalReceiver(status="streaming", sender_host="10.0.0.1", sender_port=5432,
                                               received_tli=1) if streaming else None)


def down(name: str, t: float) -> NodeSample:
    return NodeSample(name=name, observed_at=at(t, int(name[-1])), reachable=False, error="connection refused")


def memory(watch: Watch) -> tuple:
    """What the gates read of a Watch's memory (as tests/unit/test_turning_points.py compares it)."""
    return watch.last_primary, watch.followed, watch.answered_at, {
        n: (s.observed_at, s.reachable, s.in_recovery) for n, s in watch.samples.items()}


def watched(cluster, samples) -> Watch:
    watch = Watch("lab", cluster)
    for s in samples:
        watch.update(s, now=s.observed_at)
    return watch


def split_brain_night() -> list[NodeSample]:
    """node1 primary; at 5 s its standbys lose it (a partition; the bastion still reaches all three);
    node1 keeps taking writes, 1 MiB a second; at 60 s node2 is promoted; the journal ends at 65 s
    with two writers (when a seat resumes it, the split brain is the incident)."""
    out, lsn, held = [], BASE, BASE
    for t in range(66):
        cut = t >= 5
        lsn += 1024 * 1024
        held = held if cut else lsn
        out.append(primary("node1", t, lsn, peers=() if cut else ("node2", "node3")))
        out.append(primary("node2", t, held + 4096 * (t - 59), timeline=2) if t >= 60 else
                   standby("node2", t, held, streaming=not cut))
        out.append(standby("node3", t, held, streaming=not cut))
    return out


def test_a_journal_ending_in_two_writers_resumes_with_the_same_last_primary(cluster):
    samples = split_brain_night()
    every = watched(cluster, samples)
    resumed = watched(cluster, turning_points(samples, slo_replay_delay_s=cluster.slo.max_replay_delay_s))
    assert every.last_primary.node == "node1" and sum(s.writable for s in every.samples.values()) == 2
    assert memory(resumed) == memory(every)
    risk = {n.name: n.data_risk_bytes for n in resumed.update(now=samples[-1].observed_at).nodes}
    assert risk["node3"] == every_risk(every, samples)["node3"]


def every_risk(watch: Watch, samples) -> dict:
    return {n.name: n.data_risk_bytes for n in watch.update(now=samples[-1].observed_at).nodes}


def test_the_journal_kept_turning_points_of_a_split_brain_resume_the_same_last_primary(cluster, tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="lab")
    for s in split_brain_night():
        journal.record_sample(s, force=True)
    resumed = watched(cluster, journal.turning_samples(slo_replay_delay_s=cluster.slo.max_replay_delay_s))
    every = watched(cluster, journal.samples())
    journal.close()
    assert memory(resumed) == memory(every)


def test_a_clean_crash_then_a_promotion_resumes_the_same(cluster, tmp_path):
    """What holds: the old primary dies (its last sample up is kept), a standby is promoted."""
    out, lsn = [], BASE
    for t in range(40):
        lsn += 65536 if t < 10 else 0
        out.append(primary("node1", t, lsn, peers=("node2", "node3")) if t < 10 else down("node1", t))
        out.append(primary("node2", t, lsn + 8192 * (t - 20), timeline=2) if t >= 20 else
                   standby("node2", t, lsn, streaming=t < 10))
        out.append(standby("node3", t, lsn, streaming=t < 10))
    assert memory(watched(cluster, turning_points(out))) == memory(watched(cluster, out))
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="lab")
    for s in out:
        journal.record_sample(s)
    assert memory(watched(cluster, journal.turning_samples())) == memory(watched(cluster, journal.samples()))
    journal.close()


def test_samples_written_out_of_time_order_keep_the_same_turning_points(cluster, tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="lab")
    lsn = BASE
    for t in range(5):
        lsn += 65536
        for s in (primary("node1", t, lsn, peers=("node2", "node3")), standby("node2", t, lsn, streaming=True),
                  standby("node3", t, lsn, streaming=True)):
            journal.record_sample(s, force=True)
    # node1 dies at 5 s. An action's refresh journals the round of 6 s at once; the screen's round of
    # 5 s, queued behind a slow fsync, reaches the journal after it.
    late = [down("node1", 5), standby("node2", 5, lsn, streaming=False), standby("node3", 5, lsn, streaming=False)]
    fresh = [down("node1", 6), standby("node2", 6, lsn, streaming=False), standby("node3", 6, lsn, streaming=False)]
    for s in fresh + late:
        journal.record_sample(s, force=True)
    slo = cluster.slo.max_replay_delay_s
    kept = journal.turning_samples(slo_replay_delay_s=slo)
    whole = turning_points(journal.samples(), slo_replay_delay_s=slo)
    resumed, every = watched(cluster, kept), watched(cluster, journal.samples())
    journal.close()
    assert every.last_primary.lost_at == at(5, 1)                 # node1 was first seen down at 5 s
    assert memory(resumed) == memory(every)
    # every turning point of the rule is kept (more is allowed: an out-of-order sample is rare)
    assert {(s.name, s.observed_at) for s in whole} <= {(s.name, s.observed_at) for s in kept}
