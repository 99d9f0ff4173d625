"""The close-out walks the journal once (issue 17): judged incrementally, it gives what judging every
prefix from scratch gives, on recorded lab runs and on a long recorded-shape incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.long_journal import build_long_journal
from checks.incident.followups import latest_samples
from checks.incident.journal import Journal
from checks.runbook.gate_events import GATE_KINDS, GateEvents
from checks.runbook.gates import evaluate, judge
from checks.stages import close
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "checks" / "training" / "scenarios").glob("*.json"))


def full_stage_passed_at(cluster, events):
    """The close-out's time per stage as it was: every prefix judged from scratch (quadratic)."""
    passed = {}
    for i, event in enumerate(events):
        if event.kind not in GATE_KINDS:
            continue
        for stage in evaluate(cluster, events[: i + 1]).stages:
            if stage.status in ("passed", "overridden") and stage.number not in passed:
                passed[stage.number] = event.at
    return passed


def played(path: Path) -> TrainingRun:
    scenario = load_scenario(path)
    run = TrainingRun(scenario, "alice", start_at=scenario.settle_s)   # from where the faults are over
    play_safe_path(run)
    return run


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_judging_as_events_arrive_equals_judging_each_prefix_afresh(path):
    run = played(path)
    events = list(run.events)
    assert events[-1].kind == "close"                 # the whole runbook, to the close
    gates = GateEvents()
    for i, event in enumerate(events):
        gates.add(event)
        assert judge(run.cluster, gates) == evaluate(run.cluster, events[: i + 1]), f"after event {i}: {event.text}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_time_per_stage_incremental_equals_full(path):
    run = played(path)
    events = list(run.events)
    incremental = close.stage_passed_at(run.cluster, events)
    assert incremental == full_stage_passed_at(run.cluster, events)
    assert sorted(incremental) == [0, 1, 2, 3, 4, 5]


def test_a_reopened_incident_judges_only_what_came_after_the_reopen():
    run = played(SCENARIOS[0])
    events = list(run.events)
    reopen = events[-1].model_copy(update={"id": events[-1].id + 1, "kind": "system", "text": "reopened",
                                           "data": {"reopen": True}})
    gates = GateEvents(events + [reopen])
    state = judge(run.cluster, gates)
    assert state == evaluate(run.cluster, events + [reopen])
    assert not state.closed and state.stage(5).status == "open"     # the old verification no longer counts


@pytest.fixture(scope="module")
def long_journal(tmp_path_factory):
    directory = tmp_path_factory.mktemp("long") / "inc"
    cluster = build_long_journal(directory, hours=0.5, events=1500, crash_at_s=600)
    return directory, cluster


def test_the_close_out_of_a_long_incident_is_the_full_one(long_journal, monkeypatch):
    directory, cluster = long_journal
    journal = Journal.open(directory)
    events = journal.events()
    samples = journal.samples()
    assert len(events) == 1500 and sum(e.kind == "evidence" and e.stage == 5 for e in events) > 5
    incremental = close.closeout(cluster, events, journal.standby_peaks(), journal.latest_samples().values(),
                                 started_at=events[0].at, first_bad_at=None)
    monkeypatch.setattr(close, "stage_passed_at", full_stage_passed_at)
    full = close.closeout(cluster, events, [s for s in samples if s.in_recovery],
                          latest_samples(samples).values(), started_at=events[0].at, first_bad_at=None)
    assert incremental == full
    assert incremental["max_replay_delay_s"] > 0 and incremental["verified"]
    journal.close()


def test_the_journal_keeps_its_peaks_as_samples_are_written(long_journal):
    directory, _ = long_journal
    journal = Journal.open(directory)
    standbys = [s for s in journal.samples() if s.in_recovery]
    peaks = journal.standby_peaks()
    assert max(s.replay_delay_s or 0.0 for s in peaks) == max(s.replay_delay_s or 0.0 for s in standbys)
    assert max(s.bytes_not_replayed or 0 for s in peaks) == max(s.bytes_not_replayed or 0 for s in standbys) > 0
    journal.close()
