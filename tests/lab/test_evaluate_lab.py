"""Evaluate, the first decision, on a real lab: drill journals it from the signals one round sees and
the standbys measured first; a standing "not yet" refuses every step past stage 0 on the real cluster,
and nothing is promoted; the record opens with the decision."""

from __future__ import annotations

import asyncio

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.runbook.operation import GateRefused, Operation
from checks.stages.evaluate import evaluate_failover
from checks.stages.freshness import choose
from checks.stages.promote import promote_candidate
from checks.stages.stabilize import set_roles, skip_freeze
from tests.conftest import psql
from tests.drill_helpers import drill, events, writable_nodes

pytestmark = pytest.mark.lab


def test_drill_journals_the_evaluation_from_the_signals_and_the_standbys_it_measured(scratch_lab, tmp_path):
    lab, st = scratch_lab, scratch_lab.status()
    psql(st, "node1", "create table if not exists evaluated(x int); insert into evaluated values (1)")
    lab.crash("node1")
    incident = tmp_path / "inc"
    proc = drill(st["config"], incident, "--yes", "--approver", "alice", "--fence")
    assert proc.returncode == 0, proc.stdout
    [evaluation] = [e for e in events(incident, "decision") if "evaluate" in e.data]
    first_gate = next(e for e in events(incident) if e.kind == "decision")
    assert first_gate.id == evaluation.id, "the evaluation is the incident's first decision"
    assert evaluation.stage == 0 and evaluation.data["evaluate"] == "fail_over"
    assert evaluation.data["reason"] == "drill run by the operator"
    fired = {s["name"]: s for s in evaluation.data["signals"]}
    assert "primary_unreachable" in fired and "node1" in fired["primary_unreachable"]["text"]
    measured = {s["node"]: s for s in evaluation.data["standbys"]}
    assert set(measured) == {"node2", "node3"}, measured            # node1, the primary that died, is not a standby
    assert all(s["reachable"] and s["held_lsn"] for s in measured.values())
    assert "evaluation: root decided to fail over" in proc.stdout
    record = (incident / "record.md").read_text()
    assert record.index("## Evaluation") < record.index("## Summary")
    assert "decided: **fail over**: drill run by the operator" in record
    assert "primary_unreachable: " in record.split("## Summary")[0]


def test_not_yet_refuses_every_step_past_stage_0_on_a_real_cluster(lab, tmp_path):
    st = lab.status()
    name, cluster = load_config(st["config"]).cluster(None)
    journal = Journal.open_or_create(tmp_path / "inc", incident_id="inc", cluster=name)
    op = Operation(journal, name, cluster, author="olga")

    async def scenario() -> list[str]:
        refusals = []
        sentence = await evaluate_failover(op, "not_yet", [], "the primary answers: a network blip")
        assert sentence.startswith("evaluation: olga decided not to fail over yet (the primary answers: a network blip)")
        set_roles(op, "olga", "sam", "alice")
        skip_freeze(op, "lab")
        for attempt in (lambda: choose(op, "node2"), lambda: promote_candidate(op, "node2")):
            try:
                await attempt()
            except GateRefused as exc:
                refusals.append(str(exc))
        await op.close()
        return refusals

    try:
        refusals = asyncio.run(scenario())
        assert len(refusals) == 2, refusals
        for refusal in refusals:
            assert "is locked because stage 0 Stabilize has not passed (olga decided at " in refusal
            assert "evaluate again (key g) to decide to fail over" in refusal
        assert writable_nodes(lab) == ["node1"], "nothing may be promoted on a 'not yet'"
        standbys = {s["node"] for s in journal.events(kinds={"decision"})[0].data["standbys"]}
        assert standbys == {"node2", "node3"}                       # node1 is the live primary, not a standby
    finally:
        journal.close()
