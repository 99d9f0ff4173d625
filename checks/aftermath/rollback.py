"""Rollback, from stage 3 on: one authoritative node, never an ad-hoc failback over divergent writes.

1. Decide the authoritative node: the promoted one (re-point once more) or the old primary
   (a failback). 2. A failback is refused when the old node wrote past the switch point
   (both accepted writes: a divergence incident, reconcile instead), judged by the records its
   WAL holds there and judged *first*, so nobody is asked to take the live primary down for a
   failback that will be refused anyway; only then must it be the one writable node, and its
   own data risk is stated: what the promoted node committed after the switch is discarded,
   so above the SLO it needs an approver. 3. Stop Odoo writes again (freeze commands,
   PgBouncer PAUSE). 4. Re-point once and re-run the stage 5 checks.
"""

from __future__ import annotations

from checks.config.text import clean_name
from checks.incident.evidence import Check
from checks.observe.divergence import (
    Divergence, DivergenceError, HistoryEntry, NodePosition, assess_with_records, gather_divergence, read_node
)
from checks.observe.lsn import human_bytes, lsn_diff
from checks.runbook.commands import run_command
from checks.runbook.gates import approval_problem
from checks.runbook.operation import Operation
from checks.stages.cutover import cut_over
from checks.stages.fence import pause_poolers
from checks.stages.verify import verify_all

ROLLBACK = {"rollback": True}


def _last_wal(op: Operation, node: str) -> str | None:
    """The furthest WAL position this incident saw on ``node`` (live, or journaled before it was fenced)."""
    seen = [s.wal_lsn for s in op.journal.samples(node=node) if s.wal_lsn]
    live = op.view.node(node).sample.wal_lsn if op.view else None
    positions = [p for p in [*seen, live] if p]
    return max(positions, key=lambda p: lsn_diff(p, "0/0") or 0) if positions else None


async def _divergence(op: Operation, to: str, current: str):
    """Live when both nodes answer; otherwise from the promoted node's journaled timeline switch."""
    try:
        return await gather_divergence(op.cluster, to, current)
    except DivergenceError as live_error:
        snapshots = [e.data for e in op.journal.events(kinds={"evidence"})
                     if e.data.get("check") == Check.TIMELINE_SWITCH and e.data.get("node") == current]
        if not snapshots:
            raise live_error
        old_position, old_history = await read_node(op.cluster.node(to), op.cluster)
        snap = snapshots[-1]
        return await assess_with_records(op.cluster, old_position, NodePosition(**snap["position"]),
                                         [HistoryEntry(**h) for h in snap["history"]], old_history)


async def _refuse_divergent(op: Operation, to: str, current: str) -> Divergence:
    """The divergence judgement of a failback, before anything else: refused when ``to`` wrote past the switch."""
    try:
        d = await _divergence(op, to, current)
    except DivergenceError as exc:
        raise op.refuse("rollback", f"rollback refused: cannot tell whether {to} diverged from {current}: {exc}")
    if d.diverged and not d.restart_checkpoint_only:     # its records past the fork hold no transaction
        commits = d.commits_after_fork
        held = "" if commits is None else f", {commits} committed transaction{'' if commits == 1 else 's'}"
        raise op.refuse("rollback", f"rollback refused: {to} and {current} both accepted writes "
                        f"({human_bytes(d.bytes_after_fork)}{held} on {to} after the switch at {d.switch_lsn}): "
                        "this is a divergence incident; reconcile (see `failover-cockpit divergence`), no ad-hoc "
                        "failback; nothing was fenced or changed", diverged=True)
    return d


async def _failback_risk(op: Operation, to: str, current: str, approver: str | None,
                         d: Divergence) -> tuple[str, str | None]:
    """The failback's data-risk statement, and who approved it (None when within the SLO)."""
    end = _last_wal(op, current)
    lost = max(0, lsn_diff(end, d.switch_lsn) or 0) if end else None
    statement = (f"failing back to {to} discards {'at least ' + human_bytes(lost) if lost is not None else 'an unknown amount'}"
                 f" that {current} committed after the switch at {d.switch_lsn}")
    if lost is None or lost > op.cluster.slo.max_data_risk_bytes:
        operator = op.state().roles.get("operator")
        if approver is None:                         # the cockpit: an approval from the approver's own seat
            approver = seat_approval(op, to, lost)
            if approver is None:
                raise op.refuse("rollback", f"rollback refused: {statement}, above the SLO or unknown: an approver "
                                f"must approve it from the approver seat (key a), then roll back again",
                                failback_to=to, lost_bytes=lost, statement=statement)
        problem = approval_problem(approver, op.cluster, operator)
        if problem:
            raise op.refuse("rollback", f"rollback refused: {statement}, above the SLO or unknown: an approver "
                            f"must approve it ({problem})", failback_to=to, lost_bytes=lost, statement=statement)
    return statement, approver


def pending_failback(events) -> dict | None:
    """The failback waiting for an approver: the data of the last rollback refusal that asked for one,
    unless a rollback decision or an approval for it came later."""
    for event in reversed(list(events)):
        data = event.data or {}
        if event.kind == "decision" and data.get("rollback"):
            return None
        if event.kind == "approval" and data.get("failback_to"):
            return None
        if event.kind == "system" and data.get("action") == "rollback" and data.get("failback_to"):
            return data
    return None


def seat_approval(op: Operation, to: str, lost: int | None) -> str | None:
    """Who approved failing back to ``to`` from the approver seat, for at least this much data: an
    approval covers what it named plus the SLO (what would need none); one of an unknown amount covers any."""
    operator = op.state().roles.get("operator")
    for event in reversed(op.journal.events(kinds={"approval"})):
        data = event.data or {}
        if data.get("failback_to") != to or event.seat != "approver":
            continue
        if approval_problem(data.get("approved_by"), op.cluster, operator):
            continue
        named = data.get("lost_bytes", -1)
        if named is None or (lost is not None and lost <= named + op.cluster.slo.max_data_risk_bytes):
            return data["approved_by"]
    return None


def approve_failback(op: Operation, approver: str) -> str:
    """The approver seat approves the failback that waits for it; returns the sentence journaled."""
    approver = clean_name(approver, "approver", required=False)
    if op.state().stage(3).status != "passed":
        raise op.refuse("approve", "there is no failback to approve: no node was promoted yet")
    pending = pending_failback(op.journal.events())
    if pending is None:
        raise op.refuse("approve", "there is no failback waiting for an approval: the operator rolls back first (b)")
    problem = approval_problem(approver, op.cluster, op.state().roles.get("operator"))
    if problem:
        raise op.refuse("approve", f"approval refused: {problem}")
    sentence = f"{approver} approves the failback to {pending['failback_to']}: {pending['statement']}"
    op.log("approval", sentence, data={"failback_to": pending["failback_to"], "approved_by": approver,
                                       "lost_bytes": pending.get("lost_bytes"), "statement": pending["statement"]})
    return sentence


async def rollback(op: Operation, to: str, *, approver: str | None = None) -> bool:
    # approver None: the approver seat approves (see _failback_risk)
    approver = None if approver is None else clean_name(approver, "approver", required=False)
    state = op.state()
    if state.stage(3).status != "passed":
        raise op.refuse("rollback", "rollback applies once a node was promoted (stage 3); nothing to roll back")
    if to not in {n.name for n in op.cluster.nodes}:
        raise op.refuse("rollback", f"rollback refused: '{to}' is not a node of this cluster")
    current = state.candidate
    view = await op.refresh()
    writers = [n.name for n in view.nodes if n.sample.writable and not n.foreign]
    if to not in writers:
        raise op.refuse("rollback", f"rollback refused: {to} is not writable; start it as a primary first, "
                        "or roll back to the node that is")
    # A failback over divergent writes is refused whatever else is writable: judged first, so the
    # operator is never told to fence the live primary for a failback that would be refused anyway.
    divergence = await _refuse_divergent(op, to, current) if to != current else None
    others = [w for w in writers if w != to]
    if others:
        raise op.refuse("rollback", f"rollback refused: {', '.join(others)} {'is' if len(others) == 1 else 'are'} "
                        f"writable too: fence {'it' if len(others) == 1 else 'them'} first (one writer)")
    if divergence is None:
        statement = f"staying on {to}: re-point Odoo to it once more"
    else:
        statement, approver = await _failback_risk(op, to, current, approver, divergence)
    op.log("decision", f"rollback: {to} is the authoritative node; {statement}", data={
        **ROLLBACK, "authoritative": to, "proposed_by": op.author, "approved_by": approver,
        "data_risk": {"statement": statement}})
    for command in op.cluster.freeze:
        result = await run_command(command.name, command.command, command.timeout_s)
        op.log_command(result, stage=None, step="rollback-freeze", **ROLLBACK)
    steps, _paused = await pause_poolers(op.cluster)
    for step in steps:
        op.log("action", f"rollback: {step.text}", data={"step": "rollback-pause", "exit_code": 0 if step.ok else 1,
                                                           **ROLLBACK})
    ok = await cut_over(op, to, context=ROLLBACK) and await verify_all(op, to, context=ROLLBACK)
    op.log("evidence", f"rollback to {to}: {'verified' if ok else 'NOT verified'}",
           data={"check": Check.ROLLBACK, "passed": ok, "node": to, **ROLLBACK})
    return ok
