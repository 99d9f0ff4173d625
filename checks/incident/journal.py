"""The incident journal: the durable truth of an incident (docs/design.md section 5.2).

One SQLite file, ``journal.sqlite3``, in the incident directory: WAL mode,
``synchronous=FULL``, a schema version in ``PRAGMA user_version``. Several
processes (the seats) read and write it at once: every write is its own short,
committed transaction, and a busy timeout makes a writer wait for another.

Every text and every string inside ``data`` goes through :func:`checks.config.redact.redact` (values
under secret-looking keys masked whole), then :func:`checks.config.text.visible` (an ESC stored as ``\x1b``).

A write that fails (disk full, read-only disk, the file locked for too long) raises
:class:`JournalWriteError` with one line to show as an alarm. The event is not
lost: it stays in :attr:`Journal.pending` (already redacted, with its original
time) and is written, in order, by :meth:`Journal.retry_pending` or before the
next :meth:`Journal.append`.

Other seats see new entries by polling ``events(after_id=last_seen)``: an indexed
range read, cheap enough for every few hundred milliseconds."""

from __future__ import annotations

import bisect
import json
import os
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from checks.config.redact import redact
from checks.config.text import visible, visible_data
from checks.errors import error_line
from checks.incident.directory import JOURNAL_FILE, check_no_symlinks, prepare_incident_dir
from checks.incident.errors import (  # noqa: F401  (raised here; callers catch them from the journal)
    JournalError, JournalWriteError
)
from checks.incident.events import (  # noqa: F401  (re-exported: the kinds are part of the journal's API)
    ACTION, ALARM, APPROVAL, CLOSE, DECISION, EVIDENCE, KINDS, NOTE, OVERRIDE, ROLE, STAGE, STATUS, SYSTEM, TODO, Event,
    PendingEvent, redact_data, to_json
)
from checks.incident.journal_samples import JournalSamples
from checks.incident.schema import SCHEMA as _SCHEMA
from checks.incident.schema import SCHEMA_VERSION
from checks.incident.seats import SEATS
from checks.observe.sample import NodeSample, iso_utc, utcnow
from checks.observe.sample_policy import STATE_REASONS, SampleRecorder

BUSY_TIMEOUT_MS = 5000

# Before these are journaled, the newest sample of every node is written too, so the
# record can show the node states at the moment of the decision.
SNAPSHOT_KINDS = frozenset({DECISION, APPROVAL, OVERRIDE, ACTION, STAGE, CLOSE})



class _NoSchema(JournalError):
    """A SQLite file without the incident schema (perhaps another seat is creating it right now)."""


def _parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _reason(exc: BaseException) -> str:
    return redact(error_line(exc))


class Journal(JournalSamples):
    """An open incident journal. Use :meth:`create`, :meth:`open` or :meth:`open_or_create`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, recorder: SampleRecorder | None = None) -> None:
        self.dir = directory
        self.path = directory / JOURNAL_FILE
        self._conn = conn
        self._lock = threading.RLock()
        self.pending: list[PendingEvent] = []
        self.recorder = recorder or SampleRecorder()
        self._unstored: dict[str, NodeSample] = {}
        self._read_events: list[Event] = []       # every event read so far, in id order (see events)
        self.meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())

    # -- opening ------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
        mode = "rwc" if create else "rw"
        uri = "file:" + str(path.absolute()).replace("?", "%3f").replace("#", "%23") + f"?mode={mode}"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError as exc:  # cannot open: permissions, a missing directory, locked
            if create:
                raise JournalWriteError(f"journal {path} is not writable: {_reason(exc)}") from None
            raise JournalError(f"journal {path} cannot be opened: {_reason(exc)}") from None
        except sqlite3.DatabaseError as exc:  # "file is not a database"
            raise JournalError(f"{path} is not an incident journal: {_reason(exc)}") from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise JournalError(
                f"journal {path} has schema version {version}, newer than this cockpit reads ({SCHEMA_VERSION}): "
                "upgrade failover-cockpit to open it"
            )
        return conn

    @classmethod
    def create(cls, dir: Path, *, incident_id: str, cluster: str, config_path: Path | str | None = None,
               recorder: SampleRecorder | None = None) -> Journal:
        """A new incident: the directory (mode 0700 when made here) and its journal."""
        dir = Path(dir)
        path = dir / JOURNAL_FILE
        if path.exists():
            raise JournalError(f"{dir} already holds an incident journal: open it instead of creating one")

        prepare_incident_dir(dir, create=True)  # mode 0700 when made here; refuses a link or a stranger's files
        try:
            conn = cls._connect(path, create=True)
            os.chmod(path, 0o600)
        except OSError as exc:
            raise JournalWriteError(f"journal {path} is not writable: {_reason(exc)}") from None
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise JournalWriteError(f"journal {path} is not writable: WAL mode refused")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                rows = {"incident_id": incident_id, "cluster": cluster, "created_at": iso_utc(utcnow())}
                if config_path is not None:
                    rows["config"] = str(config_path)
                conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                                 [(k, redact(v)) for k, v in rows.items()])
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise JournalWriteError(f"journal {path} is not writable: {_reason(exc)}") from None
        return cls(dir, conn, recorder)

    @classmethod
    def open(cls, dir: Path, *, recorder: SampleRecorder | None = None) -> Journal:
        """An existing incident; JournalError if ``dir`` is not one or its schema is newer."""

        dir = Path(dir)
        path = dir / JOURNAL_FILE
        check_no_symlinks(dir)
        if not dir.is_dir():
            raise JournalError(f"{dir} is not an incident directory: no such directory")
        if not path.is_file():
            raise JournalError(f"{dir} is not an incident directory: it has no {JOURNAL_FILE}")
        conn = cls._connect(path, create=False)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            has_meta = version and conn.execute(
                "SELECT 1 FROM meta WHERE key = 'incident_id'").fetchone() is not None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"{path} is not an incident journal: {_reason(exc)}") from None
        if not has_meta:
            conn.close()
            raise _NoSchema(f"{path} is not an incident journal: it has no incident schema")
        return cls(dir, conn, recorder)

    @classmethod
    def open_or_create(cls, dir: Path, *, incident_id: str, cluster: str, config_path: Path | str | None = None,
                       recorder: SampleRecorder | None = None) -> Journal:
        """Resume the incident in ``dir`` if there is one (it must be of ``cluster``), else start it."""
        dir = Path(dir)
        if not (dir / JOURNAL_FILE).exists():
            try:
                return cls.create(dir, incident_id=incident_id, cluster=cluster, config_path=config_path,
                                  recorder=recorder)
            except JournalError:
                if not (dir / JOURNAL_FILE).exists():
                    raise
        for attempt in range(20):
            try:
                journal = cls.open(dir, recorder=recorder)
                break
            except _NoSchema:
                if attempt == 19:
                    raise
                time.sleep(0.05)  # another seat created the file a moment ago and is writing the schema
        if journal.cluster != cluster:
            journal.close()
            raise JournalError(f"incident {dir} is of cluster '{journal.meta.get('cluster')}', not '{cluster}'")
        return journal

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- facts about the journal -------------------------------------------------------

    @property
    def incident_id(self) -> str:
        return self.meta.get("incident_id", "")

    @property
    def cluster(self) -> str:
        return self.meta.get("cluster", "")

    def pragmas(self) -> dict[str, Any]:
        """This connection's journal_mode, synchronous (2 = FULL), busy_timeout and user_version."""
        with self._lock:
            return {name: self._conn.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("journal_mode", "synchronous", "busy_timeout", "user_version")}

    def set_meta(self, key: str, value: str) -> None:
        self._write(lambda c: c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, redact(value))))
        self.meta[key] = redact(value)

    # -- writing -----------------------------------------------------------------------

    def _write(self, work) -> Any:
        """Run ``work(conn)`` in one committed immediate transaction; JournalWriteError on failure."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                result = work(self._conn)
                self._conn.execute("COMMIT")
                return result
            except (sqlite3.Error, OSError) as exc:
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._current, self._turning = False, None      # an upgrade it held is undone too: ask again
                raise JournalWriteError(f"journal {self.path} is not writable: {_reason(exc)}") from None

    def append(self, kind: str, text: str, *, seat: str, author: str, stage: int | None = None,
               data: dict[str, Any] | None = None) -> Event:
        """Journal one event (redacted) and return it as stored.

        Raises JournalWriteError if it cannot be written; the event then waits in
        :attr:`pending` and is written first by the next append or :meth:`retry_pending`."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r} (kinds: {', '.join(sorted(KINDS))})")
        if seat not in SEATS:
            raise ValueError(f"unknown seat {seat!r} (seats: {', '.join(SEATS)})")
        if stage is not None and not isinstance(stage, int):
            raise ValueError("stage must be an int or None")
        event = PendingEvent(at=utcnow(), seat=seat, author=visible(redact(author), multiline=False), kind=kind,
                             stage=stage, text=visible(redact(text)), data=visible_data(json.loads(to_json(data or {}))))
        with self._lock:
            self.pending.append(event)
            stored = self.retry_pending()
            return stored[-1]

    def retry_pending(self) -> list[Event]:
        """Write the pending events in order; returns those written. Raises JournalWriteError
        (and keeps the rest pending) at the first that still fails."""
        written: list[Event] = []
        with self._lock:
            while self.pending:
                event = self.pending[0]
                snapshot = list(self._unstored.values()) if event.kind in SNAPSHOT_KINDS else []
                event_id = self._write(lambda c, e=event, s=snapshot: self._insert_event(c, e, s))
                self.pending.pop(0)
                for sample in snapshot:
                    self._stored(sample)
                written.append(Event(id=event_id, **event.model_dump()))
        return written

    def _insert_event(self, conn: sqlite3.Connection, event: PendingEvent, samples: list[NodeSample]) -> int:
        for sample in samples:
            self._insert_sample(conn, sample)
        cur = conn.execute(
            "INSERT INTO events (at, seat, author, kind, stage, text, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (iso_utc(event.at), event.seat, event.author, event.kind, event.stage, event.text,
             to_json(event.data)),
        )
        return cur.lastrowid

    def _insert_sample(self, conn: sqlite3.Connection, sample: NodeSample) -> None:
        cur = conn.execute("INSERT INTO samples (at, node, data) VALUES (?, ?, ?)",
                           (iso_utc(sample.observed_at), sample.name, to_json(sample.model_dump(mode="json"))))
        self._note_sample(conn, sample, cur.lastrowid)     # its peaks and turning points, same transaction

    def _stored(self, sample: NodeSample) -> None:
        self.recorder.kept(sample)
        if self._unstored.get(sample.name) is sample:
            del self._unstored[sample.name]

    def record_sample(self, sample: NodeSample, *, force: bool = False) -> bool:
        """Journal the sample if the recorder's policy keeps it (or ``force``); True if written.

        A sample that fails to write raises JournalWriteError and is not queued: the next
        one supersedes it, and the node's next sample is kept whatever it holds."""
        with self._lock:
            reason = self.recorder.reason(sample)
            if not force and reason is None:
                self._unstored[sample.name] = sample
                return False
            # At a state change the dropped sample before it was the node's last good one: kept first,
            # so replay and the record show the last LSN and time the operator saw.
            before = self._unstored.pop(sample.name, None) if reason in STATE_REASONS else None
            rows = [s for s in (before, sample) if s is not None and s.observed_at <= sample.observed_at]
            try:
                self._write(lambda c: [self._insert_sample(c, s) for s in rows])
            except JournalWriteError:
                self.recorder.forget(sample.name)
                raise
            finally:
                self._unstored.pop(sample.name, None)
            self.recorder.kept(sample)
            return True

    # -- reading -----------------------------------------------------------------------

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path} cannot be read: {_reason(exc)}") from None

    def events(self, after_id: int = 0, kinds: set[str] | None = None) -> list[Event]:
        """Events with an id above ``after_id``, in id (commit) order, optionally of some kinds.

        Each event is read from the file once: a journal keeps what it read and asks only for the
        ids above it (writers take turns, so an id below the newest read never commits later). An
        all-night incident's ten thousand events are not parsed again at every action."""
        if kinds is not None and not kinds:
            return []
        with self._lock:
            rows = self._read("SELECT id, at, seat, author, kind, stage, text, data FROM events WHERE id > ? "
                              "ORDER BY id", (self._read_events[-1].id if self._read_events else 0,))
            self._read_events.extend(
                Event(id=r[0], at=_parse_at(r[1]), seat=r[2], author=r[3], kind=r[4], stage=r[5], text=r[6],
                      data=json.loads(r[7])) for r in rows)
            found = self._read_events
            if after_id:
                found = found[bisect.bisect_right(found, after_id, key=lambda e: e.id):]
            return [e for e in found if e.kind in kinds] if kinds is not None else list(found)

    def last_event_id(self) -> int:
        return self._read("SELECT coalesce(max(id), 0) FROM events")[0][0]

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (for measuring and archiving; never needed for safety)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
