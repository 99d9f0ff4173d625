"""The incident journal: schema, durability settings, events, redaction, samples, failures."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from checks.config.redact import MASK, remember_secret
from checks.incident.journal import (
    ACTION, DECISION, JOURNAL_FILE, KINDS, NOTE, SCHEMA_VERSION, Journal, JournalError, JournalWriteError
)
from checks.observe.sample import NodeSample, WalReceiver
from checks.observe.sample_policy import SampleRecorder

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
PLANTED = "Planted-Journal-S3cret"


def sample(name="node2", at=T0, **kw) -> NodeSample:
    base = dict(reachable=True, in_recovery=True, tx_read_only="on", timeline=1, replay_paused=False,
                system_identifier="7300000000000000001", receive_lsn="0/3000000", replay_lsn="0/3000000",
                bytes_not_replayed=0, raw_replay_delay_s=0.5,
                wal_receiver=WalReceiver(status="streaming", sender_host="10.0.0.1", sender_port=5432))
    base.update(kw)
    return NodeSample(name=name, observed_at=at, **base)


@pytest.fixture
def journal(tmp_path):
    j = Journal.create(tmp_path / "inc", incident_id="2026-12-01-main-1", cluster="main", config_path="/etc/c.toml")
    yield j
    j.close()


def test_create_makes_a_private_dir_with_the_schema_and_durable_settings(journal, tmp_path):
    assert (tmp_path / "inc").stat().st_mode & 0o777 == 0o700
    assert journal.pragmas() == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000,
                                 "user_version": SCHEMA_VERSION}
    raw = sqlite3.connect(tmp_path / "inc" / JOURNAL_FILE)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent, seen by any process
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    cols = {t: [r[1] for r in raw.execute(f"PRAGMA table_info({t})")] for t in ("events", "samples", "meta")}
    assert cols["events"] == ["id", "at", "seat", "author", "kind", "stage", "text", "data"]
    assert cols["samples"] == ["id", "at", "node", "data"]
    assert dict(raw.execute("SELECT key, value FROM meta")).keys() == {"incident_id", "cluster", "created_at", "config"}
    raw.close()
    assert journal.incident_id == "2026-12-01-main-1" and journal.cluster == "main"
    assert journal.meta["config"] == "/etc/c.toml"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", journal.meta["created_at"])


def test_append_returns_the_stored_event_and_events_polls_by_id(journal, tmp_path):
    assert journal.last_event_id() == 0 and journal.events() == []
    a = journal.append(NOTE, "first", seat="scribe", author="bob")
    b = journal.append(DECISION, "promote node2", seat="scribe", author="bob", stage=1,
                       data={"proposed_by": "alice", "approved_by": "carol", "at": T0})
    c = journal.append(ACTION, "fence node1", seat="operator", author="alice", stage=2,
                       data={"argv": ["fence", "node1"], "exit_code": 0, "output": "ok", "duration_ms": 12})
    assert [a.id, b.id, c.id] == sorted({a.id, b.id, c.id}) and journal.last_event_id() == c.id
    assert journal.events() == [a, b, c]
    assert journal.events(after_id=a.id) == [b, c]
    assert journal.events(after_id=c.id) == []
    assert journal.events(kinds={DECISION, ACTION}) == [b, c]
    assert journal.events(after_id=b.id, kinds={DECISION}) == []
    assert journal.events(kinds=set()) == []
    assert b.data == {"proposed_by": "alice", "approved_by": "carol", "at": "2026-12-01T08:00:00.000000Z"}
    assert b.at.tzinfo is not None and b.stage == 1 and a.stage is None
    raw = sqlite3.connect(tmp_path / "inc" / JOURNAL_FILE)
    for (at,) in raw.execute("SELECT at FROM events"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", at), at
    raw.close()
    other = Journal.open(tmp_path / "inc")  # another seat sees the same entries
    assert other.events(after_id=a.id) == [b, c]
    other.close()


def test_unknown_kind_or_seat_is_a_programming_error(journal):
    assert {"note", "decision", "status", "todo", "action", "evidence", "approval", "override", "alarm",
            "role", "stage", "system", "close"} == KINDS
    with pytest.raises(ValueError, match="unknown event kind"):
        journal.append("gossip", "x", seat="scribe", author="bob")
    with pytest.raises(ValueError, match="unknown seat"):
        journal.append(NOTE, "x", seat="pilot", author="bob")
    assert journal.events() == [] and journal.pending == []


def test_secrets_are_redacted_before_they_reach_the_file(journal, tmp_path):
    remember_secret(PLANTED)
    e = journal.append(
        NOTE, f"tried password={PLANTED} and postgresql://odoo:hunter2-inline@db1/odoo", seat="scribe", author="bob",
        data={"dsn": "postgresql://odoo:hunter2-inline@db1/odoo", "password": "plain-value-xyz",
              "password_env": "PGPASS_NODE1", "nested": [{"output": f"echo {PLANTED}"}, 3, None, True]},
    )
    assert PLANTED not in e.text and "hunter2-inline" not in e.text and MASK in e.text
    assert e.data["dsn"] == f"postgresql://odoo:{MASK}@db1/odoo"
    assert e.data["password"] == MASK and e.data["password_env"] == "PGPASS_NODE1"
    assert e.data["nested"] == [{"output": f"echo {MASK}"}, 3, None, True]
    journal.record_sample(sample(reachable=False, error=f"connection to postgresql://u:{PLANTED}@db1 failed"))
    assert PLANTED not in (journal.samples()[0].error or "")
    for path in (tmp_path / "inc").iterdir():
        blob = path.read_bytes()
        for secret in (PLANTED, "hunter2-inline", "plain-value-xyz"):
            assert secret.encode() not in blob, (path.name, secret)


def test_a_newer_schema_is_refused_with_one_line_naming_the_file(journal, tmp_path):
    journal.close()
    raw = sqlite3.connect(tmp_path / "inc" / JOURNAL_FILE)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(JournalError) as info:
        Journal.open(tmp_path / "inc")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "inc" / JOURNAL_FILE) in message and "newer" in message


def test_what_is_not_an_incident_directory_is_refused(tmp_path):
    cases = {"missing": None, "empty": lambda d: None,
             "garbage": lambda d: (d / JOURNAL_FILE).write_text("this is not sqlite, just text\n" * 50),
             "foreign": lambda d: sqlite3.connect(d / JOURNAL_FILE).execute("CREATE TABLE t (x)").connection.close()}
    for name, make in cases.items():
        d = tmp_path / name
        if make is not None:
            d.mkdir()
            make(d)
        with pytest.raises(JournalError) as info:
            Journal.open(d)
        message = str(info.value)
        assert "\n" not in message and str(d) in message and "not an incident" in message, (name, message)
        assert not isinstance(info.value, JournalWriteError)


def test_open_or_create_resumes_the_same_incident_and_refuses_another_cluster(tmp_path):
    j = Journal.open_or_create(tmp_path / "inc", incident_id="i1", cluster="main")
    first = j.append(NOTE, "before the crash", seat="operator", author="alice")
    j.close()
    again = Journal.open_or_create(tmp_path / "inc", incident_id="ignored", cluster="main")
    assert again.incident_id == "i1" and again.events() == [first]
    again.close()
    with pytest.raises(JournalError, match="cluster 'main', not 'other'"):
        Journal.open_or_create(tmp_path / "inc", incident_id="i1", cluster="other")
    with pytest.raises(JournalError, match="already holds"):
        Journal.create(tmp_path / "inc", incident_id="i1", cluster="main")


def test_sample_recorder_keeps_changes_and_a_periodic_sample():
    rec = SampleRecorder(full_every_s=10, lsn_step_bytes=16 << 20, slo_replay_delay_s=30)
    assert rec.reason(sample()) == "first"
    rec.kept(sample())
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), receive_lsn="0/3100000", replay_lsn="0/3100000")) is None
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), receive_lsn="0/4100000", replay_lsn="0/4100000")) \
        == "receive_lsn"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), bytes_not_replayed=2 << 20)) == "bytes_not_replayed"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), reachable=False, error="timeout")) == "reachable"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), in_recovery=False)) == "in_recovery"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), timeline=2)) == "timeline"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), replay_paused=True)) == "replay_paused"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), system_identifier="9")) == "system_identifier"
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), wal_receiver=WalReceiver(status="stopping"))) \
        == "wal_receiver"
    behind = dict(receive_lsn="0/3000100", raw_replay_delay_s=45.0)
    assert rec.reason(sample(at=T0 + timedelta(seconds=1), **behind)) == "replay_delay_slo"
    assert rec.reason(sample(at=T0 + timedelta(seconds=10))) == "periodic"
    rec.forget("node2")
    assert rec.reason(sample(at=T0 + timedelta(seconds=1))) == "first"


def test_record_sample_applies_the_policy_and_reads_back(journal):
    for i in range(30):
        journal.record_sample(sample(at=T0 + timedelta(seconds=i)))
        journal.record_sample(sample("node1", at=T0 + timedelta(seconds=i), in_recovery=False,
                                     current_lsn="0/3000000", wal_receiver=None))
    kept = journal.samples(node="node2")
    assert [s.observed_at for s in kept] == [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    assert kept[0] == sample(at=T0)
    assert len(journal.samples()) == 6
    window = journal.samples(since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=10))
    assert [s.name for s in window] == ["node2", "node1"]  # time order, then journaling order
    assert journal.record_sample(sample(at=T0 + timedelta(seconds=31)), force=True) is True
    at = journal.samples_at(T0 + timedelta(seconds=15))
    assert sorted(at) == ["node1", "node2"] and at["node2"].observed_at == T0 + timedelta(seconds=10)
    assert journal.samples_at(T0 - timedelta(seconds=1)) == {}


def test_a_decision_journals_the_newest_samples_first(journal):
    journal.record_sample(sample(at=T0))
    journal.record_sample(sample(at=T0 + timedelta(seconds=3)))  # dropped by the policy: nothing changed
    assert len(journal.samples()) == 1
    journal.append(NOTE, "a note takes no snapshot", seat="scribe", author="bob")
    assert len(journal.samples()) == 1
    decision = journal.append(DECISION, "promote node2", seat="scribe", author="bob")
    assert [s.observed_at for s in journal.samples()] == [T0, T0 + timedelta(seconds=3)]
    assert journal.samples_at(decision.at)["node2"].observed_at == T0 + timedelta(seconds=3)


# -- a real full or read-only disk -------------------------------------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs of our own: a disk that can really fill up."""
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here: cannot make a small or read-only file system")
    mnt = tmp_path / "fs"
    mnt.mkdir()
    done = _mount("-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mnt))
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()}): run as root to test a full disk")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_raises_a_one_line_write_error_and_loses_nothing(small_fs):
    remember_secret(PLANTED)
    j = Journal.create(small_fs / "inc", incident_id="i1", cluster="main")
    j.append(NOTE, "before", seat="operator", author="alice")
    filler = _fill(small_fs)
    big = "x" * 200_000
    with pytest.raises(JournalWriteError) as info:
        j.append(NOTE, f"first while full {PLANTED} " + big, seat="scribe", author="bob")
    message = str(info.value)
    assert message.startswith(f"journal {small_fs / 'inc' / JOURNAL_FILE} is not writable: ") and "\n" not in message
    assert "full" in message
    with pytest.raises(JournalWriteError):
        j.append(NOTE, "second while full", seat="scribe", author="bob")
    assert [p.text[:16] for p in j.pending] == ["first while full", "second while ful"]
    assert PLANTED not in j.pending[0].text
    with pytest.raises(JournalWriteError):
        j.retry_pending()
    assert len(j.pending) == 2
    filler.unlink()
    written = j.retry_pending()
    assert j.pending == [] and [e.text[:6] for e in written] == ["first ", "second"]
    assert written[0].at < written[1].at and written[0].id < written[1].id
    assert [e.text[:6] for e in Journal.open(small_fs / "inc").events()] == ["before", "first ", "second"]
    j.close()


def test_a_read_only_disk_raises_a_write_error_and_keeps_the_event(small_fs, tmp_path):
    writer = Journal.create(small_fs / "inc", incident_id="i1", cluster="main")
    writer.append(NOTE, "written while the disk was writable", seat="operator", author="alice")
    ro = tmp_path / "ro"
    ro.mkdir()
    if _mount("--bind", str(small_fs), str(ro)).returncode != 0:
        pytest.skip("bind mounts are not permitted here: cannot make a read-only view")
    try:
        done = _mount("-o", "remount,bind,ro", str(ro))
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({done.stderr.strip()})")
        reader = Journal.open(ro / "inc")
        assert [e.text for e in reader.events()] == ["written while the disk was writable"]
        with pytest.raises(JournalWriteError) as info:
            reader.append(NOTE, "cannot land", seat="scribe", author="bob")
        message = str(info.value)
        assert message.startswith(f"journal {ro / 'inc' / JOURNAL_FILE} is not writable: ") and "\n" not in message
        assert "readonly" in message or "read-only" in message
        assert [p.text for p in reader.pending] == ["cannot land"]
        with pytest.raises(JournalWriteError, match="not writable"):
            reader.record_sample(sample())
        with pytest.raises(JournalWriteError, match="not writable"):
            Journal.create(ro / "new", incident_id="i2", cluster="main")
        reader.close()
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)
        writer.close()
    assert os.listdir(small_fs) == ["inc"]
