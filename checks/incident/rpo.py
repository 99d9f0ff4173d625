"""The RPO measured on the old primary before re-protect rewinds it (pure, from the journal).

Re-protect (:mod:`checks.aftermath.reprotect`) reads, before any rewind, what the old primary's WAL holds
past the point where the new timeline forked off, and journals it as evidence
``{"check": "rpo_measured", ...}``: its end LSN, the bytes past the fork and the transactions
committed there (with their time range when the COMMIT records give it), or why it could not be
read. After the rewind that WAL is gone, so this is the only measurement there will ever be.
The close-out and the record take their RPO from it: MEASURED ("lost: 3 transactions, 1.2 kB,
between T1 and T2"), or a lower bound and why.
"""

from __future__ import annotations

from typing import Iterable

from checks.incident.evidence import Check, Step
from checks.observe.lsn import human_bytes

CHECK = Check.RPO


def lost_words(m: dict) -> str:
    """``lost: 3 transactions, 1.2 kB, between T1 and T2`` from a measurement's data."""
    n = int(m.get("commits") or 0)
    words = f"lost: {n} transaction{'' if n == 1 else 's'}, {human_bytes(m.get('lost_bytes') or 0)}"
    first, last = m.get("first_commit_at"), m.get("last_commit_at")
    if n > 1 and first and last:
        words += f", between {first} and {last}"
    elif n == 1 and first:
        words += f", committed at {first}"
    return words


def _old_primary(events: list) -> str | None:
    """The old primary as stage 1 decided it, else the node stage 2 fenced (a drill started after the
    crash never saw it write)."""
    olds = [e.data.get("old_primary") for e in events
            if e.kind == "decision" and (e.data or {}).get("old_primary")]
    fenced = [e.data.get("node") for e in events
              if e.kind == "action" and (e.data or {}).get("step") == Step.FENCE and (e.data or {}).get("node")
              and not (e.data or {}).get("keep_one_writer")]          # a split brain's fence is another story
    return olds[-1] if olds else fenced[-1] if fenced else None


def measured_rpo(events: Iterable) -> dict | None:
    """The measurement the RPO rests on: the old primary's latest (when this incident knows which
    node that was, else every re-protected node's latest); of several, the one that lost the most,
    a lower bound before a measured zero. None when no re-protect measured anything."""
    events = list(events)
    found = {}
    for e in events:
        data = e.data or {}
        if e.kind == "evidence" and data.get("check") == CHECK and data.get("node"):
            found[data["node"]] = data
    # A standby re-pointed at the new primary (checks.aftermath.repoint) is measured too, but what it holds
    # past the fork says nothing of what the old primary committed: it never stands for the RPO.
    repointed = {n for e in events if e.kind == "evidence" and (e.data or {}).get("check") == Check.REPOINT_PLAN
                 for n in (e.data or {}).get("repoint") or ()}
    old = _old_primary(events)
    found = {n: d for n, d in found.items() if n not in repointed or n == old}
    if not found:
        return None
    if old is not None:                  # another node's measurement says nothing of the old primary's commits
        return found.get(old)
    return max(found.values(), key=lambda m: (bool(m.get("measured")) and (m.get("commits") or 0) > 0,
                                              not m.get("measured"), m.get("commits") or 0))


def close_figures(m: dict | None, figures: dict) -> dict:
    """The close-out's RPO figures with the measurement applied: MEASURED replaces the bound; an
    unreadable old primary keeps the bound and says why."""
    if m is None:
        return {}
    if m.get("measured"):
        return {"rpo_bytes": m.get("lost_bytes") or 0, "rpo_s": m.get("lost_seconds"),
                "rpo_statement": f"MEASURED on {m['node']} before its rewind: {lost_words(m)} ({m['statement']})",
                "rpo_measured": True, "rpo_transactions": int(m.get("commits") or 0)}
    before = figures.get("rpo_statement")
    return {"rpo_statement": (f"{before}; " if before else "") + f"a lower bound: {m['statement']}",
            "rpo_measured": False}


def record_line(m: dict | None, size_text: str, secs_text: str) -> str:
    """The record's ``- RPO:`` line."""
    if m is None:
        return f"- RPO: {size_text}, {secs_text}"
    if m.get("measured"):
        return f"- RPO: MEASURED on {m['node']} before its rewind: {lost_words(m)}"
    return f"- RPO: at least {size_text}, {secs_text} (a lower bound: {m['statement']})"
