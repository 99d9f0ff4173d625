"""Reading an incident journal's node samples: in a time range, the newest of each node at a moment,
and the peaks the close-out states (a mixin of :class:`checks.incident.journal.Journal`, which owns
the connection, its lock and ``_read``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checks.incident import sample_peaks
from checks.observe.sample import NodeSample, iso_utc


class JournalSamples:
    _peaks: dict[str, NodeSample] | None
    _lock: Any

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

    def _current_peaks(self) -> dict[str, NodeSample]:
        if self._peaks is None:
            self.standby_peaks()
        return dict(self._peaks or {})

