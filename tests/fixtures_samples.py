"""Fixed clusters, samples and a settable clock for the Pilot tests and the SVG snapshots.

Every time is on 2026-12-01 from 08:00:00Z, so the screens are the same on every run.
A scenario is a list of rounds (a time and the samples taken then); the app gets the
first round as ``fixed_samples`` and :func:`play` feeds the others, moving the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from checks.config.model import Cluster
from checks.observe.lsn import format_lsn, lsn_diff, parse_lsn
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver
from tui.app import CockpitApp
from tui.messages import NodeSampled

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
SYSID = "7445012345678901234"
OTHER_SYSID = "7399999999999999999"
MB = 1024 * 1024
REFUSED = ('connection to server at "127.0.0.1", port 5432 failed: Connection refused (is the server running on '
           "that host and accepting TCP/IP connections?)")

CLUSTER = Cluster.model_validate({
    "nodes": [
        {"name": f"node{i}", "dsn": f"postgresql://cockpit@127.0.0.1:{5431 + i}/postgres"} for i in (1, 2, 3)
    ],
    "slo": {"max_replay_delay_s": 30, "max_data_risk_bytes": 16 * MB, "max_data_risk_s": 60},
    "sampling": {"interval_s": 1.0},
})


class StepClock:
    """A clock that says what it is told: call it for the time, ``set`` or ``advance`` it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def lsn_plus(lsn: str, nbytes: int) -> str:
    return format_lsn(parse_lsn(lsn) + nbytes)


def peer(name: str, primary_lsn: str, *, behind: int = 0, replay_behind: int | None = None,
         lag_s: float | None = None, state: str = "streaming") -> ReplicationPeer:
    sent = lsn_plus(primary_lsn, -behind)
    replay = lsn_plus(primary_lsn, -(behind if replay_behind is None else replay_behind))
    return ReplicationPeer(
        application_name=name, client_addr="127.0.0.1", state=state, sync_state="async",
        sent_lsn=sent, write_lsn=sent, flush_lsn=sent, replay_lsn=replay, replay_lag_s=lag_s,
    )


def primary(name: str, when: datetime, lsn: str, peers: tuple[ReplicationPeer, ...] = (), *,
            timeline: int = 1, sysid: str = SYSID, latency_ms: float = 1.2) -> NodeSample:
    return NodeSample(
        name=name, observed_at=when, reachable=True, latency_ms=latency_ms, in_recovery=False,
        tx_read_only="off", server_version="15.8", system_identifier=sysid, current_lsn=lsn,
        timeline=timeline, replication=peers,
    )


def standby(name: str, when: datetime, receive: str, replay: str, *, delay_s: float = 0.0,
            paused: bool = False, receiver: str | None = "streaming", timeline: int = 1,
            sysid: str = SYSID, latency_ms: float = 1.5, sender_port: int = 5432) -> NodeSample:
    """A standby; its WAL receiver (``receiver``: its status, None for none) streams from 127.0.0.1:``sender_port``
    (node1 by default)."""
    return NodeSample(
        name=name, observed_at=when, reachable=True, latency_ms=latency_ms, in_recovery=True,
        tx_read_only="on", server_version="15.8", system_identifier=sysid, receive_lsn=receive,
        replay_lsn=replay, bytes_not_replayed=lsn_diff(receive, replay), raw_replay_delay_s=delay_s,
        replay_paused=paused, timeline=timeline,
        wal_receiver=WalReceiver(status=receiver, sender_host="127.0.0.1", sender_port=sender_port, received_tli=timeline)
        if receiver else None,
    )


def down(name: str, when: datetime, error: str = REFUSED) -> NodeSample:
    return NodeSample(name=name, observed_at=when, reachable=False, error=error)


@dataclass
class Scenario:
    name: str
    rounds: list[tuple[datetime, list[NodeSample]]] = field(default_factory=list)

    @property
    def first(self) -> list[NodeSample]:
        return self.rounds[0][1]

    def app(self, clock: StepClock, **kwargs) -> CockpitApp:
        """The cockpit with the first round as fixed samples and the clock at its time."""
        clock.set(self.rounds[0][0])
        return CockpitApp("lab", CLUSTER, fixed_samples=self.first, clock=clock, **kwargs)


async def play(scenario: Scenario, clock: StepClock, pilot) -> None:
    """Feed every round after the first, one by one, moving the clock to each round's time."""
    await pilot.pause()
    for when, samples in scenario.rounds[1:]:
        clock.set(when)
        for sample in samples:
            pilot.app.post_message(NodeSampled(sample))
        await pilot.pause()


def healthy_round(when: datetime, lsn: str = "0/5A0003E8") -> list[NodeSample]:
    return [
        primary("node1", when, lsn, (peer("node2", lsn), peer("node3", lsn, replay_behind=0x43E8, lag_s=0.4))),
        standby("node2", when, lsn, lsn, delay_s=12.0),  # caught up: the raw delay is not lag
        standby("node3", when, lsn, lsn_plus(lsn, -0x43E8), delay_s=0.4, latency_ms=2.3),
    ]


def healthy() -> Scenario:
    return Scenario("healthy", [(T0, healthy_round(T0))])


def primary_crashed() -> Scenario:
    """node1 dies under load; node2 was 24 MB behind and is over the delay SLO, node3 1 MB behind."""
    lsn = "0/7C000000"
    before = [
        primary("node1", T0, lsn, (peer("node2", lsn, behind=24 * MB, replay_behind=48 * MB, lag_s=35.0),
                                   peer("node3", lsn, behind=MB, lag_s=0.8))),
        standby("node2", T0, lsn_plus(lsn, -24 * MB), lsn_plus(lsn, -48 * MB), delay_s=35.0),
        standby("node3", T0, lsn_plus(lsn, -MB), lsn_plus(lsn, -MB), latency_ms=2.1),
    ]
    after = [
        down("node1", at(40)),
        standby("node2", at(40), lsn_plus(lsn, -24 * MB), lsn_plus(lsn, -40 * MB), delay_s=42.0, receiver=None),
        standby("node3", at(40), lsn_plus(lsn, -MB), lsn_plus(lsn, -MB), receiver=None, latency_ms=2.4),
    ]
    return Scenario("primary crashed", [(T0, before), (at(40), after)])


def split_brain() -> Scenario:
    """node2 was promoted while node1 still runs: both accept writes."""
    lsn = "0/5A0003E8"
    samples = [
        primary("node1", T0, lsn, (peer("node3", lsn),)),
        primary("node2", T0, "0/5B000110", timeline=2, latency_ms=1.4),
        standby("node3", T0, lsn, lsn, latency_ms=2.0),
    ]
    return Scenario("split brain", [(T0, samples)])


def paused_replay(rounds: int = 12) -> Scenario:
    """Someone paused replay on node2: its backlog and delay grow every round while node3 keeps up."""
    scenario = Scenario("paused replay")
    start, paused_at = "0/6E000000", "0/6C000000"
    for i in range(rounds):
        when = at(5 * i)
        lsn = lsn_plus(start, i * 4 * MB)
        delay = 20.0 + 5 * i
        scenario.rounds.append((when, [
            primary("node1", when, lsn, (peer("node2", lsn, replay_behind=lsn_diff(lsn, paused_at), lag_s=delay),
                                         peer("node3", lsn))),
            standby("node2", when, lsn, paused_at, delay_s=delay, paused=True),
            standby("node3", when, lsn, lsn, latency_ms=1.9),
        ]))
    return scenario


def foreign_node() -> Scenario:
    """node3's DSN points at another cluster."""
    lsn = "0/5A0003E8"
    samples = healthy_round(T0, lsn)[:2] + [primary("node3", T0, "0/1000000", sysid=OTHER_SYSID)]
    return Scenario("foreign node", [(T0, samples)])

