"""Replay, pure: a fixed incident journal (a primary crash from 2026-12-01T08:00:10Z) read back
by checks.training.replay.Recording; frames equal a Watch fed by hand, seeking in any order gives the
same frames, events are found forward and backward, and bad directories are one line."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.observe.assess import Watch
from checks.observe.lsn import format_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.runbook.gates import evaluate
from checks.training.replay import TRAIL_SAMPLES, Recording, ReplayError

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
CRASH_S = 10
SECONDS = 40
SYSID = "7445012345678901234"
REFUSED = ('connection to server at "127.0.0.1", port 54321 failed: Connection refused (is the server running on '
           "that host and accepting TCP/IP connections?)")
INCIDENT = "2026-12-01-lab-1"
CONFIG = """\
[clusters.lab]
approvers = ["dave"]

[[clusters.lab.nodes]]
name = "node1"
dsn = "postgresql://cockpit@127.0.0.1:54321/postgres"

[[clusters.lab.nodes]]
name = "node2"
dsn = "postgresql://cockpit@127.0.0.1:54322/postgres"

[[clusters.lab.nodes]]
name = "node3"
dsn = "postgresql://cockpit@127.0.0.1:54323/postgres"
"""
RISK = {"statement": "at least 192.0 kB of WAL may be lost (node1's last sample 08:00:09Z)", "within_slo": False,
        "known": False}
EVENTS = (  # seconds after T0, seat, author, kind, stage, text, data
    (0.5, "operator", "alice", "system", None, "cockpit started: operator seat (alice)", {}),
    (2.0, "operator", "alice", "role", 0, "roles: operator alice, scribe carol, approver dave",
     {"roles": {"operator": "alice", "scribe": "carol", "approver": "dave"}}),
    (6.0, "scribe", "carol", "note", None, "Odoo slow for some users", {}),
    (11.0, "operator", "alice", "status", None, f"first bad signal: node1 unreachable: {REFUSED}",
     {"first_bad_at": "2026-12-01T08:00:10.000000Z"}),
    (16.0, "operator", "alice", "decision", 0, "freeze skipped: Odoo is already down",
     {"skip_freeze": True, "reason": "Odoo is already down", "proposed_by": "alice"}),
    (21.0, "operator", "alice", "decision", 1, "candidate node2: " + RISK["statement"],
     {"candidate": "node2", "data_risk": RISK, "old_primary": "node1", "proposed_by": "alice"}),
    (27.0, "approver", "dave", "approval", 1, "dave approves promoting node2: " + RISK["statement"],
     {"candidate": "node2", "approved_by": "dave", "statement": RISK["statement"]}),
    (33.0, "scribe", "carol", "note", None, "waiting for the fence of node1", {}),
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def lsn(t: int) -> int:
    return 0x3000000 + min(t, CRASH_S - 1) * 64 * 1024


def crash_round(t: int) -> list[NodeSample]:
    """The three nodes at second ``t``: node1 primary until it stops answering at 08:00:10."""
    common = dict(reachable=True, server_version="15.8", system_identifier=SYSID, timeline=1, latency_ms=1.0)
    up = t < CRASH_S
    if up:
        peers = tuple(ReplicationPeer(application_name=n, client_addr="127.0.0.1", state="streaming",
                                      sync_state="async", sent_lsn=format_lsn(lsn(t)), flush_lsn=format_lsn(lsn(t)),
                                      replay_lsn=format_lsn(lsn(t) - 8192)) for n in ("node2", "node3"))
        node1 = NodeSample(name="node1", observed_at=at(t), in_recovery=False, tx_read_only="off",
                           current_lsn=format_lsn(lsn(t)), flush_lsn=format_lsn(lsn(t)), replication=peers, **common)
    else:
        node1 = NodeSample(name="node1", observed_at=at(t), reachable=False, error=REFUSED)
    out = [node1]
    for i, (name, behind) in enumerate((("node2", 0), ("node3", 3 * 64 * 1024)), 1):
        received = lsn(t) - behind
        out.append(NodeSample(
            name=name, observed_at=at(t + i / 10), in_recovery=True, tx_read_only="on",
            receive_lsn=format_lsn(received), replay_lsn=format_lsn(received), bytes_not_replayed=0,
            raw_replay_delay_s=0.0 if up else float(t - CRASH_S + 1), replay_paused=False,
            wal_receiver=WalReceiver(status="streaming", sender_host="127.0.0.1", sender_port=54321) if up else None,
            **common))
    return out


@contextmanager
def journal_clock():
    """Journal.append stamps events with ``checks.incident.journal.utcnow``: pinned here to the recorded times."""
    clock = {"now": T0}
    with mock.patch("checks.incident.journal.utcnow", lambda: clock["now"]):
        yield clock


def build_incident(root: Path, *, seconds: int = SECONDS, with_config: bool = True) -> Path:
    """``root/2026-12-01-lab-1``: the crash sampled at 1 Hz through the journal's recording policy,
    with EVENTS journaled between the samples at their own times; its config at ``root/clusters.toml``."""
    config = root / "clusters.toml"
    config.write_text(CONFIG)
    directory = root / INCIDENT
    journal = Journal.create(directory, incident_id=INCIDENT, cluster="lab",
                             config_path=config if with_config else None)
    pending = sorted(EVENTS)
    with journal_clock() as clock:
        for t in range(seconds + 1):
            for sample in crash_round(t):
                journal.record_sample(sample)
            while pending and pending[0][0] < t + 1:
                seconds_at, seat, author, kind, stage, text, data = pending.pop(0)
                clock["now"] = at(seconds_at)
                journal.append(kind, text, seat=seat, author=author, stage=stage, data=data)
    journal.close()
    return directory


@pytest.fixture
def incident(tmp_path) -> Path:
    return build_incident(tmp_path)


@pytest.fixture
def recording(incident) -> Recording:
    return Recording.load(incident)


def by_hand(incident: Path, t: datetime):
    """A Watch fed, one at a time, with every journaled sample up to ``t`` (judged at its own time)."""
    _, cluster = load_config(incident.parent / "clusters.toml").cluster("lab")
    with Journal.open(incident) as journal:
        samples = journal.samples(until=t)
    watch, view = Watch("lab", cluster), None
    for sample in samples:
        view = watch.update(sample, now=sample.observed_at)
    return view


def test_load_reads_meta_span_events_and_samples(recording, incident):
    assert recording.cluster_name == "lab" and recording.incident_id == INCIDENT
    assert recording.config_path == str(incident.parent / "clusters.toml") and recording.config_loaded
    assert recording.cluster.approvers == ["dave"]
    # the last sample kept: node3's periodic one, 10 s after the snapshot the approval at 27 s wrote
    assert recording.start == T0 and recording.end == at(37.2)
    assert [e.text for e in recording.events] == [e[5] for e in EVENTS]
    times = [s.observed_at for s in recording.samples]
    assert times == sorted(times) and len(times) < 3 * (SECONDS + 1)  # the policy kept changes and periodic ones


@pytest.mark.parametrize("seconds", [0, 5, 9.5, 10, 10.15, 15, 21, 27.5, 37.2, 50])
def test_frames_equal_a_watch_fed_by_hand(recording, incident, seconds):
    frame = recording.state_at(at(seconds))
    assert frame.view == by_hand(incident, at(seconds))
    assert frame.events == tuple(e for e in recording.events if e.at <= at(seconds))
    assert frame.runbook == evaluate(recording.cluster, list(frame.events))


def test_the_crash_as_frames_show_it(recording):
    before, after = recording.state_at(at(9.5)), recording.state_at(at(15))
    assert before.view.node("node1").role == "primary" and before.view.verdict == "ok"
    assert after.view.node("node1").role == "unreachable" and after.view.verdict == "critical"
    assert after.view.first_bad_at == at(CRASH_S)
    late = recording.state_at(at(30))
    assert late.runbook.candidate == "node2" and late.runbook.stage(1).status == "overridden"
    assert recording.state_at(at(25)).runbook.stage(1).status == "open"


def test_before_the_first_sample_nothing_is_shown(recording):
    frame = recording.state_at(T0 - timedelta(seconds=5))
    assert frame.view is None and frame.events == () and frame.trail == () and frame.key == (0, 0)


def test_seeking_backward_gives_the_same_frame_as_a_fresh_replay(incident):
    played = Recording.load(incident, checkpoint_every=3)
    moments = [at(s) for s in (0, 3, 7, 12, 18, 25, 33, 40)]
    forward = [played.state_at(m) for m in moments]
    backward = [played.state_at(m) for m in reversed(moments)]
    scattered = [played.state_at(moments[i]) for i in (4, 0, 7, 2, 6, 1, 5, 3)]
    for i, moment in enumerate(moments):
        fresh = Recording.load(incident).state_at(moment)
        assert forward[i] == fresh == backward[len(moments) - 1 - i]
        assert scattered[(4, 0, 7, 2, 6, 1, 5, 3).index(i)] == fresh


def test_the_trail_is_each_sample_as_it_arrived(recording):
    frame = recording.state_at(at(SECONDS))
    kept = [s for s in recording.samples if s.observed_at <= at(SECONDS)]
    assert len(frame.trail) == min(TRAIL_SAMPLES, len(kept)) == frame.sample_count
    assert [v.sample for v in frame.trail] == kept[-len(frame.trail):]
    node1 = [v for v in frame.trail if v.name == "node1"]
    assert node1[0].role == "primary" and node1[-1].role == "unreachable"


def test_next_and_previous_event(recording):
    assert recording.next_event_after(T0 - timedelta(seconds=1)).text.startswith("cockpit started")
    assert recording.next_event_after(at(5)).text == "Odoo slow for some users"
    assert recording.next_event_after(at(6)).kind == "status"  # strictly after: the event at 6 s is behind
    assert recording.previous_event_before(at(6)).kind == "role"
    assert recording.previous_event_before(at(6.01)).text == "Odoo slow for some users"
    assert recording.next_event_after(at(33)) is None and recording.previous_event_before(at(0.5)) is None


def test_parse_time(recording):
    assert recording.parse_time("08:00:05") == at(5)
    assert recording.parse_time(" 08:00:05Z ") == at(5)
    assert recording.parse_time("+00:25") == at(25) and recording.parse_time("+12") == at(12)
    assert recording.parse_time("2026-12-01T08:00:07Z") == at(7)
    for bad in ("08:30:00", "+5:00", "tomorrow", "25:00:00", "+1:99"):
        with pytest.raises(ReplayError) as err:
            recording.parse_time(bad)
        assert "\n" not in str(err.value)


def test_replay_works_with_the_config_gone(tmp_path):
    incident = build_incident(tmp_path)
    (tmp_path / "clusters.toml").unlink()
    recording = Recording.load(incident)
    assert not recording.config_loaded and "default SLOs" in recording.config_note
    assert "no such config file" in recording.config_note
    assert [n.name for n in recording.cluster.nodes] == ["node1", "node2", "node3"]
    assert recording.cluster.approvers == ["dave"]  # from the approval and the roles
    late = recording.state_at(at(30))
    assert late.view.node("node1").role == "unreachable" and late.runbook.stage(1).status == "overridden"


def test_a_config_without_a_recorded_node_is_not_used(tmp_path):
    incident = build_incident(tmp_path)
    (tmp_path / "clusters.toml").write_text(CONFIG.split("[[clusters.lab.nodes]]\nname = \"node3\"")[0])
    recording = Recording.load(incident)
    assert not recording.config_loaded and "no longer has node node3" in recording.config_note


@pytest.mark.parametrize("make", ["missing", "empty dir", "not sqlite", "empty incident"])
def test_a_directory_that_is_not_an_incident_is_one_line(tmp_path, make):
    target = tmp_path / "x"
    if make != "missing":
        target.mkdir()
    if make == "not sqlite":
        (target / "journal.sqlite3").write_text("hello")
    if make == "empty incident":
        Journal.create(target, incident_id="x", cluster="lab").close()
    with pytest.raises(ReplayError) as err:
        Recording.load(target)
    message = str(err.value)
    assert message and "\n" not in message and str(target) in message


def test_cli_replay_errors_are_one_line(tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli", "replay", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)

    proc = cli(str(tmp_path))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("failover-cockpit: ") and "is not an incident directory" in proc.stderr
    for bad in ("100", "0.1", "fast"):
        proc = cli(str(tmp_path), "--speed", bad)
        assert proc.returncode == 2 and "--speed" in proc.stderr and "Traceback" not in proc.stderr
