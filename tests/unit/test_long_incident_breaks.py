"""Trying to break the long-incident work (issue 17 point 2): the gates judged from an index fed each
event once (GateEvents, judge) against the gates as they were before (the module at 8a55591, loaded
from git as an independent oracle) and against evaluate on each prefix, on journals the bundled
scenarios never write: reopen then a new verification, approvals on either side of a new candidate
decision, a second candidate, stage 2 attestations, gate kinds with no stage, the operator changing
mid-incident, two verification runs interleaved, close / reopen / close, and random mixes of all."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bench.long_journal import failover_events
from checks.incident.events import Event
from checks.runbook.gate_events import GATE_KINDS, GateEvents
from checks.runbook.gates import evaluate, judge
from checks.stages import close

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "8a55591"          # the commit before GateEvents: its gates.py judged the whole list


@pytest.fixture(scope="module")
def old_gates(tmp_path_factory):
    """checks/runbook/gates.py as it was before the change, imported under another name."""
    text = subprocess.run(["git", "show", f"{BEFORE}:checks/runbook/gates.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = tmp_path_factory.mktemp("oracle") / "old_gates.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_gates_oracle", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recorded():
    """The safe path's real gate events on the clean crash, and its cluster (approvers alice, bob)."""
    events, cluster = failover_events()
    return events, cluster.model_copy(update={"approvers": ["alice", "bob", "dave"]})


class Writer:
    """Journals events in order (ids and times rising), from templates of real ones."""

    def __init__(self, start) -> None:
        self.events: list[Event] = []
        self.at = start

    def add(self, kind: str, stage: int | None = None, data: dict | None = None, *, text: str = "",
            author: str = "alice", seat: str = "operator") -> Event:
        self.at += timedelta(seconds=1)
        event = Event(id=len(self.events) + 1, at=self.at, seat=seat, author=author, kind=kind, stage=stage,
                      text=text or f"{kind} {len(self.events) + 1}", data=dict(data or {}))
        self.events.append(event)
        return event

    def copy(self, event: Event, **data) -> Event:
        return self.add(event.kind, event.stage, {**event.data, **data}, text=event.text, author=event.author,
                        seat=event.seat)


def replay(recorded_events, upto_kind_stage=None) -> Writer:
    events = recorded_events
    writer = Writer(events[0].at)
    for e in events:
        if upto_kind_stage and (e.kind, e.stage) == upto_kind_stage:
            break
        writer.copy(e)
    return writer


def first(events, kind, stage, **match):
    return next(e for e in events if e.kind == kind and e.stage == stage
                and all(e.data.get(k) == v for k, v in match.items()))


def assert_same_at_every_event(cluster, events, old_gates):
    """judge on a GateEvents fed one event at a time == evaluate on the prefix == the old evaluate."""
    gates = GateEvents()
    for i, event in enumerate(events):
        gates.add(event)
        prefix = events[: i + 1]
        now = judge(cluster, gates)
        where = f"after event {i + 1} ({event.kind}, stage {event.stage}): {event.text}"
        assert now == evaluate(cluster, prefix), where
        assert now.model_dump() == old_gates.evaluate(cluster, prefix).model_dump(), where


def old_stage_passed_at(old_gates, cluster, events):
    passed = {}
    for i, event in enumerate(events):
        if event.kind not in ("evidence", "approval", "decision", "action", "role"):
            continue
        for stage in old_gates.evaluate(cluster, events[: i + 1]).stages:
            if stage.status in ("passed", "overridden") and stage.number not in passed:
                passed[stage.number] = event.at
    return passed


def verify_run(writer: Writer, recorded_events, run: str, *, failing: str | None = None) -> None:
    for e in recorded_events:
        if e.kind == "evidence" and e.stage == 5:
            writer.copy(e, verify_run=run, passed=e.data["check"] != failing)


def reopen(writer: Writer, old_gates) -> None:
    closed = [e for e in writer.events if e.kind == "close"][-1]
    writer.add("system", None, old_gates.reopen_data(closed), text="reopened")


# -- the scenarios the bundled recordings do not have -------------------------------------------------
def test_reopen_then_a_new_verification_run(recorded, old_gates):
    events, cluster = recorded
    w = replay(events)                                  # to the close
    reopen(w, old_gates)
    verify_run(w, events, "after-reopen-1", failing="write_probe")
    verify_run(w, events, "after-reopen-2")
    w.copy(first(events, "close", None))
    assert_same_at_every_event(cluster, w.events, old_gates)
    state = evaluate(cluster, w.events)
    assert state.closed and state.current == 6


def test_close_reopen_close_reopen_without_verifying(recorded, old_gates):
    events, cluster = recorded
    w = replay(events)
    reopen(w, old_gates)
    w.copy(first(events, "close", None))
    reopen(w, old_gates)
    assert_same_at_every_event(cluster, w.events, old_gates)
    state = evaluate(cluster, w.events)
    assert not state.closed and state.stage(5).status == "open"     # the old verification is not the present


def _risky(decision: Event, candidate: str) -> dict:
    risk = {**decision.data["data_risk"], "within_slo": False, "candidate": candidate}
    return {**decision.data, "candidate": candidate, "data_risk": risk}


def test_approvals_before_and_after_a_second_candidate_decision(recorded, old_gates):
    events, cluster = recorded
    decision = first(events, "decision", 1)
    w = replay(events, upto_kind_stage=("decision", 1))
    w.add("decision", 1, _risky(decision, "node2"), text="candidate node2, risky")
    w.add("approval", 1, {"candidate": "node2", "approved_by": "bob"}, author="bob", seat="approver")
    w.add("approval", 1, {"candidate": "node3", "approved_by": "bob"}, author="bob", seat="approver")  # before
    w.add("decision", 1, _risky(decision, "node3"), text="candidate node3, risky")
    w.add("approval", 1, {"candidate": "node2", "approved_by": "bob"}, author="bob", seat="approver")  # stale
    w.add("approval", 1, {"candidate": "node3", "approved_by": "alice"})                            # operator
    w.add("approval", 1, {"candidate": "node3", "approved_by": "mallory"})                          # not listed
    w.add("approval", 1, {"candidate": "node3", "approved_by": "dave"}, author="dave", seat="approver")
    w.add("decision", 1, {**decision.data, "candidate": "node2"}, text="back to node2, within the SLO")
    assert_same_at_every_event(cluster, w.events, old_gates)


def test_the_operator_changes_and_the_new_operators_approval_stops_counting(recorded, old_gates):
    events, cluster = recorded
    decision = first(events, "decision", 1)
    w = replay(events, upto_kind_stage=("decision", 1))
    w.add("decision", 1, _risky(decision, "node2"))
    w.add("approval", 1, {"candidate": "node2", "approved_by": "bob"}, author="bob", seat="approver")
    approved = evaluate(cluster, w.events)
    w.add("role", 1, {"roles": {"operator": "bob", "approver": "dave"}}, text="bob takes over")
    assert_same_at_every_event(cluster, w.events, old_gates)
    assert approved.stage(1).status == "overridden"
    assert evaluate(cluster, w.events).stage(1).status == "open"       # bob's approval is the operator's now


def test_stage_two_attestations_and_checks_for_another_candidate(recorded, old_gates):
    events, cluster = recorded
    check = first(events, "evidence", 2)                               # node1 needs proof, not fenced
    w = replay(events, upto_kind_stage=("evidence", 2))
    w.copy(check)
    w.add("approval", 2, {"node": "node1", "approved_by": "alice", "attestation": "I see it dead"})  # operator
    w.add("approval", 2, {"node": "node1", "approved_by": "bob", "attestation": "the rack is dark"},
          author="bob", seat="approver")
    w.copy(check, candidate="node3")                                   # checked for another candidate
    w.copy(check)
    w.add("role", 2, {"roles": {"operator": "bob", "approver": "dave"}})   # bob's attestation stops counting
    w.add("approval", 2, {"node": "node1", "approved_by": "dave", "attestation": "confirmed"},
          author="dave", seat="approver")
    assert_same_at_every_event(cluster, w.events, old_gates)


def test_gate_kinds_with_no_stage_or_an_unknown_stage(recorded, old_gates):
    events, cluster = recorded
    w = Writer(events[0].at)
    for e in events:
        w.copy(e)
        if e.kind in GATE_KINDS and e.stage is not None:
            w.add(e.kind, None, e.data, text="the same, no stage")          # a gate kind with no stage
            w.add(e.kind, 9, e.data, text="the same, stage 9")
    w.add("evidence", None, {"check": "write_probe", "passed": False, "verify_run": "x"})
    assert_same_at_every_event(cluster, w.events, old_gates)


def test_two_verification_runs_interleaved(recorded, old_gates):
    events, cluster = recorded
    w = replay(events, upto_kind_stage=("evidence", 5))
    checks = [e for e in events if e.kind == "evidence" and e.stage == 5]
    for e in checks:
        w.copy(e, verify_run="A")
        w.copy(e, verify_run="B", passed=e.data["check"] != "cron_progress")
    w.copy(checks[0], verify_run="A", passed=False)                    # A again, last: A counts, failing now
    w.copy(checks[0], verify_run=None)                                 # a check with no run id
    assert_same_at_every_event(cluster, w.events, old_gates)


def test_time_per_stage_equals_the_old_close_out_on_every_scenario_above(recorded, old_gates):
    events, cluster = recorded
    decision = first(events, "decision", 1)
    w = replay(events, upto_kind_stage=("decision", 1))
    w.add("decision", 1, _risky(decision, "node2"))
    w.add("role", 1, {"roles": {"operator": "bob"}})
    w.add("approval", 1, {"candidate": "node2", "approved_by": "bob"}, author="bob", seat="approver")
    w.add("role", 1, {"roles": {"operator": "alice"}})
    w.add("approval", 1, {"candidate": "node2", "approved_by": "dave"}, author="dave", seat="approver")
    for e in events[events.index(decision) + 1:]:
        w.copy(e)
    reopen(w, old_gates)
    verify_run(w, events, "again")
    assert close.stage_passed_at(cluster, w.events) == old_stage_passed_at(old_gates, cluster, w.events)


# -- random mixes -------------------------------------------------------------------------------------
def _pool(events, old_gates):
    """Templates: every recorded event, and the variants above (as (kind, stage, data, author, seat))."""
    decision = first(events, "decision", 1)
    check = first(events, "evidence", 2)
    pool = [(e.kind, e.stage, e.data, e.author, e.seat) for e in events if e.kind not in ("close",)]
    pool += [("decision", 1, _risky(decision, c), "alice", "operator") for c in ("node2", "node3")]
    pool += [("approval", 1, {"candidate": c, "approved_by": a}, a, "approver")
             for c in ("node2", "node3") for a in ("alice", "bob", "dave", "mallory")]
    pool += [("approval", 2, {"node": "node1", "approved_by": a, "attestation": "down"}, a, "approver")
             for a in ("alice", "bob", "dave")]
    pool += [("evidence", 2, {**check.data, "candidate": "node3"}, "alice", "operator")]
    pool += [("role", 0, {"roles": {"operator": o, "approver": a, "scribe": "carol"}}, "alice", "operator")
             for o, a in (("alice", "bob"), ("bob", "dave"), ("dave", "alice"), ("alice", "alice"))]
    pool += [("evidence", 5, {**e.data, "verify_run": run, "passed": passed}, "alice", "operator")
             for e in events if e.kind == "evidence" and e.stage == 5
             for run in ("A", "B", None) for passed in (True, False, True)]
    pool += [("evidence", 3, {"check": "promoted", "node": "node2", "passed": False}, "alice", "operator")]
    pool += [("decision", 0, {"evaluate": "wait", "reason": "not yet", "signals": [], "standbys": []},
              "alice", "operator"), ("decision", 0, {"skip_freeze": True, "reason": "no cron"}, "alice", "operator")]
    pool += [("close", None, {}, "alice", "operator"), ("reopen", None, {}, "alice", "operator")] * 4
    pool += [("note", 5, {}, "carol", "scribe"), ("stage", 3, {"stage": 3}, "alice", "operator")]
    return pool


@pytest.mark.parametrize("start", [9, 20], ids=["from-the-candidate", "from-the-cutover"])
@pytest.mark.parametrize("seed", range(30))
def test_random_mixes_judge_as_the_old_gates_did(recorded, old_gates, seed, start):
    events, cluster = recorded
    rng = random.Random(seed)
    pool = _pool(events, old_gates)
    w = Writer(events[0].at)
    for e in events[:start]:                # to the candidate (9 events) or to the cutover's end (20)
        w.copy(e)
    for _ in range(70):
        kind, stage, data, author, seat = rng.choice(pool)
        if kind == "reopen":
            closes = [e for e in w.events if e.kind == "close"]
            if closes:
                reopen(w, old_gates)
            continue
        w.add(kind, stage, data, author=author, seat=seat)
    assert_same_at_every_event(cluster, w.events, old_gates)
    assert close.stage_passed_at(cluster, w.events) == old_stage_passed_at(old_gates, cluster, w.events)


def test_an_index_fed_in_batches_judges_as_one_fed_the_whole_list(recorded, old_gates):
    """The checklist pane extends its GateEvents by each batch the feed brings."""
    events, cluster = recorded
    rng = random.Random(5)
    pool = _pool(events, old_gates)
    w = replay(events)
    for _ in range(200):
        kind, stage, data, author, seat = rng.choice(pool)
        if kind != "reopen":
            w.add(kind, stage, data, author=author, seat=seat)
    gates, i = GateEvents(), 0
    while i < len(w.events):
        n = rng.randint(1, 17)
        gates.extend(w.events[i:i + n])
        i += n
        assert judge(cluster, gates).model_dump() == old_gates.evaluate(cluster, w.events[:i]).model_dump()
