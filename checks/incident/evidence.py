"""The evidence the runbook journals: the stages' names, every check's name, and how to find one.

Each stage proves what it did with ``evidence`` events whose data says which check it is
(``{"check": Check.PROMOTED, "node": ..., "passed": ...}``). This module owns those names, so
the code that writes a check and every reader (the gates, the record, the close, training)
spell it once (:class:`Check`, :class:`Step`); :func:`latest` finds a check's most recent data.
"""

from __future__ import annotations

from typing import Any, Iterable

from checks.observe.timeline_history import HistoryEntry

STAGES = (
    (0, "Stabilize"),
    (1, "Replica freshness"),
    (2, "Old primary"),
    (3, "Promote"),
    (4, "Cut over"),
    (5, "Verify"),
)
VERIFY_CHECKS = ("new_primary_writable", "odoo_login", "write_probe", "cron_progress", "stragglers")


class Check:
    """The name of every check, as the ``check`` key of an evidence event's data."""

    OTHERS = "others_not_writable"          # stage 2: every node but the candidate judged
    APP_PATH = "app_path_writer"            # stage 2: a node the bastion cannot reach that Odoo writes to
    FINAL_LSN = "final_lsn"                 # stage 2: the old primary's last LSN, read by the fence sequence
    PRE_PROMOTE = "pre_promote"             # stage 3: the data risk re-checked just before pg_promote
    PROMOTED = "promoted"                   # stage 3: what pg_promote came to
    TIMELINE_SWITCH = "timeline_switch"     # stage 3: the promoted node's position and timeline history
    TARGETS = "targets"                     # stage 4: every cutover target pointed at the new primary
    ONE_WRITER = "one_writer"               # split brain resolved: one writer kept
    ROLLBACK = "rollback"                   # a rollback's verification
    RPO = "rpo_measured"                    # re-protect: what the old primary held past the fork
    REPROTECT_SOURCE = "reprotect_source"   # re-protect: the new primary's checkpoint, the rewind's source
    REPROTECTED = "reprotected"             # re-protect: the old primary streams again
    REPOINT_PLAN = "repoint_plan"           # re-point: which standbys are re-pointed
    REPOINTED = "repointed"                 # re-point: one standby streams from the new primary
    STANDBYS_REPOINTED = "standbys_repointed"


class Step:
    """The name of every command step, as the ``step`` key of an ``action`` (or evidence) event's data."""

    FREEZE = "freeze"          # stage 0: a configured freeze command
    FENCE = "fence"            # stage 2: a fence command, or a step of the fence sequence
    CUTOVER = "cutover"        # stage 4: a cutover command or restart
    REPROTECT = "reprotect"    # re-protect's steps (pg_rewind, start, streaming)
    REPOINT = "repoint"        # re-pointing the other standbys


def data(event: Any) -> dict:
    """An event's data ({} when it has none)."""
    return event.data or {}


def of_check(events: Iterable[Any], check: str, *, stage: int | None = None) -> list[Any]:
    """The evidence events of ``check`` (at ``stage`` when given), in journal order."""
    return [e for e in events if e.kind == "evidence" and data(e).get("check") == check
            and (stage is None or e.stage == stage)]


def latest(events: Iterable[Any], check: str, *, stage: int | None = None) -> dict | None:
    """The data of the most recent ``check`` evidence (None before there is one)."""
    found = of_check(events, check, stage=stage)
    return data(found[-1]) if found else None


def journaled_histories(events) -> dict[int, list[HistoryEntry]]:
    """Timeline histories this incident journaled when it promoted a node (stage 3's timeline_switch)."""
    found: dict[int, list[HistoryEntry]] = {}
    for e in events:
        data = e.data or {}
        if data.get("check") == Check.TIMELINE_SWITCH and data.get("position"):
            tli = data["position"].get("timeline")
            if tli:
                found[int(tli)] = [HistoryEntry(**h) for h in data.get("history") or []]
    return found
