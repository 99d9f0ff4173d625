"""The fault matrix (docs/fault-matrix.md): each fault we can reproduce on a real lab, with its outcome.

Every scenario asserts the same four things: never a second writer, the data risk stated,
the record complete, and a clear one-sentence message instead of a crash.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.incident.record import write_record
from checks.runbook.operation import GateRefused, Operation
from checks.stages.cutover import cut_over
from checks.stages.freshness import approve, choose
from checks.stages.old_primary import check_others, fence_old_primary
from checks.stages.promote import promote_candidate
from checks.stages.stabilize import set_roles, skip_freeze
from checks.stages.verify import verify_all
from lab import pgbouncer
from tests.drill_helpers import ROOT, drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab


def operation(lab, incident: Path) -> Operation:
    name, cluster = load_config(lab.status()["config"]).cluster(None)
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=name)
    return Operation(journal, name, cluster, author="olga", on_event=lambda _e: write_record(incident, journal))


async def through_stage_2(op: Operation, lab) -> None:
    """Crash failover up to an approved candidate and a fenced old primary."""
    set_roles(op, "olga", "sam", "alice")
    skip_freeze(op, "fault matrix: nothing to freeze")
    await choose(op, "node2")
    approve(op, "alice")
    await check_others(op)
    await fence_old_primary(op, allowed=True)
    assert op.state().current == 3, op.state().stage(2).gate


def assert_record_complete(incident: Path) -> str:
    record = (incident / "record.md").read_text()
    for heading in ("## Summary", "## Roles", "## Timeline (UTC)", "## Decisions", "## Commands run"):
        assert heading in record
    assert "Data risk: promoting" in record
    return record


def test_an_old_primary_restarted_during_the_reconnect_backoff_still_blocks_the_promotion(fresh_lab, tmp_path):
    """The background sampler waits up to 5 s before reconnecting to a dead node; the gate's re-check
    must not: node1, fenced and then started again as a primary, is writable: no promotion."""
    lab, incident = fresh_lab, tmp_path / "inc"
    lab.crash("node1")
    op = operation(lab, incident)

    async def scenario():
        await through_stage_2(op, lab)
        deadline = time.monotonic() + 2.0         # real attempts at 0, 0.5 and 1.5 s: a 4 s backoff now
        while time.monotonic() < deadline:
            await op.refresh()
            await asyncio.sleep(0.1)
        lab.start("node1")                        # back, writable, while the backoff would still hide it
        try:
            return await promote_candidate(op, "node2")
        except Exception as exc:  # noqa: BLE001 - the refusal is the outcome
            return exc
        finally:
            await op.close()

    outcome = asyncio.run(scenario())
    assert "node1 is writable again; fence it (stage 2) first" in str(outcome), outcome
    assert writable_nodes(lab) == ["node1"], "a second writer appeared"
    assert_record_complete(incident)


def test_candidate_hangs_during_promotion(fresh_lab, tmp_path, monkeypatch):
    lab, incident = fresh_lab, tmp_path / "inc"
    lab.crash("node1")
    op = operation(lab, incident)
    import checks.stages.promote as promote_stage  # the seam: pg_promote on the candidate

    real_promote = promote_stage.promote_on

    async def promote_then_freeze(conn, name, statement_timeout_s, **kw):
        task = asyncio.create_task(real_promote(conn, name, statement_timeout_s, **kw))
        await asyncio.sleep(0.03)                 # pg_promote is on its way: freeze the candidate now
        lab.hang(name)
        try:
            return await task
        finally:
            lab.resume(name)

    monkeypatch.setattr(promote_stage, "promote_on", promote_then_freeze)

    async def scenario():
        await through_stage_2(op, lab)
        result = await promote_candidate(op, "node2")
        await op.close()
        return result

    result = asyncio.run(scenario())
    assert result.promoted or "stopped answering" in (result.error or ""), result
    assert writable_nodes(lab) in (["node2"], []), "a second writer appeared"
    monkeypatch.setattr(promote_stage, "promote_on", real_promote)
    deadline = time.monotonic() + 20
    while True:                                   # the operator presses promote again once it answers
        try:
            again = asyncio.run(_press(op))
            break
        except GateRefused as exc:
            assert "unreachable now" in str(exc) and time.monotonic() < deadline, exc
            time.sleep(0.5)
    assert again.promoted and writable_nodes(lab) == ["node2"]
    assert_record_complete(incident)


async def _press(op):
    try:
        return await promote_candidate(op, "node2")
    finally:
        await op.close()


def test_pgbouncer_down_during_cutover(fresh_lab, tmp_path):
    lab, incident = fresh_lab, tmp_path / "inc"
    lab.crash("node1")
    op = operation(lab, incident)
    pid_file = lab.dir / "pgbouncer" / "pgbouncer.pid"

    async def scenario():
        await through_stage_2(op, lab)
        await promote_candidate(op, "node2")
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        first = await cut_over(op)
        pgbouncer.start(lab.paths, lab.paths.load())   # PgBouncer only: `lab up` would restart node1 too
        second = await cut_over(op)
        await op.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert first is False and second is True
    failed = [e for e in op.journal.events(kinds={"evidence"}) if e.data.get("check") == "targets"][0]
    assert "pgbouncer:pgb1: pgb1: cannot reach the admin console" in failed.text
    assert writable_nodes(lab) == ["node2"]
    assert "FAILED" in assert_record_complete(incident)


def test_odoo_down_during_verification(fresh_lab, tmp_path, monkeypatch):
    lab, incident = fresh_lab, tmp_path / "inc"
    # Odoo stays down here: the login's wait for a restarting Odoo (20 s) would only be waited out.
    monkeypatch.setattr("checks.stages.verify.LOGIN_RETRY_S", 2.0)
    lab.crash("node1")
    op = operation(lab, incident)

    async def scenario():
        await through_stage_2(op, lab)
        await promote_candidate(op, "node2")
        await cut_over(op)
        lab.odoo_stop()
        first = await verify_all(op)
        lab.odoo_start()
        second = await verify_all(op)
        await op.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert first is False and second is True
    login = [e for e in op.journal.events(kinds={"evidence"}) if e.data.get("check") == "odoo_login"][0]
    assert not login.data["passed"] and "common.authenticate" in login.text
    assert writable_nodes(lab) == ["node2"]
    assert_record_complete(incident)


def test_old_primary_returns_after_promotion_is_split_brain(fresh_lab, tmp_path):
    lab = fresh_lab
    proc = drill(lab.status()["config"], tmp_path / "inc", "--yes", "--approver", "alice", "--fence")
    assert proc.returncode == 0, proc.stdout
    new = [e for e in events(tmp_path / "inc", "decision") if e.data.get("candidate")][-1].data["candidate"]
    lab.start("node1")                            # the old primary comes back, writable, on timeline 1
    status = subprocess.run([sys.executable, "-m", "cli", "status", lab.status()["config"], "--json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    doc = json.loads(status.stdout)
    assert status.returncode == 2 and doc["verdict"] == "critical"
    assert sorted(doc["writable"]) == sorted(["node1", new])
    assert doc["problems"][0].startswith("SPLIT BRAIN") and "node1" in doc["problems"][0]


@pytest.mark.parametrize("stop_after", [0, 1, 2, 3, 4])
def test_cockpit_killed_between_stages_resumes_without_redoing(fresh_lab, tmp_path, stop_after):
    lab, incident = fresh_lab, tmp_path / "inc"
    lab.crash("node1")
    script = f"""
import asyncio, sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from checks.stages.cutover import cut_over
from checks.stages.freshness import approve, choose
from checks.stages.old_primary import check_others, fence_old_primary
from checks.stages.promote import promote_candidate
from checks.stages.stabilize import set_roles, skip_freeze
from tests.lab.test_fault_matrix_lab import operation
class Lab:
    status = lambda self: {{"config": {lab.status()["config"]!r}}}
op = operation(Lab(), Path({str(incident)!r}))
async def go():
    set_roles(op, "olga", "sam", "alice"); skip_freeze(op, "matrix")
    if {stop_after} >= 1:
        await choose(op, "node2"); approve(op, "alice")
    if {stop_after} >= 2:
        await check_others(op); await fence_old_primary(op, allowed=True)
    if {stop_after} >= 3:
        await promote_candidate(op, "node2")
    if {stop_after} >= 4:
        await cut_over(op)
    await op.close()
asyncio.run(go())
print("ready", flush=True)
time.sleep(600)
"""
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = events(incident)
    resumed = drill(lab.status()["config"], incident, "--yes", "--fence", "--approver", "alice", "--operator", "olga")
    assert resumed.returncode == 0, resumed.stdout
    after = events(incident)
    assert [e.id for e in after[: len(before)]] == [e.id for e in before]
    decisions = [e for e in after if e.kind == "decision" and e.data.get("candidate")]
    promotions = [e for e in after if e.data.get("check") == "promoted" and not e.data.get("already")]
    assert len(decisions) == 1 and len(promotions) == 1, "a finished stage was redone"
    assert writable_nodes(lab) == ["node2"]
    assert "verified" in last_line(resumed)
