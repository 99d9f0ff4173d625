"""The data risk and the RPO as the record states them: each statement once, then referred to.

A stage 1 decision journals its data-risk sentence (often 250 characters) in its text and its data;
the approval, the re-check before promotion and the close repeat it. :class:`RiskBook` collects
every distinct statement (the current one first: the re-check before promotion, else the last
candidate decision's), so the summary states each once and every other place says "the data risk
stated in the summary" instead (:meth:`RiskBook.refer`). :func:`rpo_facts` is the RPO: measured
on the old primary, or from the positions, or a lower bound with its unknown window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checks.incident.events import CLOSE, DECISION, EVIDENCE, Event
from checks.incident.evidence import Check
from checks.incident.record_text import parse_time, risk_text
from checks.incident.rpo import measured_rpo

MIN_STATEMENT = 20          # shorter "statements" (a bare "-") are never replaced in text
CURRENT_WORDS = "the data risk stated in the summary"


def _data(e: Event) -> dict:
    return e.data or {}


def _origin(e: Event) -> str:
    d = _data(e)
    if e.kind == EVIDENCE and d.get("check") == Check.PRE_PROMOTE:
        return "re-checked before promotion"
    if d.get("rollback"):
        return "for the rollback"
    if d.get("adopted"):
        return "for the adoption"
    if e.kind == DECISION and d.get("candidate"):
        return "decided"
    return "stated"


def _current(events: Sequence[Event]) -> Event | None:
    """The event whose data risk stands: the re-check before the last promotion if it came after
    the last candidate decision, else that decision, else the last event with a data risk."""
    with_risk = [e for e in events if _data(e).get("data_risk") and e.kind in (DECISION, EVIDENCE)]
    decisions = [e for e in with_risk if e.kind == DECISION and _data(e).get("candidate")]
    rechecks = [e for e in with_risk if _data(e).get("check") == Check.PRE_PROMOTE]
    if decisions and rechecks and (rechecks[-1].at, rechecks[-1].id) > (decisions[-1].at, decisions[-1].id):
        return rechecks[-1]
    return decisions[-1] if decisions else with_risk[-1] if with_risk else None


class RiskBook:
    """Every distinct data-risk statement of the incident, the current one first."""

    def __init__(self, events: Sequence[Event]) -> None:
        current = _current(events)
        self.current: dict[str, Any] | None = None
        self.entries: list[dict[str, Any]] = []          # {"statement", "at", "origin"}
        for e in events:
            if e.kind in (DECISION, EVIDENCE) and _data(e).get("data_risk"):
                self._add(e)
        if current is not None:           # the current statement first, with where it first appeared
            self.current = self._dump(current)
            statement = risk_text(_data(current)["data_risk"]).strip()
            self.entries.sort(key=lambda x: x["statement"] != statement)

    @staticmethod
    def _dump(e: Event) -> dict[str, Any]:
        risk = _data(e)["data_risk"]
        return dict(risk) if isinstance(risk, dict) else {"statement": risk_text(risk)}

    def _add(self, e: Event) -> None:
        statement = risk_text(_data(e)["data_risk"]).strip()
        if statement and statement != "-" and all(x["statement"] != statement for x in self.entries):
            self.entries.append({"statement": statement, "at": e.at, "origin": _origin(e)})

    @property
    def statement(self) -> str | None:
        return self.entries[0]["statement"] if self.entries else None

    def reference(self, statement: str, clock) -> str:
        """The words that stand for ``statement`` once the summary has stated it."""
        for i, entry in enumerate(self.entries):
            if entry["statement"] == statement.strip():
                return CURRENT_WORDS if i == 0 else \
                    f"the data risk {entry['origin']} at {clock(entry['at'])}, stated in the summary"
        return statement

    def _replaced(self) -> list[str]:
        """The statements text may hold, longest first (the record asks for each of its lines)."""
        return sorted((x["statement"] for x in self.entries if len(x["statement"]) >= MIN_STATEMENT),
                      key=lambda statement: -len(statement))

    def refer(self, text: str, clock) -> str:
        """``text`` with every statement the summary states replaced by its reference."""
        for statement in self._replaced():
            if statement in text:
                text = text.replace(statement, self.reference(statement, clock))
        return text

    def without(self, text: str) -> str:
        """``text`` with the statements left out (a short line of the summary)."""
        for statement in self._replaced():
            text = text.replace(statement, "")
        return text.strip().rstrip(":;,").strip()


def _unknown_reason(statement: str) -> str:
    """``this cockpit never saw the primary's WAL position`` from an unknown risk's sentence."""
    head, _, rest = statement.partition("committed work: ")
    return rest.split(";")[0].strip() if rest else "see the data risk"


def rpo_facts(events: Sequence[Event], book: RiskBook, close: Event | None) -> dict[str, Any]:
    """The RPO in numbers, and what it rests on: ``basis`` is ``measured`` (on the old primary, before
    its rewind), ``positions`` (exact, from WAL positions), ``lower_bound`` (at least ``bytes``, plus
    what the old primary committed after ``unknown_after``), ``unknown`` or ``not_assessed``."""
    measured = measured_rpo(events)
    risk = book.current or {}
    close_data = _data(close) if close is not None and close.kind == CLOSE else {}
    size = close_data.get("rpo_bytes", risk.get("bytes"))
    seconds = close_data.get("rpo_s", risk.get("seconds"))
    facts: dict[str, Any] = {"bytes": size if isinstance(size, int) else None,
                             "seconds": seconds if isinstance(seconds, (int, float)) else None,
                             "kind": risk.get("kind"), "unknown_after": parse_time(risk.get("unknown_after")),
                             "measurement": None, "reason": None}
    if measured is not None:
        facts["measurement"] = {k: measured.get(k) for k in ("node", "measured", "commits", "lost_bytes",
                                                             "lost_seconds", "first_commit_at", "last_commit_at",
                                                             "statement")}
    if measured is not None and measured.get("measured"):
        facts.update(basis="measured", bytes=measured.get("lost_bytes") or 0, seconds=measured.get("lost_seconds"))
    elif risk.get("kind") in ("zero", "known"):
        facts["basis"] = "positions"
    elif risk.get("kind") == "at_least" or (measured is not None and facts["bytes"] is not None):
        facts["basis"] = "lower_bound"
        if measured is not None:
            facts["reason"] = measured.get("statement")
    elif risk.get("kind") == "unknown" or book.statement:
        facts.update(basis="unknown", reason=_unknown_reason(book.statement or ""))
    else:
        facts["basis"] = "not_assessed"
    return facts
