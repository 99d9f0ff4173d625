"""``failover-cockpit status``: one sampling round, a table or JSON, a monitoring-plugin exit code."""

from __future__ import annotations

import asyncio
import json

from checks.config.model import Cluster
from checks.observe.assess import Watch
from checks.observe.sampler import NodeSampler, sample_all
from checks.observe.status import exit_code, status_json, status_table


async def one_round(cluster_name: str, cluster: Cluster):
    """Sample every node once, at the same time, and judge the cluster."""
    samplers = [NodeSampler(node, cluster.sampling) for node in cluster.nodes]
    try:
        samples = await sample_all(samplers)
    finally:
        await asyncio.gather(*(s.close() for s in samplers))
    return Watch(cluster_name, cluster).update(*samples)


def run_status(cluster_name: str, cluster: Cluster, as_json: bool) -> int:
    view = asyncio.run(one_round(cluster_name, cluster))
    if as_json:
        print(json.dumps(status_json(view), indent=2))
    else:
        print(status_table(view))
    return exit_code(view)

