"""Adopting a primary promoted behind the tool's back (someone ran ``pg_promote()`` by hand).

Fencing the only node that holds the new writes would be the worst advice, and refusing forever
leaves the incident stuck. Adopting makes that node this incident's candidate, with its data risk
measured against the old primary like any candidate's: what the old primary wrote after the point
where the adopted node's timeline forked off its own (:func:`checks.runbook.risk.data_risk`, on the WAL
the adopted node holds of the old timeline). The runbook then goes on as usual: approval where
the rules need it, stage 2 on fresh evidence (the old primary fenced or attested down), stage 3
finds the node already promoted and sends nothing, then the cutover.
"""

from __future__ import annotations

from checks.incident.evidence import journaled_histories
from checks.observe.assess import PrimaryMark, Watch
from checks.observe.divergence import DivergenceError
from checks.observe.lineage import read_timeline_history
from checks.observe.sample import NodeSample, utcnow
from checks.runbook.operation import Operation
from checks.runbook.risk import DataRisk, data_risk


def old_primary_mark(op: Operation, adopted: str) -> PrimaryMark | None:
    """The last primary mark this incident saw on a node other than ``adopted``: its journaled
    samples judged again without the adopted node's writable ones (the live view's mark has moved on
    to the adopted node, the only writer now)."""
    watch = Watch(op.cluster_name, op.cluster)
    for sample in op.journal.samples():
        if sample.name == adopted and sample.writable:
            continue
        watch.update(sample, now=sample.observed_at)
    mark = watch.last_primary
    return mark if mark is not None and mark.node != adopted else None


def fork_point_of(history, old_timeline: int | None) -> str | None:
    """Where the adopted node's history left ``old_timeline`` (its last switch from it)."""
    switches = [h.switch_lsn for h in history if h.parent_tli == old_timeline]
    return switches[-1] if switches else None


async def adopt(op: Operation, node: str) -> DataRisk:
    """Make ``node``, writable and promoted outside this incident, the incident's candidate."""
    op.require(1, "adopt")
    view = await op.refresh()
    if node not in {n.name for n in view.nodes}:
        raise op.refuse("adopt", f"adopt refused: {node} is not a node of this cluster", 1)
    if node in op.promoted_here():
        raise op.refuse("adopt", f"adopt refused: this incident promoted {node} itself; nothing to adopt", 1)
    if node not in view.writable:
        raise op.refuse("adopt", f"adopt refused: {node} is not writable now, so there is no primary to adopt; "
                        "choose a standby to promote (stage 1)", 1)
    if view.split_brain:
        raise op.refuse("adopt", f"adopt refused: {', '.join(view.writable)} accept writes: that is split brain; "
                        "keep one writer first (failover-cockpit split-brain --keep NODE)", 1)
    mark = old_primary_mark(op, node)
    if mark is None:
        raise op.refuse("adopt", f"adopt refused: this incident never saw another primary than {node}: it has been "
                        "the primary all along, there is no failover to adopt", 1)
    sample = view.node(node).sample
    samples = {n.name: n.sample for n in view.nodes if not n.foreign}
    try:
        history = await read_timeline_history(op.cluster, sample.timeline or 1, [node, *sorted(samples)], samples,
                                 journaled_histories(op.journal.events(kinds={"evidence"})))
        fork = fork_point_of(history, mark.timeline)
        why = "" if fork else f"its timeline history does not say where it left timeline {mark.timeline}"
    except DivergenceError as exc:
        fork, why = None, str(exc)
    # what it holds of the old primary's WAL: everything up to its fork (unknown when that cannot be read)
    held = NodeSample(name=node, observed_at=sample.observed_at, reachable=True, in_recovery=True,
                      receive_lsn=fork, replay_lsn=fork, timeline=mark.timeline)
    risk = data_risk(held, mark, op.cluster.slo, utcnow(),
                     others=[s for n, s in samples.items() if n not in (node, mark.node)])
    if fork is None:
        risk = risk.model_copy(update={"statement": (
            f"adopting {node} loses an unknown amount of {mark.node}'s committed work: {why}; an approver "
            "must approve it")})
    where = (f"it left {mark.node}'s timeline {mark.timeline} at {fork}" if fork
             else f"where it left {mark.node}'s timeline cannot be read ({why})")
    text = (f"adopt {node}, promoted outside this incident (writable on timeline {sample.timeline}; {where}): "
            f"{risk.statement}")
    op.log("decision", text, stage=1, data={
        "candidate": node, "adopted": True, "old_primary": mark.node, "old_primary_timeline": mark.timeline,
        "fork_lsn": fork, "data_risk": risk.model_dump(mode="json"), "proposed_by": op.author})
    return risk
