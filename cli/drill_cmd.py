"""``failover-cockpit drill``: the runbook headless, with the same engine, gates, journal and record.

It never bypasses a gate: without ``--fence`` a writable old primary stops it, and data
risk above the SLO (or unknown) without an approver from the config's list (never the
operator) stops it; nobody is the approver unless ``--approver`` names them. Every run
verifies afresh, a resumed one too (a journal's old pass is not the present), and says
"verified" only when that run passed. A closed incident is refused unless ``--reopen``.
Exit 0 when stage 5 verified; otherwise 1, with the blocking gate on the last line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from checks.config.model import Cluster
from checks.runbook.gates import approval_problem, closed_sentence
from checks.runbook.operation import GateRefused, Operation
from checks.runbook.session import Session
from checks.stages.close import close_incident
from checks.stages.cutover import cut_over
from checks.stages.evaluate import evaluate_failover
from checks.stages.freshness import approve, choose
from checks.stages.old_primary import check_others, fence_old_primary
from checks.stages.promote import promote_candidate
from checks.stages.stabilize import run_freeze, set_roles
from checks.stages.verify import verify_all
from cli.console import print_error


def say(line: str) -> None:
    print(line, flush=True)


EVALUATION_BUDGET_S = 0.5
"""Each connection and query of drill's evaluation round: a pooler or Odoo that does not answer
within it is a firing signal, said so, not seconds added to the RTO."""


class Blocked(Exception):
    pass


def operator_session(cluster_name: str, cluster: Cluster, incident: Path, operator: str, *, create: bool = True,
                     config_path: str | None = None) -> Session:
    """The operator seat of a headless command (``drill``, ``drill --rollback``, ``split-brain``)."""
    return Session(cluster_name, cluster, incident, seat="operator", name=operator, create=create,
                   config_path=config_path, announce=False, on_warning=lambda text: print_error(f"warning: {text}"))


def close_session(session: Session) -> None:
    """Write the record a last time, release the locks, and say if the record could not be written."""
    session.flush_record()
    session.close()
    if session.alarm:
        print_error(session.alarm)


def _gate(op: Operation, number: int) -> None:
    stage = op.state().stage(number)
    mark = {"passed": "ok", "overridden": "ok (override)"}.get(stage.status)
    say(f"stage {number} {stage.title}: {stage.status.upper()}: {stage.gate}")
    for line in stage.evidence:
        say(f"    {line}")
    if mark is None:
        raise Blocked(f"blocked at stage {number} {stage.title}: {stage.gate}"
                      + (f"; to unlock: {stage.next_action}" if stage.next_action else ""))


def _no_approver(cluster: Cluster, operator: str) -> str:
    listed = [a for a in cluster.approvers if a != operator]
    if not listed:
        return "blocked at stage 0 Stabilize: the config lists no approver other than the operator"
    return (f"blocked at stage 0 Stabilize: nobody was named as the approver: pass --approver WHO, one of the "
            f"config's approvers ({', '.join(listed)}), never the operator")


async def _fence(op: Operation) -> None:
    """Fence, printing every fence step that failed with its reason (they are journaled too)."""
    seen = op.journal.events()
    mark = seen[-1].id if seen else 0
    try:
        await fence_old_primary(op, allowed=True)
    finally:
        for e in op.journal.events(after_id=mark, kinds={"action"}):
            if e.stage == 2 and e.data.get("exit_code") != 0:      # None: it could not even start
                say(f"    fence step failed: {e.text}")


async def drive(op: Operation, *, candidate: str | None, operator: str, approver: str | None,
                fence: bool, yes: bool, adopt: str | None = None) -> bool:
    """Every stage in turn; True only when this run's own verification passed."""
    state = op.state()
    if state.stage(3).status != "passed" and not op.promoted_here() and not (state.evaluation and state.evaluation.fail_over):
        await _evaluate(op, state)
        state = op.state()
    if state.stage(0).status not in ("passed", "overridden"):
        if not state.roles:
            if not approver:
                raise Blocked(_no_approver(op.cluster, operator))
            set_roles(op, operator, operator, approver)
        if op.cluster.freeze and op.state().stage(0).status != "passed":
            for result in await run_freeze(op):
                say(f"    freeze {result.summary()}")
    _gate(op, 0)
    if adopt and adopt not in op.promoted_here():   # not adopted yet (being the candidate is not enough)
        from checks.aftermath.adopt import adopt as adopt_node

        risk = await adopt_node(op, adopt)          # promoted by hand: the candidate, its risk measured
        say(f"    adopted {adopt}: {risk.statement}")
        if risk.needs_approval and approver:
            approve(op, approver)
    elif op.state().stage(1).status not in ("passed", "overridden"):
        risk = await choose(op, candidate)
        say(f"    data risk: {risk.statement}")
        if risk.needs_approval and approver:
            approve(op, approver)
    _gate(op, 1)
    if op.state().stage(2).status not in ("passed", "overridden"):
        state = await check_others(op)
        if state.stage(2).status == "failed" and fence:
            await _fence(op)
    _gate(op, 2)
    if op.state().stage(3).status != "passed":
        name = op.state().candidate
        typed = name if yes else input(f"type {name!r} to promote it: ").strip()
        result = await promote_candidate(op, typed)
        say(f"    {result.sentence()}")
    _gate(op, 3)
    if op.state().stage(4).status != "passed":
        await cut_over(op)
    _gate(op, 4)
    # Always a fresh run, also when an earlier run passed: it samples every node first, and only
    # its own result may say "verified" (a resumed incident's journal is not the present).
    verified = await verify_all(op)
    _gate(op, 5)
    # After this run's own verification (Odoo writes again; the RTO ends at its write probe) and
    # before the close: re-point every other reachable standby at the new primary (checks.aftermath.repoint).
    # Not during verify: a standby being restarted is "unreachable" to its one-writer round.
    await _repoint(op)
    return verified


async def _evaluate(op: Operation, state) -> None:
    """The first decision: running ``drill`` is the operator's decision to fail over, journaled with the
    signals one round sees and each standby's freshness (an earlier "not yet" is replaced, and says by whom)."""
    from checks.observe.signal_round import signal_round

    _view, board = await signal_round(op.cluster_name, op.cluster, budget_s=EVALUATION_BUDGET_S)
    firing = board.firing()
    earlier = state.evaluation
    reason = "drill run by the operator" + (f", replacing {earlier.author}'s not yet" if earlier else "")
    say(await evaluate_failover(op, "fail_over", [s.as_json() for s in firing], reason))
    for signal in firing:
        say(f"    signal {signal.name}: {signal.text}")


async def _repoint(op: Operation) -> None:
    """Re-point the standbys, printing each one's outcome; a failure is the close's open follow-up."""
    from checks.aftermath.repoint import repoint_standbys

    try:
        result = await repoint_standbys(op)
    except GateRefused as exc:
        say(f"    re-point standbys: {exc}")
        return
    for name, outcome in result["nodes"].items():
        say(f"    re-point {name} at {result['primary']}: {outcome}")
    for name, why in result["left_alone"].items():
        say(f"    re-point {name}: left alone: {why}")


def _refuse_or_reopen(op: Operation, reopen: bool) -> None:
    """A closed incident is refused (journaled), unless ``--reopen``: then a reopen is journaled."""
    standing = op.standing_close()
    if standing is None:
        if reopen:
            say(f"incident {op.journal.incident_id} is open: there is nothing to reopen")
        return
    if not reopen:
        raise op.refuse("drill", closed_sentence(standing, op.journal.incident_id))
    say(op.reopen())


def run_drill(cluster_name: str, cluster: Cluster, incident: Path, *, candidate: str | None, operator: str,
              approver: str | None, fence: bool, yes: bool, reopen: bool = False, adopt: str | None = None) -> int:
    if approver:
        problem = approval_problem(approver, cluster, operator)
        if problem:
            say(f"blocked at stage 0 Stabilize: --approver refused: {problem}")
            return 1
    session = operator_session(cluster_name, cluster, incident, operator)    # cluster + incident locks
    op, journal = session.operation, session.journal
    op.on_progress = lambda text: say(f"    {text}")        # a long fence says it is still running
    if not journal.events(kinds={"system"}):
        op.log("system", f"drill started by {operator} on cluster {cluster_name}")
    code = 0
    try:
        _refuse_or_reopen(op, reopen)
        verified = asyncio.run(_drive_and_close(op, candidate=candidate, operator=operator, approver=approver,
                                                fence=fence, yes=yes, adopt=adopt))
        if not verified:
            raise Blocked("blocked at stage 5 Verify: this run's verification did not pass")
        odoo = "Odoo writing through the new path" if cluster.odoo else "no Odoo configured, so no Odoo checks ran"
        say(f"verified: exactly one writable primary; {odoo}")
    except (Blocked, GateRefused) as exc:
        say(str(exc))
        code = 1
    except EOFError:
        say("blocked at stage 3 Promote: no confirmation typed (use --yes to confirm non-interactively)")
        code = 1
    finally:
        close_session(session)
    return code


async def _drive_and_close(op: Operation, **kw) -> bool:
    """Drive, then close (the close samples every node again first, and may be refused)."""
    try:
        verified = await drive(op, **kw)
        figures = await close_incident(op)
        say(f"RTO {figures['rto_s']} s ({figures['rto_from']}); RPO: {figures['rpo_statement']}")
        say("time per stage: " + ", ".join(f"{k}: {v} s" for k, v in figures["stage_seconds"].items()))
        return verified
    finally:
        await op.close()


def run_rollback(cluster_name: str, cluster: Cluster, incident: Path, *, to: str, operator: str,
                 approver: str | None) -> int:
    """``drill --rollback NODE``: the rollback flow on an existing incident, headless."""
    from checks.aftermath.rollback import rollback

    if not (incident / "journal.sqlite3").exists():
        say(f"blocked: {incident} is not an incident directory: roll back an incident that promoted a node")
        return 1
    session = operator_session(cluster_name, cluster, incident, operator, create=False)
    op, journal = session.operation, session.journal
    op.on_progress = lambda text: say(f"    {text}")        # a long fence says it is still running

    async def go() -> bool:
        try:
            return await rollback(op, to, approver=approver)
        finally:
            await op.close()

    try:
        ok = asyncio.run(go())
        for e in journal.events(kinds={"evidence"}):
            if e.data.get("rollback") and e.stage == 5:
                say(f"    {e.text}")
        say(f"rollback to {to}: verified" if ok else f"blocked at rollback: verification of {to} failed")
        return 0 if ok else 1
    except GateRefused as exc:
        say(str(exc))
        return 1
    finally:
        close_session(session)
