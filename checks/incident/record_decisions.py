"""Who decided what: every decision with the approvals that belong to it, in one block. Pure.

The journal keeps an approval as an event of its own, often seconds after the decision it approves
(the approver seat presses ``a``). The record shows it in the decision's block:

- a stage 1 candidate decision takes the stage 1 approvals of that candidate that follow it, up
  to the next candidate decision;
- a rollback takes the failback approvals of its node since the last rollback, a keep-one-writer
  decision the keep-one-writer approvals of its node since the last such decision (both are
  approved before the decision is journaled);
- a stage 2 approval naming a node is an attestation, a block of its own (the approver decides
  that node is down);
- an approval no decision takes stays a block of its own, so nothing is ever left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from checks.incident.events import APPROVAL, DECISION, OVERRIDE, Event
from checks.observe.sample import NodeSample


def _data(e: Event) -> dict:
    return e.data or {}


def states_at(samples: Sequence[NodeSample], moment: datetime) -> list[NodeSample]:
    """The newest sample of every node at or before ``moment``, by node name."""
    latest: dict[str, NodeSample] = {}
    for s in sorted(samples, key=lambda s: s.observed_at):
        if s.observed_at <= moment:
            latest[s.name] = s
    return [latest[name] for name in sorted(latest)]


def is_attestation(e: Event) -> bool:
    return e.kind == APPROVAL and e.stage == 2 and bool(_data(e).get("node"))


def _approval(e: Event) -> dict[str, Any]:
    d = _data(e)
    return {"by": str(d.get("approved_by") or e.author), "at": e.at, "seat": e.seat, "entered_by": e.author,
            "text": e.text, "id": e.id}


def _belongs(decision: Event, approval: Event, events: Sequence[Event]) -> bool:
    d, a = _data(decision), _data(approval)
    before = (approval.at, approval.id) < (decision.at, decision.id)
    if decision.stage == 1 and d.get("candidate"):
        if before or approval.stage != 1 or a.get("candidate") != d["candidate"]:
            return False
        later = [e for e in events if e.kind == DECISION and e.stage == 1 and _data(e).get("candidate")
                 and (decision.at, decision.id) < (e.at, e.id) <= (approval.at, approval.id)]
        return not later

    def none_between(flag: str) -> bool:      # no other decision of the kind between approval and decision
        return not [e for e in events if e.kind == DECISION and _data(e).get(flag)
                    and (approval.at, approval.id) < (e.at, e.id) < (decision.at, decision.id)]

    if d.get("rollback"):
        return before and a.get("failback_to") is not None and a["failback_to"] == d.get("authoritative") \
            and none_between("rollback")
    if d.get("keep_one_writer"):
        return before and bool(a.get("keep_one_writer")) and a.get("keep") == d.get("keep") \
            and none_between("keep_one_writer")
    return False


def _needed(decision: Event, approved: bool) -> bool | None:
    """Whether the decision needed an approval: True, False, or None (not a decision that takes one)."""
    d = _data(decision)
    risk = d.get("data_risk")
    if d.get("candidate") and isinstance(risk, dict) and "within_slo" in risk:
        return not risk["within_slo"] and not risk.get("pending_fence")
    if d.get("rollback") or d.get("keep_one_writer"):
        return approved or bool(d.get("approved_by"))
    return None


def decision_blocks(events: Sequence[Event], samples: Sequence[NodeSample]) -> list[dict[str, Any]]:
    """One block per decision, override, attestation and approval no decision took, in time order."""
    approvals = [e for e in events if e.kind == APPROVAL and not is_attestation(e)]
    taken: set[int] = set()
    blocks = []
    for e in events:
        if e.kind not in (DECISION, OVERRIDE, APPROVAL):
            continue
        d = _data(e)
        block: dict[str, Any] = {
            "id": e.id, "at": e.at, "kind": "attestation" if is_attestation(e) else e.kind, "text": e.text,
            "entered_by": e.author, "seat": e.seat, "stage": e.stage,
            "proposed_by": str(d["proposed_by"]) if d.get("proposed_by") else (e.author if e.kind != APPROVAL else None),
            "candidate": d.get("candidate"), "node": d.get("node") if is_attestation(e) else None,
            "data_risk": d.get("data_risk"), "approvals": [], "approved_by_named": None, "approval_needed": None,
            "node_states": states_at(samples, e.at)}
        if e.kind == APPROVAL:
            block["approvals"] = [_approval(e)]
            block["proposed_by"] = None
        else:
            mine = [a for a in approvals if a.id not in taken and _belongs(e, a, events)]
            taken.update(a.id for a in mine)
            block["approvals"] = [_approval(a) for a in mine]
            named = d.get("approved_by")
            if named and not any(a["by"] == named for a in block["approvals"]):
                block["approved_by_named"] = str(named)
            block["approval_needed"] = _needed(e, bool(mine))
        blocks.append(block)
    return [b for b in blocks if not (b["kind"] == APPROVAL and b["id"] in taken)]
