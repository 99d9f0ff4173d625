"""The judgement of a cluster from samples: pure, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from checks.config.model import Cluster
from checks.observe.assess import Watch, assess
from checks.observe.sample import NodeSample, WalReceiver
from checks.observe.status import NODE_KEYS, exit_code, status_json, status_table

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
STREAMING = WalReceiver(status="streaming", sender_host="127.0.0.1", sender_port=5432, received_tli=1)


def cluster(**slo) -> Cluster:
    return Cluster.model_validate({
        "nodes": [{"name": f"n{i}", "dsn": f"postgresql://u@h{i}/postgres"} for i in (1, 2, 3)],
        "slo": slo or {},
    })


def primary(name="n1", lsn="0/5000000", at=T0, sysid="42") -> NodeSample:
    return NodeSample(name=name, observed_at=at, reachable=True, in_recovery=False, tx_read_only="off",
                      current_lsn=lsn, timeline=1, system_identifier=sysid, latency_ms=1.0)


def standby(name, receive="0/5000000", replay=None, delay=None, paused=False, sysid="42", at=T0) -> NodeSample:
    replay = replay or receive
    return NodeSample(name=name, observed_at=at, reachable=True, in_recovery=True, tx_read_only="on",
                      receive_lsn=receive, replay_lsn=replay, raw_replay_delay_s=delay, replay_paused=paused,
                      bytes_not_replayed=0, timeline=1, system_identifier=sysid, wal_receiver=STREAMING)


def down(name, at=T0) -> NodeSample:
    return NodeSample(name=name, observed_at=at, reachable=False, error="connection refused")


def samples(*items):
    return {s.name: s for s in items}


def test_healthy_cluster_is_ok():
    view = assess("c", cluster(), samples(primary(), standby("n2"), standby("n3")), now=T0)
    assert view.verdict == "ok" and exit_code(view) == 0
    assert view.writable == ("n1",)
    assert [n.role for n in view.nodes] == ["primary", "standby", "standby"]
    assert view.node("n2").data_risk_bytes == 0


def test_idle_primary_replay_timestamp_is_not_lag():
    # receive == replay: now() - last_xact_replay_timestamp grows on an idle primary, but nothing is missing
    view = assess("c", cluster(max_replay_delay_s=5), samples(primary(), standby("n2", delay=3600), standby("n3")), now=T0)
    assert view.node("n2").sample.replay_delay_s == 0.0
    assert view.verdict == "ok"


def test_lagging_standby_over_slo_is_a_warning():
    lagging = standby("n2", receive="0/5000000", replay="0/4000000", delay=120)
    view = assess("c", cluster(max_replay_delay_s=30), samples(primary(), lagging, standby("n3")), now=T0)
    assert view.verdict == "warning" and exit_code(view) == 1
    assert view.node("n2").over_slo
    assert any("n2 replay delay 2m00s is over the SLO" in p for p in view.problems)


def test_unreachable_standby_is_a_warning():
    view = assess("c", cluster(), samples(primary(), down("n2"), standby("n3")), now=T0)
    assert view.verdict == "warning"
    assert view.node("n2").role == "unreachable"
    assert "n2 unreachable (refused): connection refused" in view.problems


def test_no_writable_node_is_critical():
    view = assess("c", cluster(), samples(down("n1"), standby("n2"), standby("n3")), now=T0)
    assert view.verdict == "critical" and exit_code(view) == 2
    assert view.problems[0].startswith("no writable node")


def test_two_writable_nodes_is_split_brain():
    view = assess("c", cluster(), samples(primary(), primary("n2"), standby("n3")), now=T0)
    assert view.verdict == "critical" and view.split_brain
    assert view.problems[0] == "SPLIT BRAIN: 2 writable nodes: n1, n2"


def test_node_of_another_cluster_is_not_a_member():
    view = assess("c", cluster(), samples(primary(), standby("n2"), primary("n3", sysid="999")), now=T0)
    assert view.writable == ("n1",)          # the foreign primary is not counted as a second writer
    assert view.node("n3").role == "foreign"
    assert view.verdict == "warning"
    assert any("n3 belongs to another cluster" in p for p in view.problems)


def test_data_at_risk_uses_last_primary_lsn_seen_with_its_age():
    watch = Watch("c", cluster(max_data_risk_bytes=1000))
    watch.update(primary(lsn="0/5000800", at=T0), standby("n2", receive="0/5000000", at=T0),
                 standby("n3", receive="0/5000800", at=T0))
    later = T0 + timedelta(seconds=12)
    view = watch.update(down("n1", at=later), standby("n2", receive="0/5000000", at=later))
    n2 = view.node("n2")
    assert n2.data_risk_bytes == 0x800
    assert n2.over_slo
    assert n2.data_risk_ref_age_s is not None and n2.data_risk_ref_age_s >= 12
    assert view.node("n3").data_risk_bytes == 0
    assert view.last_primary.node == "n1" and view.last_primary.lsn == "0/5000800"


def test_first_bad_signal_is_remembered():
    watch = Watch("c", cluster())
    assert watch.update(primary(), standby("n2"), standby("n3")).first_bad_at is None
    bad = watch.update(down("n1"))
    assert bad.first_bad_at is not None
    assert watch.update(primary()).first_bad_at == bad.first_bad_at


def test_paused_replay_and_not_streaming_are_warnings():
    stalled = standby("n3").model_copy(update={"wal_receiver": None})
    view = assess("c", cluster(), samples(primary(), standby("n2", paused=True), stalled), now=T0)
    assert view.verdict == "warning"
    assert "n2 has WAL replay paused" in view.problems
    assert any(p.startswith("n3 is not streaming") for p in view.problems)


def test_status_json_has_exactly_the_contract_keys():
    view = assess("c", cluster(), samples(primary(), standby("n2"), down("n3")), now=T0)
    doc = status_json(view)
    assert set(doc) == {"cluster", "observed_at", "verdict", "headline", "problems", "writable", "nodes", "signals",
                        "pgbouncers"}
    assert doc["observed_at"] == "2026-12-01T08:00:00.000000Z"
    for node in doc["nodes"]:
        assert tuple(node) == NODE_KEYS
    assert doc["nodes"][2]["reachable"] is False and doc["nodes"][2]["error"] == "connection refused"
    table = status_table(view)
    assert "WARNING" in table and "n3" in table


def test_a_partial_first_round_is_unknown_not_a_bad_signal():
    watch = Watch("c", cluster())
    first = watch.update(standby("n2"))
    assert first.verdict == "unknown" and first.first_bad_at is None
    assert "waiting for the first sample of n1, n3" in first.problems
    assert watch.update(primary(), standby("n3")).verdict == "ok"
    assert watch.first_bad_at is None


def test_restarted_standby_whose_receive_lsn_is_behind_replay_is_caught_up():
    # after a standby restart pg_last_wal_receive_lsn() restarts at a segment start, behind replay
    restarted = standby("n3", receive="0/5000000", replay="0/5000B80")
    assert restarted.held_lsn == "0/5000B80"
    assert restarted.caught_up and restarted.replay_delay_s == 0.0
    view = assess("c", cluster(), samples(primary(lsn="0/5000B80"), standby("n2", receive="0/5000B80"), restarted), now=T0)
    assert view.node("n3").data_risk_bytes == 0 and view.verdict == "ok"


def test_a_writer_on_an_older_timeline_is_split_brain_even_alone():
    old = primary("n1")                                   # timeline 1, back after a failover
    new_side = standby("n3").model_copy(update={"timeline": 2})   # follows the new primary (n2, unreachable)
    view = assess("c", cluster(), samples(old, down("n2"), new_side), now=T0)
    assert view.verdict == "critical" and view.split_brain
    assert view.stale_writers == ("n1",)
    assert view.problems[0].startswith("SPLIT BRAIN: n1 is writable on timeline 1, older than n3's timeline 2")
