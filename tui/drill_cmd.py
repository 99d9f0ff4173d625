"""``failover-cockpit drill``: the runbook headless, with the same engine, gates, journal and record.

It never bypasses a gate: without ``--fence`` a writable old primary stops it, and data
risk above the SLO (or unknown) without an approver from the config's list (never the
operator) stops it. Exit 0 when stage 5 verified; otherwise 1, with the blocking gate
on the last line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from checks.config import Cluster
from checks.cutover import cut_over
from checks.journal import Journal
from checks.operation import GateRefused, Operation
from checks.record import write_record
from checks.runbook import approval_problem
from checks.seats import OperatorLock
from checks.stage_actions import fence_old_primary, promote_candidate
from checks.verify import verify_all


def say(line: str) -> None:
    print(line, flush=True)


class Blocked(Exception):
    pass


def _gate(op: Operation, number: int) -> None:
    stage = op.state().stage(number)
    mark = {"passed": "ok", "overridden": "ok (override)"}.get(stage.status)
    say(f"stage {number} {stage.title}: {stage.status.upper()}: {stage.gate}")
    for line in stage.evidence:
        say(f"    {line}")
    if mark is None:
        raise Blocked(f"blocked at stage {number} {stage.title}: {stage.gate}"
                      + (f"; to unlock: {stage.next_action}" if stage.next_action else ""))


async def drive(op: Operation, *, candidate: str | None, operator: str, approver: str | None,
                fence: bool, yes: bool) -> None:
    state = op.state()
    if state.stage(0).status not in ("passed", "overridden"):
        if not state.roles:
            on_call = approver or next((a for a in op.cluster.approvers if a != operator), None)
            if on_call is None:
                raise Blocked("blocked at stage 0 Stabilize: the config lists no approver other than the operator")
            op.set_roles(operator, operator, on_call)
        if op.cluster.freeze and op.state().stage(0).status != "passed":
            for result in await op.run_freeze():
                say(f"    freeze {result.summary()}")
    _gate(op, 0)
    if op.state().stage(1).status not in ("passed", "overridden"):
        risk = await op.choose(candidate)
        say(f"    data risk: {risk.statement}")
        if risk.needs_approval and approver:
            op.approve(approver)
    _gate(op, 1)
    if op.state().stage(2).status not in ("passed", "overridden"):
        state = await op.check_others()
        if state.stage(2).status == "failed" and fence:
            await fence_old_primary(op, allowed=True)
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
    if op.state().stage(5).status != "passed":
        await verify_all(op)
    _gate(op, 5)


def run_drill(cluster_name: str, cluster: Cluster, incident: Path, *, candidate: str | None, operator: str,
              approver: str | None, fence: bool, yes: bool) -> int:
    if approver:
        problem = approval_problem(approver, cluster, operator)
        if problem:
            say(f"blocked at stage 0 Stabilize: --approver refused: {problem}")
            return 1
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=cluster_name)
    lock = OperatorLock(incident)
    lock.acquire(operator)
    write_record(incident, journal)
    op = Operation(journal, cluster_name, cluster, author=operator, seat="operator",
                   on_event=lambda _e: write_record(incident, journal))
    if not journal.events(kinds={"system"}):
        op.log("system", f"drill started by {operator} on cluster {cluster_name}")
    code = 0
    try:
        asyncio.run(_drive_and_close(op, candidate=candidate, operator=operator, approver=approver,
                                     fence=fence, yes=yes))
        odoo = "Odoo writing through the new path" if cluster.odoo else "no Odoo configured, so no Odoo checks ran"
        say(f"verified: exactly one writable primary; {odoo}")
    except (Blocked, GateRefused) as exc:
        say(str(exc))
        code = 1
    except EOFError:
        say("blocked at stage 3 Promote: no confirmation typed (use --yes to confirm non-interactively)")
        code = 1
    finally:
        write_record(incident, journal)
        lock.release()
    return code


async def _drive_and_close(op: Operation, **kw) -> None:
    try:
        await drive(op, **kw)
        figures = op.close_incident()
        say(f"RTO {figures['rto_s']} s ({figures['rto_from']}); RPO: {figures['rpo_statement']}")
        say("time per stage: " + ", ".join(f"{k}: {v} s" for k, v in figures["stage_seconds"].items()))
    finally:
        await op.close()


def run_rollback(cluster_name: str, cluster: Cluster, incident: Path, *, to: str, operator: str,
                 approver: str | None) -> int:
    """``drill --rollback NODE``: the rollback flow on an existing incident, headless."""
    from checks.rollback import rollback

    if not (incident / "journal.sqlite3").exists():
        say(f"blocked: {incident} is not an incident directory: roll back an incident that promoted a node")
        return 1
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster=cluster_name)
    lock = OperatorLock(incident)
    lock.acquire(operator)
    op = Operation(journal, cluster_name, cluster, author=operator, seat="operator",
                   on_event=lambda _e: write_record(incident, journal))

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
        write_record(incident, journal)
        lock.release()
