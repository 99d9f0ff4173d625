"""The cluster view as Prometheus metrics (docs/design.md section 6.5): ``status --format prometheus``
writes them once (for node_exporter's textfile collector), ``exporter`` serves them on ``/metrics``.

Pure: a view in, metric families out. A value that does not apply or is unknown (the replay delay of
a primary, anything of a node that does not answer) is left out, as Prometheus expects, never a
made-up zero; ``failover_cockpit_node_up`` says which nodes answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from checks.config.model import Slo
from checks.observe.assess import EXIT_CODES, VERDICTS, ClusterView

PREFIX = "failover_cockpit_"
CLUSTER = ["cluster"]
NODE = ["cluster", "node"]


def _gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, text, labels=labels)


def families(view: ClusterView, slo: Slo | None = None) -> list[GaugeMetricFamily]:
    """Every series of one view; ``slo`` (the one it was judged with) adds the SLO's two limits."""
    c = view.cluster
    verdict = _gauge("verdict", "The cluster's verdict as a monitoring plugin code: 0 ok, 1 warning, "
                     "2 critical, 3 unknown.", CLUSTER)
    verdict.add_metric([c], EXIT_CODES[view.verdict])
    state = _gauge("verdict_state", "Whether the cluster's verdict is this state (1) or not (0).", ["cluster", "state"])
    for name in VERDICTS:
        state.add_metric([c, name], 1 if view.verdict == name else 0)
    split = _gauge("split_brain", "Whether the cluster is in split brain (1): more than one writable node, "
                   "or a writer on an older timeline.", CLUSTER)
    split.add_metric([c], 1 if view.split_brain else 0)
    writers = _gauge("writable_nodes", "How many of the cluster's nodes accept writes (one is healthy).", CLUSTER)
    writers.add_metric([c], len(view.writable))
    problems = _gauge("problems", "How many problems the cockpit sees in the cluster (status lists them).", CLUSTER)
    problems.add_metric([c], len(view.problems))
    observed = _gauge("observed_timestamp_seconds", "When the cluster was last sampled, in seconds since "
                      "the Unix epoch.", CLUSTER)
    observed.add_metric([c], view.observed_at.timestamp())
    out = [verdict, state, split, writers, problems, observed]
    if slo is not None:
        delay_slo = _gauge("slo_max_replay_delay_seconds", "The SLO's longest replay delay a standby may have.",
                           CLUSTER)
        delay_slo.add_metric([c], slo.max_replay_delay_s)
        risk_slo = _gauge("slo_max_data_at_risk_bytes", "The SLO's most WAL a standby may lack.", CLUSTER)
        risk_slo.add_metric([c], slo.max_data_risk_bytes)
        out += [delay_slo, risk_slo]
    return out + node_families(view)


def node_families(view: ClusterView) -> list[GaugeMetricFamily]:
    up = _gauge("node_up", "Whether the node answered the cockpit's last sample (1) or not (0).", NODE)
    role = _gauge("node_role", "Always 1, labelled with the node's role: primary, standby, unreachable, "
                  "foreign, duplicate or unknown.", ["cluster", "node", "role"])
    recovery = _gauge("node_in_recovery", "Whether the node is in recovery, a standby (1), or not (0).", NODE)
    writable = _gauge("node_writable", "Whether the node accepts writes (1) or not (0).", NODE)
    delay = _gauge("node_replay_delay_seconds", "How far a standby's replay is behind, in seconds "
                   "(zero when it has replayed all it received).", NODE)
    unreplayed = _gauge("node_unreplayed_bytes", "WAL a standby received but has not replayed yet, in bytes: "
                        "not lost, it costs promotion time.", NODE)
    risk = _gauge("node_data_at_risk_bytes", "WAL the primary committed that a standby never received, in "
                  "bytes: lost if it is promoted now.", NODE)
    timeline = _gauge("node_timeline", "The node's timeline.", NODE)
    latency = _gauge("node_sample_latency_seconds", "How long the node took to answer the cockpit's sample, "
                     "in seconds.", NODE)
    c = view.cluster
    for node in view.nodes:
        s = node.sample
        labels = [c, s.name]
        up.add_metric(labels, 1 if s.reachable else 0)
        role.add_metric([c, s.name, node.role], 1)
        if not s.reachable:
            continue
        if s.in_recovery is not None:
            recovery.add_metric(labels, 1 if s.in_recovery else 0)
            writable.add_metric(labels, 1 if s.writable and not node.foreign else 0)
        if s.replay_delay_s is not None:
            delay.add_metric(labels, s.replay_delay_s)
        if s.in_recovery and s.bytes_not_replayed is not None:
            unreplayed.add_metric(labels, s.bytes_not_replayed)
        if node.data_risk_bytes is not None:
            risk.add_metric(labels, node.data_risk_bytes)
        if s.timeline is not None:
            timeline.add_metric(labels, s.timeline)
        if s.latency_ms is not None:
            latency.add_metric(labels, s.latency_ms / 1000)
    return [up, role, recovery, writable, delay, unreplayed, risk, timeline, latency]


class ViewCollector(Collector):
    """A prometheus_client collector over whatever view ``current`` returns at scrape time (None:
    no round has ended yet, no series)."""

    def __init__(self, current: Callable[[], ClusterView | None], slo: Slo | None = None) -> None:
        self.current = current
        self.slo = slo

    def collect(self) -> Iterator[GaugeMetricFamily]:
        view = self.current()
        if view is not None:
            yield from families(view, self.slo)


def registry_for(current: Callable[[], ClusterView | None], slo: Slo | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ViewCollector(current, slo))
    return registry


def exposition(view: ClusterView, slo: Slo | None = None) -> str:
    """The text exposition format of one view (what a ``.prom`` file of the textfile collector holds)."""
    return generate_latest(registry_for(lambda: view, slo)).decode()
