"""Topology on one real lab with three standbys: status says who streams from whom, and a crash failover
by drill ends with both other standbys streaming from the new primary (re-pointed after verify, each
journaled), the old primary an open follow-up of the close and the record."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import LAB_ROOT, psql
from tests.drill_helpers import ROOT, drill, events, writable_nodes

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab4():
    """node1 primary, node2-node4 streaming standbys: the only lab of this module."""
    from tests.lab_fixture import make_lab

    the_lab = make_lab(LAB_ROOT, replicas=3)
    yield the_lab
    the_lab.down()


def status_cli(config: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "cli", "status", config, "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def topology(doc: dict) -> dict[str, tuple]:
    return {n["name"]: (n["upstream"], n["streaming"]) for n in doc["nodes"]}


def port(st: dict, node: str) -> int:
    return next(n["port"] for n in st["nodes"] if n["name"] == node)


def settle(config: str, want: dict[str, tuple], timeout: float = 15.0) -> tuple[int, dict]:
    """status until its topology is ``want`` (a standby just started takes a moment to stream)."""
    deadline = time.monotonic() + timeout
    while True:
        code, doc = status_cli(config)
        if topology(doc) == want or time.monotonic() > deadline:
            return code, doc
        time.sleep(0.2)


def test_a_crash_failover_by_drill_re_points_every_other_standby_at_the_new_primary(lab4, tmp_path):
    st = lab4.status()
    config = st["config"]
    code, before = settle(config, {"node1": (None, False), **{n: ("node1", True) for n in ("node2", "node3", "node4")}})
    assert code == 0, before["problems"]
    assert topology(before) == {"node1": (None, False), "node2": ("node1", True), "node3": ("node1", True),
                                "node4": ("node1", True)}
    for n in ("node2", "node3", "node4"):   # psql on the standby's own port names node1's real port as sender
        assert psql(st, n, "select sender_port, status from pg_stat_wal_receiver") == f"{port(st, 'node1')}|streaming"

    psql(st, "node1", "create table t(x int); insert into t select generate_series(1, 1000)")
    lab4.crash("node1")
    code, crashed = status_cli(config)
    assert code == 2 and topology(crashed)["node1"] == (None, False)

    incident = tmp_path / "inc"
    proc = drill(config, incident, "--yes", "--fence", "--approver", "alice", "--candidate", "node2", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "re-point node3 at node2: streaming" in proc.stdout and "re-point node4 at node2: streaming" in proc.stdout
    assert "re-point node1: left alone: unreachable" in proc.stdout
    assert writable_nodes(lab4) == ["node2"]

    # psql on each standby's own port: its sender is now the new primary's port
    for n in ("node3", "node4"):
        assert psql(st, n, "select sender_port, status from pg_stat_wal_receiver") == f"{port(st, 'node2')}|streaming"
        assert psql(st, n, "select pg_is_in_recovery()") == "t"
        assert psql(st, n, "select count(*) from t") == "1000"
    listed = psql(st, "node2", "select string_agg(application_name || ' ' || state, ',' order by application_name) "
                               "from pg_stat_replication")
    assert listed == "node3 streaming,node4 streaming"
    psql(st, "node2", "insert into t values (424242)")
    deadline = time.monotonic() + 15
    while psql(st, "node4", "select count(*) from t where x = 424242") != "1" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert psql(st, "node4", "select count(*) from t where x = 424242") == "1"

    code, after = settle(config, {"node1": (None, False), "node2": (None, False), "node3": ("node2", True),
                                  "node4": ("node2", True)})
    assert topology(after) == {"node1": (None, False), "node2": (None, False), "node3": ("node2", True),
                               "node4": ("node2", True)}
    assert code == 1 and after["writable"] == ["node2"]           # warning: node1 is down, nothing else
    assert not [p for p in after["problems"] if "streaming" in p], after["problems"]

    # journaled per standby: the plan, each standby's re-protect steps and outcome, the result
    evidence = events(incident, "evidence")
    plan = next(e for e in evidence if e.data.get("check") == "repoint_plan")
    assert plan.data["primary"] == "node2" and plan.data["repoint"] == ["node3", "node4"]
    assert "node1" in plan.data["left_alone"]
    outcomes = {e.data["node"]: e.data["passed"] for e in evidence if e.data.get("check") == "repointed"}
    assert outcomes == {"node3": True, "node4": True}
    streamed = {e.data["node"]: e.data["sender_port"] for e in evidence
                if e.data.get("check") == "reprotected" and e.data.get("passed")}
    assert streamed == {"node3": port(st, "node2"), "node4": port(st, "node2")}
    steps = [(e.data.get("node"), e.data.get("phase")) for e in events(incident, "action")
             if e.data.get("step") == "reprotect"]
    for n in ("node3", "node4"):
        assert [p for node, p in steps if node == n] == ["dry_run", "rewind", "start_as_standby"]
    done = next(e for e in evidence if e.data.get("check") == "standbys_repointed")
    assert done.data["passed"] is True and done.data["nodes"] == {"node3": "streaming", "node4": "streaming"}

    # the close warns about the old primary only, and the record lists it as an open follow-up
    close, = events(incident, "close")
    # (the drill started after the crash: it never saw node1 write, it knows it as the node it fenced)
    assert [line.split(":")[0] for line in close.data["follow_ups"]] == ["node1, fenced in stage 2, is not "
                                                                         "re-protected yet"]
    assert any(line.startswith("Open follow-up: node1, fenced in stage 2") for line in close.data["hardening"])
    assert not any("has no streaming standby" in line for line in close.data["hardening"])
    # the re-pointed standbys' own measurements never stand for the RPO of node1, which nobody read
    assert "MEASURED" not in close.data["rpo_statement"] and not close.data.get("rpo_measured")
    record = (incident / "record.md").read_text()
    assert "## Action items\n\n- [ ] node1, fenced in stage 2, is not re-protected yet" in record
