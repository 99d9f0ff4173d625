"""The signal sources on their own clocks, as workers of the cockpit (docs/design.md section 13).

The app path and Odoo's health every ``signals.interval_s``; the infrastructure command every
``signals.infrastructure.interval_s``. Each source is ticked like a node sampler
(:func:`checks.observe.ticker.sample_forever`), so a source that hangs delays nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from checks.config.model import Cluster
from checks.observe.pooler import probe_app_path
from checks.observe.sample import NodeSample
from checks.observe.signal_round import odoo_round
from tui.messages import SignalsSeen


class AppPathSource:
    """Every PgBouncer's path and Odoo's health, at once."""

    def __init__(self, cluster: Cluster, samples: Callable[[], dict[str, NodeSample]]) -> None:
        self.cluster, self.samples = cluster, samples

    async def sample(self) -> SignalsSeen:
        probes, odoo = await asyncio.gather(probe_app_path(self.cluster, self.samples()), odoo_round(self.cluster))
        return SignalsSeen(probes=probes, odoo=odoo)


class InfraSource:
    """The configured infrastructure command."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def sample(self) -> SignalsSeen:
        from checks.observe.infra_events import run_infrastructure

        return SignalsSeen(infra=await run_infrastructure(self.cluster.signals.infrastructure))


def sources(cluster: Cluster, samples: Callable[[], dict[str, NodeSample]]) -> list[tuple[str, object, float]]:
    """(name, source, interval) for every source this cluster configures."""
    found: list[tuple[str, object, float]] = []
    if cluster.pgbouncers or cluster.odoo is not None:
        found.append(("app path", AppPathSource(cluster, samples), cluster.signals.interval_s))
    if cluster.signals.infrastructure is not None:
        found.append(("infrastructure", InfraSource(cluster), cluster.signals.infrastructure.interval_s))
    return found
