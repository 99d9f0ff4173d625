"""Verified means verified now (pure): one writer judged on a fresh round, a reopen the stage machine
honours, and close-out figures that are never negative on a resumed incident's journal."""

from __future__ import annotations

from datetime import timedelta

from checks.incident.events import Event
from checks.observe.assess import Watch
from checks.runbook.gates import closed_sentence, evaluate, reopen_data, standing_close
from checks.runbook.one_writer import one_writer_problem
from checks.stages.close import closeout
from tests.fixtures_samples import CLUSTER as SAMPLED
from tests.fixtures_samples import T0, down, primary, standby
from tests.unit.test_runbook_gates import CLUSTER

LSN = "0/5A0003E8"
_ids = iter(range(1, 10_000))


def ev(seconds: float, kind: str, stage: int | None = None, data: dict | None = None, text: str = "") -> Event:
    return Event(id=next(_ids), at=T0 + timedelta(seconds=seconds), seat="operator", author="olga", kind=kind,
                 stage=stage, text=text or kind, data=data or {})


def verification(seconds: float, run: str, passed: bool = True) -> list[Event]:
    return [ev(seconds + i, "evidence", 5, {"check": check, "passed": passed, "verify_run": run})
            for i, check in enumerate(("new_primary_writable", "stragglers"))]


def failed_over(at: float = 0.0) -> list[Event]:
    """Stages 0-4 passed between ``at`` and ``at`` + 40 s (the cluster has no Odoo configured)."""
    return [
        ev(at + 0, "role", 0, {"roles": {"operator": "olga", "scribe": "sam", "approver": "alice"}}),
        ev(at + 1, "action", 0, {"step": "freeze", "name": "stop cron", "exit_code": 0}),
        ev(at + 10, "decision", 1, {"candidate": "n2", "old_primary": "n1",
                                    "data_risk": {"within_slo": True, "statement": "promoting n2 loses nothing"}}),
        ev(at + 20, "evidence", 2, {"check": "others_not_writable", "candidate": "n2",
                                    "nodes": {"n1": {"fenced": True, "needs_proof": True}, "n3": {}}}),
        ev(at + 30, "evidence", 3, {"check": "promoted", "passed": True, "node": "n2"}),
        ev(at + 40, "evidence", 4, {"check": "targets", "passed": True}),
    ]


def test_a_reopen_reopens_and_only_a_verification_since_it_counts():
    events = failed_over() + verification(50, "a") + [ev(60, "close")]
    assert evaluate(CLUSTER, events).closed and evaluate(CLUSTER, events).current == 6
    sentence = closed_sentence(standing_close(events), "inc-7")
    assert sentence == ("incident inc-7 was closed at 2026-12-01T08:01:00.000000Z by olga: a new fault is a new "
                        "incident (pass a new --incident), or reopen this one with --reopen")
    events.append(ev(3600, "system", data=reopen_data(events[-1])))
    state = evaluate(CLUSTER, events)
    assert not state.closed and standing_close(events) is None
    assert state.stage(5).status == "open" and state.stage(5).gate.startswith("not verified yet")
    events += verification(3700, "b", passed=False)
    assert evaluate(CLUSTER, events).stage(5).status == "failed"
    events += verification(3800, "c") + [ev(3810, "close")]
    state = evaluate(CLUSTER, events)
    assert state.current == 6 and state.closed


def test_a_resumed_incident_with_an_old_verification_and_a_later_first_bad_signal_has_no_negative_figure():
    """The shape that printed "RTO -2539.408 s": verified and closed, then days later resumed, where the
    first bad signal this process saw is long after the old verification."""
    events = failed_over() + verification(50, "old") + [ev(60, "close")]
    events.append(ev(86_400, "system", data=reopen_data(events[-1])))
    later_fault = T0 + timedelta(seconds=86_405)
    events += verification(86_410, "fresh", passed=False)

    figures = closeout(CLUSTER, events, [], [], started_at=events[0].at, first_bad_at=later_fault)
    assert figures["rto_s"] == 51.0 and figures["rto_from"] == "incident start"    # to the old run's end
    assert all(seconds >= 0 for seconds in figures["stage_seconds"].values()), figures["stage_seconds"]
    assert not figures["verified"]

    events += verification(86_420, "fresh-2")                    # verified again after the new fault
    figures = closeout(CLUSTER, events, [], [], started_at=events[0].at, first_bad_at=later_fault)
    assert figures["rto_s"] == 16.0 and figures["rto_from"] == "first bad signal"
    assert figures["verified"] and figures["rto_end_at"] == "2026-12-02T08:00:21.000000Z"
    assert all(seconds >= 0 for seconds in figures["stage_seconds"].values()), figures["stage_seconds"]
    assert figures["stage_seconds"]["5"] == 86_381.0               # stage 5 passed with the run the RTO ends at


def _view(*samples):
    return Watch("lab", SAMPLED).update(*samples, now=T0)


def _judge(view, target="node2", **kw):
    args = {"old_primary": "node1", "seen_as_standby": {"node2", "node3"}, "fenced": set(), "attested": set()}
    return one_writer_problem(SAMPLED, target, view, **{**args, **kw})


def test_exactly_one_writer_now_names_the_nodes_otherwise():
    both = _view(primary("node1", T0, LSN), primary("node2", T0, LSN, timeline=2), standby("node3", T0, LSN, LSN))
    assert _judge(both) == ("split brain: node1 and node2 accept writes now; exactly one writable primary, node2, "
                            "is required: fence node1, then verify again")
    nobody = _view(down("node1", T0), down("node2", T0), standby("node3", T0, LSN, LSN))
    assert _judge(nobody, fenced={"node1"}).startswith(
        "no node accepts writes now: node2 is unreachable (connection to server at \"127.0.0.1\", port 5432 failed: "
        "Connection refused")
    wrong = _view(primary("node1", T0, LSN), standby("node2", T0, LSN, LSN), standby("node3", T0, LSN, LSN))
    assert _judge(wrong).startswith("node2 is not the writer now: node1 accepts writes and node2 is read-only")

    fenced_off = _view(down("node1", T0), primary("node2", T0, LSN, timeline=2), standby("node3", T0, LSN, LSN))
    assert _judge(fenced_off).startswith("node1 is unreachable now and neither fenced nor attested down")
    assert _judge(fenced_off, fenced={"node1"}) == ""
    assert _judge(fenced_off, attested={"node1"}) == ""
    # a standby last seen as one, unreachable now, cannot write: no proof needed
    standby_down = _view(down("node1", T0), primary("node2", T0, LSN, timeline=2), down("node3", T0))
    assert _judge(standby_down, fenced={"node1"}) == ""


def test_odoo_login_is_retried_fast_at_first_then_gently():
    """Short steps while a short server_login_retry ends (the RTO waits on them), then one try a
    second: PgBouncer's default 15 s must not meet ten logins a second on an Odoo just cut over."""
    from checks.stages.verify import LOGIN_RETRY_FAST_S, LOGIN_RETRY_S, login_retry_step

    elapsed, tries = 0.0, 0
    while elapsed < LOGIN_RETRY_S:
        elapsed += login_retry_step(elapsed)
        tries += 1
    assert login_retry_step(0) == 0.1 and login_retry_step(LOGIN_RETRY_FAST_S) == 1.0
    assert tries <= 20 + (LOGIN_RETRY_S - LOGIN_RETRY_FAST_S) + 1       # ~38 in 20 s, not 200
