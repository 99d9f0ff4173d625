"""Sitting down in the operator seat: the one sequence ``run`` (the cockpit's Session), ``drill`` and
``drill --rollback`` go through.

1. The incident directory is checked (:func:`checks.incident.directory.prepare_incident_dir`), and an existing
   journal is opened, which proves it is an incident's and of this cluster, before anything is written.
2. The cluster's lock (:class:`checks.incident.cluster_lock.ClusterLock`): one operator per cluster on the
   bastion. Held by the operator of this same incident, it steps aside for the incident's own lock,
   whose refusal (who holds the seat, join as observer) is the one that operator has always seen.
3. The directory is made if new (mode 0700), then the incident's operator lock is taken.
4. A new incident's journal is created.

A refusal at any step leaves nothing behind: the directory of a refused new incident is never made.
"""

from __future__ import annotations

from pathlib import Path

from checks.config.model import Cluster
from checks.incident.cluster_lock import ClusterLock, ClusterTaken
from checks.incident.directory import prepare_incident_dir
from checks.incident.journal import JOURNAL_FILE, Journal
from checks.incident.seats import OperatorLock


class OperatorSeat:
    """The cluster's lock and the incident's operator lock, held together."""

    def __init__(self, cluster_lock: ClusterLock, incident_lock: OperatorLock) -> None:
        self.cluster_lock = cluster_lock
        self.incident_lock = incident_lock

    @property
    def held(self) -> bool:
        return self.incident_lock.held and self.cluster_lock.held

    @property
    def warning(self) -> str | None:
        """A sentence to show when the cluster lock lives in the fallback directory."""
        return self.cluster_lock.warning

    def release(self) -> None:
        self.incident_lock.release()
        self.cluster_lock.release()


def take_operator_seat(incident: Path, cluster_name: str, cluster: Cluster, name: str, *, create: bool = True,
                       config_path: str | None = None) -> tuple[Journal, OperatorSeat]:
    """The incident's journal and the operator seat for ``name``. Raises, with one line:
    IncidentDirError or JournalError (the directory), ClusterTaken (another incident's operator has the
    cluster), SeatTaken (another process is this incident's operator), SeatError."""
    incident = Path(incident)
    if create and not incident.exists() and not incident.is_symlink():
        journal = None
    else:
        prepare_incident_dir(incident, create=False)
        journal = (Journal.open_or_create(incident, incident_id=incident.name, cluster=cluster_name,
                                          config_path=config_path)
                   if (incident / JOURNAL_FILE).exists() else None)
    cluster_lock = ClusterLock(cluster_name, cluster, incident.resolve())
    incident_lock = OperatorLock(incident)
    try:
        try:
            cluster_lock.acquire(name)
        except ClusterTaken as taken:
            if (taken.holder or {}).get("incident") != cluster_lock.incident:
                raise
            incident_lock.acquire(name)   # this incident's operator: its own lock says so (SeatTaken) ...
            raise                         # ... unless it was between taking the two locks
        prepare_incident_dir(incident, create=create)
        incident_lock.acquire(name)
        if journal is None:
            journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=cluster_name,
                                             config_path=config_path)
    except BaseException:
        incident_lock.release()
        cluster_lock.release()
        if journal is not None:
            journal.close()
        raise
    return journal, OperatorSeat(cluster_lock, incident_lock)
