"""Replay: an incident's journal played back as the cockpit showed it (docs/design.md section 10).

Pure: no Textual, no network. :meth:`Recording.load` reads a journal (it never writes
one) into memory and closes it; :meth:`Recording.state_at` gives the :class:`ReplayFrame`
at any recorded moment: the :class:`~checks.observe.assess.ClusterView` of a
:class:`~checks.observe.assess.Watch` fed, one by one, with every journaled sample up to that
moment (each judged at its own ``observed_at``, as the live cockpit judged it when it
arrived), the events up to that moment, and the runbook state evaluated over them.

Seeking is fast: while loading, the Watch's whole memory (the latest sample per node, the last
primary mark, the first bad signal, each standby's last upstream, ...: :func:`watch_memory`) is
snapshot every ``checkpoint_every`` samples, so a seek replays at most ``checkpoint_every +
TRAIL_SAMPLES`` samples from the nearest checkpoint and gets what a Watch fed every sample gets
(about 15 ms in a 24-hour journal). Playing forward continues from the previous frame.

The cluster config is the one the journal names, if it still loads and still has every
node of the recording; otherwise a minimal cluster is rebuilt from the journal (the sampled
node names, the approvers and freeze commands its events name, default SLOs), and
:attr:`Recording.config_note` says so.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import ValidationError

from checks.config.model import Cluster
from checks.errors import error_line
from checks.incident.events import Event
from checks.incident.journal import Journal, JournalError
from checks.observe.assess import ClusterView, NodeView, Watch
from checks.observe.sample import NodeSample, parse_iso
from checks.runbook.gates import RunbookState, evaluate
from checks.training.replay_config import (  # noqa: F401 - moved there, still importable from here
    ReplayError, cluster_for_replay
)

CHECKPOINT_EVERY = 50
"""Samples between two snapshots of the Watch's memory: a seek replays at most this many (plus the trail)."""
TRAIL_SAMPLES = 90
"""How many of the latest samples a frame carries with the view each got on arrival (see :attr:`ReplayFrame.trail`)."""
"""The DSN of a node rebuilt from the journal: replay never connects, the model needs one."""


@dataclass(frozen=True)
class ReplayFrame:
    """What the cockpit showed at one recorded moment."""

    at: datetime
    """The moment asked for (UTC)."""
    view: ClusterView | None
    """The cluster after every sample up to ``at``; None before the first sample."""
    events: tuple[Event, ...]
    """Every event up to ``at``, oldest first."""
    runbook: RunbookState
    """The runbook evaluated over ``events``."""
    trail: tuple[NodeView, ...] = ()
    """The latest samples up to ``at`` (at most :data:`TRAIL_SAMPLES`, oldest first), each as the
    view of its node when it arrived: enough to rebuild a panel's trend and change marks after a seek."""
    sample_count: int = 0
    """How many samples of the recording are at or before ``at``."""

    @property
    def key(self) -> tuple[int, int]:
        """(samples, events) up to ``at``: two frames with the same key show the same thing."""
        return self.sample_count, len(self.events)


WATCH_GIVEN = frozenset({"cluster_name", "cluster"})
"""What a Watch is built with; every other attribute of it is its memory across samples."""


def watch_memory(watch: Watch) -> dict[str, object]:
    """Everything ``watch`` remembers between samples (the latest sample per node, the last primary,
    the first bad signal, the upstream each standby last streamed from, when each node last answered,
    the fences...), each mapping copied, so the memory outlives the Watch being fed further."""
    return {name: dict(value) if isinstance(value, dict) else value
            for name, value in vars(watch).items() if name not in WATCH_GIVEN}


@dataclass(frozen=True)
class _Checkpoint:
    """The Watch's memory after the first ``index`` samples, and the view it returned last."""

    index: int
    memory: dict[str, object]
    view: ClusterView | None

    def restore(self, watch: Watch) -> Watch:
        """``watch`` (a fresh one) given this memory, as if fed the first ``index`` samples."""
        for name, value in self.memory.items():
            setattr(watch, name, dict(value) if isinstance(value, dict) else value)
        return watch


class _Cursor:
    """A Watch part-way through the samples, for playing forward without a seek."""

    def __init__(self, watch: Watch, index: int, view: ClusterView | None, trail: Iterable[NodeView]) -> None:
        self.watch = watch
        self.index = index
        self.view = view
        self.trail: deque[NodeView] = deque(trail, maxlen=TRAIL_SAMPLES)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _clock(moment: datetime) -> str:
    return f"{_utc(moment):%H:%M:%S}Z"


class Recording:
    """An incident's samples and events in memory, with a fast :meth:`state_at`.

    Build one with :meth:`load` (from an incident directory) or directly from a cluster,
    samples and events (a scenario). Safe to share between threads."""

    def __init__(
        self,
        cluster_name: str,
        cluster: Cluster,
        samples: Iterable[NodeSample],
        events: Iterable[Event],
        *,
        dir: Path | None = None,
        incident_id: str = "",
        config_path: str | None = None,
        config_note: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.cluster_name = cluster_name
        self.cluster = cluster
        self.dir = dir
        self.incident_id = incident_id
        self.config_path = config_path
        """The config path the journal names (its meta), whether or not it still loads."""
        self.config_note = config_note
        """None when that config was used; otherwise one sentence on what replay uses instead."""
        members = {node.name for node in cluster.nodes}
        self.samples: list[NodeSample] = sorted((s for s in samples if s.name in members),
                                                key=lambda s: _utc(s.observed_at))
        """The samples of the cluster's nodes (a sample of another node is left out), oldest first."""
        self.events: list[Event] = sorted(events, key=lambda e: (_utc(e.at), e.id))
        if not self.samples and not self.events:
            where = f"{dir}" if dir is not None else "the recording"
            raise ReplayError(f"{where} holds no samples and no events: nothing to replay")
        self._sample_times = [_utc(s.observed_at) for s in self.samples]
        self._event_times = [_utc(e.at) for e in self.events]
        firsts = [times[0] for times in (self._sample_times, self._event_times) if times]
        lasts = [times[-1] for times in (self._sample_times, self._event_times) if times]
        self.start: datetime = min(firsts)
        """The first sample or event."""
        self.end: datetime = max(lasts)
        """The last sample or event."""
        self.checkpoint_every = checkpoint_every
        self._lock = threading.Lock()
        self._runbooks: dict[int, RunbookState] = {}
        self._checkpoints = self._build_checkpoints()
        self._cursor: _Cursor | None = None

    # -- loading ------------------------------------------------------------------------

    @classmethod
    def load(cls, dir: Path | str, *, checkpoint_every: int = CHECKPOINT_EVERY) -> Recording:
        """Read the incident in ``dir`` (never writing to it); ReplayError (one line) if it is not one."""
        dir = Path(dir)
        try:
            journal = Journal.open(dir)
        except JournalError as exc:
            raise ReplayError(str(exc)) from None
        try:
            meta = dict(journal.meta)
            samples = journal.samples()
            events = journal.events()
        except (JournalError, ValidationError, ValueError) as exc:
            raise ReplayError(f"{dir}: the journal cannot be read for replay: {error_line(exc)}") from None
        finally:
            journal.close()
        cluster_name = meta.get("cluster", "") or "unknown"
        config_path = meta.get("config")
        cluster, note = cluster_for_replay(cluster_name, config_path, samples, events)
        return cls(cluster_name, cluster, samples, events, dir=dir, incident_id=meta.get("incident_id", ""),
                   config_path=config_path, config_note=note, checkpoint_every=checkpoint_every)

    # -- facts ------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def config_loaded(self) -> bool:
        """True when the cluster is the journal's config, False when it was rebuilt from the journal."""
        return self.config_note is None

    def clamp(self, moment: datetime) -> datetime:
        """``moment`` kept within [start, end]."""
        return min(self.end, max(self.start, _utc(moment)))

    def event_times(self) -> list[datetime]:
        """Every event's time, oldest first (for marks on a progress bar)."""
        return list(self._event_times)

    def next_event_after(self, moment: datetime) -> Event | None:
        """The first event strictly after ``moment``, or None."""
        i = bisect_right(self._event_times, _utc(moment))
        return self.events[i] if i < len(self.events) else None

    def previous_event_before(self, moment: datetime) -> Event | None:
        """The last event strictly before ``moment``, or None."""
        i = bisect_left(self._event_times, _utc(moment))
        return self.events[i - 1] if i > 0 else None

    def frame_key(self, moment: datetime) -> tuple[int, int]:
        """:attr:`ReplayFrame.key` at ``moment``, without building the frame (a bisection)."""
        t = _utc(moment)
        return bisect_right(self._sample_times, t), bisect_right(self._event_times, t)

    # -- frames -----------------------------------------------------------------------

    def state_at(self, moment: datetime) -> ReplayFrame:
        """The frame at ``moment`` (any time; before the start nothing is shown yet)."""
        t = _utc(moment)
        n_samples, n_events = self.frame_key(t)
        with self._lock:
            cursor = self._advance(n_samples)
            view, trail = cursor.view, tuple(cursor.trail)
            runbook = self._runbook(n_events)
        return ReplayFrame(at=t, view=view, events=tuple(self.events[:n_events]), runbook=runbook,
                           trail=trail, sample_count=n_samples)

    def _runbook(self, n_events: int) -> RunbookState:
        state = self._runbooks.get(n_events)
        if state is None:
            state = self._runbooks[n_events] = evaluate(self.cluster, self.events[:n_events])
        return state

    def _watch(self) -> Watch:
        return Watch(self.cluster_name, self.cluster)

    def _feed(self, watch: Watch, sample: NodeSample) -> tuple[ClusterView, NodeView]:
        """The cluster after ``sample``, judged at its own time, and the view of its node."""
        view = watch.update(sample, now=_utc(sample.observed_at))
        return view, view.node(sample.name)

    def _build_checkpoints(self) -> list[_Checkpoint]:
        """One pass over the samples, snapshotting the Watch's memory every ``checkpoint_every``."""
        watch = self._watch()
        view: ClusterView | None = None
        points = [_Checkpoint(0, watch_memory(watch), None)]
        for i, sample in enumerate(self.samples, 1):
            view, _ = self._feed(watch, sample)
            if i % self.checkpoint_every == 0:
                points.append(_Checkpoint(i, watch_memory(watch), view))
        return points

    def _advance(self, n: int) -> _Cursor:
        """A cursor after the first ``n`` samples: the previous one moved forward, or one restored
        from the checkpoint before the trail's first sample and fed from there."""
        cursor = self._cursor
        trail_from = max(0, n - TRAIL_SAMPLES)
        if cursor is None or n < cursor.index or n - cursor.index > self.checkpoint_every + TRAIL_SAMPLES:
            point = self._checkpoints[trail_from // self.checkpoint_every]
            cursor = _Cursor(point.restore(self._watch()), point.index, point.view, ())
        for i in range(cursor.index, n):
            cursor.view, own = self._feed(cursor.watch, self.samples[i])
            if i >= trail_from:
                cursor.trail.append(own)
        cursor.index = n
        self._cursor = cursor
        return cursor

    # -- going to a time ------------------------------------------------------------------

    def parse_time(self, text: str) -> datetime:
        """``08:00:05`` (UTC, ``Z`` optional, on the recording's day), ``+01:30`` / ``+1:02:03`` /
        ``+45`` from the start, or a full ISO time; ReplayError (one line) if unreadable or
        outside the recording."""
        raw = text.strip()
        span = f"the recording runs {_clock(self.start)} to {_clock(self.end)} (+{_offset(self.duration_s)})"
        if raw.startswith("+"):
            seconds = _parse_offset(raw[1:])
            if seconds is None:
                raise ReplayError(f"{raw!r}: give an offset as +MM:SS, +H:MM:SS or +SECONDS")
            moment = self.start + timedelta(seconds=seconds)
        elif "T" in raw.upper() or "-" in raw:
            try:
                moment = _utc(parse_iso(raw.upper()))
            except ValueError:
                raise ReplayError(f"{raw!r}: not a time (HH:MM:SS UTC, or +MM:SS from the start)") from None
        else:
            clock = _parse_clock(raw)
            if clock is None:
                raise ReplayError(f"{raw!r}: not a time (HH:MM:SS UTC, or +MM:SS from the start)")
            moment = self._on_a_recorded_day(clock)
        if not self.start <= moment <= self.end:
            raise ReplayError(f"{_clock(moment)} is outside the recording: {span}")
        return moment

    def _on_a_recorded_day(self, clock: timedelta) -> datetime:
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        candidates = []
        while day <= self.end:
            candidates.append(day + clock)
            day += timedelta(days=1)
        inside = [c for c in candidates if self.start <= c <= self.end]
        return inside[0] if inside else candidates[0]


def _offset(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _parse_offset(text: str) -> float | None:
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if any(n < 0 for n in numbers) or any(n >= 60 for n in numbers[1:]):
        return None
    total = 0.0
    for n in numbers:
        total = total * 60 + n
    return total


def _parse_clock(text: str) -> timedelta | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(?:Z|UTC)?", text, re.IGNORECASE)
    if not m:
        return None
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 23 or mi > 59 or s > 59:
        return None
    micro = int((m[4] or "0").ljust(6, "0"))
    return timedelta(hours=h, minutes=mi, seconds=s, microseconds=micro)


# -- the cluster to judge with ----------------------------------------------------------------
