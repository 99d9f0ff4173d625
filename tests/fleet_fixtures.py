"""Fixed fleet rows for the fleet screen's Pilot tests and snapshots: every verdict, judged from the
fixed samples of :mod:`tests.fixtures_samples` by the real Watch and FleetTracker, on a fixed clock."""

from __future__ import annotations

from checks.config.model import Cluster
from checks.observe.assess import Watch
from checks.observe.fleet import FleetTracker, waiting_row, worst_first
from checks.observe.sample import NodeSample
from tests.fixtures_samples import CLUSTER, MB, T0, at, down, healthy_round, lsn_plus, peer, primary, standby

LSN = "0/7C000000"
NOW = at(754)                           # 08:12:34Z: every bad cluster has been bad since T0 or later
TIMEOUT = ('connection to server at "127.0.0.1", port 5439 failed: timeout expired (no answer within 2 s: '
           "the host is down, or a firewall drops the packets)")


def lagging(when) -> list[NodeSample]:
    return [
        primary("node1", when, LSN, (peer("node2", LSN, behind=24 * MB, lag_s=35.0), peer("node3", LSN, behind=MB))),
        standby("node2", when, lsn_plus(LSN, -24 * MB), lsn_plus(LSN, -48 * MB), delay_s=35.0),
        standby("node3", when, lsn_plus(LSN, -MB), lsn_plus(LSN, -MB), delay_s=0.8),
    ]


def split(when) -> list[NodeSample]:
    return [primary("node1", when, LSN, (peer("node3", LSN),)), primary("node2", when, "0/7D000000", timeline=2),
            standby("node3", when, LSN, LSN)]


def gone(when) -> list[NodeSample]:
    return [down(n, when, TIMEOUT) for n in ("node1", "node2", "node3")]


def _judged(tracker: FleetTracker, name: str, cluster: Cluster, rounds):
    watch, row = Watch(name, cluster), None
    for when, samples in rounds:
        row = tracker.row(watch.update(*samples, now=when))
    return row


def fixed_rows() -> list:
    """An ok, a warning, a split brain, an unreachable cluster (bad for 12 minutes), another ok, and one
    not sampled yet, worst first."""
    tracker = FleetTracker()
    rows = [
        _judged(tracker, "odoo-prod-eu-west-1", CLUSTER, [(at(750), healthy_round(at(750)))]),
        _judged(tracker, "shop-b", CLUSTER, [(at(700), lagging(at(700))), (at(750), lagging(at(750)))]),
        _judged(tracker, "erp-c", CLUSTER, [(at(744), split(at(744))), (at(750), split(at(750)))]),
        _judged(tracker, "crm-dead", CLUSTER, [(T0, gone(T0)), (at(750), gone(at(750)))]),
        _judged(tracker, "accounting", CLUSTER, [(at(750), healthy_round(at(750)))]),
        waiting_row("new-d", 3),
    ]
    return worst_first(rows)
