"""The runbook's next step (what Enter runs), from hand-written events through the real gates."""

from __future__ import annotations

from checks.runbook.gates import evaluate, scribe_problem
from checks.runbook.next_step import next_step
from tests.unit.test_runbook_gates import CLUSTER, FROZEN, Ev, checked, choose, evaluated, roles

DOWN = {"n1": {"reachable": False, "writable": False, "needs_proof": True, "fenced": False}}
WRITABLE = {"n1": {"reachable": True, "writable": True, "needs_proof": False, "fenced": False}}
READ_ONLY = {"n1": {"reachable": True, "writable": False, "needs_proof": False, "fenced": False}}


def step(events):
    return next_step(evaluate(CLUSTER, events), events)


def test_each_stage_proposes_its_own_action_in_runbook_order():
    assert step([]).action == "evaluate"
    assert step(evaluated()).action == "roles"
    assert step(evaluated() + roles()).action == "freeze"
    assert step(roles() + FROZEN).action == "choose"
    assert step(roles() + FROZEN + choose(True)).action == "check_old"
    fence = step(roles() + FROZEN + choose(True) + checked(DOWN))
    assert (fence.action, fence.label) == ("fence", "fence n1")
    assert step(roles() + FROZEN + choose(True) + checked(WRITABLE)).action == "fence"
    promote = step(roles() + FROZEN + choose(True) + checked(READ_ONLY))
    assert (promote.action, promote.label) == ("promote", "promote n2")


def test_a_failed_roles_gate_asks_for_the_roles_again():
    assert step(evaluated() + roles(operator="alice", approver="alice") + FROZEN).action == "roles"


def test_evaluate_comes_first_during_stage_0_and_again_after_not_yet():
    assert step(roles()).action == "evaluate"          # roles set first: the decision is still proposed
    again = step(evaluated("not_yet") + roles() + FROZEN)
    assert (again.action, again.label) == ("evaluate", "evaluate") and again.sentence.startswith("evaluate again")
    assert step(evaluated("not_yet") + roles() + FROZEN + evaluated()).action == "choose"


def test_a_risk_waiting_for_the_approver_is_not_the_operators_key():
    waiting = step(roles() + FROZEN + choose(False))
    assert waiting.action is None
    assert waiting.sentence == ("waiting for alice to approve the data risk of promoting n2 "
                                "(key a in the approver's seat)")
    approved = roles() + FROZEN + choose(False) + [Ev("approval", 1, {"candidate": "n2", "approved_by": "alice"},
                                                      author="alice", seat="approver")]
    assert step(approved).action == "check_old"


def test_a_check_for_another_candidate_is_checked_again():
    events = roles() + FROZEN + choose(True, candidate="n3") + checked(READ_ONLY, candidate="n2")
    assert step(events).action == "check_old"


def test_a_closed_incident_proposes_nothing():
    closed = roles() + FROZEN + [Ev("close", None, {"verified": False})]
    assert step(closed).action is None and "closed" in step(closed).sentence


def test_the_scribe_is_never_the_operator():
    assert scribe_problem("olga", "olga").startswith("'olga' is the operator: the runbook wants two people")
    assert scribe_problem("sam", "olga") == ""
    assert scribe_problem("", "olga") == "the scribe's name is needed"
