"""The stage machine's gates, from hand-written events (pure). Real-lab tests try to break them too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from checks.config.model import Cluster
from checks.runbook.gates import evaluate

CLUSTER = Cluster.model_validate({
    "nodes": [{"name": f"n{i}", "dsn": f"postgresql://u@h{i}/postgres"} for i in (1, 2, 3)],
    "approvers": ["alice", "bob"],
    "freeze": [{"name": "stop cron", "command": ["true"]}],
})


@dataclass
class Ev:
    kind: str
    stage: int | None = None
    data: dict = field(default_factory=dict)
    author: str = "olga"
    seat: str = "operator"
    text: str = ""
    at: datetime = field(default_factory=lambda: datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc))


def roles(operator="olga", scribe="sam", approver="alice"):
    return [Ev("role", data={"roles": {"operator": operator, "scribe": scribe, "approver": approver}})]


def evaluated(decision="fail_over", author="olga"):
    return [Ev("decision", 0, {"evaluate": decision, "reason": "", "author": author,
                               "signals": [{"name": "primary_unreachable", "subject": "n1", "since": None,
                                            "text": "the bastion cannot reach the primary n1"}],
                               "standbys": [{"node": "n2", "reachable": True, "text": "n2: standby, streaming"}]},
               author=author)]


FROZEN = [Ev("action", 0, {"step": "freeze", "name": "stop cron", "exit_code": 0})]


def choose(within_slo: bool, candidate="n2"):
    return [Ev("decision", 1, {"candidate": candidate, "old_primary": "n1",
                               "data_risk": {"within_slo": within_slo, "statement": "promoting n2 loses ..."}})]


def checked(nodes: dict, candidate="n2"):
    return [Ev("evidence", 2, {"check": "others_not_writable", "candidate": candidate, "nodes": nodes})]


def test_everything_locked_behind_stage_0():
    state = evaluate(CLUSTER, [])
    assert state.current == 0
    assert [s.status for s in state.stages] == ["open"] + ["locked"] * 5


def test_self_approval_fails_stage_0():
    state = evaluate(CLUSTER, roles(operator="alice", approver="alice") + FROZEN)
    assert state.stage(0).status == "failed"
    assert "the operator can never approve" in state.stage(0).gate


def test_unlisted_approver_fails_stage_0():
    state = evaluate(CLUSTER, roles(approver="mallory") + FROZEN)
    assert "not an approver of this cluster" in state.stage(0).gate


def test_failed_freeze_blocks_and_skip_with_reason_overrides():
    failed = roles() + [Ev("action", 0, {"step": "freeze", "name": "stop cron", "exit_code": 1})]
    assert evaluate(CLUSTER, failed).stage(0).status == "failed"
    skipped = failed + [Ev("decision", 0, {"skip_freeze": True, "reason": "cron host is down"})]
    assert evaluate(CLUSTER, skipped).stage(0).status == "overridden"
    assert evaluate(CLUSTER, skipped).current == 1


def test_risk_above_slo_needs_an_approval_not_by_the_operator():
    base = roles() + FROZEN + choose(within_slo=False)
    assert evaluate(CLUSTER, base).stage(1).status == "open"
    by_operator = base + [Ev("approval", 1, {"candidate": "n2", "approved_by": "olga"})]
    assert evaluate(CLUSTER, by_operator).stage(1).status == "open"
    for_other = base + [Ev("approval", 1, {"candidate": "n3", "approved_by": "alice"})]
    assert evaluate(CLUSTER, for_other).stage(1).status == "open"
    approved = base + [Ev("approval", 1, {"candidate": "n2", "approved_by": "alice"})]
    assert evaluate(CLUSTER, approved).stage(1).status == "overridden"


def test_approval_before_a_new_decision_does_not_carry_over():
    events = roles() + FROZEN + choose(False) + [Ev("approval", 1, {"candidate": "n2", "approved_by": "alice"})] + choose(False)
    assert evaluate(CLUSTER, events).stage(1).status == "open"


def test_writable_old_primary_blocks_stage_2():
    events = roles() + FROZEN + choose(True) + checked({"n1": {"writable": True}, "n3": {"writable": False}})
    state = evaluate(CLUSTER, events)
    assert state.stage(2).status == "failed" and "n1 is writable: fence it" in state.stage(2).gate
    assert state.stage(3).status == "locked"


def test_unreachable_old_primary_needs_fence_or_attestation():
    unreachable = checked({"n1": {"writable": False, "needs_proof": True, "fenced": False}})
    events = roles() + FROZEN + choose(True) + unreachable
    assert evaluate(CLUSTER, events).stage(2).status == "failed"
    self_attested = events + [Ev("approval", 2, {"node": "n1", "approved_by": "olga", "attestation": "off"})]
    assert evaluate(CLUSTER, self_attested).stage(2).status == "failed"
    attested = events + [Ev("approval", 2, {"node": "n1", "approved_by": "bob", "attestation": "powered off"})]
    assert evaluate(CLUSTER, attested).stage(2).status == "overridden"
    fenced = roles() + FROZEN + choose(True) + checked({"n1": {"writable": False, "needs_proof": True, "fenced": True}})
    assert evaluate(CLUSTER, fenced).stage(2).status == "passed"


def test_check_for_another_candidate_does_not_count():
    events = roles() + FROZEN + choose(True, "n3") + checked({"n1": {"writable": False}}, candidate="n2")
    assert evaluate(CLUSTER, events).stage(2).status == "open"


def test_full_run_reaches_the_end():
    events = roles() + FROZEN + choose(True) + checked({"n1": {"writable": False}})
    events += [Ev("evidence", 3, {"check": "promoted", "passed": True, "node": "n2", "promote_to_writable_ms": 41})]
    events += [Ev("evidence", 4, {"check": "targets", "passed": True})]
    events += [Ev("evidence", 5, {"check": c, "passed": True}) for c in ("new_primary_writable", "stragglers")]
    state = evaluate(CLUSTER, events)
    assert state.current == 6 and state.candidate == "n2"
    failing = events + [Ev("evidence", 5, {"check": "stragglers", "passed": False})]
    assert evaluate(CLUSTER, failing).stage(5).status == "failed"


def test_only_the_last_verification_run_counts_while_it_journals_check_by_check():
    done = roles() + FROZEN + choose(True) + checked({"n1": {"writable": False}})
    done += [Ev("evidence", 3, {"check": "promoted", "passed": True, "node": "n2", "promote_to_writable_ms": 41}),
             Ev("evidence", 4, {"check": "targets", "passed": True})]

    def run(name: str, *results: tuple[str, bool]) -> list[Ev]:
        return [Ev("evidence", 5, {"check": c, "passed": p, "verify_run": name}) for c, p in results]

    first = done + run("a", ("new_primary_writable", True), ("stragglers", False))
    assert evaluate(CLUSTER, first).stage(5).status == "failed"
    # a second run under way: its first check passed, the stragglers check has not ended yet; the
    # first run's failure no longer counts, nor could an older pass
    second = first + run("b", ("new_primary_writable", True))
    state = evaluate(CLUSTER, second).stage(5)
    assert state.status == "open" and "stragglers" in state.gate
    assert evaluate(CLUSTER, second + run("b", ("stragglers", True))).current == 6
    stale_pass = done + run("a", ("new_primary_writable", True), ("stragglers", True)) + \
        run("c", ("new_primary_writable", False))
    assert evaluate(CLUSTER, stale_pass).stage(5).status == "failed"
    assert evaluate(CLUSTER, done + run("d", ("new_primary_writable", True))).stage(5).status == "open"


def test_no_evaluation_is_named_in_stage_0s_evidence_but_does_not_block():
    state = evaluate(CLUSTER, roles() + FROZEN)
    assert state.stage(0).status == "passed" and state.evaluation is None
    assert state.stage(0).evidence[0].startswith("evaluation: none journaled yet (key g)")


def test_not_yet_holds_everything_past_stage_0_until_someone_evaluates_again():
    held = evaluate(CLUSTER, roles() + evaluated("not_yet", author="bob") + FROZEN)
    assert held.stage(0).status == "open" and held.current == 0
    assert held.stage(0).gate.startswith("bob decided at 03:00:00 UTC")
    assert "not to fail over yet" in held.stage(0).gate
    assert held.stage(0).next_action == "evaluate again (key g) to decide to fail over"
    assert [s.status for s in held.stages[1:]] == ["locked"] * 5
    going = evaluate(CLUSTER, roles() + evaluated("not_yet", author="bob") + FROZEN + evaluated())
    assert going.stage(0).status == "passed" and going.evaluation.fail_over
    assert going.stage(0).evidence[0] == ("evaluation: olga decided to fail over at 03:00:00 UTC "
                                          "(1 signal firing)")


def test_not_yet_after_a_candidate_was_chosen_locks_the_promotion_again():
    events = evaluated() + roles() + FROZEN + choose(True) + evaluated("not_yet")
    state = evaluate(CLUSTER, events)
    assert state.current == 0 and state.stage(3).status == "locked"
