"""Sampling every cluster of the fleet at once: one asyncio loop on one background thread.

Each cluster has its own task on that loop, with one :class:`~checks.observe.sampler.NodeSampler`
per node (a persistent connection, every step bounded by the cluster's own timeouts) and its own
clock: a cluster that cannot be reached only delays its own row, never another's. After each round
the cluster's :class:`~checks.observe.assess.Watch` judges it and :class:`~checks.observe.fleet.FleetTracker`
makes its row. The screen reads :meth:`FleetSampler.snapshot` (a version number and the rows, worst
first) from its own thread; nothing here knows about the screen.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime

from checks.config.model import Cluster
from checks.config.redact import redact
from checks.errors import CockpitError, error_line
from checks.observe.assess import Watch
from checks.observe.fleet import FleetRow, FleetTracker, waiting_row, worst_first
from checks.observe.sample import NodeSample, utcnow
from checks.observe.sampler import NodeSampler, sample_all


class FleetSampler:
    """Samples every cluster of ``clusters`` every ``interval_s`` (default: each cluster's own
    ``sampling.interval_s``) until :meth:`stop`. ``on_round`` (optional) hears each cluster's new
    row, on the sampling thread."""

    def __init__(self, clusters: dict[str, Cluster], *, interval_s: float | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_round: Callable[[FleetRow], None] | None = None) -> None:
        self.clusters = dict(clusters)
        self.interval_s = interval_s
        self.clock = clock
        self.on_round = on_round
        self.tracker = FleetTracker()
        self._lock = threading.Lock()
        self._rows = {name: waiting_row(name, len(c.nodes)) for name, c in self.clusters.items()}
        self._samples: dict[str, list[NodeSample]] = {}
        self._version = 0
        self._sorted: list[FleetRow] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._first_round = threading.Event()     # set once every cluster has had a round
        if not self.clusters:
            self._first_round.set()
        self._thread: threading.Thread | None = None

    # -- what the screen reads, from any thread -----------------------------------------------

    def snapshot(self) -> tuple[int, list[FleetRow]]:
        """The rows, worst first, and a number that changes whenever what they show does (not when
        a new round finds the same facts)."""
        with self._lock:
            if self._sorted is None:            # rows replaced since: sorted again (at most once a poll)
                self._sorted = worst_first(self._rows.values())
            return self._version, self._sorted

    @property
    def version(self) -> int:
        return self._version

    def latest_samples(self, cluster: str) -> list[NodeSample]:
        """The last round's samples of one cluster (the cockpit's first frame when it opens)."""
        with self._lock:
            return list(self._samples.get(cluster, ()))

    @property
    def complete(self) -> bool:
        """Every cluster has had a round (sampled, or found unreachable)."""
        return self._first_round.is_set()

    def wait_complete(self, timeout_s: float) -> bool:
        """Wait until every cluster has had a round, at most ``timeout_s``; whether they all had."""
        return self._first_round.wait(timeout_s)

    # -- the sampling thread ------------------------------------------------------------------

    def start(self) -> FleetSampler:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fleet sampler", daemon=True)
            self._thread.start()
            self._ready.wait(5.0)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every cluster's task and close its connections (each bounded), then the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:             # the loop already ended
                pass
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks = [asyncio.create_task(self._cluster(name, cluster), name=f"fleet {name}")
                 for name, cluster in self.clusters.items()]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _cluster(self, name: str, cluster: Cluster) -> None:
        samplers = [NodeSampler(node, cluster.sampling) for node in cluster.nodes]
        watch = Watch(name, cluster)
        interval = self.interval_s or cluster.sampling.interval_s
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        try:
            while True:
                samples: list[NodeSample] = []
                try:
                    samples = await sample_all(samplers)
                    row = self.tracker.row(watch.update(*samples, now=self.clock()))
                except CockpitError as exc:              # a round that cannot run: its sentence
                    row = self.tracker.failed(name, len(cluster.nodes), f"not sampled: {exc}", self.clock())
                except Exception as exc:  # noqa: BLE001 - one cluster's failure is its row, never the fleet's end
                    row = self.tracker.failed(name, len(cluster.nodes), f"sampling failed: {redact(error_line(exc))}",
                                              self.clock())
                self._publish(row, samples)
                next_tick = max(next_tick + interval, loop.time())
                await asyncio.sleep(next_tick - loop.time())
        finally:
            await asyncio.gather(*(s.close() for s in samplers), return_exceptions=True)

    def _publish(self, row: FleetRow, samples: list[NodeSample]) -> None:
        with self._lock:
            if samples:
                self._samples[row.cluster] = samples
            before = self._rows.get(row.cluster)
            self._rows[row.cluster] = row
            self._sorted = None
            if before is None or _shown(before) != _shown(row):     # a new round of the same facts: no change
                self._version += 1
            if not self._first_round.is_set() and all(r.sampled for r in self._rows.values()):
                self._first_round.set()
        if self.on_round is not None:
            self.on_round(row)


def _shown(row: FleetRow) -> dict:
    """What the screen shows of a row: everything but when its round was taken."""
    return {k: v for k, v in row.__dict__.items() if k != "observed_at"}
