"""A switchover that stopped short of its proof: only an approval given after the loss was measured counts."""

from __future__ import annotations

from checks.config.model import Cluster
from checks.incident.journal import Journal
from checks.runbook.operation import Operation
from checks.stages.freshness import approve
from checks.stages.old_primary import measured_loss_approved
from checks.stages.stabilize import set_roles


def _cluster() -> Cluster:
    return Cluster.model_validate({"approvers": ["alice"], "nodes": [
        {"name": f"n{i}", "dsn": f"postgresql://u@h{i}/postgres"} for i in (1, 2)]})


def test_only_an_approval_after_the_measurement_approves_the_measured_loss(tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="c")
    op = Operation(journal, "c", _cluster(), author="olga")
    set_roles(op, "olga", "sam", "alice")
    op.log("decision", "candidate n2: n1 is still writable (a planned switchover)", stage=1,
           data={"candidate": "n2", "old_primary": "n1", "data_risk": {"kind": "at_least", "within_slo": True,
                                                                        "pending_fence": True, "statement": "..."}})
    approve(op, "alice")                                      # before anything was measured: not this loss
    assert not measured_loss_approved(op, "n2", "n1")
    op.log("evidence", "n1 final LSN 0/5000100 on timeline 1; n2 received 0/5000000", stage=2,
           data={"check": "final_lsn", "node": "n1", "final_lsn": "0/5000100", "final_timeline": 1,
                 "caught_up": False, "candidate": "n2", "candidate_received": "0/5000000"})
    assert not measured_loss_approved(op, "n2", "n1")
    approve(op, "alice")
    assert measured_loss_approved(op, "n2", "n1")
    approval = journal.events(kinds={"approval"})[-1]
    assert "measured by the fence sequence: n1 final LSN 0/5000100" in approval.data["statement"]
    journal.close()
