"""Stage 2, Old primary: every other node proven not writable (checked, fenced, or attested down).

The rule is :mod:`checks.runbook.others`; the fence sequence (PgBouncer paused, the final
LSN drained to the candidate, then the fence command) is :mod:`checks.stages.fence`.
"""

from __future__ import annotations

from checks.config.text import clean_name, clean_text  # person text is made safe once, where it enters
from checks.incident.evidence import Check, Step
from checks.runbook.gates import RunbookState, approval_problem
from checks.runbook.operation import Operation
from checks.runbook.others import needs_fencing
from checks.stages.fence import FenceOutcome, fence_sequence


async def check_others(op: Operation) -> RunbookState:
    state = op.require(2, "check the old primary")
    view = await op.refresh()
    op.refuse_if_promoted_elsewhere("check the old primary", view, 2)
    await op.probe_app_path(view)          # unreachable from the bastion is not unreachable from Odoo
    evidence = op.judge(state, view)
    op.log("evidence", "; ".join(evidence["lines"]) or "no other node", stage=2, data=evidence)
    return op.state()


def attest(op: Operation, node: str, approver: str, statement: str) -> str:
    """Journal an approver's attestation that ``node`` is down; returns the sentence journaled."""
    approver, statement = clean_name(approver, "approver", required=False), clean_text(statement, "the attestation")
    state = op.require(2, "attest")
    problem = approval_problem(approver, op.cluster, state.roles.get("operator"))
    if problem:
        raise op.refuse("attest", f"attestation refused: {problem}", 2)
    if not statement.strip():
        raise op.refuse("attest", "an attestation needs its words (\"host powered off, confirmed by ...\")", 2)
    return op.log("approval", f"{approver} attests {node} is down: {statement}", stage=2,
                  data={"node": node, "approved_by": approver, "attestation": statement}).text


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
    await op.probe_app_path(view)
    evidence = op.judge(state, view)
    targets = needs_fencing(evidence)
    if not targets:
        raise op.refuse("fence", "no node needs fencing: every other node is read-only or proven down", 2)
    outcomes = []
    for name in targets:
        def journal_step(step, command, name=name):
            if command is not None:
                op.log_command(command, stage=2, step=Step.FENCE, node=name)
            else:
                op.log("action", step.text, stage=2, data={"step": step.name, "node": name,
                                                           "exit_code": 0 if step.ok else 1, **step.data})

        outcome = await fence_sequence(op.cluster, op.cluster.node(name), op.cluster.node(state.candidate),
                                       writable=evidence["nodes"][name]["writable"], on_step=journal_step,
                                       on_progress=op.on_progress,
                                       loss_approved=measured_loss_approved(op, state.candidate, name),
                                       consoles=op.consoles)
        if outcome.final_lsn:
            op.log("evidence", outcome.final_lsn_sentence(state.candidate), stage=2,
                   data={"check": Check.FINAL_LSN, "node": name, "final_lsn": outcome.final_lsn,
                         "final_timeline": outcome.final_timeline, "caught_up": outcome.caught_up,
                         "candidate": state.candidate, "candidate_received": outcome.candidate_received,
                         "paused": list(outcome.paused)})
        outcomes.append(outcome)
        if not outcome.fenced:
            break                        # a stopped switchover, or a fence that failed: nothing more
    await check_others(op)
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
    measured = [e.id for e in events if e.kind == "evidence" and e.stage == 2 and e.data.get("check") == Check.FINAL_LSN
                and e.data.get("node") == node and e.data.get("candidate") == candidate]
    if not measured:
        return False
    operator = op.state().roles.get("operator")
    return any(e.kind == "approval" and e.stage == 1 and e.id > measured[-1] and e.data.get("candidate") == candidate
               and not approval_problem(e.data.get("approved_by"), op.cluster, operator) for e in events)
