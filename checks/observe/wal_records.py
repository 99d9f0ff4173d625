"""What WAL records past a timeline fork hold: writes of the old node's own, or only housekeeping.

Pure (records in, a judgement out), so it holds on any machine: a transaction commit or abort,
or any record carrying a transaction ID, is a write; checkpoints, running-xacts and full-page
images are not. :mod:`checks.observe.divergence` reads the records (pg_walinspect) and judges with it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

from pydantic import BaseModel, ConfigDict

from checks.observe.lsn import parse_lsn
from checks.observe.sample import iso_utc

TRANSACTION_RM = "Transaction"
COMMIT_TYPES = ("COMMIT", "COMMIT_PREPARED")
ABORT_TYPES = ("ABORT", "ABORT_PREPARED")
# A COMMIT record's description starts with its commit time: pg_walinspect prints
# "2026-12-02 15:03:50.130792+00", pg_waldump "2026-12-02 14:44:15.363 UTC".
_COMMIT_TIME = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                          r"\s*(UTC|GMT|Z|[+-]\d{2}(?::?\d{2})?)?")


class WalRecord(BaseModel):
    """One WAL record as pg_get_wal_records_info (or pg_waldump) shows it."""

    model_config = ConfigDict(frozen=True)

    resource_manager: str
    record_type: str
    xid: int = 0
    description: str = ""


class WalGroup(BaseModel):
    """The records of one resource manager and type (the WAL_RECORDS_AFTER_FORK row)."""

    model_config = ConfigDict(frozen=True)

    resource_manager: str
    record_type: str
    records: int
    with_xid: int = 0                      # records carrying a transaction ID
    first_description: str | None = None   # Transaction records only: the first and the last
    last_description: str | None = None

    @property
    def writes(self) -> bool:
        return self.resource_manager == TRANSACTION_RM or self.with_xid > 0


class WalContent(BaseModel):
    """What the old node's WAL holds from ``start_lsn`` (the fork) up to ``read_to``."""

    model_config = ConfigDict(frozen=True)

    start_lsn: str
    end_lsn: str                           # where its WAL ends
    read_to: str                           # how far it could be read (the flush / replay LSN)
    groups: tuple[WalGroup, ...] = ()

    @property
    def complete(self) -> bool:
        return (parse_lsn(self.read_to) or 0) >= (parse_lsn(self.end_lsn) or 0)

    def _count(self, types: tuple[str, ...]) -> int:
        return sum(g.records for g in self.groups if g.resource_manager == TRANSACTION_RM and g.record_type in types)

    @property
    def commits(self) -> int:
        return self._count(COMMIT_TYPES)

    @property
    def aborts(self) -> int:
        return self._count(ABORT_TYPES)

    @property
    def records(self) -> int:
        return sum(g.records for g in self.groups)

    @property
    def writes(self) -> bool:
        """A transaction committed, aborted or got an XID past the fork (or part of it was not read)."""
        return not self.complete or any(g.writes for g in self.groups)

    def _commit_times(self) -> list[datetime]:
        times = [commit_time(d) for g in self.groups if g.resource_manager == TRANSACTION_RM
                 and g.record_type in COMMIT_TYPES for d in (g.first_description, g.last_description)]
        return sorted(t for t in times if t is not None)

    @property
    def first_commit_at(self) -> str | None:
        times = self._commit_times()
        return iso_utc(times[0]) if times else None

    @property
    def last_commit_at(self) -> str | None:
        times = self._commit_times()
        return iso_utc(times[-1]) if times else None

    def kinds(self) -> str:
        """``CHECKPOINT_SHUTDOWN, RUNNING_XACTS`` (with a count when more than one)."""
        return ", ".join(g.record_type + (f" ×{g.records}" if g.records > 1 else "") for g in self.groups) or \
            "no record"

    def summary(self) -> dict:
        return {"wal_records": self.records, "commits": self.commits, "aborts": self.aborts,
                "xid_records": sum(g.with_xid for g in self.groups), "first_commit_at": self.first_commit_at,
                "last_commit_at": self.last_commit_at, "record_kinds": self.kinds(), "read_to": self.read_to,
                "complete": self.complete}


def commit_time(description: str | None) -> datetime | None:
    """The commit time a COMMIT record's description begins with, in UTC; None when it has none."""
    m = _COMMIT_TIME.match(description or "")
    if not m:
        return None
    day, hh, mm, ss, frac, zone = m.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}").replace(
            microsecond=int((frac or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        offset = -offset if zone[0] == "-" else offset
    return moment.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)


def group_records(records: Iterable[WalRecord]) -> tuple[WalGroup, ...]:
    """Records (in WAL order) into WalGroups, as WAL_RECORDS_AFTER_FORK returns them."""
    groups: dict[tuple[str, str], dict] = {}
    for r in records:
        g = groups.setdefault((r.resource_manager, r.record_type),
                              {"resource_manager": r.resource_manager, "record_type": r.record_type, "records": 0,
                               "with_xid": 0, "first_description": None, "last_description": None})
        g["records"] += 1
        g["with_xid"] += 1 if r.xid else 0
        if r.resource_manager == TRANSACTION_RM:
            g["first_description"] = g["first_description"] or r.description
            g["last_description"] = r.description
    return tuple(WalGroup(**g) for g in groups.values())


def judge_wal_records(records: Iterable[WalRecord], *, start_lsn: str, end_lsn: str,
                      read_to: str | None = None) -> WalContent:
    """What records read from the fork on hold (pure): ``.writes`` False means the old node wrote
    nothing of its own there (no commit, no abort, no XID), whatever the bytes they take."""
    return WalContent(start_lsn=start_lsn, end_lsn=end_lsn, read_to=read_to or end_lsn,
                      groups=group_records(records))
