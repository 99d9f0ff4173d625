"""The other nodes: the rule that no node but the candidate is writable, or unreachable without proof.

A writable node blocks; an unreachable node that was the primary, or was never seen as a
standby, needs proof (a fence command that succeeded, or an approver's attestation),
because unreachable is not dead. Pure: stage 2's check, the promotion's re-check, every
verification and the close judge with it.
"""

from __future__ import annotations

from checks.config.model import Cluster
from checks.incident.evidence import Check, latest
from checks.observe.sample import NodeSample


def judge_others(cluster: Cluster, candidate: str, samples: dict[str, NodeSample], *, old_primary: str | None,
                 seen_as_standby: set[str], fenced: set[str], app_writers: dict[str, str] | None = None) -> dict:
    """The evidence of the ``others_not_writable`` check, as journaled.

    ``app_writers``: nodes the bastion cannot reach that a new client through a PgBouncer writes to
    (:func:`checks.observe.headline.hidden_writers`): alive and serving Odoo, so only a fence that
    succeeded proves them down; an attestation does not (``app_writable`` in the evidence)."""
    app_writers = app_writers or {}
    nodes, lines = {}, []
    for node in cluster.nodes:
        if node.name == candidate:
            continue
        s = samples.get(node.name)
        reachable = bool(s and s.reachable)
        writable = bool(s and s.writable)
        needs_proof = not reachable and (node.name == old_primary or node.name not in seen_as_standby)
        was_fenced = node.name in fenced
        app_writable = not reachable and node.name in app_writers
        needs_proof = needs_proof or app_writable
        nodes[node.name] = {"reachable": reachable, "writable": writable, "needs_proof": needs_proof,
                            "fenced": was_fenced, "in_recovery": s.in_recovery if s else None,
                            "app_writable": app_writable}
        if app_writable and not was_fenced:
            lines.append(f"{node.name} is unreachable from the bastion, but {app_writers[node.name]}: it is alive and "
                         "serving Odoo; only a fence proves it down")
        elif writable:
            lines.append(f"{node.name} is WRITABLE ({s.current_lsn})")
        elif reachable:
            lines.append(f"{node.name} is reachable and read-only ({s.read_only_words()})")
        elif was_fenced:
            lines.append(f"{node.name} is unreachable after a successful fence")
        elif needs_proof:
            lines.append(f"{node.name} is unreachable ({s.error if s else 'never sampled'}): not proof it is down")
        else:
            lines.append(f"{node.name} is unreachable; last seen as a standby")
    return {"check": Check.OTHERS, "candidate": candidate, "old_primary": old_primary,
            "nodes": nodes, "lines": lines}


def needs_fencing(evidence: dict) -> list[str]:
    """From ``others_not_writable`` evidence: the nodes to fence (writable, or unreachable without proof)."""
    nodes = evidence.get("nodes") or {}
    return sorted(n for n, f in nodes.items() if f.get("writable") or (f.get("needs_proof") and not f.get("fenced")))


def latest_check(events) -> dict | None:
    """The data of stage 2's latest ``others_not_writable`` check (None before the first)."""
    return latest(events, Check.OTHERS, stage=2)


def fence_targets(events, candidate: str | None = None) -> list[str]:
    """The nodes stage 2's latest check says need fencing; with ``candidate``, only when that check
    judged the nodes for this candidate."""
    check = latest_check(events)
    if check is None or (candidate is not None and check.get("candidate") != candidate):
        return []
    return needs_fencing(check)
