"""Stage 2's fence and stage 3's promotion, as actions on an :class:`~checks.runbook.operation.Operation`.

Promotion re-checks everything just before it acts: the candidate still in recovery,
no other node writable or unproven, the data risk no worse than the one decided.
"""

from __future__ import annotations

from checks.observe.connect import NodeUnreachable, node_connection
from checks.observe.divergence import DivergenceError, read_node
from checks.stages.fence import FenceOutcome, fence_sequence, needs_fencing
from checks.runbook.operation import GateRefused, Operation
from checks.stages.promote import PromotionResult, promote_on
from checks.runbook.risk import DataRisk
from checks.runbook.gates import approval_problem, attestations

_RISK_RANK = {"zero": 0, "known": 1, "at_least": 2, "unknown": 3}


async def fence_old_primary(op: Operation, *, allowed: bool) -> list[FenceOutcome]:
    """Fence every other node that is writable or unreachable without proof, then check again.
    The record is re-rendered once, at the end: this runs while PgBouncer holds Odoo's requests."""
    with op.one_record_update():
        return await _fence_old_primary(op, allowed=allowed)


async def _fence_old_primary(op: Operation, *, allowed: bool) -> list[FenceOutcome]:
    state = op.require(2, "fence")
    if not allowed:
        raise op.refuse("fence", "fencing runs the configured fence command: allow it (drill --fence, "
                        "or confirm in the cockpit)", 2)
    view = await op.refresh()
    op.refuse_if_promoted_elsewhere("fence", view, 2)
    evidence = op.judge(state, view)
    targets = needs_fencing(evidence)
    if not targets:
        raise op.refuse("fence", "no node needs fencing: every other node is read-only or proven down", 2)
    outcomes = []
    for name in targets:
        def journal_step(step, command, name=name):
            if command is not None:
                op.log_command(command, stage=2, step="fence", node=name)
            else:
                op.log("action", step.text, stage=2, data={"step": step.name, "node": name,
                                                           "exit_code": 0 if step.ok else 1, **step.data})

        outcome = await fence_sequence(op.cluster, op.cluster.node(name), op.cluster.node(state.candidate),
                                       writable=evidence["nodes"][name]["writable"], on_step=journal_step,
                                       on_progress=op.on_progress,
                                       loss_approved=measured_loss_approved(op, state.candidate, name))
        if outcome.final_lsn:
            op.log("evidence", f"{name} final LSN {outcome.final_lsn} on timeline {outcome.final_timeline}; "
                   f"{state.candidate} received {outcome.candidate_received}", stage=2,
                   data={"check": "final_lsn", "node": name, "final_lsn": outcome.final_lsn,
                         "final_timeline": outcome.final_timeline, "caught_up": outcome.caught_up,
                         "candidate": state.candidate, "candidate_received": outcome.candidate_received,
                         "paused": list(outcome.paused)})
        outcomes.append(outcome)
        if not outcome.fenced:
            break                        # a stopped switchover, or a fence that failed: nothing more
    await op.check_others()
    for outcome in outcomes:
        if outcome.stopped:
            raise op.refuse("fence", f"fence refused: {outcome.stopped}", 2, node=outcome.node)
        if not outcome.fenced:
            failed = next((st.text for st in reversed(outcome.steps) if not st.ok), "the fence command failed")
            raise op.refuse("fence", f"fence refused: fencing {outcome.node} failed ({failed}); {outcome.node} is "
                            "not proven down", 2, node=outcome.node)
    return outcomes


def measured_loss_approved(op: Operation, candidate: str, node: str) -> bool:
    """An approver approved promoting ``candidate`` after this incident measured ``node``'s final LSN:
    the approval of the measured loss that lets a switchover fence without a full catch-up."""
    events = op.journal.events(kinds={"evidence", "approval"})
    measured = [e.id for e in events if e.kind == "evidence" and e.stage == 2 and e.data.get("check") == "final_lsn"
                and e.data.get("node") == node and e.data.get("candidate") == candidate]
    if not measured:
        return False
    operator = op.state().roles.get("operator")
    return any(e.kind == "approval" and e.stage == 1 and e.id > measured[-1] and e.data.get("candidate") == candidate
               and not approval_problem(e.data.get("approved_by"), op.cluster, operator) for e in events)


def _worse(new: DataRisk, decided: dict) -> bool:
    if new.other_branch and not decided.get("other_branch"):
        return True
    if _RISK_RANK[new.kind] > _RISK_RANK.get(decided.get("kind", "unknown"), 3):
        return True
    return (new.bytes or 0) > (decided.get("bytes") or 0)


async def promote_candidate(op: Operation, confirm: str) -> PromotionResult:
    """Re-check every gate, promote, journal the timeline switch (one record re-render, at the end)."""
    with op.one_record_update():
        return await _promote_candidate(op, confirm)


async def _promote_candidate(op: Operation, confirm: str) -> PromotionResult:
    state = op.require(3, "promote", closed_ok=True)
    candidate = state.candidate
    if state.stage(3).status == "passed":   # harmless even on a closed incident: nothing is sent
        op.log("note", f"promote pressed again: {candidate} is already promoted; nothing sent", stage=3)
        return PromotionResult(node=candidate, promoted=True, already=True)
    op.require(3, "promote")                 # anything that would act: refused on a closed incident
    if confirm != candidate:
        raise op.refuse("promote", f"promotion not confirmed: type the candidate's name exactly ('{candidate}')", 3)
    view = await op.refresh()
    op.refuse_if_promoted_elsewhere("promote", view, 3)
    sample = view.node(candidate).sample
    if not sample.reachable:
        raise op.refuse("promote", f"{candidate} is unreachable now ({sample.error}): choose again at stage 1", 3)
    evidence = op.judge(state, view)
    for name, fact in sorted(evidence["nodes"].items()):
        attested = name in attestations(op.cluster, op.journal.events(kinds={"approval"}), state.roles.get("operator"))
        if fact["writable"]:
            raise op.refuse("promote", f"promotion refused: {name} is writable again; fence it (stage 2) first", 3)
        if fact["needs_proof"] and not fact["fenced"] and not attested:
            raise op.refuse("promote", f"promotion refused: {name} is unreachable but not proven down; "
                            "fence it or have an approver attest it", 3)
    if sample.in_recovery:
        final = op.final_lsn_evidence(candidate)
        risk = await op.risk_for(candidate, view, final_lsn=final["final_lsn"] if final else None)
        decided = state.data_risk or {}
        if decided.get("pending_fence") and risk.kind != "zero" and not (
                final and measured_loss_approved(op, candidate, final["node"])):
            raise op.refuse("promote", f"promotion refused: a planned switchover promotes only with its proof of "
                            f"zero loss, and the fence sequence did not prove it ({risk.statement}); an approver "
                            "must approve this measured risk at stage 1 first", 3)
        if not decided.get("pending_fence") and _worse(risk, decided):
            raise op.refuse("promote", f"promotion refused: the data risk changed since it was decided "
                            f"(now: {risk.statement}); decide again at stage 1", 3)
        op.log("evidence", f"re-check before promotion: {risk.statement}", stage=3,
               data={"check": "pre_promote", "data_risk": risk.model_dump(mode="json")})
    node = op.cluster.node(candidate)
    timeline: tuple | DivergenceError | None = None
    try:
        async with node_connection(node, op.cluster.sampling, purpose="promote") as conn:
            result = await promote_on(conn, candidate, op.cluster.sampling.statement_timeout_s)
            if result.promoted and not result.already:
                # on the promotion's connection: a new one is ~12 ms more of a switchover's pause
                try:
                    timeline = await read_node(node, op.cluster, conn)
                except DivergenceError as exc:
                    timeline = exc
    except NodeUnreachable as exc:
        result = PromotionResult(node=candidate, promoted=False, error=str(exc))
    op.log("evidence", result.sentence(), stage=3, data={
        "check": "promoted", "passed": result.promoted, "node": candidate, "already": result.already,
        "promote_to_writable_ms": result.promote_to_writable_ms, "error": result.error})
    if timeline is not None:
        journal_timeline_switch(op, candidate, timeline)
    await op.refresh()
    return result


def journal_timeline_switch(op: Operation, node: str, read: tuple | DivergenceError) -> None:
    """Journal the promoted node's position and timeline history: a later rollback can judge
    divergence from it even once this node is fenced and cannot be read."""
    if isinstance(read, DivergenceError):
        op.log("note", f"timeline history of {node} not journaled: {read}", stage=3)
        return
    position, history = read
    switch = history[-1] if history else None
    text = (f"{node} is on timeline {position.timeline}, switched from timeline {switch.parent_tli} at "
            f"{switch.switch_lsn}" if switch else f"{node} is on timeline {position.timeline}")
    op.log("evidence", text, stage=3, data={"check": "timeline_switch", "node": node,
                                            "position": position.model_dump(mode="json"),
                                            "history": [h.model_dump(mode="json") for h in history]})


__all__ = ["GateRefused", "fence_old_primary", "promote_candidate"]
