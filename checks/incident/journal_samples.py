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
from checks.incident.schema import SCHEMA_VERSION
from checks.observe.sample import NodeSample, iso_utc
from checks.observe.sample_policy import SampleRecorder, state_change, turning_points

TURNING_LOOKUPS_MAX = 20_000
"""Above this many lookups (marks times nodes) a resume reads the samples whole instead."""


class JournalSamples:
    _turning: bool | None = None                                    # the journal has a turning_points table
    _current = False                                                # its schema version is this cockpit's
    _lock: Any
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
        rows = self._read("SELECT value FROM meta WHERE key = ?", (sample_peaks.META_KEY,))
        peaks = (sample_peaks.loads(rows[0][0]) if rows else
                 sample_peaks.of_samples(s for s in self.samples() if s.in_recovery))
        return list(peaks.values())

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
        """What a resumed Watch must see (:func:`turning_points`), in time order: the samples marked as
        they were written (each node's first, and both sides of each change of its state), every other
        node's newest sample before each mark, and each node's newest. A journal made before marks
        were kept has no ``turning_points`` table: it is read whole, once. (The marks were judged with
        the SLO the recorder had when they were written, the one ``Session`` gives it.)"""
        if not self._has_turning_table():
            return turning_points(self.samples(), slo_replay_delay_s=slo_replay_delay_s)
        marks = self._read("SELECT s.id, s.at FROM samples s JOIN turning_points t ON t.sample_id = s.id")
        nodes = [n for (n,) in self._read("SELECT DISTINCT node FROM samples")]
        if len(marks) * len(nodes) > TURNING_LOOKUPS_MAX:     # a node flapping all night: reading it whole is faster
            return turning_points(self.samples(), slo_replay_delay_s=slo_replay_delay_s)
        wanted = {row_id for row_id, _ in marks}
        for row_id, at in marks:                  # the context of each mark: every node's state just before it
            for node in nodes:
                wanted.update(r[0] for r in self._read(
                    "SELECT id FROM samples WHERE node = ? AND (at < ? OR (at = ? AND id < ?)) ORDER BY at DESC, "
                    "id DESC LIMIT 1", (node, at, at, row_id)))
        for node in nodes:
            wanted.update(r[0] for r in self._read(
                "SELECT id FROM samples WHERE node = ? ORDER BY at DESC, id DESC LIMIT 1", (node,)))
        ids = sorted(wanted)
        rows = [r for i in range(0, len(ids), 500) for r in self._read(      # SQLite's bound on parameters
            f"SELECT at, id, data FROM samples WHERE id IN ({', '.join('?' * len(ids[i:i + 500]))})",
            tuple(ids[i:i + 500]))]
        return [NodeSample.model_validate_json(data) for _, _, data in sorted(rows)]

    def _has_turning_table(self) -> bool:
        if self._turning is None:
            self._turning = bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                            "name = 'turning_points'"))
        return self._turning

    def _note_sample(self, conn, sample: NodeSample, sample_id: int) -> None:
        """In the sample's own transaction (which holds the journal's write lock, so what is read here is
        what every process wrote): a new peak, and the marks it makes, by the rule of
        :func:`turning_points`: itself when it is its node's first, and both sides of a change of state
        with its neighbours in time (a sample written after newer ones, as an action's round can be, is
        judged where it falls)."""
        if not self._current:
            self._upgrade(conn)
        stored = conn.execute("SELECT value FROM meta WHERE key = ?", (sample_peaks.META_KEY,)).fetchone()
        if stored is not None:
            peaks = sample_peaks.raised(sample_peaks.loads(stored[0]), sample)
        else:       # the first sample, or a journal from before peaks were kept: every standby sample, this one too
            peaks = sample_peaks.of_samples(s for s in self.samples() if s.in_recovery)
        if peaks is not None:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                         "excluded.value", (sample_peaks.META_KEY, sample_peaks.dumps(peaks)))
        if not self._has_turning_table():
            return
        at = iso_utc(sample.observed_at)
        before = conn.execute("SELECT id, data FROM samples WHERE node = ? AND id != ? AND (at < ? OR (at = ? AND "
                              "id < ?)) ORDER BY at DESC, id DESC LIMIT 1",
                              (sample.name, sample_id, at, at, sample_id)).fetchone()
        after = conn.execute("SELECT id, data FROM samples WHERE node = ? AND id != ? AND (at > ? OR (at = ? AND "
                             "id > ?)) ORDER BY at, id LIMIT 1", (sample.name, sample_id, at, at, sample_id)).fetchone()
        marks = set() if before is not None else {sample_id}
        for row in (before, after):
            if row is not None and self._changed(NodeSample.model_validate_json(row[1]), sample):
                marks.update((row[0], sample_id))
        conn.executemany("INSERT OR IGNORE INTO turning_points (sample_id) VALUES (?)", [(m,) for m in marks])

    def _upgrade(self, conn) -> None:
        """A version 1 journal (:mod:`checks.incident.schema`) becomes version 2 in the transaction of the
        first sample written to it: its peaks counted again from every sample (the else branch of
        :meth:`_note_sample`), and its marks made again from every sample by the same rule."""
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.execute("DELETE FROM meta WHERE key = ?", (sample_peaks.META_KEY,))
            conn.execute("CREATE TABLE IF NOT EXISTS turning_points (sample_id INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM turning_points")
            marks, last = set(), {}
            for row_id, node, data in conn.execute("SELECT id, node, data FROM samples ORDER BY node, at, id"):
                sample = NodeSample.model_validate_json(data)
                before = last.get(node)
                if before is None:
                    marks.add(row_id)
                elif self._changed(before[1], sample):
                    marks.update((before[0], row_id))
                last[node] = (row_id, sample)
            conn.executemany("INSERT INTO turning_points (sample_id) VALUES (?)", [(m,) for m in marks])
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._turning = True
        self._current = True

    def _changed(self, one: NodeSample, other: NodeSample) -> bool:
        over = self.recorder.over_slo
        return state_change(one, other) is not None or over(one) != over(other)

