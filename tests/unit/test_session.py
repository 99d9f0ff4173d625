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
