"""Training's stand-ins for I/O: an in-memory journal on simulated time, and the training operation.

:class:`TrainingOperation` is the cockpit's own Operation whose sampling reads the replay (a
``feed`` function the training run hands it) instead of the nodes; :func:`drive` runs one of
its coroutines to the end without an event loop (training never waits on I/O).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from checks.config.model import Cluster
from checks.config.redact import redact
from checks.incident.events import KINDS, Event, to_json
from checks.incident.evidence import Check
from checks.incident.seats import SEATS
from checks.observe.assess import ClusterView, Watch
from checks.observe.lsn import lsn_diff
from checks.observe.sample import NodeSample, iso_utc
from checks.observe.sample_policy import SampleRecorder, turning_points
from checks.runbook.operation import Operation
from checks.training.scenario import SIM_DRAIN_MS

Feed = Callable[[float | None], tuple[list[NodeSample], float]]   # samples since a cursor, and the new cursor


class TrainingJournal:
    """A training run's journal: in memory, on the simulated clock, with the API an
    :class:`~checks.runbook.operation.Operation` and :func:`checks.incident.record.render_record` use.
    Texts and data are redacted exactly as the incident journal redacts them."""

    def __init__(self, clock: Callable[[], datetime], *, incident_id: str, cluster: str) -> None:
        self.clock = clock
        self.meta = {"incident_id": incident_id, "cluster": cluster, "created_at": iso_utc(clock())}
        self.pending: list = []
        self.recorder = SampleRecorder(full_every_s=5.0)
        self._events: list[Event] = []
        self._samples: list[NodeSample] = []

    @property
    def incident_id(self) -> str:
        return self.meta["incident_id"]

    @property
    def cluster(self) -> str:
        return self.meta["cluster"]

    def append(self, kind: str, text: str, *, seat: str, author: str, stage: int | None = None,
               data: dict[str, Any] | None = None) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r} (kinds: {', '.join(sorted(KINDS))})")
        if seat not in SEATS:
            raise ValueError(f"unknown seat {seat!r} (seats: {', '.join(SEATS)})")
        event = Event(id=len(self._events) + 1, at=self.clock(), seat=seat, author=redact(author), kind=kind,
                      stage=stage, text=redact(text), data=json.loads(to_json(data or {})))
        self._events.append(event)
        return event

    def events(self, after_id: int = 0, kinds: set[str] | None = None) -> list[Event]:
        return [e for e in self._events[after_id:] if kinds is None or e.kind in kinds]

    def last_event_id(self) -> int:
        return len(self._events)

    def record_sample(self, sample: NodeSample, *, force: bool = False) -> bool:
        if not force and self.recorder.reason(sample) is None:
            return False
        self.recorder.kept(sample)
        self._samples.append(sample)
        return True

    def samples(self, node: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[NodeSample]:
        return sorted((s for s in self._samples if (node is None or s.name == node)
                       and (since is None or s.observed_at >= since) and (until is None or s.observed_at <= until)),
                      key=lambda s: s.observed_at)

    def standby_peaks(self) -> list[NodeSample]:
        return [s for s in self.samples() if s.in_recovery is True]

    def turning_samples(self, *, slo_replay_delay_s: float | None = None) -> list[NodeSample]:
        return turning_points(self.samples(), slo_replay_delay_s=slo_replay_delay_s)

    def latest_samples(self) -> dict[str, NodeSample]:
        return self.samples_at(None)

    def samples_at(self, moment: datetime | None) -> dict[str, NodeSample]:
        found: dict[str, NodeSample] = {}
        for sample in self.samples(until=moment):
            found[sample.name] = sample
        return found


class RechecksPassed(Exception):
    """Promotion's own re-checks all passed: from here the training run simulates pg_promote."""


class ClockedWatch(Watch):
    """A Watch that judges at the simulated time, not the wall clock."""

    def __init__(self, cluster_name: str, cluster: Cluster, clock: Callable[[], datetime]) -> None:
        super().__init__(cluster_name, cluster)
        self.clock = clock

    def update(self, *samples: NodeSample, now: datetime | None = None) -> ClusterView:
        return super().update(*samples, now=now or self.clock())


class TrainingOperation(Operation):
    """The cockpit's Operation, sampling the replay instead of the nodes.

    ``refresh`` hands it every replayed sample since its last refresh (the cockpit journals
    what it samples and the operation judges from it), with the training overlays applied.
    With ``stop_before_promote`` set, journaling promotion's ``pre_promote`` evidence (the
    last thing :func:`~checks.stages.promote.promote_candidate` does once every re-check
    passed) stops it before it would connect: the training run simulates the rest."""

    def __init__(self, journal: TrainingJournal, cluster_name: str, cluster: Cluster, *, clock: Callable[[], datetime],
                 feed: Feed, author: str, seat: str) -> None:
        super().__init__(journal, cluster_name, cluster, author=author, seat=seat)
        self.feed = feed
        self.watch = ClockedWatch(cluster_name, cluster, clock)
        self.seen_as_standby = set()
        self.view = None
        self._samplers = {}
        self._fed: float | None = None
        self.stop_before_promote = False

    async def refresh(self) -> ClusterView:
        samples, self._fed = self.feed(self._fed)
        for sample in samples:
            self.journal.record_sample(sample)
            self._remember(sample)
        if self.view is None:
            self.view = self.watch.update()
        return self.view

    async def probe_app_path(self, view: ClusterView) -> dict[str, str]:
        """A scenario has no PgBouncer to ask: its recorded samples are all the evidence there is."""
        self.app_writers = {}
        return self.app_writers

    async def close(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def connection_opening(self, name: str, *, purpose: str):
        """Training never connects: its promotion is simulated once the real re-checks have passed."""
        yield None

    def log(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None) -> Event:
        event = super().log(kind, text, stage=stage, data=data)
        if self.stop_before_promote and kind == "evidence" and (data or {}).get("check") == Check.PRE_PROMOTE:
            raise RechecksPassed()
        return event


def drive(coro: Coroutine) -> Any:
    """Run an Operation coroutine to its end. Training never waits on I/O (refresh reads the
    replay), so it ends on its first step; one that would wait is stopped and is a bug."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a training action tried to wait on I/O: training never connects to anything")


def drained(sample: NodeSample, drain: tuple | None) -> NodeSample:
    """After the fence sequence drained a writable primary, the candidate holds its final LSN."""
    if not drain or sample.name != drain[0] or not sample.in_recovery:
        return sample
    final = drain[1]
    if (lsn_diff(final, sample.held_lsn) or 0) <= 0:
        return sample
    not_replayed = lsn_diff(final, sample.replay_lsn) if sample.replay_lsn else None
    return sample.model_copy(update={"receive_lsn": final, "bytes_not_replayed": not_replayed})


def promoted_sample(base: NodeSample, now: datetime) -> NodeSample:
    """The promoted candidate as it reads: writable, out of recovery, on the next timeline."""
    return base.model_copy(update={
        "observed_at": now, "in_recovery": False, "tx_read_only": "off", "current_lsn": base.held_lsn,
        "flush_lsn": base.held_lsn, "receive_lsn": None, "replay_lsn": None, "bytes_not_replayed": None,
        "raw_replay_delay_s": None, "replay_paused": None, "wal_receiver": None, "replication": (),
        "timeline": (base.timeline or 1) + 1})


def simulate_drain(op: Operation, cluster: Cluster, view: ClusterView, name: str,
                   candidate: str) -> tuple[str | None, str | None, bool, list[str]]:
    """The fence sequence's steps before the fence, for a writable ``name``, journaled as simulated:
    PgBouncer paused, its final LSN read, the candidate caught up (a streaming candidate does, since
    PgBouncer holds Odoo's writes). Returns the final LSN, what the candidate received, whether it
    caught up, and the paused databases."""
    paused: list[str] = []
    for pgb in cluster.pgbouncers:
        for db in pgb.databases:
            op.log("action", f"PgBouncer {pgb.name}: PAUSE {db}", stage=2,
                   data={"step": f"pause {pgb.name}/{db}", "node": name, "exit_code": 0, "simulated": True})
            paused.append(f"{pgb.name}:{db}")
    old = view.node(name).sample
    final = old.flush_lsn or old.current_lsn
    op.log("action", f"{name} final LSN {final}", stage=2,
           data={"step": "final lsn", "node": name, "exit_code": 0, "lsn": final, "simulated": True})
    cand = view.node(candidate).sample
    held = cand.held_lsn
    streaming = bool(cand.wal_receiver and cand.wal_receiver.status == "streaming")
    caught = (lsn_diff(held, final) or 0) >= 0 if held else False
    if not caught and streaming:
        caught, held = True, final       # PgBouncer holds Odoo's writes: the stream catches up
    received = held
    text = (f"{candidate} received {received} (>= {final}) after {SIM_DRAIN_MS:g} ms" if caught else
            f"{candidate} received only {received} of {final} within 10s")
    op.log("action", text, stage=2, data={
        "step": "catch up", "node": name, "exit_code": 0 if caught else 1, "received": received,
        "waited_ms": SIM_DRAIN_MS, "simulated": True})
    return final, received, caught, paused
