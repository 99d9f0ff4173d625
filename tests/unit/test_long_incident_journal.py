"""Trying to break the long-incident journal (issue 17 point 2): the events a Journal caches (read once,
then only newer ids) against other processes appending at once, and the standby peaks kept in
``meta`` as samples are written against journals from before peaks, event snapshots, forced samples,
a journal resumed in a new process, a node that was promoted, a write that fails, and two writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from checks.incident import sample_peaks
from checks.incident.directory import JOURNAL_FILE
from checks.incident.journal import Journal, JournalWriteError
from checks.observe.sample import NodeSample

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)

WRITER = """
import sys, time
from pathlib import Path
from checks.incident.journal import Journal
incident, name, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
journal = Journal.open(incident)
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.001)
for i in range(count):
    kind = "status" if i % 3 == 0 else "note"
    journal.append(kind, f"{name} {i}", seat="scribe", author=name)
journal.close()
"""

SAMPLE_WRITER = """
import sys
from pathlib import Path
from checks.incident.journal import Journal
from checks.observe.sample import NodeSample
journal = Journal.open(Path(sys.argv[1]))
for line in sys.argv[2:]:
    journal.record_sample(NodeSample.model_validate_json(line), force=True)
journal.close()
"""


def spawn(code: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def incident(tmp_path):
    Journal.create(tmp_path / "inc", incident_id="inc-17", cluster="main").close()
    return tmp_path / "inc"


# -- the events a journal caches ----------------------------------------------------------------------
def test_a_reader_following_two_writers_sees_every_event_once_in_id_order(incident, tmp_path):
    reader = Journal.open(incident)
    reader.append("note", "the reader was here first", seat="observer", author="olga")
    assert len(reader.events()) == 1                     # the cache holds it: later reads ask only for newer ids
    go = tmp_path / "go"
    writers = [spawn(WRITER, incident, name, 150, go) for name in ("alice", "bob")]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in ("alice", "bob")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    followed, statuses, last, last_status = [], [], 1, 1
    while True:
        running = any(p.poll() is None for p in writers)
        batch = reader.events(after_id=last)
        followed += batch
        last = batch[-1].id if batch else last
        status = reader.events(after_id=last_status, kinds={"status"})
        statuses += status
        last_status = status[-1].id if status else last_status
        if not running and not batch and not status:
            break
        time.sleep(0.002)
    for p in writers:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    fresh = Journal.open(incident).events()
    assert len(fresh) == 301
    assert [e.id for e in followed] == [e.id for e in fresh[1:]]          # each once, in id order
    assert [e.model_dump() for e in reader.events()] == [e.model_dump() for e in fresh]
    assert [e.id for e in statuses] == [e.id for e in fresh if e.kind == "status"]
    middle = fresh[150].id
    assert [e.id for e in reader.events(after_id=middle, kinds={"note", "status"})] == \
        [e.id for e in fresh if e.id > middle]
    assert [e.id for e in reader.events(after_id=middle, kinds={"note"})] == \
        [e.id for e in fresh if e.id > middle and e.kind == "note"]
    assert reader.events(after_id=fresh[-1].id) == [] and reader.events(kinds=set()) == []
    reader.close()


def test_a_caller_changing_the_returned_list_leaves_the_cache_whole(incident):
    journal = Journal.open(incident)
    for i in range(5):
        journal.append("note", f"note {i}", seat="scribe", author="carol")
    got = journal.events()
    got.clear()
    journal.events(after_id=2).append(got)
    del journal.events(kinds={"note"})[0]
    journal.events().reverse()
    assert [e.text for e in journal.events()] == [f"note {i}" for i in range(5)]
    assert [e.id for e in journal.events(after_id=3)] == [4, 5]
    journal.close()


def test_a_second_journal_in_the_same_process_sees_what_the_first_appends_after_it_read(incident):
    a, b = Journal.open(incident), Journal.open(incident)
    b.events()
    a.append("note", "one", seat="scribe", author="carol")
    assert [e.text for e in b.events()] == ["one"]
    b.append("status", "two", seat="operator", author="alice")
    a.append("note", "three", seat="scribe", author="carol")
    assert [e.text for e in b.events(after_id=1)] == ["two", "three"]
    assert [e.text for e in a.events()] == ["one", "two", "three"]
    a.close()
    b.close()


# -- the standby peaks --------------------------------------------------------------------------------
def standby(name: str, t: float, *, delay: float | None, behind: int | None, caught_up: bool = False) -> NodeSample:
    return NodeSample(name=name, observed_at=T0 + timedelta(seconds=t), reachable=True, in_recovery=True,
                      timeline=1, receive_lsn="0/5000000", replay_lsn="0/5000000" if caught_up else "0/4000000",
                      bytes_not_replayed=behind, raw_replay_delay_s=delay)


def primary(name: str, t: float) -> NodeSample:
    return NodeSample(name=name, observed_at=T0 + timedelta(seconds=t), reachable=True, in_recovery=False,
                      timeline=2, current_lsn="0/6000000")


def figures(samples) -> tuple:
    """The close-out's two peak figures (checks/stages/close.py closeout) over these samples."""
    standbys = [s for s in samples if s.in_recovery]
    return (max((s.replay_delay_s or 0.0 for s in standbys), default=None),
            max((s.bytes_not_replayed or 0 for s in standbys), default=None))


def whole(directory: Path) -> tuple:
    """The figures over every journaled sample, read by a journal opened afresh."""
    journal = Journal.open(directory)
    try:
        return figures(journal.samples())
    finally:
        journal.close()


def peaks_afresh(directory: Path) -> tuple:
    journal = Journal.open(directory)
    try:
        return figures(journal.standby_peaks())
    finally:
        journal.close()


def test_a_journal_from_before_peaks_is_read_whole_once_and_then_kept(incident):
    journal = Journal.open(incident)
    for i, (delay, behind) in enumerate([(3.0, 1000), (40.0, 200), (5.0, 9_000_000), (1.0, 10)]):
        journal.record_sample(standby("node2", i, delay=delay, behind=behind), force=True)
    journal.close()
    conn = sqlite3.connect(incident / JOURNAL_FILE)
    with conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (sample_peaks.META_KEY,))    # as written before peaks
    conn.close()
    assert peaks_afresh(incident) == whole(incident) == (40.0, 9_000_000)
    journal = Journal.open(incident)
    journal.record_sample(standby("node3", 10, delay=2.0, behind=5), force=True)         # beats nothing
    journal.record_sample(standby("node3", 11, delay=50.0, behind=5), force=True)        # a new delay peak
    assert figures(journal.standby_peaks()) == whole(incident) == (50.0, 9_000_000)
    journal.close()
    assert peaks_afresh(incident) == (50.0, 9_000_000)


def test_samples_written_by_event_snapshots_and_forced_ones_count(incident):
    journal = Journal.open(incident)
    journal.record_sample(standby("node2", 0, delay=1.0, behind=100))                   # first: kept
    assert not journal.record_sample(standby("node2", 1, delay=25.0, behind=500_000))   # dropped, held back
    journal.append("decision", "candidate node2", seat="operator", author="alice", stage=1)   # its snapshot
    journal.record_sample(standby("node3", 2, delay=0.5, behind=3_000_000), force=True)
    assert figures(journal.standby_peaks()) == whole(incident) == (25.0, 3_000_000)
    journal.close()
    assert peaks_afresh(incident) == (25.0, 3_000_000)


def test_a_journal_resumed_in_a_new_process_continues_from_the_peaks_in_meta(incident):
    journal = Journal.open(incident)
    journal.record_sample(standby("node2", 0, delay=90.0, behind=7_000_000), force=True)
    journal.close()
    smaller = [standby("node2", 1 + i, delay=10.0 + i, behind=1000 * i).model_dump_json() for i in range(3)]
    proc = spawn(SAMPLE_WRITER, incident, *smaller)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert peaks_afresh(incident) == whole(incident) == (90.0, 7_000_000)   # the smaller ones did not replace it
    proc = spawn(SAMPLE_WRITER, incident, standby("node3", 9, delay=95.0, behind=1).model_dump_json())
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert peaks_afresh(incident) == whole(incident) == (95.0, 7_000_000)


def test_the_peak_of_a_standby_that_was_promoted_later_still_counts(incident):
    journal = Journal.open(incident)
    journal.record_sample(standby("node2", 0, delay=120.0, behind=4_000_000), force=True)
    journal.record_sample(standby("node3", 0, delay=2.0, behind=10), force=True)
    for t in range(1, 5):
        journal.record_sample(primary("node2", t), force=True)                         # node2 promoted
    assert figures(journal.standby_peaks()) == whole(incident) == (120.0, 4_000_000)
    assert {s.name for s in journal.standby_peaks()} == {"node2"}
    journal.close()
    assert peaks_afresh(incident) == (120.0, 4_000_000)


def _disk_full_on_events(directory: Path, on: bool) -> None:
    """A real SQLite failure in the event's own transaction, as a full disk fails it."""
    conn = sqlite3.connect(directory / JOURNAL_FILE)
    with conn:
        conn.execute("CREATE TRIGGER full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, "
                     "'database or disk is full'); END" if on else "DROP TRIGGER full")
    conn.close()


def test_a_snapshot_whose_event_fails_to_write_leaves_no_peak_ahead_of_the_journal(incident):
    journal = Journal.open(incident)
    journal.record_sample(standby("node2", 0, delay=1.0, behind=100))
    journal.record_sample(standby("node2", 1, delay=60.0, behind=800_000))   # dropped by the policy, held back
    _disk_full_on_events(incident, True)
    with pytest.raises(JournalWriteError):
        journal.append("decision", "candidate node2", seat="operator", author="alice", stage=1)
    assert figures(journal.standby_peaks()) == whole(incident) == (1.0, 100)   # nothing of it is on disk
    _disk_full_on_events(incident, False)
    journal.retry_pending()                                                # the event and its snapshot now
    assert whole(incident) == (60.0, 800_000)
    assert peaks_afresh(incident) == (60.0, 800_000)                      # a resumed close-out sees it
    journal.close()


def test_two_processes_writing_samples_never_lower_the_peaks(incident):
    journal = Journal.open(incident)
    journal.record_sample(standby("node2", 0, delay=5.0, behind=1000), force=True)     # this journal's peaks now
    proc = spawn(SAMPLE_WRITER, incident, standby("node3", 1, delay=300.0, behind=9_000_000).model_dump_json())
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    journal.record_sample(standby("node2", 2, delay=6.0, behind=2000), force=True)     # beats its own copy only
    assert whole(incident) == (300.0, 9_000_000)
    assert peaks_afresh(incident) == (300.0, 9_000_000)
    journal.close()


def test_standby_samples_with_no_delay_or_backlog_measured_give_the_same_figures(incident):
    journal = Journal.open(incident)
    for t in range(3):
        journal.record_sample(standby("node2", t, delay=None, behind=None), force=True)
    assert whole(incident) == (0.0, 0)
    assert figures(journal.standby_peaks()) == (0.0, 0)
    journal.close()


def test_two_processes_writing_samples_keep_the_sample_before_a_change(incident):
    def up(t: float, lsn: int) -> NodeSample:
        return NodeSample(name="node1", observed_at=T0 + timedelta(seconds=t), reachable=True, in_recovery=False,
                          timeline=1, current_lsn=f"0/{lsn:X}")

    journal = Journal.open(incident)
    for t in range(3):
        journal.record_sample(up(t, 0x1000000 + t), force=True)
    proc = spawn(SAMPLE_WRITER, incident, *(up(t, 0x9000000 + t).model_dump_json() for t in (3, 4)))
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    journal.record_sample(NodeSample(name="node1", observed_at=T0 + timedelta(seconds=5), reachable=False,
                                     error="connection refused"), force=True)
    kept = [s.current_lsn for s in journal.turning_samples()]
    journal.close()
    assert "0/9000004" in kept                         # the last LSN node1 showed before it went down
