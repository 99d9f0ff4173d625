"""The fleet's rows (issue 17's ``run --all``): from fixed samples, worst first, and since when each
cluster has been bad, kept across rounds."""

from __future__ import annotations

from checks.config.model import Cluster
from checks.observe.assess import Watch
from checks.observe.fleet import NOT_SAMPLED, SEVERITY, FleetRow, FleetTracker, fleet_counts, waiting_row, worst_first
from tests.fixtures_samples import CLUSTER, MB, T0, at, down, healthy_round, lsn_plus, peer, primary, standby

LSN = "0/7C000000"


def _lagging(when):
    """node2 24 MB behind and 35 s of replay delay (over the 30 s SLO); node3 1 MB behind."""
    return [
        primary("node1", when, LSN, (peer("node2", LSN, behind=24 * MB, lag_s=35.0), peer("node3", LSN, behind=MB))),
        standby("node2", when, lsn_plus(LSN, -24 * MB), lsn_plus(LSN, -48 * MB), delay_s=35.0),
        standby("node3", when, lsn_plus(LSN, -MB), lsn_plus(LSN, -MB), delay_s=0.8),
    ]


def _split(when):
    return [primary("node1", when, LSN), primary("node2", when, "0/7D000000", timeline=2),
            standby("node3", when, LSN, LSN)]


def _gone(when):
    return [down(n, when) for n in ("node1", "node2", "node3")]


def _row(name, samples, tracker=None, cluster: Cluster = CLUSTER):
    tracker = tracker or FleetTracker()
    return tracker.row(Watch(name, cluster).update(*samples, now=samples[0].observed_at))


def test_a_healthy_cluster_is_ok_with_its_primary_and_nothing_at_risk():
    row = _row("a", healthy_round(T0))
    assert (row.verdict, row.primary, row.split_brain, row.error, row.bad_since) == ("ok", "node1", False, None, None)
    assert row.sampled and (row.nodes, row.reachable) == (3, 3)
    assert row.data_risk_bytes == 0
    # node2's raw 12 s is not lag (it holds everything); node3 replays 0.4 s behind
    assert row.replay_delay_s == 0.4


def test_the_worst_replay_delay_and_the_largest_data_at_risk_among_the_standbys():
    row = _row("b", _lagging(T0))
    assert row.verdict == "warning"
    assert row.replay_delay_s == 35.0
    assert row.data_risk_bytes == 24 * MB                  # node2 never received 24 MB; node3 lacks 1 MB
    assert row.problem and "node2" in row.problem and row.error is None


def test_two_writable_nodes_are_a_split_brain_with_no_single_primary():
    row = _row("c", _split(T0))
    assert (row.verdict, row.split_brain, row.primary) == ("critical", True, None)
    assert row.writable == ("node1", "node2")
    assert row.problem.startswith("SPLIT BRAIN")


def test_a_cluster_nobody_answers_says_so_in_a_sentence():
    row = _row("gone", _gone(T0))
    assert row.verdict == "critical" and row.reachable == 0 and row.primary is None
    assert row.error.startswith("cluster gone cannot be reached: none of its 3 nodes answers (node1: ")
    assert "Connection refused" in row.error and row.cause == "refused"


def test_one_node_down_is_not_a_cluster_that_cannot_be_reached():
    samples = healthy_round(T0)[:2] + [down("node3", T0)]
    row = _row("d", samples)
    assert row.error is None and row.cause is None and row.reachable == 2


def test_worst_first_critical_unknown_warning_ok_split_brain_first_then_by_name():
    rows = [FleetRow(cluster="ok-b", verdict="ok", sampled=True), FleetRow(cluster="ok-a", verdict="ok", sampled=True),
            FleetRow(cluster="warn", verdict="warning", sampled=True),
            FleetRow(cluster="nobody", verdict="critical", sampled=True),
            FleetRow(cluster="zsplit", verdict="critical", sampled=True, split_brain=True),
            waiting_row("new", 3), FleetRow(cluster="unk", verdict="unknown", sampled=True)]
    assert [r.cluster for r in worst_first(rows)] == ["zsplit", "nobody", "new", "unk", "warn", "ok-a", "ok-b"]
    assert SEVERITY["critical"] > SEVERITY["unknown"] > SEVERITY["warning"] > SEVERITY["ok"]
    counts = fleet_counts(rows)
    assert counts == {"critical": 2, "unknown": 1, "warning": 1, "ok": 2, "waiting": 1}


def test_a_cluster_not_sampled_yet_waits_and_is_not_bad():
    row = waiting_row("new", 3)
    assert not row.sampled and row.problem == NOT_SAMPLED and row.bad_since is None and row.bad_for_s(T0) is None


def test_bad_since_is_the_first_bad_round_and_is_kept_until_an_ok_round():
    tracker, watch = FleetTracker(), Watch("b", CLUSTER)
    rounds = [(0, healthy_round(T0)), (10, _lagging(at(10))), (20, _split(at(20))), (30, _lagging(at(30))),
              (40, healthy_round(at(40))), (50, _gone(at(50)))]
    seen = {}
    for second, samples in rounds:
        seen[second] = tracker.row(watch.update(*samples, now=at(second)))
    assert seen[0].bad_since is None
    assert [seen[s].bad_since for s in (10, 20, 30)] == [at(10)] * 3     # warning, critical, warning: one bad run
    assert seen[30].bad_for_s(at(30)) == 20.0
    assert seen[40].bad_since is None                                      # ok again: forgotten
    assert seen[50].bad_since == at(50)


def test_a_round_that_cannot_run_is_unknown_with_its_sentence_and_counts_as_bad():
    tracker = FleetTracker()
    row = tracker.failed("x", 2, "not sampled: password_env X is not set", T0)
    assert (row.verdict, row.sampled, row.error, row.bad_since) == ("unknown", True,
                                                                    "not sampled: password_env X is not set", T0)
    assert tracker.failed("x", 2, "again", at(5)).bad_since == T0


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_sampler_keeps_sampling_and_moves_its_version_only_when_a_row_shows_something_new():
    import threading

    from checks.observe.fleet_sampler import FleetSampler

    clusters = {name: Cluster.model_validate({"approvers": ["alice"], "sampling": {"interval_s": 0.1}, "nodes": [
        {"name": "n1", "dsn": f"postgresql://cockpit@127.0.0.1:{_closed_port()}/postgres"}]}) for name in ("b", "a")}
    rounds: dict[str, list] = {"a": [], "b": []}
    enough = threading.Event()

    def heard(row):
        rounds[row.cluster].append(row)
        if all(len(r) >= 4 for r in rounds.values()):
            enough.set()

    sampler = FleetSampler(clusters, on_round=heard).start()
    try:
        assert enough.wait(30), rounds
        version, rows = sampler.snapshot()
        assert sampler.complete and [r.cluster for r in rows] == ["a", "b"]          # both critical: by name
        assert sampler.latest_samples("a")[0].name == "n1"
    finally:
        sampler.stop()
    for row in rows:
        assert row.verdict == "critical" and row.cause == "refused"
        assert row.error.startswith(f"cluster {row.cluster} cannot be reached: its only node does not answer (n1: ")
    seen = rounds["a"]
    assert len({r.observed_at for r in seen}) == len(seen)                         # a new round each time
    assert {r.bad_since for r in seen} == {seen[0].observed_at}                     # bad since the first
    # the same facts round after round: the version moved for each cluster's first row and not since
    assert version == 2


def test_a_node_the_sampler_refused_to_try_is_named_once():
    samples = [down(n, T0, f"{n}: password_env PGPASS_SHOP is not set") for n in ("node1", "node2", "node3")]
    row = _row("shop", samples)
    assert row.error == ("cluster shop cannot be reached: none of its 3 nodes answers (node1: password_env "
                         "PGPASS_SHOP is not set)")


def test_the_first_round_is_complete_only_when_every_cluster_had_one():
    """The fleet screen opens on ``wait_complete``: a cluster whose node never answers keeps it
    incomplete until its own connect timeout ends its round, and never blocks the others' rows."""
    import socket
    import time

    from checks.observe.fleet_sampler import FleetSampler

    silent = socket.socket()                       # accepts (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        dsn = "postgresql://cockpit@127.0.0.1:{}/postgres"
        clusters = {
            "refused": Cluster.model_validate({"approvers": ["alice"], "sampling": {"interval_s": 0.1}, "nodes": [
                {"name": "n1", "dsn": dsn.format(_closed_port())}]}),
            "silent": Cluster.model_validate({"approvers": ["alice"], "sampling": {
                "interval_s": 0.1, "connect_timeout_s": 4.0, "statement_timeout_s": 0.5}, "nodes": [
                {"name": "n1", "dsn": dsn.format(silent.getsockname()[1])}]}),
        }
        sampler = FleetSampler(clusters).start()
        try:
            started = time.monotonic()

            def sampled() -> dict[str, bool]:
                return {r.cluster: r.sampled for r in sampler.snapshot()[1]}

            while not sampled()["refused"] and time.monotonic() - started < 20:
                time.sleep(0.02)                       # judged by the rows, not by a time: CI machines are slow
            seen = sampled()
            if seen == {"refused": True, "silent": False}:     # the silent one's round is still in its timeout
                assert not sampler.complete and sampler.wait_complete(0) is False
            else:                                      # so slow a machine that 4 s went by: then it must be complete
                assert time.monotonic() - started >= 4.0 and seen == {"refused": True, "silent": True}, seen
            assert sampler.wait_complete(30) is True and sampler.complete
            assert time.monotonic() - started >= 3.9          # the silent node's connect timeout, not sooner
            assert all(sampled().values())
        finally:
            sampler.stop()
    finally:
        silent.close()
    assert FleetSampler({}).wait_complete(0) is True           # nothing to wait for
