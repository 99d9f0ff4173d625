"""The domain's sentences that used to print a Python value (issue 14): each is words and figures now."""

from __future__ import annotations

from checks.aftermath.repoint import Repointed
from checks.observe.sample import NodeSample, utcnow
from checks.runbook.candidates import Candidate
from checks.runbook.result_text import result_sentence
from checks.stages.close import _fence_run, _promotion
from tests.repr_check import repr_fragments


def test_a_read_only_node_in_words():
    standby = NodeSample(name="node3", observed_at=utcnow(), reachable=True, in_recovery=True, tx_read_only="on")
    assert standby.read_only_words() == "in recovery (a standby)"
    primary = standby.model_copy(update={"in_recovery": False})
    assert primary.read_only_words() == "not in recovery, transaction_read_only = on"


def test_a_ranking_line_without_a_position_says_nothing_of_it():
    assert Candidate(name="node1", eligible=False, reason="unreachable").summary() == "node1: unreachable"
    assert Candidate(name="node2", eligible=True, receive_lsn="0/3000148").summary() == \
        "node2: eligible (holds WAL up to 0/3000148)"


def test_a_fence_without_an_exit_code_and_a_promotion_not_timed():
    assert _fence_run({"node": "node1", "exit_code": 0, "duration_ms": 31.2}) == "node1: exit 0 in 31.2 ms"
    said = _fence_run({"node": "node1", "exit_code": None, "error": "could not start '/opt/stonith': No such file",
                       "duration_ms": 0.8})
    assert said == "node1: no exit code (could not start '/opt/stonith': No such file) in 0.8 ms"
    assert _fence_run({"node": "node1", "exit_code": None}) == "node1: no exit code (it did not finish)"
    assert _promotion(28.8) == "promotion 28.8 ms" and not repr_fragments(_promotion(None))


def test_re_pointing_says_each_standby_in_its_notification():
    done = Repointed(primary="node2", nodes={"node3": "streaming"}, passed=True,
                     left_alone={"node1": "unreachable (no answer): not re-pointed"})
    assert done["nodes"] == {"node3": "streaming"}                  # still the dict drill reads
    assert result_sentence("re-point standbys", done) == \
        "standbys re-pointed at node2: node3 streaming; node1 left alone: unreachable (no answer): not re-pointed"
    none = Repointed(primary="node2", nodes={}, passed=True, left_alone={})
    assert none.sentence() == "standbys re-pointed at node2: no standby needed it"


def test_a_switchover_whose_candidate_could_not_be_read():
    from checks.stages.fence import FenceOutcome, held_words

    outcome = FenceOutcome(node="node1", steps=(), final_lsn="0/3000148", final_timeline=1)
    assert outcome.final_lsn_sentence("node2") == \
        "node1 final LSN 0/3000148 on timeline 1; what node2 received could not be read"
    assert held_words("0/3000148", 1) == "it had 0/3000148 on timeline 1"
    assert not repr_fragments(held_words(None, None))
