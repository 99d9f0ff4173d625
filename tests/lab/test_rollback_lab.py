"""Rollback on real labs: re-point once to the promoted node; a failback refused while two writers exist
or while the old node holds writes of its own; a failback allowed, and verified, when it holds none."""

from __future__ import annotations

import pytest

from tests.conftest import psql
from tests.drill_helpers import drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab


def switched_over(lab, tmp_path) -> tuple[str, str]:
    incident = tmp_path / "inc"
    proc = drill(lab.status()["config"], incident, "--yes", "--approver", "alice", "--fence")
    assert proc.returncode == 0, proc.stdout
    new = [e for e in events(incident, "decision") if e.data.get("candidate")][-1].data["candidate"]
    return str(incident), new


def rollback(lab, incident: str, to: str, *extra: str):
    from pathlib import Path

    return drill(lab.status()["config"], Path(incident), "--rollback", to, *extra)


def test_rollback_to_the_promoted_node_re_points_once_and_verifies(fresh_lab, tmp_path):
    incident, new = switched_over(fresh_lab, tmp_path)
    proc = rollback(fresh_lab, incident, new)
    assert proc.returncode == 0, proc.stdout
    assert last_line(proc) == f"rollback to {new}: verified"
    from pathlib import Path

    checks = [e for e in events(Path(incident), "evidence") if e.data.get("rollback") and e.stage == 5]
    assert {e.data["check"] for e in checks} >= {"new_primary_writable", "write_probe", "stragglers"}
    assert writable_nodes(fresh_lab) == [new]


def test_failback_refused_for_the_old_nodes_writes_first_while_both_accept_writes(fresh_lab, tmp_path):
    """The divergence is judged first: with both nodes writable and the old one holding writes of its
    own, the refusal is "both accepted writes", never "fence the promoted node first" (the operator is
    not asked to take down the primary Odoo uses for a failback that is refused anyway), and nothing
    is fenced. A failback that may go ahead is told to get down to one writer: see the next test."""
    lab = fresh_lab
    incident, new = switched_over(lab, tmp_path)
    lab.start("node1")                                            # the old primary is back, writable
    psql(lab.status(), "node1", "create table orphan(x int); insert into orphan select generate_series(1, 50000)")
    proc = rollback(lab, incident, "node1")
    assert proc.returncode == 1
    assert "both accepted writes" in last_line(proc) and "divergence incident" in last_line(proc), proc.stdout
    assert "1 committed transaction" in last_line(proc) and "nothing was fenced" in last_line(proc)
    assert "fence it first" not in proc.stdout
    assert sorted(writable_nodes(lab)) == sorted(["node1", new])  # nothing was fenced: the cluster is as it was


def test_failback_to_an_old_primary_that_wrote_nothing_is_allowed_and_verified(fresh_lab, tmp_path):
    lab = fresh_lab
    incident, new = switched_over(lab, tmp_path)
    lab.start("node1")                    # only its restart checkpoint and running-xacts records: no transaction
    proc = rollback(lab, incident, "node1", "--approver", "alice")
    assert proc.returncode == 1                                   # it may go ahead, but only with one writer
    assert f"rollback refused: {new} is writable too: fence it first (one writer)" in last_line(proc)
    lab.crash(new)                                                # fence the promoted node
    proc = rollback(lab, incident, "node1", "--approver", "alice")
    assert proc.returncode == 0, proc.stdout
    assert writable_nodes(lab) == ["node1"]
    from pathlib import Path

    decision = [e for e in events(Path(incident), "decision") if e.data.get("rollback")][-1]
    assert decision.data["authoritative"] == "node1" and "discards" in decision.text


def test_a_failback_above_the_slo_needs_the_approver_seat_not_a_typed_name(fresh_lab, tmp_path):
    """In the cockpit the operator names no approver: the approval must come from the approver's seat,
    by a listed approver who is not the operator, and cover the data the failback discards."""
    import asyncio
    from pathlib import Path

    from checks.aftermath.rollback import approve_failback, pending_failback
    from checks.aftermath.rollback import rollback as roll_back
    from checks.config.model import load_config
    from checks.incident.journal import Journal
    from checks.runbook.operation import GateRefused, Operation

    lab = fresh_lab
    incident, new = switched_over(lab, tmp_path)
    st = lab.status()
    psql(st, new, "create table after_switch(x text); "
                  "insert into after_switch select repeat('x', 1000) from generate_series(1, 25000)")
    _, cluster = load_config(st["config"]).cluster(None)
    journal = Journal.open(Path(incident))
    seat = {name: Operation(journal, "lab", cluster, author=author, seat=name)
            for name, author in (("operator", "root"), ("approver", "alice"))}

    def run(coro_fn):
        async def go():
            try:
                return await coro_fn()
            except GateRefused as exc:
                return exc
            finally:
                await asyncio.gather(*(op.close() for op in seat.values()))
        return asyncio.run(go())

    try:
        run(seat["operator"].refresh)                     # the operator saw what the new primary wrote
        lab.crash(new)                                    # one writer: the old primary, back with nothing new
        lab.start("node1")
        refused = run(lambda: roll_back(seat["operator"], "node1"))
        assert isinstance(refused, GateRefused) and "from the approver seat (key a)" in str(refused)
        pending = pending_failback(journal.events())
        assert pending["failback_to"] == "node1" and pending["lost_bytes"] > cluster.slo.max_data_risk_bytes

        # a name written from the operator's seat is no approval
        seat["operator"].log("approval", "alice approves (typed by the operator)",
                             data={"failback_to": "node1", "approved_by": "alice", "lost_bytes": None})
        assert isinstance(run(lambda: roll_back(seat["operator"], "node1")), GateRefused)
        # nor is the operator's own name from an approver seat
        mallory = Operation(journal, "lab", cluster, author="root", seat="approver")
        with pytest.raises(GateRefused, match="approval refused"):
            approve_failback(mallory, "root")
        assert writable_nodes(lab) == ["node1"]           # refusals changed nothing

        sentence = approve_failback(seat["approver"], "alice")
        assert sentence.startswith("alice approves the failback to node1: failing back to node1 discards at least")
        assert pending_failback(journal.events()) is None
        assert run(lambda: roll_back(seat["operator"], "node1")) is True
        decision = [e for e in journal.events(kinds={"decision"}) if e.data.get("rollback")][-1]
        assert decision.data["approved_by"] == "alice" and decision.data["authoritative"] == "node1"
        assert writable_nodes(lab) == ["node1"]
    finally:
        journal.close()
