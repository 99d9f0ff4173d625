"""The record-based divergence judgement and the measured RPO, pure (no lab): what the old node's
WAL holds past the fork decides whether it wrote anything, never where its WAL ends."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace as E

from checks.incident.record import render_record_from
from checks.incident.rpo import close_figures, measured_rpo, record_line
from checks.observe.divergence import NodePosition, assess_divergence, parse_history
from checks.observe.wal_records import WalRecord, commit_time, judge_wal_records

SWITCH = "0/5000060"
H2 = parse_history(f"1\t{SWITCH}\tno recovery target specified\n", node="node2", tli=2)


def _old(end: str, **kw) -> NodePosition:
    return NodePosition(name="node1", in_recovery=False, system_identifier="7", timeline=1, end_lsn=end, **kw)


NEW = NodePosition(name="node2", in_recovery=False, system_identifier="7", timeline=2, end_lsn="0/6000000")


def rec(rm: str, kind: str, xid: int = 0, desc: str = "") -> WalRecord:
    return WalRecord(resource_manager=rm, record_type=kind, xid=xid, description=desc)


RESTART_ONLY = [rec("XLOG", "CHECKPOINT_SHUTDOWN", desc="redo 0/5000060; tli 1; ..."),
                rec("Standby", "RUNNING_XACTS", desc="nextXid 735 latestCompletedXid 734 oldestRunningXid 735"),
                rec("XLOG", "FPI_FOR_HINT", desc="")]


def test_checkpoints_running_xacts_and_full_page_images_are_not_writes_wherever_they_end():
    # 952 bytes past the switch point (another machine's restart): far past any page header, and
    # the xid counters say nothing either; the records decide
    wal = judge_wal_records(RESTART_ONLY, start_lsn=SWITCH, end_lsn="0/5000418")
    assert not wal.writes and wal.commits == 0 and wal.records == 3
    assert wal.kinds() == "CHECKPOINT_SHUTDOWN, RUNNING_XACTS, FPI_FOR_HINT"
    d = assess_divergence(_old("0/5000418"), NEW, H2, wal=wal)
    assert d.diverged and d.restart_checkpoint_only and d.commits_after_fork == 0
    assert d.bytes_after_fork == 952
    assert "no committed row exists only on node1" in d.explanation
    assert "only CHECKPOINT_SHUTDOWN, RUNNING_XACTS, FPI_FOR_HINT" in d.explanation
    assert "pg_rewind" in d.explanation and "never fail back" in d.explanation
    # the same bytes judged by positions alone (no record read) are writes: the checkpoint is not at the switch
    d = assess_divergence(_old("0/5000418", checkpoint_lsn="0/5000400", redo_lsn="0/5000400",
                               checkpoint_timeline=1, checkpoint_next_xid=735, xmax=735, xid_locks=0), NEW, H2,
                          wal_unread="pg_walinspect is not installed on node1")
    assert not d.restart_checkpoint_only and d.commits_after_fork is None
    assert "could not be read (pg_walinspect is not installed on node1)" in d.explanation


def test_a_commit_an_abort_or_an_xid_past_the_fork_is_a_write_and_commits_are_counted_with_their_times():
    records = [*RESTART_ONLY,
               rec("Heap", "INSERT+INIT", 735, "off 1 flags 0x00"),
               rec("Transaction", "COMMIT", 735, "2026-12-02 15:03:50.130792+00"),
               rec("Heap", "INSERT", 736, "off 2 flags 0x00"),
               rec("Transaction", "ABORT", 736, "2026-12-02 15:03:51.000000+00"),
               rec("Heap", "INSERT", 737, "off 3 flags 0x00"),
               rec("Transaction", "COMMIT", 737, "2026-12-02 14:44:15.363 UTC; inval msgs: catcache 55")]
    wal = judge_wal_records(records, start_lsn=SWITCH, end_lsn="0/5001000")
    assert wal.writes and (wal.commits, wal.aborts) == (2, 1)
    assert (wal.first_commit_at, wal.last_commit_at) == ("2026-12-02T14:44:15.363000Z", "2026-12-02T15:03:50.130792Z")
    d = assess_divergence(_old("0/5001000"), NEW, H2, wal=wal)
    assert d.kind == "after_fork" and not d.restart_checkpoint_only and d.commits_after_fork == 2
    assert ("(2 committed transactions and 1 aborted, between 2026-12-02T14:44:15.363000Z and "
            "2026-12-02T15:03:50.130792Z, read with pg_walinspect)") in d.explanation
    # an XID handed out without a commit yet (a transaction still open) is a write too
    wal = judge_wal_records([*RESTART_ONLY, rec("Heap", "INSERT", 738)], start_lsn=SWITCH, end_lsn="0/5000500")
    assert wal.writes and wal.commits == 0
    # records read only part of the way are no proof
    wal = judge_wal_records(RESTART_ONLY, start_lsn=SWITCH, end_lsn="0/5000500", read_to="0/5000400")
    d = assess_divergence(_old("0/5000500"), NEW, H2, wal=wal)
    assert not d.restart_checkpoint_only and "could be read only up to 0/5000400" in d.explanation


def test_commit_times_in_both_formats():
    assert commit_time("2026-12-02 14:44:15.363 UTC") == datetime(2026, 12, 2, 14, 44, 15, 363000, timezone.utc)
    assert commit_time("2026-12-02 16:44:15+02") == datetime(2026, 12, 2, 14, 44, 15, tzinfo=timezone.utc)
    assert commit_time("2026-12-02 09:14:15.5-05:30") == datetime(2026, 12, 2, 14, 44, 15, 500000, timezone.utc)
    assert commit_time("inval msgs: catcache 55") is None and commit_time(None) is None


def _measure(node, **data):
    return E(kind="evidence", text="m", at=datetime(2026, 12, 2, 15, 10, tzinfo=timezone.utc), id=9, seat="operator",
             author="olga", stage=None, data={"check": "rpo_measured", "step": "reprotect", "node": node, **data})


def test_the_rpo_is_measured_from_the_old_primary_or_stays_a_lower_bound_and_says_why():
    lost = _measure("node1", measured=True, commits=3, lost_bytes=1234, first_commit_at="T1", last_commit_at="T2",
                    statement="node1's WAL ends at 0/5001000")
    zero = _measure("node3", measured=True, commits=0, lost_bytes=0, statement="node3 holds nothing")
    unread = _measure("node1", measured=False, statement="node1 does not answer")
    decision = E(kind="decision", data={"old_primary": "node1"})
    assert measured_rpo([zero, lost]) is lost.data
    assert measured_rpo([decision, lost, zero]) is lost.data
    assert measured_rpo([decision, zero]) is None             # the old primary never measured: the bound stays
    fenced = E(kind="action", data={"step": "fence", "node": "node1"})
    assert measured_rpo([fenced, zero, lost]) is lost.data       # known as the node fenced in stage 2
    assert measured_rpo([]) is None
    figures = close_figures(lost.data, {"rpo_statement": "promoting node2 loses at least 0 B"})
    assert figures["rpo_bytes"] == 1234 and figures["rpo_transactions"] == 3 and figures["rpo_measured"]
    assert figures["rpo_statement"].startswith("MEASURED on node1 before its rewind: lost: 3 transactions, 1.2 kB, "
                                               "between T1 and T2")
    assert record_line(lost.data, "0 B", "0 s") == ("- RPO: MEASURED on node1 before its rewind: lost: 3 "
                                                    "transactions, 1.2 kB, between T1 and T2")
    assert close_figures(unread.data, {"rpo_statement": "loses at least 0 B"})["rpo_statement"] == \
        "loses at least 0 B; a lower bound: node1 does not answer"
    assert record_line(unread.data, "0 B (0 bytes)", "unknown time") == \
        "- RPO: at least 0 B (0 bytes), unknown time (a lower bound: node1 does not answer)"
    # the record takes the measurement even when it came after the close
    close = E(kind="close", text="incident closed", at=datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc), id=8,
              seat="operator", author="olga", stage=None, data={"rto_s": 30.0, "rpo_bytes": 0, "rpo_s": None})
    text = render_record_from({"incident_id": "i"}, [close, lost], [], datetime(2026, 12, 2, 16, tzinfo=timezone.utc))
    assert "- RPO: MEASURED on node1 before its rewind: lost: 3 transactions, 1.2 kB, between T1 and T2" in text
