"""The events the gates read, indexed as they arrive (issue 17: an incident that lasts all night).

:func:`checks.runbook.gates.evaluate` judges every stage from the journal. Judging over the whole
event list costs the journal's length, and the close-out's time per stage and the stage-change
notes judge after every gate event, so a long incident paid that length again and again. A
:class:`GateEvents` is fed each event once (:meth:`add`) and keeps, by stage and kind, only what a
gate reads: the roles, the stage events, the standing close, and stage 5's evidence since the last
reopen by verification run. Judging it then costs what the gates read, not what the night wrote.

The result is the same as judging the list: ``evaluate(cluster, events)`` is
``judge(cluster, GateEvents(events))``, and the close-out's incremental walk is tested against the
full one on a recorded journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ROLE_NAMES = ("operator", "scribe", "approver")
GATE_KINDS = frozenset({"role", "action", "evidence", "approval", "decision"})
"""The kinds of event that can move a gate (a note, a status or an alarm never does)."""


def _data(event: Any) -> dict:
    return event.data or {}


def is_reopen(event: Any) -> bool:
    """A reopen is journaled as a ``system`` event whose data says ``reopen``."""
    return event.kind == "system" and bool(_data(event).get("reopen"))


class GateEvents:
    """The gate-relevant events of an incident, in journal order, by stage and kind."""

    def __init__(self, events: Iterable[Any] = ()) -> None:
        self.roles: dict[str, str] = {}
        self._by_stage: dict[tuple[int | None, str], list[Any]] = {}
        self._position: dict[int, int] = {}              # id(event) -> its place among the events fed
        self.standing_close: Any | None = None           # the last close with no reopen after it
        self.last_stage_note: Any | None = None          # the last ``stage`` event (the current stage shown)
        self._verify_runs: dict[Any, list[Any]] = {}     # stage 5 evidence since the last reopen, by run
        self._last_run: Any = None
        self.extend(events)

    def extend(self, events: Iterable[Any]) -> GateEvents:
        for event in events:
            self.add(event)
        return self

    def add(self, event: Any) -> None:
        kind, stage, data = event.kind, event.stage, _data(event)
        self._position[id(event)] = len(self._position)
        if kind == "role" and isinstance(data.get("roles"), dict):
            self.roles.update({k: v for k, v in data["roles"].items() if k in ROLE_NAMES and v})
        elif kind == "close":
            self.standing_close = event
        elif is_reopen(event):
            self.standing_close = None
            self._verify_runs, self._last_run = {}, None
        elif kind == "stage":
            self.last_stage_note = event
        if stage is not None and kind in ("decision", "action", "evidence", "approval"):
            self._by_stage.setdefault((stage, kind), []).append(event)
            if stage == 5 and kind == "evidence":
                run = data.get("verify_run")
                self._verify_runs.setdefault(run, []).append(event)
                self._last_run = run

    def of(self, stage: int, kind: str) -> list[Any]:
        """The events of ``stage`` of this kind, in journal order."""
        return list(self._by_stage.get((stage, kind), ()))

    def after(self, event: Any, candidates: list[Any]) -> list[Any]:
        """Those of ``candidates`` fed after ``event``."""
        mark = self._position[id(event)]
        return [e for e in candidates if self._position[id(e)] > mark]

    def last_verification(self) -> list[Any]:
        """The evidence of the last verification run since the last reopen (empty before one)."""
        return list(self._verify_runs.get(self._last_run, ()))
