"""Sampling costs: CPU for 10 nodes at 1 Hz, and the healthy nodes' refresh while one hangs."""

from __future__ import annotations

import asyncio
import statistics
import time

from checks.config.model import Cluster, Node
from checks.observe.sampler import NodeSampler
from checks.observe.ticker import sample_forever


def ten_nodes(cluster: Cluster) -> list[Node]:
    """The lab's nodes listed several times over, named n01..n10."""
    nodes = []
    for i in range(10):
        base = cluster.nodes[i % len(cluster.nodes)]
        nodes.append(base.model_copy(update={"name": f"n{i + 1:02d}"}))
    return nodes


async def _run_loops(samplers: list[NodeSampler], interval_s: float, seconds: float, emit) -> None:
    tasks = [asyncio.create_task(sample_forever(s, interval_s, lambda x, s=s: emit(s, x))) for s in samplers]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in samplers))


class _SignalSources:
    """What the cockpit's signal worker does every ``signals.interval_s``: every PgBouncer's path
    and Odoo's health, judged on the board with the latest view."""

    def __init__(self, cluster: Cluster, board) -> None:
        self.cluster, self.board = cluster, board

    async def sample(self):
        from checks.observe.pooler import probe_app_path
        from checks.observe.signal_round import odoo_round

        probes, odoo = await asyncio.gather(probe_app_path(self.cluster), odoo_round(self.cluster))
        return self.board.update(probes=probes, odoo=odoo)


def sampling_cpu_pct_10_nodes(cluster: Cluster, seconds: float, *, signals: bool = False) -> float:
    """CPU time of this process over wall time, in % of one core, sampling 10 nodes at 1 Hz; with
    ``signals``, the signal sources and the board run too, as in the cockpit."""
    from checks.observe.assess import Watch
    from checks.observe.signals import SignalBoard

    samplers = [NodeSampler(n, cluster.sampling) for n in ten_nodes(cluster)]
    ten = cluster.model_copy(update={"nodes": ten_nodes(cluster)})
    watch, board = Watch("bench", ten), SignalBoard(ten)
    count = 0

    def emit(_sampler, sample):
        nonlocal count
        count += 1
        assert sample.reachable, sample.error
        if signals:
            board.update(view=watch.update(sample))

    async def go():
        # warm up: connect every node first, so connection set-up is not counted as steady state
        await asyncio.gather(*(s.sample() for s in samplers))
        source = _SignalSources(ten, board)
        if signals:
            await source.sample()            # the first probe imports psycopg: not steady state
        cpu0, wall0 = time.process_time(), time.monotonic()
        probe = (asyncio.create_task(sample_forever(source, ten.signals.interval_s, lambda _changes: None))
                 if signals else None)
        await _run_loops(samplers, 1.0, seconds, emit)
        if probe is not None:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
        return (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100

    pct = asyncio.run(go())
    if count < 10 * int(seconds):
        raise RuntimeError(f"only {count} samples in {seconds}s for 10 nodes")
    return round(pct, 2)


def hung_node_other_refresh_ms(cluster: Cluster, hang, resume, seconds: float) -> dict:
    """While one node is hung, how often do the healthy nodes refresh at a 1 s interval?"""
    samplers = [NodeSampler(n, cluster.sampling) for n in cluster.nodes]
    hung = cluster.nodes[-1].name
    seen: dict[str, list[float]] = {n.name: [] for n in cluster.nodes}

    def emit(sampler, sample):
        seen[sampler.node.name].append(time.monotonic())

    async def go():
        await asyncio.gather(*(s.sample() for s in samplers))
        hang(hung)
        try:
            await _run_loops(samplers, 1.0, seconds, emit)
        finally:
            resume(hung)

    asyncio.run(go())
    gaps = [
        (b - a) * 1000
        for name, times in seen.items() if name != hung
        for a, b in zip(times, times[1:])
    ]
    if not gaps:
        raise RuntimeError("no refresh of a healthy node was seen")
    return {"max": round(max(gaps), 1), "median": round(statistics.median(gaps), 1)}
