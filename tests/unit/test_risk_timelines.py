"""Data risk across timeline histories, and the words for apply delay: pure, from fixed samples."""

from __future__ import annotations

from checks.config.model import Slo
from checks.observe.lineage import judge_branch
from checks.observe.timeline_history import HistoryEntry
from checks.runbook.risk import data_risk
from tests.unit.test_assess import T0, standby
from tests.unit.test_risk_candidates import mark

SLO = Slo(max_data_risk_bytes=1024 * 1024, max_data_risk_s=5)
TL2_FROM_1 = [HistoryEntry(parent_tli=1, switch_lsn="0/D60000")]


def test_a_candidate_past_the_fork_on_the_old_timeline_has_none_of_the_new_writes():
    # node3 kept following the dead node1 on timeline 1 up to 0/E75A78; node2's timeline 2 forked at
    # 0/D60000 and node2 wrote on to 0/D94C48. By LSN alone node3 is "ahead"; along node2's history
    # it has nothing after 0/D60000.
    branch = judge_branch("node3", "0/E75A78", 1, [], "node2", 2, TL2_FROM_1)
    assert branch.diverged and branch.fork_lsn == "0/D60000"
    cand = standby("node3", receive="0/E75A78")
    risk = data_risk(cand, None, SLO, T0, final_lsn="0/D94C48", final_node="node2", branch=branch)
    assert risk.kind == "known" and risk.other_branch
    assert risk.bytes == 0xD94C48 - 0xD60000
    assert "another branch" in risk.statement and "loses no committed work" not in risk.statement


def test_a_candidate_behind_the_fork_is_simply_behind_along_the_history():
    branch = judge_branch("node3", "0/D50000", 1, [], "node2", 2, TL2_FROM_1)
    assert not branch.diverged
    risk = data_risk(standby("node3", receive="0/D50000"), mark(node="node2", lsn="0/D94C48"), SLO, T0,
                     branch=branch)
    assert risk.bytes == 0xD94C48 - 0xD50000 and not risk.other_branch


def test_the_fork_is_counted_when_the_mark_is_on_the_new_timeline():
    branch = judge_branch("node3", "0/E75A78", 1, [], "node2", 2, TL2_FROM_1)
    risk = data_risk(standby("node3", receive="0/E75A78"), mark(node="node2", lsn="0/D94C48"), SLO, T0,
                     branch=branch.model_copy(update={"commits_after_fork": 15}))
    assert risk.kind == "at_least" and risk.bytes == 0xD94C48 - 0xD60000
    assert "(15 committed transactions after the fork)" in risk.statement


def test_unreadable_histories_make_the_risk_unknown_never_zero():
    branch = judge_branch("node3", "0/E75A78", 1, [], "node2", 2, TL2_FROM_1).model_copy(
        update={"error": "the history of timeline 2 cannot be read (node2: no privilege)"})
    risk = data_risk(standby("node3", receive="0/E75A78"), None, SLO, T0, final_lsn="0/D94C48", branch=branch)
    assert risk.kind == "unknown" and risk.needs_approval
    assert "timeline 1" in risk.statement and "timeline 2" in risk.statement


def test_histories_that_share_nothing_cannot_be_compared():
    branch = judge_branch("node3", "0/E75A78", 3, [HistoryEntry(parent_tli=2, switch_lsn="0/A")], "node2", 2,
                          [HistoryEntry(parent_tli=1, switch_lsn="0/B")])
    assert branch.error is None or "share no timeline" in branch.error


def test_a_delayed_standby_says_so():
    cand = standby("n2", receive="0/5001000").model_copy(update={"apply_delay_s": 300.0, "bytes_not_replayed": 4096})
    risk = data_risk(cand, mark(), SLO, T0)
    assert "recovery_min_apply_delay" in risk.statement and "5" in risk.statement
