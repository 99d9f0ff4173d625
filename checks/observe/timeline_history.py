"""Timeline history files (``pg_wal/<TLI>.history``) and where two histories fork: pure.

Each line says where an ancestor timeline ended (``parentTLI<TAB>switchpoint<TAB>reason``).
LSNs compare only along one history: :mod:`checks.observe.divergence` (did the old node write past the
fork?) and :mod:`checks.observe.lineage` (is a candidate on the writer's branch?) both start here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from checks.config.redact import redact
from checks.errors import CockpitError
from checks.observe.lsn import format_lsn, parse_lsn


class DivergenceError(CockpitError):
    """The question cannot be answered; the message is one redacted line naming the node."""


class HistoryEntry(BaseModel):
    """One line of a timeline history file: ``parent_tli`` ended at ``switch_lsn``."""

    model_config = ConfigDict(frozen=True)

    parent_tli: int
    switch_lsn: str
    reason: str = ""


def history_file(tli: int) -> str:
    """``pg_wal/00000002.history`` for timeline 2 (the path pg_read_file takes, relative to PGDATA)."""
    return f"pg_wal/{tli:08X}.history"


def parse_history(text: str, *, node: str, tli: int) -> list[HistoryEntry]:
    """Parse a history file as PostgreSQL does: blank and ``#`` lines skipped, then
    ``parentTLI switchpoint [reason]`` separated by white space; TLIs must increase and stay below ``tli``."""
    where = f"{node}: {history_file(tli)}"
    entries: list[HistoryEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        try:
            parent = int(parts[0])
            lsn = format_lsn(parse_lsn(parts[1]))
        except (IndexError, ValueError):
            raise DivergenceError(f"{where} line {number} is not 'parentTLI<TAB>switchpoint<TAB>reason': "
                                  f"{redact(line)[:80]!r}") from None
        if entries and parent <= entries[-1].parent_tli:
            raise DivergenceError(f"{where} line {number}: timeline IDs must increase ({parent} after "
                                  f"{entries[-1].parent_tli})")
        if entries and parse_lsn(lsn) < parse_lsn(entries[-1].switch_lsn):
            raise DivergenceError(f"{where} line {number}: switch point {lsn} is before the previous one")
        if parent >= tli:
            raise DivergenceError(f"{where} line {number}: parent timeline {parent} is not below {tli}")
        entries.append(HistoryEntry(parent_tli=parent, switch_lsn=lsn, reason=parts[2] if len(parts) > 2 else ""))
    return entries


TimelinePath = list[tuple[int, int | None]]


def timeline_path(history: list[HistoryEntry], current: int) -> TimelinePath:
    """A node's history as (timeline, end LSN) segments, oldest first; the current one is open (None)."""
    return [(e.parent_tli, parse_lsn(e.switch_lsn)) for e in history] + [(current, None)]


def fork_point(a: TimelinePath, b: TimelinePath) -> tuple[int, int | None] | None:
    """The last timeline two histories share and the LSN up to which they agree on it
    (None: they agree on all of it, the same open timeline); None when they share nothing."""
    last = None
    for (ta, ea), (tb, eb) in zip(a, b):
        if ta != tb:
            break
        ends = [e for e in (ea, eb) if e is not None]
        last = (ta, min(ends) if ends else None)
        if ea != eb:
            break
    return last
