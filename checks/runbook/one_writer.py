"""Exactly one writer now: the judgement every verification check and the close make first.

A journal says what was true when it was written; an old primary started again after the
cutover, or a cluster rebuilt since, makes yesterday's "verified" a lie. So verification
(:func:`checks.stages.verify.verify_all`, the rollback's too) and the close
(:meth:`checks.runbook.operation.Operation.close_incident`) sample every node again and judge that
round with :func:`one_writer_problem`: among the reachable members exactly one node is
writable, it is the node being verified, and no other node is unreachable without proof
(a fence that succeeded, or an approver's attestation: unreachable is not dead), as stage 2
judges it (:func:`checks.runbook.others.judge_others`).
"""

from __future__ import annotations

from checks.config.model import Cluster
from checks.observe.assess import ClusterView
from checks.runbook.gates import RunbookState, attestations
from checks.runbook.others import judge_others


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _accept(names: list[str]) -> str:
    return f"{_names(names)} {'accepts' if len(names) == 1 else 'accept'} writes"


def one_writer_problem(cluster: Cluster, target: str | None, view: ClusterView, *, old_primary: str | None,
                       seen_as_standby: set[str], fenced: set[str], attested: set[str],
                       exempt: frozenset[str] = frozenset(), app_writers: dict[str, str] | None = None) -> str:
    """Why this round is not "exactly one writable primary, ``target``" (empty when it is).

    ``target`` None: any one writer will do (a close before a candidate was chosen).
    ``exempt``: nodes whose being unreachable needs no proof here (a failback's promoted node,
    which the rollback's own gate judged not writable)."""
    members = {n.name: n.sample for n in view.nodes if not n.foreign}
    writers = sorted(name for name, s in members.items() if s.writable)
    target = target or (writers[0] if len(writers) == 1 else None)
    required = f"exactly one writable primary{f', {target},' if target else ''} is required"
    if len(writers) > 1:
        others = [w for w in writers if w != target]
        return (f"split brain: {_accept(writers)} now; {required}: fence {_names(others)}, then verify again")
    sample = members.get(target) if target else None
    if target not in writers:
        if sample is None:
            state = "not a member of this cluster (another system identifier)" if target else "not sampled"
        elif not sample.reachable:
            state = f"unreachable ({sample.error or 'no answer'})"
        else:
            state = f"read-only ({sample.read_only_words()})"
        if writers:
            return f"{target} is not the writer now: {_accept(writers)} and {target} is {state}; {required}"
        return f"no node accepts writes now: {target or 'every node'} is {state}; {required}"
    judged = judge_others(cluster, target, members, old_primary=old_primary, seen_as_standby=seen_as_standby,
                          fenced=fenced, app_writers=app_writers)
    unproven = sorted(n for n, f in judged["nodes"].items()
                      if f["needs_proof"] and not f["fenced"] and n not in exempt
                      and (n not in attested or f.get("app_writable")))
    if unproven:
        verb = "is" if len(unproven) == 1 else "are"
        return (f"{_names(unproven)} {verb} unreachable now and neither fenced nor attested down (unreachable is "
                f"not dead, it may still accept writes); {required}: fence {'it' if len(unproven) == 1 else 'them'} "
                "or have an approver attest it is down, then verify again")
    return ""


def authoritative_node(state: RunbookState, events) -> str | None:
    """The node that must be the one writer: a rollback's authoritative node, else the promoted
    candidate; None before any promotion (whichever single node writes: the old primary)."""
    if state.stage(3).status != "passed":
        return None
    rolled = [e for e in events if e.kind == "decision" and (e.data or {}).get("rollback")
              and (e.data or {}).get("authoritative")]
    return rolled[-1].data["authoritative"] if rolled else state.candidate


async def confirm_one_writer(op, target: str | None) -> str:
    """Sample every node now (``op.refresh()``, journaled) and judge that round: the problem
    sentence, or empty when exactly ``target`` is writable and every other node is accounted for.
    In a failback (``target`` is not the promoted node) the promoted node may be unreachable:
    the rollback's own gate judged it not writable just before."""
    view = await op.refresh()
    app_writers = await op.probe_app_path(view)      # a node the bastion cannot reach may still take Odoo's writes
    state = op.state()
    promoted = state.candidate if state.stage(3).status == "passed" else None
    exempt = frozenset({promoted}) if promoted and target and target != promoted else frozenset()
    attested = set(attestations(op.cluster, op.journal.events(kinds={"approval"}), state.roles.get("operator")))
    return one_writer_problem(op.cluster, target, view, old_primary=state.old_primary,
                              seen_as_standby=set(op.seen_as_standby), fenced=op._fenced_nodes(),
                              attested=attested, exempt=exempt, app_writers=app_writers)
