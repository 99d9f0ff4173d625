"""The signal board and the headline: pure, fed with fixed samples and probes (the lab tests feed
them real ones: tests/lab/test_signals_lab.py)."""

from __future__ import annotations

from datetime import timedelta

from checks.config.model import Cluster
from checks.observe.assess import Watch
from checks.observe.headline import headline, verdict_lines
from checks.observe.pooler import PoolProbe
from checks.observe.sample import NodeSample, iso_utc
from checks.observe.signals import SignalBoard
from checks.observe.status import status_json, status_table
from tests.repr_check import repr_fragments
from tests.unit.test_assess import T0, primary, standby


def cluster(**extra) -> Cluster:
    return Cluster.model_validate({
        "nodes": [{"name": f"n{i}", "dsn": f"postgresql://u@h{i}/postgres"} for i in (1, 2, 3)],
        "pgbouncers": [{"name": "pgb", "admin_dsn": "postgresql://u@hp:6432/pgbouncer", "databases": ["odoo"]}],
        **extra,
    })


def gone(name: str, at, error: str) -> NodeSample:
    return NodeSample(name=name, observed_at=at, reachable=False, error=error)


def started(sample: NodeSample, start) -> NodeSample:
    return sample.model_copy(update={"postmaster_start": iso_utc(start)})


def probe(**facts) -> PoolProbe:
    return PoolProbe(**{"pgbouncer": "pgb", "database": "odoo", "upstream": "h1:5432", "reaches": "n1", **facts})


def crashed(c: Cluster, error="connection refused"):
    """A watch that saw n1 as the primary, then lost it 30 s later."""
    watch = Watch("c", c)
    watch.update(primary(), standby("n2"), standby("n3"), now=T0)
    later = T0 + timedelta(seconds=30)
    return watch.update(gone("n1", later, error), standby("n2", at=later), standby("n3", at=later), now=later)


def test_a_partitioned_primary_that_odoo_still_writes_to_is_said_loudly():
    c = cluster()
    view = crashed(c, "timeout expired")
    board = SignalBoard(c)
    board.update(view=view, probes=[probe(connected=True, writable=True)], now=view.observed_at)
    line = headline(view, board)
    assert line.startswith("THE PRIMARY MAY BE ALIVE: the bastion cannot reach n1 (timeout)")
    assert "fence n1 before any promotion" in line
    assert board.get("primary_unreachable", "n1").firing
    assert not board.get("app_path_writable", "pgb/odoo").firing
    doc = status_json(view, board)
    assert doc["headline"] == line
    assert doc["pgbouncers"][0] | {"databases": None} == {
        "name": "pgb", "reaches": "n1", "writable": True, "cl_waiting": None, "maxwait_s": None, "error": None,
        "databases": None}
    assert status_table(view, board).splitlines()[0].endswith(line)


def test_a_crash_with_the_pooler_on_the_dead_primary_is_down_with_the_poolers_words():
    c = cluster()
    view = crashed(c)
    board = SignalBoard(c)
    changes = board.update(view=view, probes=[probe(error="pgbouncer cannot connect to server")],
                           now=view.observed_at)
    app = board.get("app_path_writable", "pgb/odoo")
    assert app.firing and "pgbouncer cannot connect to server" in app.text
    assert {ch.signal.name for ch in changes if ch.started} >= {"primary_unreachable", "app_path_writable"}
    assert headline(view, board) == ("the primary n1 is down: the bastion cannot reach it (refused) and Odoo cannot write "
                                     "through pgb either (pgbouncer cannot connect to server)")
    lines = verdict_lines(view, board)
    assert "no writable node: the cluster has no primary" not in lines and lines[0] == headline(view, board)


def test_a_login_refused_is_up_not_unreachable():
    c = cluster()
    view = crashed(c, 'password authentication failed for user "cockpit"')
    board = SignalBoard(c)
    board.update(view=view, now=view.observed_at)
    signal = board.get("primary_unreachable", "n1")
    assert not signal.firing and signal.evidence["reachable"] is True
    assert "reachable" in signal.text and "login refused" in signal.text
    assert headline(view, board).startswith("the primary n1 is up but refuses the cockpit (login refused")


def test_three_starts_in_ten_minutes_are_a_crash_loop_and_two_are_not():
    c = cluster()
    watch, board = Watch("c", c), SignalBoard(c)
    first = T0 - timedelta(hours=2)
    board.update(view=watch.update(started(primary(), first), standby("n2"), standby("n3"), now=T0), now=T0)
    assert not board.get("primary_restarts", "n1").firing           # started two hours ago: not recent
    for minute in (1, 4, 7):
        at = T0 + timedelta(minutes=minute)
        view = watch.update(started(primary(at=at), at - timedelta(seconds=5)), standby("n2", at=at),
                            standby("n3", at=at), now=at)
        board.update(view=view, now=at)
        signal = board.get("primary_restarts", "n1")
        assert signal.firing
        assert ("crash loop" in signal.text) == (minute == 7), signal.text
    assert signal.evidence["starts_in_window"] == 3 and signal.evidence["restarts_seen"] == 3
    quiet = T0 + timedelta(minutes=30)
    board.update(view=watch.update(started(primary(at=quiet), T0 + timedelta(minutes=7) - timedelta(seconds=5)),
                                   standby("n2", at=quiet), standby("n3", at=quiet), now=quiet), now=quiet)
    assert not board.get("primary_restarts", "n1").firing


def test_status_reports_a_start_within_the_last_five_minutes():
    c = cluster()
    board = SignalBoard(c)
    view = Watch("c", c).update(started(primary(), T0 - timedelta(seconds=42)), standby("n2"), standby("n3"), now=T0)
    board.update(view=view, now=T0)
    assert board.get("primary_restarts", "n1").text == "the primary n1 started 42s ago (at 07:59:18Z)"


def test_pooler_waiting_starts_and_ends_with_the_queue():
    c = cluster()
    board = SignalBoard(c)
    changes = board.update(probes=[probe(connected=True, writable=True, cl_waiting=12, maxwait_s=3.2, paused=True)],
                           now=T0)
    waiting = board.get("pooler_waiting", "pgb/odoo")
    assert waiting.firing and waiting.text == "12 clients wait in pgb (odoo) (PAUSED), the longest 3.2s"
    assert [c.started for c in changes if c.signal.name == "pooler_waiting"] == [True]
    later = T0 + timedelta(seconds=2)
    changes = board.update(probes=[probe(connected=True, writable=True, cl_waiting=0, maxwait_s=0)], now=later)
    assert [c.started for c in changes if c.signal.name == "pooler_waiting"] == [False]
    assert board.get("pooler_waiting", "pgb/odoo").last_seen == T0


def test_the_rto_budget_counts_from_the_first_bad_signal():
    c = cluster(rto_s=600)
    view = crashed(c)
    board = SignalBoard(c)
    board.update(view=view, now=view.observed_at)
    later = view.observed_at + timedelta(minutes=4)
    board.update(view=view, now=later)
    rto = board.get("rto_budget")
    assert rto.firing and rto.evidence["used_s"] == 240.0 and rto.evidence["left_s"] == 360.0
    assert rto.text == "RTO 10m00s: 4m00s since the first bad signal, 6m00s left"
    board.update(view=view, now=later + timedelta(minutes=10))
    assert board.get("rto_budget").text.endswith("exceeded by 4m00s")


def test_every_signal_text_is_a_sentence_without_repr():
    c = cluster(rto_s=600)
    view = crashed(c)
    board = SignalBoard(c)
    board.update(view=view, probes=[probe(error="timeout expired: a new client got no server within 1.5 s")],
                 now=view.observed_at)
    for signal in board.all():
        assert repr_fragments(signal.text) == [], signal.text
    assert repr_fragments(status_table(view, board)) == []
