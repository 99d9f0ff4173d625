"""Evaluate, the first decision: fail over, or not yet, with the signals and each standby's freshness.

The runbook starts before stage 0: the signals that justify a failover, and "always measure
replication lag first". The operator (or ``drill``) journals the decision as a stage 0
``decision`` event whose data holds ``evaluate`` (``fail_over`` or ``not_yet``), the signals firing
when it was made and what every standby held then. This module writes that data and reads it
back; the gates (:mod:`checks.runbook.gates`) let stage 0 pass only while the evaluation that
stands is to fail over, and the record opens with it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from checks.observe.assess import ClusterView
from checks.observe.lsn import human_bytes, human_seconds

FAIL_OVER = "fail_over"
NOT_YET = "not_yet"
DECISIONS = (FAIL_OVER, NOT_YET)
WORDS = {FAIL_OVER: "fail over", NOT_YET: "not yet"}


class Evaluation(BaseModel):
    """One journaled evaluation, read back from its event."""

    model_config = ConfigDict(frozen=True)

    decision: str
    author: str
    at: datetime
    reason: str = ""
    signals: tuple[dict[str, Any], ...] = ()
    standbys: tuple[dict[str, Any], ...] = ()

    @property
    def fail_over(self) -> bool:
        return self.decision == FAIL_OVER


def standby_freshness(view: ClusterView | None, primary: str | None = None) -> list[dict[str, Any]]:
    """What each standby holds now (the runbook's "measure lag first"): its WAL, how far replay is
    behind, and the data at risk against the last primary position seen, each with its sentence.
    Nodes that do not answer are listed too: a standby that cannot be measured is not fresh. The
    primary (writable, the last one seen, or ``primary``: the one the signals name) is not a standby."""
    if view is None:
        return []
    last = view.last_primary.node if view.last_primary is not None else primary
    found = []
    for node in view.nodes:
        s = node.sample
        if node.foreign or node.duplicate_of or node.role == "primary":
            continue
        if not s.reachable:
            if node.name == last:
                continue                     # the old primary, not a standby
            found.append({"node": node.name, "reachable": False,
                          "text": f"{node.name} does not answer: its freshness cannot be measured"})
            continue
        if s.in_recovery is not True:
            continue
        risk = (f", about {human_bytes(node.data_risk_bytes)} behind the last primary position seen"
                if node.data_risk_bytes is not None else "")
        paused = ", replay paused" if s.replay_paused else ""
        streaming = "streaming" if node.streaming else "not streaming"
        found.append({"node": node.name, "reachable": True, "held_lsn": s.held_lsn,
                      "replay_delay_s": s.replay_delay_s, "bytes_not_replayed": s.bytes_not_replayed,
                      "data_risk_bytes": node.data_risk_bytes, "streaming": node.streaming,
                      "text": (f"{node.name}: standby, {streaming}, holds WAL up to {s.held_lsn or '?'}, replay delay "
                               f"{human_seconds(s.replay_delay_s)}, {human_bytes(s.bytes_not_replayed)} not replayed"
                               f"{risk}{paused}")})
    return found


def signalled_primary(signals: Iterable[dict[str, Any]]) -> str | None:
    """The node the primary's own signals name (unreachable, restarting), if any."""
    return next((s.get("subject") for s in signals
                 if s.get("name") in ("primary_unreachable", "primary_restarts") and s.get("subject")), None)


def evaluation_data(decision: str, signals: Iterable[dict[str, Any]], standbys: Sequence[dict[str, Any]],
                    reason: str = "") -> dict[str, Any]:
    """The journaled data of an evaluation (``signals``: the firing ones, as ``status --json`` shows them)."""
    if decision not in DECISIONS:
        raise ValueError(f"an evaluation decides {' or '.join(WORDS.values())}, not {decision}")
    kept = [{k: s.get(k) for k in ("name", "subject", "since", "text")} for s in signals]
    return {"evaluate": decision, "reason": reason, "signals": kept, "standbys": list(standbys)}


def evaluation_sentence(decision: str, author: str, data: dict[str, Any]) -> str:
    """The journal line: the decision, who made it, the signals it was made on, how many standbys were measured."""
    names = ", ".join(sorted({s["name"] for s in data.get("signals") or []})) or "none"
    standbys = data.get("standbys") or []
    measured = sum(1 for s in standbys if s.get("reachable"))
    why = f" ({data['reason']})" if data.get("reason") else ""
    verb = "decided to fail over" if decision == FAIL_OVER else "decided not to fail over yet"
    return (f"evaluation: {author} {verb}{why}; signals firing: {names}; standbys measured: {measured} of "
            f"{len(standbys)}")


def evaluations(events: Iterable[Any]) -> list[Evaluation]:
    """Every journaled evaluation, in order."""
    found = []
    for e in events:
        d = e.data or {}
        if e.kind == "decision" and e.stage == 0 and d.get("evaluate") in DECISIONS:
            found.append(Evaluation(decision=d["evaluate"], author=e.author, at=e.at, reason=d.get("reason") or "",
                                    signals=tuple(d.get("signals") or ()), standbys=tuple(d.get("standbys") or ())))
    return found


def standing_evaluation(events: Iterable[Any]) -> Evaluation | None:
    """The evaluation that stands: the last one journaled (None before any)."""
    found = evaluations(events)
    return found[-1] if found else None
