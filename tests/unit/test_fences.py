"""What this incident fenced, judged: the journal's fence actions (checks.incident.fences), the fence
that stands until its node answers again (checks.observe.fences), a fenced node in the assessment
(FENCED, not a problem; a standby that follows nobody still is one), and an error text's cause.

Pure: fixed samples, fixed events, no database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from checks.incident.events import Event
from checks.incident.fences import fences_of
from checks.observe.assess import Watch
from checks.observe.error_cause import error_cause
from checks.observe.fences import Fence, standing_fences
from tests.fixtures_samples import CLUSTER, MB, down, lsn_plus, peer, primary, standby

T0 = datetime(2026, 12, 1, 7, 20, 0, tzinfo=timezone.utc)
FENCED_AT = datetime(2026, 12, 1, 7, 24, 3, 412000, tzinfo=timezone.utc)
LSN = "0/7C000000"
ARGV = ["/usr/local/bin/fence-node", "--host", "db1.internal", "--hard"]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(number: int, kind: str, text: str, *, stage: int | None = 2, data: dict | None = None,
          when: datetime = FENCED_AT, author: str = "alice") -> Event:
    return Event(id=number, at=when, seat="operator", author=author, kind=kind, stage=stage, text=text,
                 data=data or {})


def fence_action(number: int, node: str = "node1", exit_code: int | None = 0, when: datetime = FENCED_AT,
                 **extra) -> Event:
    return event(number, "action", f"fence {node}: exit {exit_code} in 212 ms", when=when, data={
        "step": "fence", "node": node, "name": f"fence {node}", "argv": ARGV, "exit_code": exit_code,
        "output": "", "duration_ms": 212.4, "error": None, **extra})


def healthy(when: datetime) -> list:
    return [primary("node1", when, LSN, (peer("node2", LSN), peer("node3", LSN, behind=MB))),
            standby("node2", when, LSN, LSN),
            standby("node3", when, lsn_plus(LSN, -MB), lsn_plus(LSN, -MB))]


def crashed(when: datetime) -> list:
    """node1 dead; the standbys lost their WAL receiver with it."""
    return [down("node1", when),
            standby("node2", when, LSN, LSN, receiver=None),
            standby("node3", when, lsn_plus(LSN, -MB), lsn_plus(LSN, -MB), receiver=None)]


def promoted(when: datetime, *, node3_repointed: bool) -> list:
    """node2 promoted on timeline 2; node3 either still follows node1, or streams from node2."""
    new = "0/7C200000"
    node3 = (standby("node3", when, new, new, timeline=2, sender_port=5433) if node3_repointed else
             standby("node3", when, lsn_plus(LSN, -MB), lsn_plus(LSN, -MB), receiver=None))
    peers = (peer("node3", new),) if node3_repointed else ()
    return [down("node1", when), primary("node2", when, new, peers, timeline=2), node3]


# -- the journal's fence actions ---------------------------------------------------------------------------

def test_a_fence_that_exited_0_is_the_nodes_fence_with_what_ran_and_when():
    fences = fences_of([fence_action(7)])
    assert set(fences) == {"node1"}
    fence = fences["node1"]
    assert fence.at == FENCED_AT and fence.name == "fence node1" and fence.argv == tuple(ARGV)
    assert fence.exit_code == 0 and fence.author == "alice" and fence.duration_ms == 212.4
    assert fence.sentence() == "fenced 07:24:03Z by `fence node1` (exit 0)"
    assert fence.command == "/usr/local/bin/fence-node --host db1.internal --hard"


def test_a_failed_fence_a_fence_sequence_step_and_other_stages_are_no_fence():
    events = [
        fence_action(1, exit_code=1),
        fence_action(2, exit_code=None),
        event(3, "action", "PgBouncer pgb1: PAUSE odoo", data={"step": "pause pgb1/odoo", "node": "node1",
                                                               "exit_code": 0}),
        event(4, "action", "freeze 'stop cron': exit 0", stage=0, data={"step": "freeze", "exit_code": 0}),
        event(5, "evidence", "node1 is unreachable after a successful fence", data={"check": "others_not_writable"}),
        fence_action(6).model_copy(update={"stage": 4}),
    ]
    assert fences_of(events) == {}


def test_the_last_successful_fence_counts_and_a_later_failure_does_not_undo_it():
    later = FENCED_AT + timedelta(minutes=3)
    fences = fences_of([fence_action(1), fence_action(2, exit_code=1, when=later),
                        fence_action(3, node="node3", when=later, keep_one_writer=True)])
    assert fences["node1"].at == FENCED_AT
    assert fences["node3"].at == later               # a split brain's fence is a fence of this incident too


def test_a_fence_stands_until_its_node_answers_after_it():
    fence = Fence(node="node1", at=FENCED_AT, name="fence node1")
    assert standing_fences({"node1": fence}, {}) == {"node1": fence}
    assert standing_fences({"node1": fence}, {"node1": FENCED_AT - timedelta(seconds=1)}) == {"node1": fence}
    assert standing_fences({"node1": fence}, {"node1": FENCED_AT + timedelta(seconds=1)}) == {}


# -- the assessment --------------------------------------------------------------------------------------

def watch_through_the_fence() -> Watch:
    watch = Watch("lab", CLUSTER)
    watch.update(*healthy(at(0)), now=at(0))
    watch.update(*crashed(at(70)), now=at(70))
    return watch


def test_before_the_fence_the_dead_primary_is_unreachable_with_its_cause():
    view = watch_through_the_fence().update(*crashed(at(200)), now=at(200))
    node1 = view.node("node1")
    assert node1.role == "unreachable" and not node1.fenced and view.fences == ()
    assert ("node1 unreachable (refused): connection to server at \"127.0.0.1\", port 5432 failed: Connection refused (is the server running on that host and accepting TCP/IP connections?)"
            in view.problems)


def test_a_fenced_node_is_fenced_not_a_problem_and_the_cluster_still_has_no_primary():
    watch = watch_through_the_fence()
    view = watch.update(*crashed(at(250)), now=at(250), fences=fences_of([fence_action(9)]))
    node1 = view.node("node1")
    assert node1.role == "unreachable" and node1.fenced and node1.problems == ()
    assert node1.fence.sentence() == "fenced 07:24:03Z by `fence node1` (exit 0)"
    assert [f.node for f in view.fences] == ["node1"]
    assert view.verdict == "critical" and view.problems[0] == "no writable node: the cluster has no primary"
    assert not any(p.startswith("node1 unreachable") for p in view.problems)
    assert any(p.startswith("node2 follows node1, which is fenced: it is not streaming") for p in view.problems)


def test_after_the_close_a_fenced_old_primary_is_no_warning_but_a_standby_following_nobody_is():
    watch = watch_through_the_fence()
    watch.update(*crashed(at(250)), now=at(250), fences=fences_of([fence_action(9)]))
    view = watch.update(*promoted(at(600), node3_repointed=False), now=at(600))   # the fences are kept
    assert view.node("node1").fenced and view.node("node1").problems == ()
    assert view.verdict == "warning" and view.writable == ("node2",)
    assert view.problems == (
        "node2 (primary) has no streaming standby: node1 fenced, node3 follows node1",
        "node3 follows node1, which is fenced: it is not streaming (no WAL receiver); re-point it at the primary node2",
    )


def test_once_the_standby_is_re_pointed_the_cluster_with_its_fenced_old_primary_is_ok():
    watch = watch_through_the_fence()
    watch.update(*crashed(at(250)), now=at(250), fences=fences_of([fence_action(9)]))
    view = watch.update(*promoted(at(700), node3_repointed=True), now=at(700))
    assert view.verdict == "ok" and view.problems == ()
    assert view.node("node1").fenced and view.node("node3").upstream == "node2"


def test_without_the_fence_the_same_cluster_stays_a_warning_for_the_unreachable_old_primary():
    watch = watch_through_the_fence()
    view = watch.update(*promoted(at(700), node3_repointed=True), now=at(700))
    assert view.verdict == "warning"
    assert view.problems == ("node1 unreachable (refused): connection to server at \"127.0.0.1\", port 5432 failed: Connection refused (is the server running on that host and accepting TCP/IP connections?)",)


def test_a_fenced_node_that_answers_again_is_judged_by_its_samples_and_a_later_outage_is_unreachable():
    watch = watch_through_the_fence()
    watch.update(*crashed(at(250)), now=at(250), fences=fences_of([fence_action(9)]))
    back = standby("node1", at(900), "0/7D000000", "0/7D000000", timeline=2, sender_port=5433)
    view = watch.update(back, now=at(900))
    assert view.node("node1").role == "standby" and not view.node("node1").fenced
    view = watch.update(down("node1", at(960)), now=at(960))
    assert view.node("node1").role == "unreachable" and not view.node("node1").fenced
    assert any(p.startswith("node1 unreachable (refused)") for p in view.problems)


def test_a_standby_streaming_from_a_fenced_node_says_the_fence_did_not_stop_it():
    watch = watch_through_the_fence()
    still = standby("node3", at(250), LSN, LSN)                     # streams from node1 (port 5432)
    view = watch.update(down("node1", at(250)), still, now=at(250), fences=fences_of([fence_action(9)]))
    assert ("node3 streams from node1, which this incident fenced at 07:24:03Z: node1 is alive, its fence "
            "did not stop it") in view.problems


# -- an error text's cause ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "cause"), [
    ("[Errno 111] Connect call failed ('127.0.0.1', 5432)", "refused"),
    ("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), [Errno 111] Connect call "
     "failed ('127.0.0.1', 5432)", "refused"),
    ("connection refused: fenced at 09:54:10Z", "refused"),
    ("no answer within 2s connect / 1.5s statement timeout", "timeout"),
    ("[Errno 110] Connect call failed ('10.0.0.9', 5432)", "refused"),
    ("[Errno 110] Connection timed out", "timeout"),
    ("canceling statement due to statement timeout", "timeout"),
    ("[Errno 104] Connection reset by peer", "reset"),
    ("connection closed before the server answered (server down behind a proxy or pooler?)", "closed"),
    ('password authentication failed for user "cockpit"', "login refused"),
    ('no pg_hba.conf entry for host "10.0.0.5", user "cockpit", database "postgres", no encryption', "login refused"),
    ('role "cockpit" does not exist', "login refused"),
    ("the database system is shutting down", "shutting down"),
    ("the database system is starting up", "starting up"),
    ("sorry, too many clients already", "too many clients"),
    ("[Errno -2] Name or service not known", "unknown host"),
    ("[Errno 113] No route to host", "no route"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "TLS failed"),
    ("something nobody has seen before", "error"),
    (None, "no answer"),
    ("", "no answer"),
])
def test_an_error_text_says_its_cause(text, cause):
    assert error_cause(text) == cause
