"""Data risk and candidate ranking: pure, from fixed samples."""

from __future__ import annotations

from datetime import timedelta

from checks.config.model import Slo
from checks.observe.assess import PrimaryMark, Watch
from checks.runbook.candidates import rank_candidates
from checks.runbook.risk import data_risk
from tests.unit.test_assess import T0, cluster, down, primary, standby

SLO = Slo(max_data_risk_bytes=4096, max_data_risk_s=5)


def mark(**kw) -> PrimaryMark:
    base = dict(node="n1", lsn="0/5001000", observed_at=T0, lost_at=T0 + timedelta(seconds=1))
    return PrimaryMark(**(base | kw))


def test_no_primary_sample_ever_is_unknown_and_needs_approval():
    risk = data_risk(standby("n2"), None, SLO, T0)
    assert risk.kind == "unknown" and risk.needs_approval
    assert "unknown amount" in risk.statement and "needs an approver" in risk.statement


def test_lower_bound_with_bounded_window_within_slo():
    risk = data_risk(standby("n2", receive="0/5000800"), mark(), SLO, T0 + timedelta(seconds=30))
    assert risk.kind == "at_least" and risk.bytes == 0x800 and risk.seconds == 1.0
    assert risk.within_slo and not risk.needs_approval
    assert risk.statement.startswith("promoting n2 loses at least 2.0 kB of committed WAL")
    assert "2026-12-01T08:00:00.000000Z" in risk.statement


def test_lower_bound_above_slo_needs_approval():
    risk = data_risk(standby("n2", receive="0/4000000"), mark(), SLO, T0)
    assert risk.kind == "at_least" and risk.needs_approval


def test_primary_still_answering_leaves_the_window_open():
    risk = data_risk(standby("n2"), mark(lost_at=None), SLO, T0 + timedelta(seconds=3))
    assert risk.kind == "at_least" and risk.seconds is None and risk.needs_approval
    assert "until it is fenced" in risk.statement


def test_a_synchronous_standby_claims_nothing_it_cannot_prove():
    # Listed in synchronous_standby_names at the last sample, holding that sample's LSN: still only a
    # lower bound (sessions may lower synchronous_commit), with the window narrowed in words.
    risk = data_risk(standby("n2", receive="0/5001000"), mark(sync_standbys=("n2",)), SLO, T0)
    assert risk.kind == "at_least" and risk.bytes == 0 and risk.seconds == 1.0
    assert "synchronous standby" in risk.statement and "synchronous_commit" in risk.statement
    assert "loses no committed work" not in risk.statement


def test_a_standby_ahead_of_the_candidate_is_always_named():
    behind, ahead = standby("n2", receive="0/4000000"), standby("n3", receive="0/5000000")
    risk = data_risk(behind, mark(), SLO, T0, others=[behind, ahead])
    assert risk.ahead == ("n3",)
    assert "n3 holds more WAL than n2 (0/5000000 against 0/4000000" in risk.statement
    zero = data_risk(ahead, mark(), SLO, T0, final_lsn="0/5000000", final_node="n1", others=[behind, ahead])
    assert zero.kind == "zero" and zero.ahead == ()


def test_final_lsn_at_or_below_received_is_zero_and_above_is_known():
    zero = data_risk(standby("n2", receive="0/5001000"), mark(), SLO, T0, final_lsn="0/5001000", final_node="n1")
    assert zero.kind == "zero" and "verified stopped at 0/5001000" in zero.statement
    known = data_risk(standby("n2", receive="0/5000000"), mark(), SLO, T0, final_lsn="0/5001000")
    assert known.kind == "known" and known.bytes == 0x1000 and known.within_slo


def test_mark_records_when_the_primary_stopped_answering():
    watch = Watch("c", cluster())
    watch.update(primary(at=T0), standby("n2", at=T0), standby("n3", at=T0))
    view = watch.update(down("n1", at=T0 + timedelta(seconds=1)))
    assert view.last_primary.lost_at == T0 + timedelta(seconds=1)
    assert watch.update(down("n1", at=T0 + timedelta(seconds=2))).last_primary.lost_at == T0 + timedelta(seconds=1)


def test_freshest_standby_ranks_first_then_backlog_then_priority():
    watch = Watch("c", cluster())
    behind = standby("n2", receive="0/4000000")
    fresh = standby("n3", receive="0/5000000").model_copy(update={"bytes_not_replayed": 10})
    view = watch.update(down("n1"), behind, fresh)
    ranked = rank_candidates(view, cluster())
    assert [c.name for c in ranked] == ["n3", "n2", "n1"]
    assert ranked[0].eligible and ranked[1].eligible
    assert not ranked[2].eligible and ranked[2].reason.startswith("unreachable")


def test_paused_and_foreign_standbys_are_not_candidates():
    view = Watch("c", cluster()).update(primary(), standby("n2", paused=True), standby("n3", sysid="7"))
    reasons = {c.name: c.reason for c in rank_candidates(view, cluster())}
    assert "paused" in reasons["n2"]
    assert "another cluster" in reasons["n3"]
    assert "writable already" in reasons["n1"]


def test_live_primary_risk_is_pending_the_fence_sequence():
    risk = data_risk(standby("n2"), mark(lost_at=None), SLO, T0, primary_alive=True)
    assert risk.pending_fence and risk.within_slo and risk.basis == "pending-fence"
    assert "stage 2 pauses PgBouncer" in risk.statement
