"""Every safety gate, tried against a real lab through ``drill``: each refusal says why, nothing is promoted."""

from __future__ import annotations

import pytest

from tests.drill_helpers import drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab


def test_writable_old_primary_refuses_without_fence(lab, tmp_path):
    proc = drill(lab.status()["config"], tmp_path / "inc", "--yes", "--approver", "alice")
    assert proc.returncode == 1
    assert last_line(proc).startswith("blocked at stage 2 Old primary: node1 is writable: fence it")
    assert writable_nodes(lab) == ["node1"]
    assert not [e for e in events(tmp_path / "inc", "evidence") if e.data.get("check") == "promoted"]


def test_self_approval_refuses(lab, tmp_path):
    proc = drill(lab.status()["config"], tmp_path / "inc", "--yes", "--operator", "alice", "--approver", "alice")
    assert proc.returncode == 1
    assert "the operator can never approve their own action" in last_line(proc)
    assert writable_nodes(lab) == ["node1"]


def test_unlisted_approver_refuses(lab, tmp_path):
    proc = drill(lab.status()["config"], tmp_path / "inc", "--yes", "--approver", "mallory")
    assert proc.returncode == 1
    assert "'mallory' is not an approver of this cluster (approvers: alice, bob)" in last_line(proc)


def test_partitioned_but_alive_old_primary_refuses_without_fence_or_attestation(lab, tmp_path):
    lab.partition("node1")
    try:
        # unknown risk (the cockpit never saw node1) is approved, so the run reaches stage 2 ...
        proc = drill(lab.status()["config"], tmp_path / "inc", "--yes", "--approver", "bob")
    finally:
        lab.heal("node1")
    assert proc.returncode == 1
    # ... where an unreachable node is not a dead node, and PgBouncer says it still takes Odoo's writes
    assert last_line(proc).startswith(
        "blocked at stage 2 Old primary: node1 is unreachable from the bastion but Odoo writes to it through "
        "PgBouncer: fence it (an attestation cannot prove down a node that takes writes)")
    assert writable_nodes(lab) == ["node1"], "a standby was promoted while the old primary was alive"
    found = [e for e in events(tmp_path / "inc", "evidence") if e.data.get("check") == "app_path_writer"]
    assert found and found[-1].data["node"] == "node1"
    assert found[-1].text == "node1 does not answer the bastion, but a new client of pgb1 (odoo) writes to node1"


def test_an_attestation_does_not_prove_down_a_node_odoo_still_writes_to(lab, tmp_path):
    from checks.config.model import load_config
    from checks.incident.journal import Journal
    from checks.runbook.operation import Operation
    from checks.stages.old_primary import attest

    config, incident = lab.status()["config"], tmp_path / "inc"
    lab.partition("node1")
    try:
        proc = drill(config, incident, "--yes", "--approver", "bob")
        assert proc.returncode == 1 and "Odoo writes to it through PgBouncer" in last_line(proc)
        name, cluster = load_config(config).cluster(None)
        journal = Journal.open(incident)
        op = Operation(journal, name, cluster, author="olga")
        attest(op, "node1", "bob", "host powered off, confirmed by the data centre")
        stage2 = op.state().stage(2)
        journal.close()
        assert stage2.status == "failed" and "an attestation cannot prove down a node that takes writes" in stage2.gate
        proc = drill(config, incident, "--yes", "--approver", "bob")       # the same incident, resumed
    finally:
        lab.heal("node1")
    assert proc.returncode == 1 and "Odoo writes to it through PgBouncer" in last_line(proc)
    assert writable_nodes(lab) == ["node1"], "a standby was promoted while Odoo still wrote to the old primary"
    assert not [e for e in events(incident, "evidence") if e.data.get("check") == "promoted"]


def test_unknown_risk_refuses_without_an_approver(lab, tmp_path):
    from checks.config.model import load_config
    from checks.incident.journal import Journal
    from checks.runbook.operation import Operation
    from checks.stages.stabilize import set_roles

    config, incident = lab.status()["config"], tmp_path / "inc"
    lab.partition("node1")
    try:
        # nobody is the approver unless named: the drill stops at stage 0 and names the listed ones
        proc = drill(config, incident, "--yes", "--fence", "--operator", "olga")
        assert proc.returncode == 1
        assert last_line(proc) == ("blocked at stage 0 Stabilize: nobody was named as the approver: pass --approver "
                                   "WHO, one of the config's approvers (alice, bob), never the operator")
        name, cluster = load_config(config).cluster(None)
        journal = Journal.open(incident)             # the roles named elsewhere (the cockpit): alice approves nothing
        set_roles(Operation(journal, name, cluster, author="olga"), "olga", "olga", "alice")
        journal.close()
        proc = drill(config, incident, "--yes", "--fence", "--operator", "olga")
    finally:
        lab.heal("node1")
    assert proc.returncode == 1
    assert last_line(proc).startswith("blocked at stage 1 Replica freshness: the data risk is above the SLO or unknown")
    decision = [e for e in events(tmp_path / "inc", "decision") if e.data.get("candidate")][-1]
    assert decision.data["data_risk"]["kind"] == "unknown"
    assert writable_nodes(lab) == ["node1"]
