"""One seat's hold on an incident: the journal, the operator seat's locks, the operation and the record.

:class:`Session` is the one way in: the cockpit (every seat), ``drill``, ``drill --rollback`` and
``split-brain`` open a seat with it. Every seat journals its own entries and re-renders
``record.md`` after each; only the operator seat holds the exclusive lock, journals samples and
runs actions.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Callable

from checks.config.model import Cluster
from checks.errors import error_line
from checks.incident.directory import prepare_incident_dir
from checks.incident.journal import Event, Journal, JournalError
from checks.incident.operator_seat import OperatorSeat, take_operator_seat
from checks.incident.record import write_record
from checks.incident.record_time import remember_timezone
from checks.incident.record_writer import RecordWriter
from checks.observe.sample import NodeSample
from checks.runbook.notify import Notifier
from checks.runbook.operation import Operation

LOW_DISK_BYTES = 2 * 1024 * 1024


class Session:
    """Open a seat: ``seat="operator"`` takes the cluster's lock and the incident's (or raises the
    refusal naming who holds them); other seats only open or create the journal. ``announce`` journals
    "NAME joined as SEAT" (the cockpit does; the headless commands do not). ``on_warning`` hears the
    one warning a seat can have (the cluster lock lives in the fallback directory)."""

    def __init__(self, cluster_name: str, cluster: Cluster, incident: Path, *, seat: str, name: str,
                 config_path: str | None = None, create: bool = True, announce: bool = True,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.dir = Path(incident)
        self.seat = seat
        self.name = name
        self.cluster = cluster
        self.lock: OperatorSeat | None = None
        self.alarm: str | None = None
        self.roles: dict[str, str] = {}      # scribe and approver named before the incident (run --scribe/--approver)
        if seat == "operator":               # the incident's operator lock and the cluster's, or a refusal
            self.journal, self.lock = take_operator_seat(self.dir, cluster_name, cluster, name, create=create,
                                                         config_path=config_path)
            if self.lock.warning and on_warning:
                on_warning(self.lock.warning)
        else:
            prepare_incident_dir(self.dir, create=True)
            self.journal = Journal.open_or_create(self.dir, incident_id=self.dir.name, cluster=cluster_name,
                                                  config_path=config_path)
        remember_timezone(self.journal, cluster.timezone)     # the record's local zone, once per incident
        # a replay delay crossing the SLO (either way) is a sample the journal keeps: replay and the
        # record show the moment a standby went over
        self.journal.recorder.slo_replay_delay_s = cluster.slo.max_replay_delay_s
        # record.md follows the journal off the action path: at most a second behind, whole at close
        self.record = RecordWriter(lambda: write_record(self.dir, self.journal), on_error=self._record_failed,
                                   name=self.dir.name)
        self.operation = Operation(self.journal, cluster_name, cluster, author=name, seat=seat,
                                   on_event=self._after_event)
        self.notifier: Notifier | None = None     # the team's hook ([clusters.NAME.notify]), off the action path
        if cluster.notify is not None:
            self.notifier = Notifier(cluster.notify, incident=self.dir.name, cluster=cluster_name,
                                     journal=lambda kind, text, data: self.note(kind, text, data=data))
            self.operation.on_logged = self.notifier.offer
        # Kept samples are fsynced (synchronous=FULL): on a slow bastion disk that is milliseconds
        # per sample, so the operator seat writes them on a thread of its own, off the screen's.
        self._samples: queue.SimpleQueue[NodeSample | None] = queue.SimpleQueue()
        self._sample_writer = threading.Thread(target=self._write_samples, daemon=True,
                                               name=f"journal samples {self.dir.name}")
        if self.is_operator:                 # no other seat journals samples
            self._sample_writer.start()
        if announce:
            self.note("role", f"{name} joined as {seat}", data={"joined": True})
        else:
            self.write_record()

    @property
    def is_operator(self) -> bool:
        return self.lock is not None and self.lock.held

    def note(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None) -> Event | None:
        """Journal an entry from this seat; on a write failure set the alarm (the entry stays pending)."""
        try:
            event = self.journal.append(kind, text, seat=self.seat, author=self.name, stage=stage, data=data)
        except JournalError as exc:
            self.alarm = str(exc)
            return None
        if self.notifier is not None:
            self.notifier.offer(event)
        self.write_record()
        return event

    def record_sample(self, sample: NodeSample) -> None:
        """The operator seat journals samples (changes plus a periodic full one) for replay and the
        record; queued here, written by the sample writer thread in arrival order."""
        if self.is_operator:
            self._samples.put(sample)

    def _write_samples(self) -> None:
        while (sample := self._samples.get()) is not None:
            self._write_sample(sample)

    def _write_sample(self, sample: NodeSample) -> None:
        try:
            self.journal.record_sample(sample)
        except JournalError as exc:
            self.alarm = str(exc)

    def flush_samples(self, timeout_s: float = 10.0) -> None:
        """Write every queued sample and stop the writer (``close`` does this first)."""
        if self._sample_writer.is_alive():
            self._samples.put(None)
            self._sample_writer.join(timeout_s)
        while True:                          # left over if the writer was stuck past the timeout
            try:
                sample = self._samples.get_nowait()
            except queue.Empty:
                return
            if sample is not None:
                self._write_sample(sample)

    def _after_event(self, event: Event) -> None:
        if event.kind == "close":            # the close-out is in the record when the close returns
            self.flush_record()
        else:
            self.write_record()

    def write_record(self) -> None:
        """Have ``record.md`` re-rendered (within about a second: :class:`RecordWriter`)."""
        self.record.request()

    def flush_record(self) -> None:
        """Render ``record.md`` now, with every entry journaled so far."""
        self.record.flush()

    def _record_failed(self, exc: Exception) -> None:
        if isinstance(exc, JournalError):    # its sentence names the file and why
            self.alarm = str(exc)
            return
        why = error_line(exc)
        self.alarm = f"record {self.dir / 'record.md'} not written: {why}"

    def health(self) -> str | None:
        """An alarm line when the journal cannot take writes (read-only or full disk, pending entries)."""
        try:
            st = os.statvfs(self.dir)
        except OSError as exc:
            return f"incident directory {self.dir} unreadable: {exc.strerror}"
        if st.f_flag & os.ST_RDONLY:
            return f"journal {self.journal.path} is on a read-only filesystem: entries are not being saved"
        if st.f_bavail * st.f_frsize < LOW_DISK_BYTES:
            return f"journal {self.journal.path}: disk almost full ({st.f_bavail * st.f_frsize // 1024} kB free)"
        if self.journal.pending:
            try:
                self.journal.retry_pending()
            except JournalError as exc:
                return f"{exc} ({len(self.journal.pending)} entr{'y' if len(self.journal.pending) == 1 else 'ies'} waiting)"
            self.write_record()
        return self.alarm if self.alarm and self.journal.pending else None

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.close()            # what is queued is sent (each run bounded), then journaled
        self.flush_samples()
        self.record.close()                  # the record whole, with every entry, before the seat goes
        if self.lock is not None:
            self.lock.release()
        self.journal.close()
