"""Topology, pure: each standby's upstream matched to a node of the config, the problems that say who
follows whom, status's upstream/streaming keys, the follow-ups a promotion leaves, and the panel's
upstream row (Pilot, from fixed samples)."""

from __future__ import annotations

from types import SimpleNamespace as E

from checks.config.model import Cluster
from checks.incident.followups import follow_ups
from checks.observe.assess import Watch, assess
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from checks.observe.status import NODE_KEYS, status_json, status_table
from checks.observe.topology import match_upstream
from tests.fixtures_samples import CLUSTER, T0, Scenario, StepClock, at, down, primary, standby
from tests.pilot.test_widgets_pilot import panel, text_of
from tui.messages import NodeSampled

# As the lab writes it: the cockpit reaches a node through its proxy (the DSN's port), standbys
# stream from its real port (app_port).
LAB = Cluster.model_validate({"nodes": [
    {"name": f"node{i}", "dsn": f"postgresql://cockpit@127.0.0.1:{40100 + i}/postgres",
     "app_host": "127.0.0.1", "app_port": 40000 + i} for i in (1, 2, 3, 4)]})


def receiver(port: int | None, status: str = "streaming", host: str | None = "localhost") -> WalReceiver:
    return WalReceiver(status=status, sender_host=host if port else None, sender_port=port, received_tli=1)


def node(name: str, *, writable: bool = False, wal: WalReceiver | None = None, peers=(), sysid: str = "42",
         reachable: bool = True, cluster_name: str | None = None) -> NodeSample:
    if not reachable:
        return NodeSample(name=name, observed_at=T0, reachable=False, error="connection refused")
    return NodeSample(name=name, observed_at=T0, reachable=True, in_recovery=not writable, system_identifier=sysid,
                      tx_read_only="off" if writable else "on", current_lsn="0/3000000" if writable else None,
                      receive_lsn=None if writable else "0/3000000", replay_lsn=None if writable else "0/3000000",
                      timeline=1, wal_receiver=wal, cluster_name=cluster_name,
                      replication=tuple(ReplicationPeer(application_name=p, state="streaming") for p in peers))


def by_name(*samples: NodeSample) -> dict[str, NodeSample]:
    return {s.name: s for s in samples}


# -- matching ----------------------------------------------------------------------------------------

def test_a_sender_is_matched_by_the_application_endpoint_and_loopback_names_are_one_host():
    s = by_name(node("node1", writable=True), node("node2", wal=receiver(40001)))
    assert match_upstream(s["node2"], LAB, s) == "node1"                 # localhost == 127.0.0.1
    s = by_name(node("node1", writable=True), node("node2", wal=receiver(40101, host="127.0.0.1")))
    assert match_upstream(s["node2"], LAB, s) == "node1"                 # through the DSN's endpoint too


def test_an_unknown_sender_is_found_in_the_one_primary_that_lists_the_standby():
    s = by_name(node("node1", writable=True, peers=("node2",)), node("node2", wal=receiver(5432, host="10.9.9.9")))
    assert match_upstream(s["node2"], LAB, s) == "node1"
    named = by_name(node("node1", writable=True, peers=("db-b",)),
                    node("node2", wal=receiver(5432, host="10.9.9.9"), cluster_name="db-b"))
    assert match_upstream(named["node2"], LAB, named) == "node1"         # by cluster_name, as walreceiver names it
    nobody = by_name(node("node1", writable=True), node("node2", wal=receiver(5432, host="10.9.9.9")))
    assert match_upstream(nobody["node2"], LAB, nobody) is None


def test_two_entries_on_one_endpoint_are_told_apart_by_system_identifier():
    shared = Cluster.model_validate({"nodes": [
        {"name": "a", "dsn": "postgresql://u@db:5432/postgres"},
        {"name": "b", "dsn": "postgresql://u@db:5432/postgres"},
        {"name": "c", "dsn": "postgresql://u@other:5432/postgres"}]})
    s = by_name(node("a", writable=True, sysid="7"), node("b", writable=True, sysid="42"),
                node("c", wal=WalReceiver(status="streaming", sender_host="DB", sender_port=5432)))
    assert match_upstream(s["c"], shared, s) == "b"


def test_no_receiver_or_no_sender_matches_nothing():
    s = by_name(node("node1", writable=True), node("node2"), node("node3", wal=receiver(None, status="starting")))
    assert match_upstream(s["node2"], LAB, s) is None
    assert match_upstream(s["node3"], LAB, s) is None


# -- problems ----------------------------------------------------------------------------------------

def test_a_standby_following_a_dead_primary_says_so_and_whom_to_follow():
    watch = Watch("lab", LAB)
    before = watch.update(node("node1", writable=True, peers=("node2", "node3", "node4")),
                          *(node(n, wal=receiver(40001)) for n in ("node2", "node3", "node4")), now=T0)
    assert before.verdict == "ok" and [v.upstream for v in before.nodes] == [None, "node1", "node1", "node1"]
    crashed = watch.update(node("node1", reachable=False), node("node2", writable=True),
                           node("node3"), node("node4", wal=receiver(40002)), now=T0)
    n3, n4 = crashed.node("node3"), crashed.node("node4")
    assert (n3.upstream, n3.streaming, n3.followed) == (None, False, "node1")
    assert "node3 follows node1, which is down: it is not streaming (no WAL receiver); re-point it at the " \
           "primary node2" in crashed.problems
    assert (n4.upstream, n4.streaming) == ("node2", True) and not n4.problems
    assert not any("has no streaming standby" in p for p in crashed.problems)    # node4 streams from node2


def test_a_new_primary_with_no_streaming_standby_is_flagged():
    view = assess("lab", LAB, by_name(node("node1", reachable=False), node("node2", writable=True),
                                      node("node3"), node("node4", wal=receiver(40001, status="waiting"))), now=T0)
    assert view.verdict == "warning"
    assert "node2 (primary) has no streaming standby: node1 unreachable, node3 not streaming, node4 follows " \
           "node1" in view.problems
    assert "node3 is not streaming (no WAL receiver); re-point it at the primary node2" in view.problems
    assert "node4 follows node1, which is down: it is not streaming (waiting); re-point it at the primary " \
           "node2" in view.problems
    assert view.node("node2").problems                 # on the primary's own panel too
    one = Cluster.model_validate({"nodes": [{"name": "solo", "dsn": "postgresql://u@h/postgres"}]})
    assert assess("one", one, by_name(node("solo", writable=True)), now=T0).verdict == "ok"


def test_a_standby_streaming_from_a_node_the_cockpit_cannot_reach_says_it_is_alive():
    view = assess("lab", LAB, by_name(node("node1", reachable=False), node("node2", wal=receiver(40001)),
                                      node("node3", wal=receiver(40001)), node("node4", wal=receiver(40001))),
                  now=T0)
    assert "node2 streams from node1, which the cockpit cannot reach: node1 is alive (unreachable is not dead)" \
        in view.problems
    assert view.node("node2").upstream == "node1" and view.node("node2").streaming


def test_cascading_and_unknown_senders_are_no_problem():
    view = assess("lab", LAB, by_name(node("node1", writable=True, peers=("node2",)),
                                      node("node2", wal=receiver(40001)), node("node3", wal=receiver(40002)),
                                      node("node4", wal=receiver(6543, host="10.1.1.1"))), now=T0)
    assert view.verdict == "ok", view.problems
    assert [v.upstream for v in view.nodes] == [None, "node1", "node2", None]
    assert view.node("node4").sender == "10.1.1.1:6543" and view.node("node4").streaming


# -- status ------------------------------------------------------------------------------------------

def test_status_json_adds_upstream_and_streaming_and_keeps_every_older_key():
    view = assess("lab", LAB, by_name(node("node1", reachable=False), node("node2", writable=True),
                                      node("node3", wal=receiver(40002)), node("node4")), now=T0)
    doc = status_json(view)
    older = ("name", "reachable", "in_recovery", "writable", "tx_read_only", "replay_delay_s", "receive_lsn",
             "replay_lsn", "bytes_not_replayed", "current_lsn", "timeline", "system_identifier", "latency_ms", "error")
    assert NODE_KEYS[:len(older)] == older and NODE_KEYS[len(older):] == ("upstream", "streaming")
    assert [(n["name"], n["upstream"], n["streaming"]) for n in doc["nodes"]] == [
        ("node1", None, False), ("node2", None, False), ("node3", "node2", True), ("node4", None, False)]
    table = status_table(view)
    assert "upstream" in table.splitlines()[1] and "none (not streaming)" in table


# -- follow-ups --------------------------------------------------------------------------------------

def ev(kind, stage=None, **data):
    return E(kind=kind, stage=stage, text="", data=data)


PROMOTED = [ev("decision", 1, candidate="node2", old_primary="node1"),
            ev("evidence", 3, check="promoted", passed=True, node="node2")]


def test_follow_ups_name_the_old_primary_and_a_new_primary_without_standby():
    lonely = NodeSample(name="node2", observed_at=at(5), reachable=True, in_recovery=False)
    served = lonely.model_copy(update={"observed_at": at(9), "replication": (
        ReplicationPeer(application_name="node3", state="streaming"),)})
    lines = follow_ups(PROMOTED, [served, lonely])   # the newest sample counts, whatever the order
    assert lines == ["node1, the old primary, is not re-protected yet: it is no standby of node2; once it is fenced "
                     "or stopped, re-protect it (operator key h, or checks.aftermath.reprotect)"]
    lines = follow_ups(PROMOTED, [lonely])
    assert len(lines) == 2 and lines[1].startswith("node2, the new primary, has no streaming standby")
    done = [*PROMOTED, ev("evidence", None, check="reprotected", passed=True, node="node1", primary="node2")]
    assert follow_ups(done, [served]) == []
    assert follow_ups(PROMOTED[:1], [lonely]) == []           # no promotion: nothing follows from one
    crashed = [ev("decision", 1, candidate="node2", old_primary=None),
               ev("action", 2, step="fence", node="node1", exit_code=0),
               ev("action", 2, step="fence", node="node4", exit_code=1),
               ev("approval", 2, node="node3", approved_by="alice", attestation="powered off"),
               PROMOTED[1]]
    assert [line.split(":")[0] for line in follow_ups(crashed, [served])] == [
        "node1, fenced in stage 2, is not re-protected yet", "node3, attested down in stage 2, is not re-protected yet"]


# -- the panel ---------------------------------------------------------------------------------------

def after_failover() -> Scenario:
    """node1 (port 5432) crashed; node2 (5433) was promoted; node3 still follows node1."""
    lsn = "0/5A0003E8"
    first = [primary("node1", T0, lsn), standby("node2", T0, lsn, lsn), standby("node3", T0, lsn, lsn)]
    crashed = [down("node1", at(5)), primary("node2", at(5), "0/5B000000", timeline=2),
               standby("node3", at(5), lsn, lsn, receiver=None)]
    return Scenario("after failover", [(T0, first), (at(5), crashed)])


def repointed(when) -> NodeSample:
    lsn = "0/5B000000"
    sample = standby("node3", when, lsn, lsn, timeline=2)
    return sample.model_copy(update={"wal_receiver": sample.wal_receiver.model_copy(update={"sender_port": 5433})})


async def test_the_panel_shows_each_standbys_upstream_and_not_streaming_at_80x24():
    clock = StepClock(T0)
    scenario = after_failover()
    app = scenario.app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "upstream node1" in text_of(panel(app, "node3"))
        from tests.fixtures_samples import play
        await play(scenario, clock, pilot)
        await pilot.pause()
        text = text_of(panel(app, "node3"))
        assert "NOT STREAMING" in text and "upstream none" in text
        # at the top: in the first lines an 80x24 panel shows, before delay and risk
        assert text.index("NOT STREAMING") < text.index("upstream none") < text.index("delay")
        assert panel(app, "node2").has_class("-over")       # standbys 0 streaming is flagged now
        assert any("node2 (primary) has no streaming standby" in p for p in app.cluster_view.problems)
        clock.set(at(9))
        app.post_message(NodeSampled(repointed(at(9))))
        await pilot.pause()
        text = text_of(panel(app, "node3"))
        assert "upstream node2 ◆" in text and "NOT STREAMING" not in text and "in recovery" in text
    assert CLUSTER.nodes[0].port == 5432                    # the fixed samples' sender is node1


# -- the record --------------------------------------------------------------------------------------

def test_the_record_lists_open_follow_ups_while_open_and_as_the_close_found_them():
    from checks.incident.journal import Event
    from checks.incident.record import render_record_from

    def event(i, kind, text, stage=None, **data):
        return Event(id=i, at=at(i), kind=kind, seat="operator", author="olga", stage=stage, text=text, data=data)

    meta = {"incident_id": "inc", "cluster": "lab"}
    events = [event(1, "decision", "candidate node2", 1, candidate="node2", old_primary="node1"),
              event(2, "evidence", "node2 promoted", 3, check="promoted", passed=True, node="node2"),
              event(3, "evidence", "node3 NOT re-pointed at node2: FAILED", check="repointed", step="repoint",
                    node="node3", primary="node2", passed=False)]
    text = render_record_from(meta, events, [], at(10))
    section = text.split("## Action items\n\n")[1]
    assert section.startswith("- [ ] node1, the old primary, is not re-protected yet: it is no standby of node2")
    assert "- [ ] node3 was not re-pointed at node2: node3 NOT re-pointed at node2: FAILED (open follow-up)" in section
    closed = [*events, event(4, "close", "incident verified", follow_ups=[
        "node2, the new primary, has no streaming standby (...)"])]
    text = render_record_from(meta, closed, [], at(10))
    assert text.endswith("## Action items\n\n- [ ] node2, the new primary, has no streaming standby (...) (open "
                         "follow-up at the close, 08:00:04 UTC)\n")
    assert "Follow ups" not in text                            # not listed again under Close-out
    assert render_record_from(meta, events[:1], [], at(10)).endswith("## Action items\n\nNone yet.\n")   # nothing promoted yet


def test_a_re_pointed_standbys_measurement_never_stands_for_the_rpo():
    from checks.incident.rpo import measured_rpo

    def measured(node):
        return ev("evidence", None, check="rpo_measured", node=node, measured=True, commits=0, lost_bytes=0)

    plan = ev("evidence", None, check="repoint_plan", step="repoint", primary="node2", repoint=["node3", "node4"])
    assert measured_rpo([*PROMOTED[1:], plan, measured("node3"), measured("node4")]) is None
    crashed = [ev("decision", 1, candidate="node2", old_primary=None), *PROMOTED[1:]]
    assert measured_rpo([*crashed, plan, measured("node3"), measured("node1")])["node"] == "node1"
    assert measured_rpo([*PROMOTED, ev("evidence", None, check="repoint_plan", repoint=["node1"]),
                         measured("node1")])["node"] == "node1"      # the old primary's own still counts
