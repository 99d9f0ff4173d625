"""Which node samples the journal keeps: every meaningful change, plus a periodic full one.

Sampling runs at about 1 Hz per node, and most ticks repeat the previous one with
the LSNs a little further on. :class:`SampleRecorder` keeps a sample when

- a state field changed: reachable, in_recovery, tx_read_only, timeline,
  replay_paused, error, system_identifier, server_version, the WAL receiver
  (status, sender host and port) or the set of replication peers and their states;
- an LSN (current, receive or replay) moved by ``lsn_step_bytes`` or more, or the
  unreplayed bytes changed by ``unreplayed_step_bytes`` or more;
- the replay delay crossed the SLO (either way);
- ``full_every_s`` seconds passed since the last sample kept for that node;
- it is the first sample of the node (or the node was :meth:`forget` -ten).

Pure: no I/O, no clock; it reads only the samples' own ``observed_at``. The caller
asks :meth:`reason`, stores the sample, and only then calls :meth:`kept`, so a
sample that failed to reach the disk does not become the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable

from checks.observe.lsn import parse_lsn
from checks.observe.sample import NodeSample

DEFAULT_FULL_EVERY_S = 10.0
DEFAULT_LSN_STEP_BYTES = 16 * 1024 * 1024  # one WAL segment
DEFAULT_UNREPLAYED_STEP_BYTES = 1024 * 1024

_STATE_FIELDS = (
    "reachable", "in_recovery", "tx_read_only", "timeline", "replay_paused", "error",
    "system_identifier", "server_version",
)
_LSN_FIELDS = ("current_lsn", "receive_lsn", "replay_lsn")
# Reasons that mark a change of state: the journal keeps the sample before one too (the last of the old state).
STATE_REASONS = frozenset(_STATE_FIELDS) | {"wal_receiver", "replication"}


def _receiver(sample: NodeSample) -> tuple | None:
    w = sample.wal_receiver
    return None if w is None else (w.status, w.sender_host, w.sender_port)


def _peers(sample: NodeSample) -> tuple:
    return tuple(sorted(
        (p.application_name or "", p.client_addr or "", p.state or "", p.sync_state or "")
        for p in sample.replication
    ))


def _lsn_moved(old: str | None, new: str | None, step: int) -> bool:
    if old is None or new is None:
        return old != new
    try:
        return abs(parse_lsn(new) - parse_lsn(old)) >= step
    except ValueError:
        return old != new


def state_change(last: NodeSample, sample: NodeSample) -> str | None:
    """The first state field in which ``sample`` differs from ``last`` (its node's previous), or None."""
    for field in _STATE_FIELDS:
        if getattr(sample, field) != getattr(last, field):
            return field
    if _receiver(sample) != _receiver(last):
        return "wal_receiver"
    if _peers(sample) != _peers(last):
        return "replication"
    return None


class SampleRecorder:
    """Decides, per node, whether a sample is worth journaling."""

    def __init__(
        self,
        *,
        full_every_s: float = DEFAULT_FULL_EVERY_S,
        lsn_step_bytes: int = DEFAULT_LSN_STEP_BYTES,
        unreplayed_step_bytes: int = DEFAULT_UNREPLAYED_STEP_BYTES,
        slo_replay_delay_s: float | None = None,
    ) -> None:
        self.full_every_s = full_every_s
        self.lsn_step_bytes = lsn_step_bytes
        self.unreplayed_step_bytes = unreplayed_step_bytes
        self.slo_replay_delay_s = slo_replay_delay_s
        self._last: dict[str, NodeSample] = {}

    def last_kept(self, node: str) -> NodeSample | None:
        return self._last.get(node)

    def reason(self, sample: NodeSample) -> str | None:
        """Why this sample should be kept (a short word), or ``None`` to drop it."""
        last = self._last.get(sample.name)
        if last is None:
            return "first"
        changed = state_change(last, sample)
        if changed is not None:
            return changed
        for field in _LSN_FIELDS:
            if _lsn_moved(getattr(last, field), getattr(sample, field), self.lsn_step_bytes):
                return field
        old_gap, new_gap = last.bytes_not_replayed, sample.bytes_not_replayed
        if (old_gap is None) != (new_gap is None) or (
            old_gap is not None and new_gap is not None and abs(new_gap - old_gap) >= self.unreplayed_step_bytes
        ):
            return "bytes_not_replayed"
        if self.slo_replay_delay_s is not None and self.over_slo(sample) != self.over_slo(last):
            return "replay_delay_slo"
        if (sample.observed_at - last.observed_at).total_seconds() >= self.full_every_s:
            return "periodic"
        if sample.observed_at < last.observed_at:
            return "clock"  # time went backwards: keep it, do not hide it
        return None

    def should_keep(self, sample: NodeSample) -> bool:
        return self.reason(sample) is not None

    def kept(self, sample: NodeSample) -> None:
        """The sample is on disk: it is the new baseline for its node."""
        self._last[sample.name] = sample

    def forget(self, node: str) -> None:
        """The next sample of ``node`` is kept whatever it holds."""
        self._last.pop(node, None)

    def offer(self, sample: NodeSample) -> bool:
        """``reason`` and ``kept`` in one step, for callers that cannot fail to store."""
        if self.reason(sample) is None:
            return False
        self.kept(sample)
        return True

    def over_slo(self, sample: NodeSample) -> bool:
        raw, slo = sample.raw_replay_delay_s, self.slo_replay_delay_s
        if raw is None or slo is None or raw <= slo:     # the delay is never more than the raw one
            return False
        delay = sample.replay_delay_s
        return delay is not None and delay > slo


def turning_points(samples: Iterable[NodeSample], *, slo_replay_delay_s: float | None = None) -> list[NodeSample]:
    """Of a journal's samples (in time order), what a resumed :class:`~checks.observe.assess.Watch`
    must see to remember what the whole journal shows. Marked: each node's first sample, and both
    sides of every change of its state (the fields, receiver and peers above, or the replay delay
    crossing the SLO). With each mark, every other node's newest sample before it: what a Watch
    remembers across nodes (the last primary's LSN while it was the only writer) is judged on the
    states all nodes were in at that moment. And each node's last sample. A night of periodic samples
    that only move the LSNs a little is left out: an incident resumed after eight hours assesses a few
    hundred samples, not thirty thousand."""
    over_slo = SampleRecorder(slo_replay_delay_s=slo_replay_delay_s).over_slo
    ordered = list(samples)
    marks: set[int] = set()
    previous: dict[str, tuple[int, bool]] = {}           # by node: its last sample's place, and over the SLO
    newest_before: list[tuple[int, ...]] = []              # at each place: every node's newest sample before it
    for i, sample in enumerate(ordered):
        newest_before.append(tuple(j for j, _ in previous.values()))
        over = over_slo(sample)
        before = previous.get(sample.name)
        if before is None:
            marks.add(i)
        elif over != before[1] or state_change(ordered[before[0]], sample) is not None:
            marks.update((before[0], i))
        previous[sample.name] = (i, over)
    wanted = marks | {i for i, _ in previous.values()}
    for m in marks:
        wanted.update(newest_before[m])
    return [ordered[i] for i in sorted(wanted)]
