"""Trying to break the operation's incremental gates across seats (issue 17 point 2): Operation.state,
its stage-change notes and standing_close follow the journal as it grows, fed each event once, while
another seat's process journals gate events (an approver's approvals, a second operator's roles).
Each must judge as the gates before the change judged the whole journal (8a55591, from git)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from bench.long_journal import failover_events
from checks.incident.journal import Journal
from checks.runbook.operation import Operation

ROOT = Path(__file__).resolve().parents[2]

APPROVER = """
import json, sys
from pathlib import Path
from checks.incident.journal import Journal
journal = Journal.open(Path(sys.argv[1]))
for line in sys.argv[2:]:
    e = json.loads(line)
    journal.append(e["kind"], e["text"], seat=e["seat"], author=e["author"], stage=e["stage"], data=e["data"])
journal.close()
"""


@pytest.fixture(scope="module")
def old_gates(tmp_path_factory):
    text = subprocess.run(["git", "show", "8a55591:checks/runbook/gates.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = tmp_path_factory.mktemp("oracle") / "old_gates_seats.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_gates_seats", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def other_seat(directory: Path, *events: dict) -> None:
    import json

    proc = subprocess.run([sys.executable, "-c", APPROVER, str(directory), *map(json.dumps, events)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def as_entry(e, **data) -> dict:
    return dict(kind=e.kind, text=e.text, seat=e.seat, author=e.author, stage=e.stage, data={**e.data, **data})


def test_the_operation_judges_other_seats_entries_as_the_old_gates_judge_the_journal(tmp_path, old_gates):
    recorded, cluster = failover_events()
    cluster = cluster.model_copy(update={"approvers": ["alice", "bob", "dave"]})
    directory = tmp_path / "inc"
    Journal.create(directory, incident_id="inc", cluster="lab").close()
    journal = Journal.open(directory)
    op = Operation(journal, "lab", cluster, author="alice", seat="operator")

    def check(where: str, own: bool = True) -> None:
        whole = Journal.open(directory)
        events = whole.events()
        whole.close()
        assert op.state().model_dump() == old_gates.evaluate(cluster, events).model_dump(), where
        assert (op.standing_close() is None) == (old_gates.standing_close(events) is None), where
        stages = [e for e in events if e.kind == "stage"]
        # a stage note is journaled by the seat whose gate event moved the stage (as before the change)
        assert not own or stages and stages[-1].data["stage"] == old_gates.evaluate(cluster, events).current, where

    decision = next(e for e in recorded if e.kind == "decision" and e.stage == 1)
    risky = {**decision.data, "data_risk": {**decision.data["data_risk"], "within_slo": False}}
    for e in recorded:
        if e.kind in ("stage", "close"):
            continue                                  # the operation journals its own stage notes
        if e is decision:
            op.log("decision", e.text, stage=1, data=risky)
            check("a risky candidate")
            other_seat(directory, dict(kind="approval", text="bob approves", seat="approver", author="bob",
                                       stage=1, data={"candidate": "node2", "approved_by": "bob"}))
            check("the approver's seat approved", own=False)
            other_seat(directory, dict(kind="role", text="bob operates now", seat="operator", author="bob",
                                       stage=1, data={"roles": {"operator": "bob", "approver": "dave"}}))
            check("the approver became the operator: their approval stops counting", own=False)
            other_seat(directory, dict(kind="role", text="alice again", seat="operator", author="alice",
                                       stage=1, data={"roles": {"operator": "alice", "approver": "bob"}}))
            check("alice operates again", own=False)
            continue
        op.log(e.kind, e.text, stage=e.stage, data=e.data)
        check(f"after {e.kind} {e.stage}: {e.text}")
    other_seat(directory, dict(kind="close", text="closed by the other seat", seat="operator", author="alice",
                               stage=None, data={}))
    assert op.standing_close() is not None
    assert op.reopen() is not None                    # reopened: the verification no longer counts
    check("reopened", own=False)                     # a reopen is no gate kind: no stage note (as before)
    for e in recorded:
        if e.kind == "evidence" and e.stage == 5:
            other_seat(directory, as_entry(e, verify_run="after-reopen"))
    check("verified again by another seat", own=False)
    assert op.state().current == 6
    op.log("note", "the operator's next entry", data={})
    op.log("evidence", "one more check", stage=5, data={**recorded[-3].data, "verify_run": "after-reopen"})
    check("the operator's own gate event notes the stage the other seat's entries moved")
    journal.close()
