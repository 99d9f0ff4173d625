"""Evaluate, the first decision: what it carries (the signals, each standby's freshness) and how it reads back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checks.incident.evaluation import (
    evaluation_data, evaluation_sentence, evaluations, signalled_primary, standby_freshness, standing_evaluation
)
from checks.observe.assess import Watch
from tests.repr_check import repr_fragments
from tests.unit.test_assess import T0, cluster, down, primary, standby
from tests.unit.test_runbook_gates import evaluated


def _crashed_view():
    """n1 was the primary and stopped answering; n2 streams but lags; n3 is down too."""
    watch = Watch("c", cluster())
    watch.update(primary(lsn="0/5000000"), standby("n2", receive="0/4FFF000"), standby("n3"), now=T0)
    later = T0 + timedelta(seconds=5)
    lagging = standby("n2", receive="0/4FFF000", replay="0/4FF0000", delay=12.5, at=later)
    return watch.update(down("n1", at=later), lagging, down("n3", at=later), now=later)


def test_each_standby_is_measured_and_the_old_primary_is_not_a_standby():
    found = standby_freshness(_crashed_view())
    assert [s["node"] for s in found] == ["n2", "n3"]           # n1, the last primary, is not listed
    n2, n3 = found
    assert n2["reachable"] and n2["held_lsn"] == "0/4FFF000" and n2["data_risk_bytes"] == 4096
    assert n2["text"].startswith("n2: standby, streaming, holds WAL up to 0/4FFF000, replay delay ")
    assert "4.0 kB behind the last primary position seen" in n2["text"]
    assert n3 == {"node": "n3", "reachable": False, "text": "n3 does not answer: its freshness cannot be measured"}
    assert not any(repr_fragments(s["text"]) for s in found)
    assert standby_freshness(None) == []


def test_the_data_keeps_the_signals_words_and_the_sentence_says_what_it_was_made_on():
    signals = [{"name": "primary_unreachable", "subject": "n1", "since": "2026-12-01T08:00:00Z", "firing": True,
                "text": "the bastion cannot reach the primary n1", "evidence": {"cause": "refused"}}]
    data = evaluation_data("not_yet", signals, standby_freshness(_crashed_view()), "the host is rebooting")
    assert data["signals"] == [{"name": "primary_unreachable", "subject": "n1", "since": "2026-12-01T08:00:00Z",
                                "text": "the bastion cannot reach the primary n1"}]
    assert evaluation_sentence("not_yet", "olga", data) == (
        "evaluation: olga decided not to fail over yet (the host is rebooting); signals firing: primary_unreachable; "
        "standbys measured: 1 of 2")
    assert evaluation_sentence("fail_over", "olga", evaluation_data("fail_over", [], [])) == (
        "evaluation: olga decided to fail over; signals firing: none; standbys measured: 0 of 0")
    with pytest.raises(ValueError, match="fail over or not yet"):
        evaluation_data("maybe", [], [])


def test_the_last_evaluation_stands():
    events = evaluated("not_yet", author="bob") + evaluated("fail_over", author="olga")
    assert [e.decision for e in evaluations(events)] == ["not_yet", "fail_over"]
    standing = standing_evaluation(events)
    assert standing.fail_over and standing.author == "olga"
    assert [s["text"] for s in standing.signals] == ["the bastion cannot reach the primary n1"]
    assert [s["text"] for s in standing.standbys] == ["n2: standby, streaming"]
    assert standing_evaluation([]) is None


def test_a_primary_the_signals_name_is_not_listed_as_a_standby():
    watch = Watch("c", cluster())                       # a cockpit that never saw n1 answer
    view = watch.update(down("n1"), standby("n2"), standby("n3"), now=T0)
    assert [s["node"] for s in standby_freshness(view)] == ["n1", "n2", "n3"]
    named = [{"name": "primary_unreachable", "subject": "n1", "text": "the bastion cannot reach the primary n1"}]
    assert signalled_primary(named) == "n1" and signalled_primary([]) is None
    assert [s["node"] for s in standby_freshness(view, signalled_primary(named))] == ["n2", "n3"]
