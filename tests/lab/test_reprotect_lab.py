"""Re-protect on real labs: after a failover, the old primary back as a streaming standby of the new one
(pg_rewind dry run, pg_rewind, start as a standby, streaming verified), and the refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from checks.aftermath.reprotect import reprotect
from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.incident.record import render_record
from checks.observe.lsn import human_bytes
from checks.runbook.operation import GateRefused, Operation
from checks.stages.reprotect_summary import reprotect_lines
from tests.conftest import psql
from tests.drill_helpers import drill, writable_nodes

pytestmark = pytest.mark.lab


def run_reprotect(config: str, incident, node: str, confirm: str | None = None):
    """reprotect(op, node, confirm) on the incident (confirmed with the node's name unless told);
    returns (True/False or the GateRefused, the journal's events)."""
    _, cluster = load_config(config).cluster(None)
    journal = Journal.open(incident)
    op = Operation(journal, "lab", cluster, author="olga")

    async def go():
        try:
            return await reprotect(op, node, node if confirm is None else confirm)
        except GateRefused as exc:
            return exc
        finally:
            await op.close()

    try:
        return asyncio.run(go()), journal.events()
    finally:
        journal.close()


def port(st: dict, node: str) -> int:
    return next(n["port"] for n in st["nodes"] if n["name"] == node)


def wait_for(st: dict, node: str, sql: str, expected: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = psql(st, node, sql)
        if out == expected or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def reprotect_events(events) -> list:
    return [e for e in events if (e.data or {}).get("step") == "reprotect"]


def last_attempt(events, node: str) -> list:
    """The re-protect events of node's last attempt (the drill itself re-points the other standbys)."""
    mine = [e for e in reprotect_events(events) if e.data.get("node") == node]
    return [e for e in mine if e.data.get("attempt") == mine[-1].data.get("attempt")] if mine else []


def assert_streams_from(st: dict, node: str, primary: str) -> None:
    assert psql(st, node, "select pg_is_in_recovery()") == "t"
    receiver = psql(st, node, "select status || ' ' || sender_port from pg_stat_wal_receiver")
    assert receiver == f"streaming {port(st, primary)}"
    listed = psql(st, primary, "select application_name || ' ' || state from pg_stat_replication "
                               f"where application_name = '{node}'")
    assert listed == f"{node} streaming"


def test_planned_switchover_then_the_old_primary_is_re_protected(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    psql(st, "node1", "create table t(x int); insert into t select generate_series(1, 1000)")
    incident = tmp_path / "inc"
    proc = drill(st["config"], incident, "--yes", "--fence", "--approver", "alice", "--candidate", "node2")
    assert proc.returncode == 0, proc.stdout
    assert writable_nodes(lab) == ["node2"]

    started = time.monotonic()
    result, events = run_reprotect(st["config"], incident, "node1")
    took = time.monotonic() - started
    assert result is True, [e.text for e in reprotect_events(events)]
    assert_streams_from(st, "node1", "node2")
    assert psql(st, "node1", "select count(*) from t") == "1000"
    psql(st, "node2", "insert into t values (424242)")
    assert wait_for(st, "node1", "select count(*) from t where x = 424242", "1") == "1"
    assert writable_nodes(lab) == ["node2"]

    steps = last_attempt(events, "node1")
    phases = [(e.kind, e.data.get("phase")) for e in steps]
    assert phases == [("action", "start_read_only"), ("evidence", "measure"), ("evidence", "source_checkpoint"),
                      ("action", "dry_run"), ("action", "rewind"), ("action", "start_as_standby"),
                      ("evidence", "verify")]
    # the fenced old primary, started read-only before anything rewound it, holds nothing past the
    # switch point: a planned switchover's RPO, measured, is zero
    measured = steps[1].data
    assert measured["check"] == "rpo_measured" and measured["measured"] is True, steps[1].text
    assert (measured["commits"], measured["lost_bytes"], measured["diverged"]) == (0, 0, False)
    assert steps[1].text.startswith("RPO measured on node1 before its rewind: lost: 0 transactions, 0 B")
    print(f"\n{steps[1].text}")
    dry, rewind, start, verified = steps[3:]
    assert dry.data["argv"][-1] == "--dry-run" and str(port(st, "node2")) in dry.data["argv"]
    assert "--dry-run" not in rewind.data["argv"] and rewind.data["exit_code"] == 0
    # Started read-only (not through crash recovery, which ends with a checkpoint past the switch
    # point), the fenced old primary wrote nothing past it: pg_rewind finds nothing to rewind
    # ("servers diverged at ... on timeline 1", then "no rewind required") and it simply follows node2.
    assert rewind.data["rewind_needed"] is False and rewind.data["diverged_tli"] == 1, rewind.data["output"]
    assert start.data["exit_code"] == 0
    assert verified.data["check"] == "reprotected" and verified.data["passed"] is True
    assert verified.data["node"] == "node1" and verified.data["sender_port"] == port(st, "node2")
    assert verified.data["timeline"] == 2
    line, = [line for line in reprotect_lines(events) if line.startswith("node1 ")]
    assert line.startswith("node1 re-protected as a standby of node2: dry run ok, rewind ok in ")
    assert "streaming verified" in line
    print(f"\nre-protect of node1 took {took:.2f} s: "
          + ", ".join(f"{e.data['phase']} {e.data['duration_ms']:.0f} ms" for e in steps if e.kind == "action")
          + f", streaming seen {verified.data['streaming_after_ms']:.0f} ms after start; {line}")

    # node3 still follows node1 from before the switchover: the same steps re-point it
    result, events = run_reprotect(st["config"], incident, "node3")
    assert result is True, [e.text for e in reprotect_events(events)]
    assert_streams_from(st, "node3", "node2")
    assert wait_for(st, "node3", "select count(*) from t where x = 424242", "1") == "1"
    assert len(reprotect_lines(events)) == 2 and writable_nodes(lab) == ["node2"]

    # the new primary itself is refused, and says why
    refused, events = run_reprotect(st["config"], incident, "node2")
    assert isinstance(refused, GateRefused) and "node2 is the new primary" in str(refused)
    assert any("refused: re-protect" in e.text for e in events if e.kind == "system")


def test_re_protect_is_refused_before_stage_3_passed(lab, tmp_path):
    incident = tmp_path / "inc"
    Journal.create(incident, incident_id="inc", cluster="lab").close()
    refused, events = run_reprotect(lab.status()["config"], incident, "node1")
    assert isinstance(refused, GateRefused)
    assert "stage 3 Promote has not passed" in str(refused)
    assert [e for e in events if e.kind == "system" and e.data.get("refused")]
    assert not reprotect_events(events)


def test_crash_failover_then_a_rebooted_old_primary_is_refused_until_fenced_then_measured_and_rewound(
        fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    psql(st, "node1", "create table t(x int); insert into t select generate_series(1, 1000)")
    wait_for(st, "node2", "select count(*) from t", "1000")
    wait_for(st, "node3", "select count(*) from t", "1000")
    lab.crash("node2")                                   # no standby gets the next three transactions ...
    lab.crash("node3")
    for x in (1001, 1002, 1003):
        psql(st, "node1", f"insert into t values ({x})")
    lab.crash("node1")                                   # ... and the primary dies
    lab.start("node2")
    lab.start("node3")
    incident = tmp_path / "inc"
    proc = drill(st["config"], incident, "--yes", "--fence", "--approver", "alice", "--candidate", "node2")
    assert proc.returncode == 0, proc.stdout
    assert writable_nodes(lab) == ["node2"]

    # the old primary reboots as a primary and takes a write the new timeline never saw
    lab.start("node1")
    psql(st, "node1", "insert into t values (-1)")
    refused, _ = run_reprotect(st["config"], incident, "node1")
    assert isinstance(refused, GateRefused) and "node1 is writable and reachable" in str(refused)
    assert "fence or stop it first" in str(refused)

    lab.crash("node1")                                   # fenced again: a crashed, diverged old primary
    refused, _ = run_reprotect(st["config"], incident, "node1", confirm="node")
    assert isinstance(refused, GateRefused) and "not confirmed: type the node's name exactly ('node1')" in str(refused)
    result, events = run_reprotect(st["config"], incident, "node1")
    assert result is True, [e.text for e in reprotect_events(events)]
    assert_streams_from(st, "node1", "node2")
    assert psql(st, "node1", "select count(*) from t where x = -1") == "0"   # the divergent write is gone
    psql(st, "node2", "insert into t values (424242)")
    assert wait_for(st, "node1", "select count(*) from t where x = 424242", "1") == "1"
    assert writable_nodes(lab) == ["node2"]
    steps = last_attempt(events, "node1")
    phases = [e.data.get("phase") for e in steps]
    assert phases[:4] == ["start_read_only", "measure", "source_checkpoint", "dry_run"], phases
    # Before anything rewound it, the crashed old primary was started read-only (its crash recovery
    # replayed, no checkpoint written, following nobody) and what it held past the fork measured:
    # the three transactions no standby got before it died, and the one it took after its reboot.
    started, measure = steps[0], steps[1]
    assert started.kind == "action" and started.data["exit_code"] == 0
    m = measure.data
    assert m["check"] == "rpo_measured" and m["measured"] is True and m["wal_read"] is True, measure.text
    # at least the four above: the lab's Odoo stand-in ticks ir_cron every second through PgBouncer,
    # and a tick that lands on node1 while its standbys are down is one more commit they never got
    assert m["diverged"] is True and m["kind"] == "after_fork" and m["commits"] >= 4, measure.text
    assert m["lost_bytes"] == m["bytes_after_fork"] > 0 and m["first_commit_at"] < m["last_commit_at"]
    assert measure.text.startswith(f"RPO measured on node1 before its rewind: lost: {m['commits']} transactions, ")
    assert f"between {m['first_commit_at']} and {m['last_commit_at']}" in measure.text
    dry = steps[3]
    assert "node1 is running (standby)" in dry.data["output"]   # the read-only start finished crash recovery
    line, = [line for line in reprotect_lines(events) if line.startswith("node1 ")]
    assert line.startswith("node1 re-protected as a standby of node2")
    assert line.endswith(f"; RPO measured before the rewind: lost: {m['commits']} transactions, "
                         f"{human_bytes(m['lost_bytes'])}, "
                         f"between {m['first_commit_at']} and {m['last_commit_at']}")
    # the record (the incident was closed by the drill, before this) states the RPO measured
    journal = Journal.open(incident)
    try:
        record = render_record(journal)
    finally:
        journal.close()
    assert (f"- RPO: MEASURED on node1 before its rewind: lost: {m['commits']} transactions, {human_bytes(m['lost_bytes'])}, "
            f"between {m['first_commit_at']} and {m['last_commit_at']}") in record
    print(f"\n{measure.text}\n{line}")


def test_reprotect_lines_show_the_last_attempt_per_node_and_what_failed():
    from types import SimpleNamespace as E

    def ev(kind, text="", **data):
        return E(kind=kind, text=text, data={"step": "reprotect", "primary": "node2", **data})

    events = [
        ev("evidence", "checkpoint ok", node="node1", phase="source_checkpoint", check="reprotect_source", passed=True),
        ev("action", node="node1", phase="dry_run", exit_code=1, duration_ms=80.0,
           output="pg_rewind: error: target server must be shut down cleanly"),
        ev("evidence", "node1 not re-protected", node="node1", phase="verify", check="reprotected", passed=False,
           failed_step="dry_run"),
        ev("evidence", "checkpoint ok", node="node3", phase="source_checkpoint", check="reprotect_source", passed=True),
        ev("action", node="node3", phase="dry_run", exit_code=0, duration_ms=900.0),
        ev("action", node="node3", phase="rewind", exit_code=0, duration_ms=700.0, rewind_needed=False),
        ev("evidence", "checkpoint ok", node="node1", phase="source_checkpoint", check="reprotect_source", passed=True),
        ev("action", node="node1", phase="dry_run", exit_code=0, duration_ms=1600.0),
        ev("action", node="node1", phase="rewind", exit_code=0, duration_ms=1234.0, rewind_needed=True,
           diverged_at="0/D60690", diverged_tli=1, copy_mb=9),
        ev("action", node="node1", phase="start_as_standby", exit_code=0, duration_ms=800.0),
        ev("evidence", "ok", node="node1", phase="verify", check="reprotected", passed=True, timeline=2,
           streaming_after_ms=57.0),
        E(kind="note", text="unrelated", data={}),
    ]
    assert reprotect_lines(events) == [
        "node1 re-protected as a standby of node2: dry run ok, rewind ok in 1.2 s (diverged at 0/D60690 on "
        "timeline 1, 9 MB copied), started in 800 ms, streaming verified (timeline 2, 57 ms after start)",
        "node3 re-protect as a standby of node2 not finished: dry run ok, rewind ok in 700 ms (no rewind was needed)",
    ]
    assert reprotect_lines(events[:3]) == [
        "node1 NOT re-protected as a standby of node2: dry run FAILED (exit 1: pg_rewind: error: target server "
        "must be shut down cleanly)"]
    assert reprotect_lines([]) == []
