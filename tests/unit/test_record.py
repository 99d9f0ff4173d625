"""The markdown record: a golden rendering, atomic writes, and no secret anywhere in the incident dir."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

import pytest

from checks.config.redact import MASK, remember_secret
from checks.incident.journal import Event, Journal, JournalWriteError
from checks.incident.record import RECORD_FILE, render_record, render_record_from, write_record
from checks.incident.record_time import named_zone, remember_timezone
from checks.incident.seats import OperatorLock
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver

GOLDEN = Path(__file__).parents[1] / "golden" / "record_basic.md"
PLANTED = "Planted-Record-S3cret"


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-01T{clock}+00:00")


def ev(id: int, clock: str, seat: str, author: str, kind: str, text: str, stage=None, **data) -> Event:
    return Event(id=id, at=at(clock), seat=seat, author=author, kind=kind, stage=stage, text=text, data=data)


RISK = ("promoting node2 loses at least 1.5 kB of committed WAL (behind node1's 0/3000600); what node1 committed "
        "after 2026-12-01T08:09:29.000000Z, in the 1.0s before it stopped answering, is unknown; over the SLO "
        "(16.0 MB / 1m00s) or unknown: promotion needs an approver")
RISK_DUMP = {"candidate": "node2", "kind": "at_least", "basis": "last-sample", "bytes": 1536, "seconds": 2.0,
             "unknown_after": "2026-12-01T08:09:29.000000Z", "within_slo": False, "pending_fence": False,
             "statement": RISK}
BRUSSELS = named_zone("Europe/Brussels", "the config's timezone")
FOLLOW_UP = ("node1, the old primary, is not re-protected yet: it is no standby of node2; once it is fenced or "
             "stopped, re-protect it (operator key h, or checks.aftermath.reprotect)")


def basic_incident():
    """A crash failover as the cockpit journals it: the first bad signal, roles, freeze, a candidate decision
    approved ten seconds later from the approver seat, an attestation, promotion, cutover, a failed then a
    passing verification run, TODOs and status updates, the close."""
    meta = {"incident_id": "2026-12-01-main-1", "cluster": "main", "created_at": "2026-12-01T08:10:00.000000Z",
            "config": "/etc/failover-cockpit/clusters.toml"}
    verify = dict(stage=5, node="node2")
    events = [
        ev(1, "08:10:01.100000", "operator", "alice", "role", "alice joined the operator seat", joined=True),
        ev(2, "08:10:02.200000", "scribe", "bob", "role", "bob joined the scribe seat", joined=True),
        ev(3, "08:10:03.000000", "operator", "alice", "status", "first bad signal: node1 unreachable: connection refused",
           first_bad_at="2026-12-01T08:09:30.000000Z"),
        ev(50, "08:10:04.000000", "operator", "alice", "decision",
           "evaluation: alice decided to fail over; signals firing: primary_unreachable; standbys measured: 1 of 2",
           stage=0, evaluate="fail_over", reason="", proposed_by="alice",
           signals=[{"name": "primary_unreachable", "subject": "node1", "since": "2026-12-01T08:09:30.000000Z",
                     "text": "the bastion cannot reach the primary node1 (refused: connection refused) for 34s"}],
           standbys=[{"node": "node2", "reachable": True, "text": "node2: standby, not streaming, holds WAL up to "
                      "0/3000000, replay delay 35s, 0 B not replayed"},
                     {"node": "node3", "reachable": False, "text": "node3 does not answer: its freshness cannot be "
                      "measured"}]),
        ev(4, "08:10:05.000000", "operator", "alice", "role", "roles set: operator alice, scribe bob, approver carol",
           roles={"operator": "alice", "scribe": "bob", "approver": "carol"}),
        ev(5, "08:10:06.000000", "operator", "alice", "stage", "stage 0 Stabilize is open", stage=0),
        ev(6, "08:10:20.000000", "operator", "alice", "action", "freeze: stop Odoo cron workers", stage=0,
           argv=["systemctl", "stop", "odoo-cron.service"], exit_code=0, output="", duration_ms=412.4),
        ev(7, "08:10:25.000000", "operator", "alice", "action", "freeze: stop queue runners", stage=0,
           argv=["systemctl", "stop", "odoo-queue.service"], exit_code=5, duration_ms=85,
           output="Failed to stop odoo-queue.service: Unit odoo-queue.service not loaded.\n"),
        # journaled late (retried after a write error): a higher id, an earlier time
        ev(40, "08:10:30.000000", "scribe", "bob", "status", "status update posted to #incident"),
        ev(8, "08:10:40.000000", "scribe", "bob", "note",
           "queue runners are not installed on this cluster;\nskipping that freeze step"),
        ev(9, "08:11:00.000000", "operator", "alice", "stage", "stage 1 Replica freshness is open", stage=1),
        ev(10, "08:11:10.000000", "operator", "alice", "decision", f"candidate node2: {RISK}", stage=1,
           candidate="node2", old_primary="node1", proposed_by="alice", data_risk=RISK_DUMP),
        ev(11, "08:11:15.000000", "approver", "carol", "role", "carol joined the approver seat", joined=True),
        ev(12, "08:11:20.000000", "approver", "carol", "approval", f"carol approves promoting node2: {RISK}", stage=1,
           candidate="node2", approved_by="carol", statement=RISK),
        ev(13, "08:11:21.000000", "operator", "alice", "stage", "stage 2 Old primary is open", stage=2),
        ev(14, "08:11:22.000000", "scribe", "bob", "decision", "fail over now rather than wait for the hosting provider",
           proposed_by="bob"),
        ev(24, "08:11:25.000000", "operator", "alice", "action", "fence node1: timed out after 30s", stage=2,
           argv=["ipmitool", "-H", "bmc1", "chassis", "power", "off"], exit_code=None, output="",
           duration_ms=30000.2, error="timed out after 30s", step="fence", node="node1"),
        ev(15, "08:11:27.000000", "approver", "carol", "approval",
           "carol attests node1 is down: host powered off, confirmed by the hosting provider", stage=2,
           node="node1", approved_by="carol", attestation="host powered off, confirmed by the hosting provider"),
        ev(16, "08:11:30.000000", "operator", "alice", "stage", "stage 3 Promote is open", stage=3),
        ev(17, "08:11:30.500000", "operator", "alice", "evidence", f"re-check before promotion: {RISK}", stage=3,
           check="pre_promote", data_risk=RISK_DUMP),
        ev(18, "08:11:31.000000", "operator", "alice", "action", "promote node2", stage=3,
           argv=["psql", "-X", "-At", "-d", "postgresql://cockpit@10.0.0.2/postgres", "-c",
                 "SELECT pg_promote(wait => false)"], exit_code=0, output="t\n", duration_ms=38),
        ev(19, "08:11:31.100000", "operator", "alice", "evidence", "node2 promoted: writable 42 ms after pg_promote",
           stage=3, check="promoted", passed=True, node="node2", promote_to_writable_ms=41.7),
        ev(20, "08:11:45.000000", "operator", "alice", "stage", "stage 4 Cut over is open", stage=4),
        ev(26, "08:11:46.000000", "operator", "alice", "action", "PgBouncer pgb1: PAUSE odoo", stage=4, exit_code=0),
        ev(27, "08:12:00.000000", "operator", "alice", "stage", "stage 5 Verify is open", stage=5),
        ev(28, "08:12:05.000000", "operator", "alice", "evidence",
           "new_primary_writable: pass: node2: in_recovery = f, transaction_read_only = off",
           check="new_primary_writable", passed=True, verify_run="r1", **verify),
        ev(29, "08:12:10.000000", "operator", "alice", "evidence", "odoo_login: FAIL: timed out after 5s",
           check="odoo_login", passed=False, verify_run="r1", **verify),
        ev(30, "08:12:15.000000", "scribe", "bob", "status", "Odoo login still failing; retrying verification"),
        ev(31, "08:12:28.000000", "operator", "alice", "evidence",
           "new_primary_writable: pass: node2: in_recovery = f, transaction_read_only = off",
           check="new_primary_writable", passed=True, verify_run="r2", **verify),
        ev(32, "08:12:30.000000", "operator", "alice", "evidence",
           "odoo_login: pass: common.authenticate as 'failover-probe': uid 2",
           check="odoo_login", passed=True, verify_run="r2", **verify),
        ev(33, "08:12:35.000000", "operator", "alice", "evidence",
           "write_probe: pass: draft sale.order created, updated and removed in 31 ms",
           check="write_probe", passed=True, verify_run="r2", **verify),
        ev(34, "08:12:40.000000", "scribe", "bob", "todo", "alert on replay delay over 30s"),
        ev(35, "08:12:45.000000", "observer", "dave", "role", "dave joined the observer seat", joined=True),
        ev(36, "08:12:50.000000", "operator", "alice", "stage", "every stage passed", stage=None, name="Close"),
        ev(37, "08:13:00.000000", "operator", "alice", "close", f"incident verified: RTO 185.0 s; {RISK}",
           rto_s=185.0, rto_from="first bad signal", rto_to="the Odoo write probe passing",
           rto_origin_at="2026-12-01T08:09:30.000000Z", rto_end_at="2026-12-01T08:12:35.000000Z",
           rpo_bytes=1536, rpo_s=2.0, rpo_statement=RISK, max_replay_delay_s=2.4, verified=True,
           promote_to_writable_ms=41.7,
           stage_seconds={"0": 54.0, "1": 50.0, "2": 10.0, "3": 1.1, "4": 15.0, "5": 54.9},
           hardening=["Alert on replica lag: replay delay reached 2.4s; alert well below the 30s SLO.",
                      f"Open follow-up: {FOLLOW_UP}"],
           follow_ups=[FOLLOW_UP]),
        ev(38, "08:14:10.000000", "scribe", "bob", "todo", "write the postmortem by Friday"),
    ]
    wal = WalReceiver(status="streaming", sender_host="10.0.0.1", sender_port=5432)
    common = dict(reachable=True, system_identifier="7300000000000000001", timeline=1)
    samples = [
        NodeSample(name="node1", observed_at=at("08:09:29.000000"), in_recovery=False, current_lsn="0/3000600",
                   replication=(ReplicationPeer(application_name="node2", state="streaming"),), **common),
        NodeSample(name="node1", observed_at=at("08:11:05.000000"), reachable=False,
                   error="connection refused: is the server running on 10.0.0.1:5432?"),
        NodeSample(name="node2", observed_at=at("08:11:05.000000"), in_recovery=True, receive_lsn="0/3000000",
                   replay_lsn="0/3000000", bytes_not_replayed=0, raw_replay_delay_s=95.0, wal_receiver=wal, **common),
        NodeSample(name="node3", observed_at=at("08:11:05.000000"), in_recovery=True, receive_lsn="0/2FFF000",
                   replay_lsn="0/2FF0000", bytes_not_replayed=61440, raw_replay_delay_s=2.4, replay_paused=True,
                   wal_receiver=wal, **common),
        NodeSample(name="node2", observed_at=at("08:11:18.000000"), in_recovery=True, receive_lsn="0/3000000",
                   replay_lsn="0/3000000", bytes_not_replayed=0, raw_replay_delay_s=108.0, wal_receiver=wal, **common),
        NodeSample(name="node2", observed_at=at("08:11:32.000000"), in_recovery=False, current_lsn="0/3000800",
                   **{**common, "timeline": 2}),
    ]
    return meta, events, samples, at("08:20:00.000000")


def test_the_record_matches_the_golden_file():
    text = render_record_from(*basic_incident(), zone=BRUSSELS)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_record_is_deterministic_and_plain():
    meta, events, samples, now = basic_incident()
    text = render_record_from(meta, list(reversed(events)), list(reversed(samples)), now)
    assert text == render_record_from(meta, events, samples, now)
    for python in ("None", "True", "False", "{'", "['", "datetime(", "+00:00"):
        assert python not in text, python


def test_an_open_incident_shows_the_rto_so_far_and_what_is_missing():
    meta, events, samples, _ = basic_incident()
    text = render_record_from(meta, events[:9], samples, at("08:15:30.000000"))
    assert "- Status: open\n" in text
    assert "- RTO so far: 6m00s, from the first bad signal at 08:09:30 UTC\n" in text
    assert "- Stage: 0 Stabilize (open since 08:10:06 UTC)" in text
    assert "- Candidate: not chosen yet" in text and "The incident is still open." in text
    assert "- What failed: not established yet" in text and "- Data risk: not assessed yet" in text
    assert text.split("\n\n")[1] == ("The first bad signal came at 08:09:30 UTC. RTO so far 6m00s; RPO not "
                                     "assessed yet. Open at stage 0 Stabilize; no action item open.")
    closing = ev(99, "08:15:00.000000", "operator", "alice", "close", "closed", rto_s=None, stage_s={"1": 61.5})
    closed = render_record_from(meta, events[:9] + [closing], samples, at("08:15:30.000000"))
    assert "- RTO: unknown: no verification passed before the close (from the first bad signal at 08:09:30 UTC)" \
        in closed and "  - 1 Replica freshness: 1m01s" in closed
    empty = render_record_from({"incident_id": "i", "cluster": "c"}, [], [], at("08:15:30.000000"))
    assert empty.startswith("# Incident i: c PostgreSQL failover\n") and "No events yet." in empty


def test_render_record_reads_the_journal_in_the_incidents_zone(tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="i1", cluster="main")
    remember_timezone(journal, "Europe/Brussels")
    remember_timezone(journal, "Asia/Tokyo")                     # once: the first seat's zone stays
    assert (journal.meta["timezone"], journal.meta["timezone_from"]) == ("Europe/Brussels", "the config's timezone")
    _, events, samples, now = basic_incident()
    for s in samples:
        journal.record_sample(s, force=True)
    for e in events[:14]:
        journal.append(e.kind, e.text, seat=e.seat, author=e.author, stage=e.stage, data=e.data)
    text = render_record(journal, now)
    assert text == render_record_from(journal.meta, journal.events(), journal.samples(), now, BRUSSELS)
    assert "- Times: UTC, and local time in Europe/Brussels (the config's timezone)\n" in text
    assert "node1: unreachable, writable ?, error: connection refused" in text
    assert Journal.open(journal.dir).meta["timezone"] == "Europe/Brussels"     # on disk, for record DIR later
    journal.close()


def test_write_record_replaces_the_file_atomically(tmp_path, monkeypatch):
    journal = Journal.create(tmp_path / "inc", incident_id="i1", cluster="main")
    journal.append("note", "first", seat="scribe", author="bob")
    path = write_record(journal.dir, journal)
    assert path == tmp_path / "inc" / RECORD_FILE and "first" in path.read_text()
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)       # the disk fills at the rename
    journal.append("note", "second", seat="scribe", author="bob")
    with pytest.raises(JournalWriteError, match=r"^record .*record\.md is not writable: No space left on device$"):
        write_record(journal.dir, journal)
    monkeypatch.undo()
    assert path.read_text() == before
    assert sorted(p.name for p in journal.dir.iterdir() if "record" in p.name) == [".record.lock", RECORD_FILE]

    torn: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            text = path.read_text()
            if not (text.startswith("# Incident i1") and text.endswith("## Action items\n\nNone yet.\n")):
                torn.append(text)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(40):
            journal.append("note", f"note {i} " + "x" * 2000, seat="scribe", author="bob")
            write_record(journal.dir, journal)
    finally:
        stop.set()
        thread.join()
    assert torn == []
    assert "note 39" in path.read_text()
    journal.close()


def test_a_planted_password_reaches_no_file_of_the_incident(tmp_path):
    remember_secret(PLANTED)
    inline = "hunter2-inline-pw"
    incident = tmp_path / "inc"
    journal = Journal.create(incident, incident_id="i1", cluster="main",
                             config_path=f"/etc/c.toml?password={inline}")
    lock = OperatorLock(incident)
    lock.acquire("alice")
    journal.record_sample(NodeSample(name="node1", observed_at=at("08:00:00.000000"), reachable=False,
                                     error=f"could not connect to postgresql://cockpit:{inline}@db1/postgres"))
    journal.append("note", f"the password is {PLANTED}; password={inline}", seat="scribe", author="bob")
    journal.append("action", f"fence with token={inline}", seat="operator", author="alice", stage=2,
                   data={"argv": ["fence-node", f"--password={PLANTED}", f"postgresql://root:{inline}@bmc/"],
                         "exit_code": 0, "output": f"logged in with {PLANTED}\n", "duration_ms": 3,
                         "api_key": inline})
    journal.append("decision", f"promote node2 (dsn postgresql://u:{inline}@db2/postgres)", seat="scribe",
                   author="bob", data={"proposed_by": "alice", "data_risk": f"secret {PLANTED}"})
    write_record(incident, journal)
    record = (incident / RECORD_FILE).read_text()
    assert MASK in record
    lock.release()
    lock.acquire("alice")  # operator.json is there too
    journal.close()
    files = [p for p in incident.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"journal.sqlite3", RECORD_FILE, "operator.json", "operator.lock"}
    for path in files:
        blob = path.read_bytes()
        for secret in (PLANTED, inline):
            assert secret.encode() not in blob, (path.name, secret)
    lock.release()


def test_an_action_renders_the_record_once_at_its_end_even_when_it_fails(tmp_path):
    """Inside a switchover's pause every event is journaled at once, the record re-rendered once."""
    from checks.config.model import load_config
    from checks.runbook.operation import Operation

    _, cluster = load_config(Path(__file__).resolve().parents[2] / "sample-clusters.toml").cluster(None)
    journal = Journal.open_or_create(tmp_path, incident_id="inc-batch", cluster="prod")
    renders: list[int] = []

    def render(event: Event) -> None:
        renders.append(event.id)
        write_record(tmp_path, journal)

    op = Operation(journal, "prod", cluster, author="olga", on_event=render)
    with pytest.raises(RuntimeError):
        with op.one_record_update():
            op.log("note", "paused the pooler")
            with op.one_record_update():        # a nested action hands on to the outer one
                op.log("note", "read the final position")
            assert renders == [] and len(journal.events(kinds={"note"})) == 2   # journaled at once
            raise RuntimeError("the fence command failed")
    assert len(renders) == 1
    text = (tmp_path / RECORD_FILE).read_text()
    assert "paused the pooler" in text and "read the final position" in text
    op.log("note", "outside any action")
    assert len(renders) == 2
