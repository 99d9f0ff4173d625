"""A resumed incident feeds its Watch the journal's turning points, not every sample: the Watch then
remembers what one fed every sample remembers (issue 17: resuming reads what it needs)."""

from __future__ import annotations

import random

from bench.long_journal import NODES, _samples, bench_cluster, failover_events
from checks.observe.assess import Watch
from checks.observe.sample_policy import SampleRecorder, turning_points


def night(seconds: int, crash_at_s: int) -> list:
    rng, state = random.Random(3), {"lsn": 0x16_B374D848, **{n: 0x16_B374D848 for n in NODES[1:]}}
    recorder = SampleRecorder(slo_replay_delay_s=30.0)
    return [s for t in range(seconds) for s in _samples(t, state, rng, crash_at_s) if recorder.offer(s)]


def memory(watch: Watch) -> tuple:
    """What the gates read of a Watch's memory. Not its first_bad_at: the RTO's origin is the journal's
    (the status events of the first bad signal), and a replayed Watch's depends on how stale the kept
    samples look at each replayed moment (10 s apart: a node unheard for 10 s is a bad signal)."""
    return watch.last_primary, watch.followed, watch.answered_at, {
        n: (s.observed_at, s.reachable, s.in_recovery) for n, s in watch.samples.items()}


def test_a_watch_fed_the_turning_points_remembers_what_one_fed_every_sample_does():
    cluster = bench_cluster(failover_events()[1])
    samples = night(1500, crash_at_s=900)
    points = turning_points(samples, slo_replay_delay_s=cluster.slo.max_replay_delay_s)
    every, resumed = Watch("lab", cluster), Watch("lab", cluster)
    for s in samples:
        every.update(s, now=s.observed_at)
    for s in points:
        resumed.update(s, now=s.observed_at)
    assert len(points) < len(samples) / 10          # a few dozen of thousands
    assert memory(resumed) == memory(every)
    assert every.last_primary.node == "node2" and every.last_primary.timeline == 2   # the failover is in it


def test_every_change_of_state_and_the_sample_before_it_are_turning_points():
    samples = night(1200, crash_at_s=900)
    points = turning_points(samples)
    node1 = [s for s in samples if s.name == "node1"]
    last_up = max(i for i, s in enumerate(node1) if s.reachable)
    assert node1[last_up] in points and node1[last_up + 1] in points     # the last LSN seen, then the crash
    assert {s.name for s in points} == set(NODES)
    assert all(any(p is s for p in points) for s in (samples[-1], node1[0], node1[-1]))


def test_the_journal_keeps_the_turning_points_as_it_writes_them(tmp_path):
    from bench.long_journal import build_long_journal
    from checks.incident.journal import Journal

    cluster = build_long_journal(tmp_path / "inc", hours=0.3, events=300, crash_at_s=500)
    journal = Journal.open(tmp_path / "inc")
    whole = turning_points(journal.samples(), slo_replay_delay_s=cluster.slo.max_replay_delay_s)
    kept = journal.turning_samples(slo_replay_delay_s=cluster.slo.max_replay_delay_s)
    assert [(s.name, s.observed_at) for s in kept] == [(s.name, s.observed_at) for s in whole]
    assert 10 < len(kept) < len(journal.samples()) / 10
    journal.close()


def test_a_journal_without_the_table_is_read_whole(tmp_path):
    import sqlite3

    from bench.long_journal import build_long_journal
    from checks.incident.journal import Journal

    build_long_journal(tmp_path / "inc", hours=0.1, events=50, crash_at_s=200)
    with sqlite3.connect(tmp_path / "inc" / "journal.sqlite3") as db:
        db.execute("DROP TABLE turning_points")            # as a journal of an earlier cockpit
    journal = Journal.open(tmp_path / "inc")
    assert [s.observed_at for s in journal.turning_samples()] == \
        [s.observed_at for s in turning_points(journal.samples())]
    journal.close()


def test_a_journal_with_more_marks_than_lookups_are_worth_is_read_whole_to_the_same_points(tmp_path, monkeypatch):
    from bench.long_journal import build_long_journal
    from checks.incident import journal_samples
    from checks.incident.journal import Journal

    cluster = build_long_journal(tmp_path / "inc", hours=0.2, events=100, crash_at_s=300)
    journal = Journal.open(tmp_path / "inc")
    slo = cluster.slo.max_replay_delay_s
    by_marks = [(s.name, s.observed_at) for s in journal.turning_samples(slo_replay_delay_s=slo)]
    monkeypatch.setattr(journal_samples, "TURNING_LOOKUPS_MAX", 1)
    assert [(s.name, s.observed_at) for s in journal.turning_samples(slo_replay_delay_s=slo)] == by_marks
    journal.close()
