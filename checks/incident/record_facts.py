"""What the record says, gathered once from the journal: record.md and ``record --json`` both render it. Pure.

:class:`RecordFacts` holds the incident's story in numbers and names (times as datetimes): whether
it is closed, the stage, the first bad signal and what failed, who decided what (with approvals,
:mod:`checks.incident.record_decisions`), the promotion, when Odoo wrote again, the RTO and the RPO
(:mod:`checks.incident.record_risk`), the action items and the status updates. The sections below
the summary (roles, commands, verification, close-out) are gathered by
:mod:`checks.incident.record_sections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from checks.incident.events import ALARM, CLOSE, DECISION, EVIDENCE, STAGE, STATUS, SYSTEM, TODO, Event
from checks.incident.evidence import Check
from checks.incident.followups import follow_ups, new_primary, off_nodes
from checks.incident.record_decisions import decision_blocks, states_at
from checks.incident.record_risk import RiskBook, rpo_facts
from checks.incident.record_text import first_line, fmt, parse_time
from checks.observe.sample import NodeSample

SIGNAL_PREFIX = "first bad signal: "


def _data(e: Event) -> dict:
    return e.data or {}


def is_reopen(e: Event) -> bool:
    return e.kind == SYSTEM and bool(_data(e).get("reopen"))


def last_repoints(events: Sequence[Event]) -> list[Event]:
    """Each standby's last re-point attempt."""
    last: dict[str, Event] = {}
    for e in events:
        if e.kind == EVIDENCE and _data(e).get("check") == Check.REPOINTED and _data(e).get("node"):
            last[_data(e)["node"]] = e
    return list(last.values())


class RecordFacts:
    """The incident's story, from its meta, events (in time order) and samples."""

    def __init__(self, meta: Mapping[str, str], events: Sequence[Event], samples: Sequence[NodeSample],
                 now: datetime) -> None:
        self.meta, self.events, self.samples, self.now = meta, list(events), list(samples), now
        self.opened = parse_time(meta.get("created_at")) or (self.events[0].at if self.events else None)
        self.close: Event | None = None          # the last close, even when reopened since
        self.reopen: Event | None = None         # a reopen after that close
        self.stage: Event | None = None
        for e in self.events:
            if e.kind == CLOSE:
                self.close, self.reopen = e, None
            elif is_reopen(e) and self.close is not None:
                self.reopen = e
            if e.kind == STAGE:
                self.stage = e
        self.closed = self.close is not None and self.reopen is None
        self.risk = RiskBook(self.events)
        self.decisions = decision_blocks(self.events, self.samples)
        self.first_signal, self.signal_text = self._first_signal()
        self.old_primary, self.old_primary_how = self._old_primary()
        self.promoted = self._promoted()
        self.odoo_wrote = self._odoo_wrote()
        self.rpo = rpo_facts(self.events, self.risk, self.close)
        self.rto = self._rto()

    # -- the story -----------------------------------------------------------------------------

    def _first_signal(self) -> tuple[datetime | None, str | None]:
        """The first bad signal (journaled, an alarm, or as the close measured the RTO from it) and its words."""
        found: list[tuple[datetime, int, str | None]] = []
        for e in self.events:
            bad = parse_time(_data(e).get("first_bad_at"))
            if bad is not None:
                found.append((bad, e.id, first_line(e.text).removeprefix(SIGNAL_PREFIX)))
            if e.kind == ALARM:
                found.append((e.at, e.id, first_line(e.text)))
        close = _data(self.close) if self.close is not None else {}
        origin = parse_time(close.get("rto_origin_at"))
        if origin is not None and close.get("rto_from") == "first bad signal":
            found.append((origin, 0, None))
        if not found:
            return None, None
        at = min(f[0] for f in found)
        words = next((f[2] for f in sorted(found, key=lambda f: (f[0], f[1])) if f[2]), None)
        return at, words

    def candidate_decisions(self) -> list[Event]:
        return [e for e in self.events if e.kind == DECISION and e.stage == 1 and _data(e).get("candidate")]

    def _old_primary(self) -> tuple[str | None, str]:
        decided = [d for e in self.candidate_decisions() if (d := _data(e).get("old_primary"))]
        if decided:
            return str(decided[-1]), "the primary"
        off = {n: how for n, how in off_nodes(self.events).items() if how != "the old primary"}
        if off:
            node, how = next(iter(off.items()))
            return node, f"never seen writable by this cockpit; {how}"
        return None, ""

    def planned(self) -> bool:
        """A planned switchover: the candidate was chosen while the old primary still wrote."""
        first = self.candidate_decisions()[:1]
        risk = _data(first[0]).get("data_risk") if first else None
        return isinstance(risk, dict) and bool(risk.get("pending_fence"))

    def old_primary_state(self) -> NodeSample | None:
        """The old primary's sample at the first candidate decision (what the decider saw)."""
        first = self.candidate_decisions()[:1]
        if not first or self.old_primary is None:
            return None
        return next((s for s in states_at(self.samples, first[0].at) if s.name == self.old_primary), None)

    def _promoted(self) -> Event | None:
        done = [e for e in self.events if e.kind == EVIDENCE and e.stage == 3
                and _data(e).get("check") == Check.PROMOTED and _data(e).get("passed")]
        return done[-1] if done else None

    def _odoo_wrote(self) -> Event | None:
        """The first Odoo write probe that passed after the promotion (the moment Odoo wrote again)."""
        after = self.promoted.at if self.promoted is not None else None
        return next((e for e in self.events if e.kind == EVIDENCE and _data(e).get("check") == "write_probe"
                     and _data(e).get("passed") and (after is None or e.at >= after)), None)

    def _rto(self) -> dict[str, Any]:
        """``seconds``, ``origin_at`` (and ``origin``: what it is), ``end_at`` (and ``end``), ``final``."""
        close = _data(self.close) if self.close is not None else {}
        origin_at = self.first_signal or self.opened
        origin = "the first bad signal" if self.first_signal else "the incident start"
        if self.close is not None:
            if close.get("rto_from"):
                origin = "the first bad signal" if close["rto_from"] == "first bad signal" else "the incident start"
            origin_at = parse_time(close.get("rto_origin_at")) or origin_at
            seconds = close.get("rto_s")
            return {"seconds": float(seconds) if isinstance(seconds, (int, float)) else None, "final": True,
                    "origin": origin, "origin_at": origin_at, "end": fmt(close.get("rto_to") or "the close"),
                    "end_at": parse_time(close.get("rto_end_at")) or (None if "rto_s" in close else self.close.at)}
        end_at = self.odoo_wrote.at if self.odoo_wrote is not None else None
        span = (end_at or self.now) - origin_at if origin_at is not None else None
        return {"seconds": max(0.0, span.total_seconds()) if span is not None else None, "final": False,
                "origin": origin, "origin_at": origin_at, "end_at": end_at,
                "end": "the Odoo write probe passing" if end_at else None}

    # -- what is left to do ------------------------------------------------------------------------

    def open_follow_ups(self) -> tuple[list[str], bool]:
        """The promotion's open follow-ups and whether they are as the close found them; ([], False)
        before any promotion."""
        if self.close is not None and isinstance(_data(self.close).get("follow_ups"), list):
            return [fmt(v) for v in _data(self.close)["follow_ups"]], True
        if self.close is None and new_primary(self.events) is None:
            return [], False
        found = follow_ups(self.events)
        found += [f"{_data(e).get('node')} was not re-pointed at {_data(e).get('primary')}: {first_line(e.text)}"
                  for e in last_repoints(self.events) if not _data(e).get("passed")]
        return found, False

    def action_items(self) -> list[dict[str, Any]]:
        """The scribe's TODOs (``/t``) and the open follow-ups, each with where it came from."""
        items: list[dict[str, Any]] = [{"kind": "todo", "text": e.text, "by": e.author, "seat": e.seat, "at": e.at}
                                       for e in self.events if e.kind == TODO]
        found, at_close = self.open_follow_ups()
        items += [{"kind": "follow_up", "text": text, "by": None, "seat": None,
                   "at": self.close.at if at_close and self.close is not None else None} for text in found]
        return items

    def status_updates(self) -> list[Event]:
        return [e for e in self.events if e.kind == STATUS]

    def stage_words(self) -> tuple[str, datetime | None]:
        """The stage line's state: ``closed``, ``passed`` (every stage, not closed), ``open``
        (a stage is open) or ``not_started``, with its time."""
        if self.closed:
            return "closed", self.close.at
        if self.stage is None:
            return "not_started", None
        if self.stage.stage is None:
            return "passed", self.stage.at
        return "open", self.stage.at

