"""Two config entries reaching one server, and the last good sample kept before a failure: pure."""

from __future__ import annotations

from datetime import timedelta

from checks.incident.journal import Journal
from checks.observe.assess import assess
from checks.runbook.candidates import rank_candidates
from tests.unit.test_assess import T0, cluster, down, primary, samples, standby

IDENT = dict(postmaster_start="2026-12-01T07:00:00.000000Z", data_directory="/var/lib/postgresql/15/main")


def test_two_entries_reaching_one_server_are_a_config_error_naming_both():
    n2 = standby("n2").model_copy(update=IDENT)
    n3 = standby("n3").model_copy(update=IDENT)           # its DSN reaches n2's server
    view = assess("c", cluster(), samples(primary(), n2, n3), now=T0)
    assert view.duplicates == (("n2", "n3"),)
    assert view.verdict == "unknown"                     # status: exit 3, like any bad config
    assert view.problems[0].startswith("config error: n2 and n3 reach the same server")
    assert view.config_error and "fix the DSN of one of them" in view.config_error
    reasons = {c.name: c.reason for c in rank_candidates(view, cluster())}
    assert "same server as another entry" in reasons["n3"]


def test_a_duplicated_primary_is_not_a_false_split_brain():
    p1 = primary().model_copy(update=IDENT)
    p3 = primary("n3").model_copy(update=IDENT)
    view = assess("c", cluster(), samples(p1, standby("n2"), p3), now=T0)
    assert view.writable == ("n1",) and not view.split_brain and view.duplicates == (("n1", "n3"),)


def test_distinct_servers_are_not_duplicates():
    n2 = standby("n2").model_copy(update=IDENT)
    n3 = standby("n3").model_copy(update=IDENT | {"postmaster_start": "2026-12-01T07:00:01.000000Z"})
    assert assess("c", cluster(), samples(primary(), n2, n3), now=T0).duplicates == ()


def test_the_journal_keeps_a_nodes_last_good_sample_before_it_stopped_answering(tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="c")
    first = primary(at=T0)
    last_good = primary(lsn="0/5000100", at=T0 + timedelta(seconds=1))   # a repeat: not kept by itself
    gone = down("n1", at=T0 + timedelta(seconds=2))
    assert journal.record_sample(first) and not journal.record_sample(last_good)
    assert journal.record_sample(gone)
    kept = journal.samples("n1")
    assert [s.observed_at for s in kept] == [first.observed_at, last_good.observed_at, gone.observed_at]
    assert kept[1].current_lsn == "0/5000100"
    journal.close()
