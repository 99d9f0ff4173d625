"""The one result-to-sentence function (checks.runbook.result_text), shared by the live cockpit and training.

An action that ran is ``done``, ``passed`` or ``did not pass``, from what it returned; a check that
failed is never called ok, and no sentence is a Python repr.
"""

from __future__ import annotations

import pytest

from checks.runbook.commands import CommandResult
from checks.runbook.result_text import result_outcome, result_sentence
from checks.stages.fence import FenceOutcome, FenceStep
from checks.stages.promote import PromotionResult
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario
from cli.train_cmd import SCENARIO_DIR
from tests.repr_check import repr_fragments

FENCE_OK = CommandResult(name="fence node1", argv=("fence",), exit_code=0, output="", duration_ms=31.0)
FENCE_BAD = CommandResult(name="fence node1", argv=("fence",), exit_code=1, output="no", duration_ms=31.0)


def stage_2_failed():
    """A runbook state whose current stage (2, the old primary) did not pass, and one that passed all."""
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = TrainingRun(scenario, "olga", start_at=scenario.settle_s)
    run.set_roles("sam", "alice")
    run.freeze()
    run.choose()
    failed = run.check_others()
    play_safe_path(run)
    return failed, run.state()


@pytest.mark.parametrize(("result", "outcome", "sentence"), [
    (None, "done", "act: done"),
    (True, "passed", "act: passed"),
    (False, "did not pass", "act: did not pass"),
    ("fenced node1", "done", "fenced node1"),
    ([FENCE_OK], "done", "act: fence node1: exit 0 in 31 ms"),
    ([FENCE_OK, FENCE_BAD], "did not pass", "act: fence node1: exit 0 in 31 ms; fence node1: exit 1 in 31 ms"),
    (PromotionResult(node="node2", promoted=True, promote_to_writable_ms=40.0), "done",
     "node2 promoted: writable 40 ms after pg_promote"),
    (PromotionResult(node="node2", promoted=False, error="connection refused"), "did not pass",
     "promoting node2 failed: connection refused"),
    ([FenceOutcome(node="node1", steps=(FenceStep(name="fence", ok=True, text="fence node1: exit 0"),),
                   command=FENCE_OK)], "done", "act: node1 fenced"),
    ([FenceOutcome(node="node1", steps=(FenceStep(name="fence", ok=False, text="fence node1: exit 1"),),
                   command=FENCE_BAD)], "did not pass", "act: fencing node1 failed: fence node1: exit 1"),
    ({"rto_s": 72.5, "verified": True}, "done", "closed: RTO 1m12s"),
    ({"rto_s": None, "verified": False}, "done", "closed before verification: no verification passed, so there is "
                                                 "no RTO"),
])
def test_each_result_has_one_word_and_one_sentence(result, outcome, sentence):
    assert result_outcome(result) == outcome
    assert result_sentence("act", result) == sentence
    assert repr_fragments(sentence) == []


def test_a_runbook_state_says_whether_its_stage_passed_and_why_a_no_did_not_pass():
    failed, done = stage_2_failed()
    assert result_outcome(failed) == "did not pass" and result_outcome(done) == "passed"
    said = result_sentence("check the old primary", failed)
    assert said.startswith("check the old primary: stage 2 Old primary did not pass: node1 is unreachable")
    assert " is failed" not in said
    assert result_sentence("check", done) == "check: every stage passed"
    # A bare no says why when the runbook after the action is given: its current stage's gate.
    assert result_sentence("verify", False, failed).startswith("verify: did not pass: stage 2 Old primary: node1 is")
    assert result_sentence("verify", False, done) == "verify: did not pass"
    assert result_sentence("verify", True, failed) == "verify: passed"
