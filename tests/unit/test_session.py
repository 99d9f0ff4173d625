"""The operator seat's session: samples journaled off the screen's thread, in order, none lost at close."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.observe.sample import NodeSample
from checks.runbook.session import Session

ROOT = Path(__file__).resolve().parents[2]


def test_the_operator_seat_journals_samples_on_its_own_thread_in_order(tmp_path):
    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    incident = tmp_path / "inc-samples"
    session = Session(name, cluster, incident, seat="operator", name="olga")
    writers: list[str] = []
    real = session.journal.record_sample

    def watched(sample, **kw):
        writers.append(threading.current_thread().name)
        return real(sample, **kw)

    session.journal.record_sample = watched
    start = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    samples = [NodeSample(name="pg1", observed_at=start + timedelta(minutes=2 * i), reachable=False,
                          error=f"no answer {i}") for i in range(20)]   # 2 min apart: each one is kept
    for sample in samples:
        session.record_sample(sample)
    session.close()
    assert writers and set(writers) == {"journal samples inc-samples"} != {threading.current_thread().name}
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=name)
    try:
        assert [s.error for s in journal.samples()] == [s.error for s in samples]
    finally:
        journal.close()


def test_a_scribe_seat_journals_no_sample(tmp_path):
    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    incident = tmp_path / "inc-scribe"
    Session(name, cluster, incident, seat="operator", name="olga").close()
    scribe = Session(name, cluster, incident, seat="scribe", name="sam")
    scribe.record_sample(NodeSample(name="pg1", observed_at=datetime.now(timezone.utc), reachable=False, error="x"))
    scribe.close()
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=name)
    try:
        assert journal.samples() == []
    finally:
        journal.close()


def test_the_journal_keeps_the_sample_where_a_standby_crosses_the_slo(tmp_path):
    """The session gives the journal's sample policy the cluster's SLO (issue 17's design-doc finding)."""
    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    slo = cluster.slo.max_replay_delay_s
    session = Session(name, cluster, tmp_path / "inc-slo", seat="operator", name="olga")
    assert session.journal.recorder.slo_replay_delay_s == slo
    start = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)

    def standby(seconds: float, delay: float) -> NodeSample:
        return NodeSample(name="pg2", observed_at=start + timedelta(seconds=seconds), reachable=True,
                          in_recovery=True, receive_lsn="0/5000000", replay_lsn="0/4FFF000",
                          bytes_not_replayed=4096, raw_replay_delay_s=delay)

    for i, delay in enumerate((1.0, slo - 1, slo + 5, slo + 6)):     # 1 s apart: only a crossing is news
        session.record_sample(standby(i, delay))
    session.close()
    with Journal.open(tmp_path / "inc-slo") as journal:
        kept = [s.raw_replay_delay_s for s in journal.samples("pg2")]
    assert slo + 5 in kept and slo + 6 not in kept, kept
