"""Issue 11 on real labs: data risk across timelines and synchronous standbys, another operator's
promotion, a switchover whose candidate cannot catch up, and two entries reaching one server.

Each case checks what the data holds (rows counted with psql on the nodes' own ports, which node
is writable), never byte offsets that differ between machines.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.runbook.operation import GateRefused, Operation
from checks.stages.freshness import approve, choose
from checks.stages.old_primary import check_others, fence_old_primary
from checks.stages.stabilize import set_roles, skip_freeze
from tests.conftest import psql
from tests.drill_helpers import ROOT, drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab


def _operation(config: str, incident, author: str = "olga") -> Operation:
    name, cluster = load_config(config).cluster(None)
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=name)
    return Operation(journal, name, cluster, author=author)


def _wait_writable(st: dict, node: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while psql(st, node, "select pg_is_in_recovery()") != "f":
        assert time.monotonic() < deadline, f"{node} never became writable"
        time.sleep(0.1)


def test_another_operators_promotion_and_a_candidate_on_another_branch(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    config = st["config"]
    # node3 misses node1's last rows; node1 dies; node3 is back, so node2 is ahead on timeline 1
    psql(st, "node1", "create table t1(x int)")
    lab.crash("node3")                 # stopped, not hung: a hung one still finds the WAL in its socket buffer
    psql(st, "node1", "insert into t1 select generate_series(1, 100)")
    lab.crash("node1")
    lab.start("node3")

    # Operator olga, incident A, decides on node2 while both standbys are on timeline 1 ...
    op = _operation(config, tmp_path / "A")

    async def decide():
        set_roles(op, "olga", "sam", "alice")
        skip_freeze(op, "lab: nothing writes")
        await choose(op, "node2")
        approve(op, "alice")
    asyncio.run(decide())

    # ... and meanwhile somebody else promotes node3 by hand.
    psql(st, "node3", "select pg_promote()")
    _wait_writable(st, "node3")

    async def act():
        refusals = []
        for attempt in (check_others(op), fence_old_primary(op, allowed=True)):
            try:
                await attempt
            except GateRefused as exc:
                refusals.append(str(exc))
        await op.close()
        return refusals
    refusals = asyncio.run(act())
    assert len(refusals) == 2, refusals
    for text in refusals:
        assert "node3 is writable on timeline 2" in text and "another operator" in text, text
        assert "planned switchover" not in text
    assert writable_nodes(lab) == ["node3"], "incident A fenced or replaced another operator's primary"

    # node3 takes real writes on timeline 2; node2 still follows the dead node1 on timeline 1.
    psql(st, "node3", "create table t2(x int)")
    for _ in range(5):
        psql(st, "node3", "insert into t2 select generate_series(1, 10)")
    proc = drill(config, tmp_path / "B", "--candidate", "node2", "--operator", "oscar", "--approver", "alice",
                 "--fence", "--yes")
    assert proc.returncode == 1, proc.stdout
    decision = [e for e in events(tmp_path / "B", "decision") if e.data.get("candidate")][-1]
    risk = decision.data["data_risk"]
    assert risk["kind"] == "at_least" and risk["other_branch"] and risk["bytes"] > 0, risk
    assert "node2 is on another branch" in risk["statement"] and "timeline 2" in risk["statement"]
    assert "committed transaction" in risk["statement"], risk["statement"]   # counted by pg_walinspect
    assert "loses no committed work" not in proc.stdout
    # the switchover could not prove zero loss: it stopped, resumed PgBouncer and fenced nothing
    assert "the switchover stopped before fencing node3" in last_line(proc), last_line(proc)
    assert not [e for e in events(tmp_path / "B", "action") if e.data.get("step") == "fence"
                and e.data.get("node") == "node3" and e.data.get("argv")], "node3's fence command ran"
    assert writable_nodes(lab) == ["node3"]
    assert psql(st, "node3", "select count(*) from t2") == "50"       # node3's rows are all still there
    assert psql(st, "node2", "select count(*) from t1") == "100"      # and node2 holds the other branch
    assert psql(st, "node2", "select to_regclass('t2') is null") == "t"   # ... and none of node3's
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-h", "127.0.0.1", "-p",
                          str(st["pgbouncer"]["port"]), "-U", "postgres", "-d", "pgbouncer", "-c", "show databases"],
                         capture_output=True, text=True, timeout=30)
    paused = [line for line in out.stdout.splitlines() if line.startswith("odoo|") and line.split("|")[-2] == "1"]
    assert not paused, out.stdout


def test_a_synchronous_standby_that_missed_local_commits_is_not_zero_loss(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    psql(st, "node1", "alter system set synchronous_standby_names = 'node2'")
    psql(st, "node1", "select pg_reload_conf()")
    psql(st, "node1", "create table sync_rows(x int)")
    op = _operation(st["config"], tmp_path / "inc")
    deadline = time.monotonic() + 20
    while True:                                   # the cockpit sees node2 as synchronous
        view = asyncio.run(op.refresh())
        if view.last_primary and "node2" in view.last_primary.sync_standbys:
            break
        assert time.monotonic() < deadline, "node2 never became synchronous"
        time.sleep(0.2)
    walsender = int(psql(st, "node1", "select pid from pg_stat_replication where application_name = 'node2'"))
    os.kill(walsender, signal.SIGSTOP)             # node1 stops sending WAL to node2 ...
    try:
        psql(st, "node1", "set synchronous_commit = local; insert into sync_rows select generate_series(1, 500)")
        # no sample between the rows and the hang: the cockpit's last view of node1 (1 Hz) shows node2 as
        # synchronous and holding node1's LSN, which once read as "known zero"
        lab.hang("node1")
        asyncio.run(op.refresh())                  # node1 stopped answering
        # the stopped walsender must never send what it holds: the fence thaws node1's processes first
        os.kill(walsender, signal.SIGKILL)
        fence = subprocess.run(next(n for n in load_config(st["config"]).cluster(None)[1].nodes
                                    if n.name == "node1").fence, capture_output=True, text=True, timeout=60)
        assert fence.returncode == 0, fence.stdout + fence.stderr
    finally:
        try:
            os.kill(walsender, signal.SIGKILL)
        except ProcessLookupError:
            pass

    async def decide():
        set_roles(op, "olga", "sam", "alice")
        skip_freeze(op, "lab")
        risk = await choose(op, "node2")
        await op.close()
        return risk
    risk = asyncio.run(decide())
    assert psql(st, "node2", "select count(*) from sync_rows") == "0"      # node2 has none of the 500
    assert psql(st, "node3", "select count(*) from sync_rows") == "500"
    assert risk.kind == "at_least", risk.statement
    assert "loses no committed work" not in risk.statement
    assert "synchronous_commit" in risk.statement              # what "synchronous" does not cover
    assert "node3 holds more WAL than node2" in risk.statement and risk.ahead == ("node3",)


def test_two_entries_reaching_one_server_refuse_status_and_every_action(lab, tmp_path):
    st = lab.status()
    node2 = next(n for n in st["nodes"] if n["name"] == "node2")
    node3 = next(n for n in st["nodes"] if n["name"] == "node3")
    text = open(st["config"]).read()
    assert f":{node3['proxy_port']}/" in text
    bad = tmp_path / "clusters.toml"
    bad.write_text(text.replace(f":{node3['proxy_port']}/", f":{node2['proxy_port']}/"))
    bad.chmod(0o600)
    status = subprocess.run([sys.executable, "-m", "cli", "status", str(bad)], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert status.returncode == 3, status.stdout + status.stderr
    assert "config error: node2 and node3 reach the same server" in status.stdout
    proc = drill(str(bad), tmp_path / "inc", "--candidate", "node3", "--approver", "alice", "--fence", "--yes")
    assert proc.returncode == 1
    assert "node2 and node3 reach the same server" in last_line(proc), proc.stdout
    assert not [e for e in events(tmp_path / "inc", "action") if e.data.get("step") == "freeze"], \
        "a freeze command ran on a config that cannot be acted on"
    assert writable_nodes(lab) == ["node1"]


def test_a_standby_promoted_by_hand_is_adopted_and_cut_over_to(fresh_lab, tmp_path):
    """Issue 12: someone ran pg_promote() on node3 by hand and it took writes. The incident neither
    fences the only node holding the new writes nor stays stuck: it adopts node3 (risk measured
    against node1's last position), fences the dead node1, finds node3 already promoted, cuts over."""
    from tests.lab.test_failover_lab import pgbouncer_target

    lab, st = fresh_lab, fresh_lab.status()
    config, incident = st["config"], tmp_path / "A"
    op = _operation(config, incident)

    async def watch_then_decide():
        set_roles(op, "olga", "sam", "alice")
        skip_freeze(op, "lab")
        await op.refresh()                       # the cockpit sees node1 as the primary ...
        lab.crash("node1")
        await op.refresh()                       # ... and sees it go
        await choose(op, "node2")
        approve(op, "alice")
        await op.close()
    asyncio.run(watch_then_decide())
    psql(st, "node3", "select pg_promote()")     # behind the tool's back
    _wait_writable(st, "node3")
    psql(st, "node3", "create table by_hand(x int); insert into by_hand select generate_series(1, 20)")

    stuck = drill(config, incident, "--operator", "olga", "--approver", "alice", "--fence", "--yes")
    assert stuck.returncode == 1 and "another operator" in last_line(stuck) and "--adopt" in last_line(stuck)
    assert writable_nodes(lab) == ["node3"]

    proc = drill(config, incident, "--operator", "olga", "--approver", "alice", "--fence", "--yes",
                 "--adopt", "node3")
    assert proc.returncode == 0, proc.stdout
    decision = [e for e in events(incident, "decision") if e.data.get("adopted")][-1]
    assert decision.data["candidate"] == "node3" and decision.data["old_primary"] == "node1"
    assert decision.data["fork_lsn"] and "left node1's timeline 1 at" in decision.text
    assert writable_nodes(lab) == ["node3"]
    node3_port = next(n["port"] for n in st["nodes"] if n["name"] == "node3")
    assert pgbouncer_target(config) == ("127.0.0.1", node3_port)
    assert psql(st, "node3", "select count(*) from by_hand") == "20"
