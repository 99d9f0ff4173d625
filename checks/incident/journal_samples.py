"""An incident journal's node samples: reading them (in a time range, the newest of each node at a
moment) and what is kept about them as they are written, so that a long incident is never read whole
(issue 17): the peaks the close-out states (:mod:`checks.incident.sample_peaks`, in ``meta``) and the
turning points a resumed seat's Watch is fed (:func:`checks.observe.sample_policy.turning_points`, their
ids in the ``turning_points`` table, with each node's newest sample). A mixin of
:class:`checks.incident.journal.Journal`, which owns the connection, its lock and ``_read``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checks.incident import sample_peaks
from checks.observe.sample import NodeSample, iso_utc
from checks.observe.sample_policy import SampleRecorder, state_change, turning_points


class JournalSamples:
    _peaks: dict[str, NodeSample] | None = None
    _previous: dict[str, tuple[int, NodeSample]] | None = None     # by node: its newest sample on disk, with its id
    _turning: bool | None = None                                    # the journal has a turning_points table
    _lock: Any
    _conn: Any
    recorder: SampleRecorder

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def samples(self, node: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[NodeSample]:
        """Journaled samples in time order; ``since`` and ``until`` are inclusive."""
        clauses, params = [], []
        if node is not None:
            clauses.append("node = ?")
            params.append(node)
        if since is not None:
            clauses.append("at >= ?")
            params.append(iso_utc(since))
        if until is not None:
            clauses.append("at <= ?")
            params.append(iso_utc(until))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(f"SELECT data FROM samples{where} ORDER BY at, id", tuple(params))
        return [NodeSample.model_validate_json(r[0]) for r in rows]

    def standby_peaks(self) -> list[NodeSample]:
        """The standby samples that hold the incident's peaks (the largest replay delay, the most bytes
        not replayed): kept as samples are written (:mod:`checks.incident.sample_peaks`), not read from
        every sample at close; a journal from before that is read whole once."""
        with self._lock:
            if self._peaks is None:
                rows = self._read("SELECT value FROM meta WHERE key = ?", (sample_peaks.META_KEY,))
                self._peaks = (sample_peaks.loads(rows[0][0]) if rows else
                               sample_peaks.of_samples(s for s in self.samples() if s.in_recovery))
            return list(self._peaks.values())

    def latest_samples(self) -> dict[str, NodeSample]:
        """The newest journaled sample of every node."""
        return self.samples_at(None)

    def samples_at(self, moment: datetime | None) -> dict[str, NodeSample]:
        """The newest journaled sample of every node at or before ``moment`` (None: the newest of all)."""
        at = iso_utc(moment) if moment is not None else "9999"
        found = {}
        for (node,) in self._read("SELECT DISTINCT node FROM samples ORDER BY node"):
            rows = self._read("SELECT data FROM samples WHERE node = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1",
                              (node, at))
            if rows:
                found[node] = NodeSample.model_validate_json(rows[0][0])
        return found

    def turning_samples(self, *, slo_replay_delay_s: float | None = None) -> list[NodeSample]:
        """The journal's turning points and each node's newest sample, in time order: what a resumed
        Watch must see (:func:`turning_points`), read from the ids kept as samples were written. A
        journal made before they were kept has no such table: it is read whole, once."""
        if not self._has_turning_table():
            return turning_points(self.samples(), slo_replay_delay_s=slo_replay_delay_s)
        rows = self._read("SELECT data FROM samples WHERE id IN (SELECT sample_id FROM turning_points UNION "
                          "SELECT (SELECT t.id FROM samples t WHERE t.node = n.node ORDER BY t.at DESC, t.id DESC "
                          "LIMIT 1) FROM (SELECT DISTINCT node FROM samples) n) ORDER BY at, id")
        return [NodeSample.model_validate_json(r[0]) for r in rows]

    def _has_turning_table(self) -> bool:
        if self._turning is None:
            self._turning = bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                            "name = 'turning_points'"))
        return self._turning

    def _note_sample(self, conn, sample: NodeSample, sample_id: int) -> None:
        """In the sample's own transaction: a new peak, and the turning points it makes (itself and the
        node's sample before it when its state changed, by the rule of :func:`turning_points`)."""
        if self._peaks is None:
            self.standby_peaks()
        peaks = sample_peaks.raised(dict(self._peaks or {}), sample)
        if peaks is not None:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                         "excluded.value", (sample_peaks.META_KEY, sample_peaks.dumps(peaks)))
            self._peaks = peaks
        if not self._has_turning_table():
            return
        if self._previous is None:
            self._previous = {}
            for row_id, data in conn.execute("SELECT s.id, s.data FROM samples s WHERE s.id = (SELECT t.id FROM "
                                             "samples t WHERE t.node = s.node AND t.id < ? ORDER BY t.at DESC, t.id "
                                             "DESC LIMIT 1)", (sample_id,)):
                before = NodeSample.model_validate_json(data)
                self._previous[before.name] = (row_id, before)
        before = self._previous.get(sample.name)
        over = self.recorder.over_slo
        if before is None:
            marks = (sample_id,)
        elif state_change(before[1], sample) is not None or over(sample) != over(before[1]):
            marks = (before[0], sample_id)
        else:
            marks = ()
        conn.executemany("INSERT OR IGNORE INTO turning_points (sample_id) VALUES (?)", [(m,) for m in marks])
        self._previous[sample.name] = (sample_id, sample)

    def _forget_notes(self) -> None:
        """A write failed and was rolled back: what was kept in memory is read from disk again."""
        self._peaks = self._previous = None

