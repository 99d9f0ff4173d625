"""What the trainee sees: the recording on the simulated clock, with the trainee's simulated effects as overlays.

:class:`ReplayTimeline` is the half of a :class:`~checks.training.run.TrainingRun` that moves time
and shows the cluster: the simulated clock (an offset in seconds into the recording), the
replayed samples as the overlays change them (a fenced node reads unreachable, the standbys that
followed it stop receiving, a drained candidate holds the final LSN, the promoted candidate reads
writable on the next timeline), the view the screen shows, judged once per sampling interval as
the live cockpit judges every sample. Time moves in two ways: :meth:`~ReplayTimeline.advance`
(lived: the replay playing) and :meth:`~ReplayTimeline.skip` (``.`` or a click ahead on the replay
bar): skipped spans are kept, so the score card leaves them out of the RTO and the time per stage.
When the recording ends, the journal says so once; the cluster then stays as it last was.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from checks.observe.assess import ClusterView
from checks.observe.sample import NodeSample, iso_utc
from checks.training.scenario import Scenario
from checks.training.score import clock
from checks.training.sim import ClockedWatch, TrainingOperation, drained, promoted_sample


class ReplayTimeline:
    """The recording, the simulated clock and the overlays. The subclass sets ``op`` (the
    trainee's :class:`TrainingOperation`, which journals what the screen saw) before the first
    :meth:`_update_view`."""

    op: TrainingOperation

    def __init__(self, scenario: Scenario, *, start_at: float = 0.0) -> None:
        self.scenario = scenario
        self.cluster = scenario.cluster()
        self.t = float(start_at)
        self.started_t = self.t
        self.skipped: list[tuple[float, float]] = []      # (from, to) offsets the trainee skipped
        ordered = sorted(scenario.samples, key=lambda s: s.observed_at)
        self._samples = ordered
        self._offsets = [scenario.offset(s.observed_at) for s in ordered]
        self._fenced: dict[str, float] = {}
        self._frozen: dict[str, tuple[float, NodeSample]] = {}
        self._drained: tuple[str, str] | None = None
        self._promoted: tuple[str, float, NodeSample] | None = None
        self._watch = ClockedWatch(scenario.cluster_name, self.cluster, self.clock)
        self._display_fed: float | None = None
        self.view: ClusterView = self._watch.update()
        self.split_brain_seen = False
        self._alarmed: set[str] = set()

    # -- time ------------------------------------------------------------------------------------
    def clock(self) -> datetime:
        """The simulated time: the recording's start plus the offset."""
        return self.scenario.moment(self.t)

    @property
    def ended(self) -> bool:
        """The recording has no more samples: the cluster stays as it last was."""
        return self.t >= self.scenario.seconds

    def advance(self, seconds: float) -> ClusterView:
        """Let ``seconds`` of simulated time pass, lived (the replay playing); the screen's view is
        judged at least once per sampling interval on the way, and at the recording's end."""
        if seconds < 0:
            raise ValueError("training time only moves forward")
        end = self.t + seconds
        step = self.cluster.sampling.interval_s
        stop = self.scenario.seconds
        while self.t + step < end:
            self.t = stop if self.t < stop < self.t + step else self.t + step
            self._update_view()
        if self.t < stop < end:
            self.t = stop
            self._update_view()
        self.t = end
        return self._update_view()

    def advance_to(self, t: float) -> ClusterView:
        return self.advance(max(0.0, t - self.t))

    def skip(self, seconds: float) -> ClusterView:
        """Skip ``seconds`` ahead: the recording moves on as in :meth:`advance`, but the span is
        kept as skipped, and the score card does not count it."""
        start = self.t
        view = self.advance(seconds)
        if self.t > start:
            if self.skipped and self.skipped[-1][1] == start:
                start = self.skipped.pop()[0]           # one span for several skips in a row
            self.skipped.append((start, self.t))
        return view

    def skip_to(self, t: float) -> ClusterView:
        return self.skip(max(0.0, t - self.t))

    def skipped_between(self, start: float | None, end: float | None) -> float:
        """The seconds skipped between two offsets (0 when either is unknown)."""
        if start is None or end is None or end <= start:
            return 0.0
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.skipped)

    # -- the replay, with the overlays -----------------------------------------------------------
    def feed(self, since: float | None) -> tuple[list[NodeSample], float]:
        """The samples a consumer has not seen yet: recorded ones after ``since`` up to now, in
        order, as the overlays change them, then the simulated ones at now. Returns the new cursor."""
        start = 0 if since is None else bisect.bisect_right(self._offsets, since)
        end = bisect.bisect_right(self._offsets, self.t)
        out = [shown for off, sample in zip(self._offsets[start:end], self._samples[start:end])
               if (shown := self._overlay(sample, off)) is not None]
        out.extend(self._simulated())
        return out, self.t

    def _overlay(self, sample: NodeSample, off: float) -> NodeSample | None:
        name = sample.name
        if name in self._fenced and off >= self._fenced[name]:
            return None
        if self._promoted and name == self._promoted[0] and off >= self._promoted[1]:
            return None
        if name in self._frozen and off >= self._frozen[name][0]:
            return None
        return self._drain(sample)

    def _drain(self, sample: NodeSample) -> NodeSample:
        return drained(sample, self._drained)

    def _simulated(self) -> list[NodeSample]:
        now = self.clock()
        out = []
        for name, since in self._fenced.items():
            if since <= self.t:
                out.append(NodeSample(name=name, observed_at=now, reachable=False,
                                      error=f"connection refused: fenced at {self.scenario.moment(since):%H:%M:%S}Z "
                                            "(simulated)"))
        for name, (since, base) in self._frozen.items():
            if since <= self.t and name not in self._fenced and not (self._promoted and self._promoted[0] == name):
                out.append(self._drain(base).model_copy(update={"observed_at": now, "wal_receiver": None}))
        if self._promoted and self._promoted[1] <= self.t:
            out.append(promoted_sample(self._promoted[2], now))
        return out

    def _update_view(self) -> ClusterView:
        samples, self._display_fed = self.feed(self._display_fed)
        now = self.clock()
        for sample in samples:           # each judged when it arrived, as the live cockpit judges it
            self._watch.update(sample, now=min(sample.observed_at, now))
        view = self.view = self._watch.update(now=now)
        if view.first_bad_at and "first_bad" not in self._alarmed:
            self._alarmed.add("first_bad")
            self.op.log("status", f"first bad signal: {view.problems[0] if view.problems else view.verdict}",
                        data={"first_bad_at": iso_utc(view.first_bad_at)})
        if view.split_brain:
            self.split_brain_seen = True
            if "split" not in self._alarmed:
                self._alarmed.add("split")
                self.op.log("alarm", view.problems[0], data={"writable": list(view.writable),
                                                             "first_bad_at": iso_utc(view.observed_at)})
        else:
            self._alarmed.discard("split")
        if self.ended and "ended" not in self._alarmed:
            self._alarmed.add("ended")
            self.op.log("system", recording_ended_text(self.scenario),
                        data={"training": {"recording_ended": True, "t": self.scenario.seconds}})
        return view


def recording_ended_text(scenario: Scenario) -> str:
    """The one sentence that tells the trainee the recording is over."""
    end = scenario.moment(scenario.seconds)
    return (f"training: the recording ended at {clock(scenario.seconds)} ({end:%H:%M:%S} UTC); nothing more was "
            "recorded, so the cluster stays as it last was, and your keys still act on it")
