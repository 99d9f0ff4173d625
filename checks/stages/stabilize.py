"""Stage 0, Stabilize: the roles (operator, scribe, approver), then freezing the writers or saying why not.

Each action checks its gate, acts, and journals the evidence before returning; a refusal
raises :class:`~checks.runbook.operation.GateRefused` with its sentence, journaled too.
"""

from __future__ import annotations

from checks.config.text import clean_name, clean_text  # person text is made safe once, where it enters
from checks.incident.evidence import Step
from checks.runbook.commands import CommandResult, run_command
from checks.runbook.gates import approval_problem
from checks.runbook.operation import Operation


def set_roles(op: Operation, operator: str, scribe: str, approver: str) -> str:
    """Journal the roles; returns the sentence journaled."""
    operator, scribe, approver = (clean_name(name, field, required=False) for name, field in
                                  ((operator, "operator"), (scribe, "scribe"), (approver, "approver")))
    problem = approval_problem(approver, op.cluster, operator)
    if problem:
        raise op.refuse("set roles", f"roles refused: {problem}", 0)
    return op.log("role", f"roles: operator {operator}, scribe {scribe}, approver {approver}", stage=0,
                  data={"roles": {"operator": operator, "scribe": scribe, "approver": approver}}).text

async def run_freeze(op: Operation) -> list[CommandResult]:
    op.require(0, "freeze")
    await op.refresh()             # a config that cannot be acted on refuses this too
    results = []
    for command in op.cluster.freeze:
        result = await run_command(command.name, command.command, command.timeout_s)
        op.log_command(result, stage=0, step=Step.FREEZE)
        results.append(result)
    return results

def skip_freeze(op: Operation, reason: str) -> str:
    """Journal the skip and its reason; returns the sentence journaled."""
    reason = clean_text(reason, "the reason for skipping the freeze")
    op.require(0, "skip freeze")
    if not reason.strip():
        raise op.refuse("skip freeze", "skipping the freeze needs a reason", 0)
    return op.log("decision", f"freeze skipped: {reason}", stage=0,
                  data={"skip_freeze": True, "reason": reason, "proposed_by": op.author}).text
