"""Stage 1, Replica freshness: the candidate chosen with its data risk stated, and the approval of that risk.

The data risk is compared along one timeline history (:mod:`checks.runbook.risk`,
:mod:`checks.observe.lineage`): what the candidate lacks of what the last primary wrote.
"""

from __future__ import annotations

from checks.config.text import clean_name, clean_text  # person text is made safe once, where it enters
from checks.incident.evidence import journaled_histories
from checks.observe.assess import ClusterView
from checks.observe.lineage import read_branch
from checks.observe.sample import utcnow
from checks.runbook.candidates import rank_candidates
from checks.runbook.gates import approval_problem
from checks.runbook.operation import Operation
from checks.runbook.risk import DataRisk, data_risk


async def risk_for(op: Operation, candidate: str, view: ClusterView, final_lsn: str | None = None) -> DataRisk:
    """The data risk of promoting ``candidate`` now, compared along one timeline history."""
    mark = view.last_primary
    alive = bool(mark and any(n.name == mark.node and n.sample.writable for n in view.nodes))
    sample = view.node(candidate).sample
    samples = {n.name: n.sample for n in view.nodes if not n.foreign and not n.duplicate_of}
    branch = None
    if mark is not None:
        reference = final_lsn or mark.lsn
        branch = await read_branch(op.cluster, sample, mark.node, mark.timeline, reference, samples,
                                   journaled_histories(op.journal.events(kinds={"evidence"})))
    return data_risk(sample, mark, op.cluster.slo, utcnow(), final_lsn=final_lsn,
                     final_node=mark.node if mark else None, primary_alive=alive, branch=branch,
                     others=[s for name, s in samples.items() if name != candidate])

async def choose(op: Operation, candidate: str | None = None) -> DataRisk:
    op.require(1, "choose a candidate")
    view = await op.refresh()
    op.refuse_if_promoted_elsewhere("choose a candidate", view, 1)
    ranked = rank_candidates(view, op.cluster)
    eligible = [c for c in ranked if c.eligible]
    if candidate is None:
        if not eligible:
            why = "; ".join(f"{c.name}: {c.reason}" for c in ranked)
            raise op.refuse("choose a candidate", f"no standby can be promoted: {why}", 1)
        candidate = eligible[0].name
    chosen = next((c for c in ranked if c.name == candidate), None)
    if chosen is None or not chosen.eligible:
        why = chosen.reason if chosen else "it is not a node of this cluster"
        raise op.refuse("choose a candidate", f"{candidate} cannot be the candidate: {why}", 1)
    risk = await risk_for(op, candidate, view)
    mark = view.last_primary
    op.log("decision", f"candidate {candidate}: {risk.statement}", stage=1, data={
        "candidate": candidate, "old_primary": mark.node if mark else None,
        "old_primary_timeline": mark.timeline if mark else None,
        "data_risk": risk.model_dump(mode="json"), "proposed_by": op.author,
        "ranking": [c.summary() for c in ranked]})
    return risk

def approve(op: Operation, approver: str, note: str = "") -> str:
    """Journal ``approver``'s approval of the candidate's data risk; returns the sentence journaled."""
    approver, note = clean_name(approver, "approver", required=False), clean_text(note, "the approval's note")
    state = op.require(1, "approve the data risk")
    if not state.candidate:
        raise op.refuse("approve", "there is nothing to approve yet: choose a candidate first", 1)
    problem = approval_problem(approver, op.cluster, state.roles.get("operator"))
    if problem:
        raise op.refuse("approve", f"approval refused: {problem}", 1)
    risk = (state.data_risk or {}).get("statement", "")
    measured = op.final_lsn_evidence(state.candidate)
    if measured:                     # after a switchover stopped: the approval covers what it measured
        risk = f"{risk}; measured by the fence sequence: {measured['text']}"
    return op.log("approval", f"{approver} approves promoting {state.candidate}: {risk} {note}".strip(), stage=1,
                  data={"candidate": state.candidate, "approved_by": approver, "statement": risk}).text
