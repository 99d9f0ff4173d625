"""One round of everything the signals read: every node, every PgBouncer, Odoo's health, at once.

``status`` shows one such round; ``drill`` journals the evaluation from one; the cockpit's workers
run the same sources on their own clocks (:mod:`tui.signals_feed`).
"""

from __future__ import annotations

import asyncio

from checks.config.model import Cluster
from checks.observe.assess import ClusterView, Watch
from checks.observe.pooler import probe_app_path
from checks.observe.sampler import NodeSampler, sample_all
from checks.observe.signals import SignalBoard


async def one_round(cluster_name: str, cluster: Cluster) -> ClusterView:
    """Sample every node once, at the same time, and judge the cluster."""
    view, _board = await signal_round(cluster_name, cluster, probe=False)
    return view


async def signal_round(cluster_name: str, cluster: Cluster, *, probe: bool = True,
                       budget_s: float | None = None) -> tuple[ClusterView, SignalBoard]:
    """One round over every node and, with ``probe``, Odoo's path (every PgBouncer, Odoo's health)
    at the same time: the view and the signals that round can see. ``budget_s`` bounds each
    connection and query of the round (``drill`` evaluates on the clock: a PgBouncer still waiting
    on a dead primary is a finding after half a second, not after the full sampling timeouts)."""
    if budget_s is not None:
        sampling = cluster.sampling.model_copy(update={
            "connect_timeout_s": min(cluster.sampling.connect_timeout_s, budget_s),
            "statement_timeout_s": min(cluster.sampling.statement_timeout_s, budget_s)})
        cluster = cluster.model_copy(update={"sampling": sampling})
    samplers = [NodeSampler(node, cluster.sampling) for node in cluster.nodes]
    board = SignalBoard(cluster)
    try:
        jobs = [sample_all(samplers)]
        if probe:
            # on a budget, Odoo's health alone: its login goes through the pooler, which the app path
            # probe already judges (and which waits on a dead primary)
            jobs += [probe_app_path(cluster), odoo_round(cluster, login=budget_s is None)]
        found = await asyncio.gather(*jobs)
    finally:
        await asyncio.gather(*(s.close() for s in samplers))
    view = Watch(cluster_name, cluster).update(*found[0])
    if probe:
        board.update(view=view, probes=found[1], odoo=found[2], now=view.observed_at)
    else:
        board.update(view=view, now=view.observed_at)
    return view, board


async def odoo_round(cluster: Cluster, *, login: bool = True):
    """Odoo's health (and the probe login, where configured and ``login``), or None without an
    ``[odoo]`` table."""
    if cluster.odoo is None:
        return None
    from checks.observe.odoo_health import odoo_health

    return await odoo_health(cluster.odoo, timeout_s=cluster.sampling.connect_timeout_s + cluster.sampling.statement_timeout_s,
                             login=cluster.signals.odoo_login and login)
