"""Re-point the standbys: after a promotion, every other reachable standby follows the new primary.

A runbook step after the promotion (operator key ``j``; ``drill`` runs it after its verification
passed, before the close). After a failover the other standbys still follow the old primary: they
stream from nobody, or from it once it is back. For each node of the config, in order, one fresh
sampling round decides:

- the new primary itself, and a node that is unreachable (the old primary, stopped or fenced:
  that is re-protect's job, key ``h``), writable (never touched: a second writer is fenced, not
  rewound), of another cluster, or without ``reprotect`` commands: left alone, with the reason;
- a standby already streaming from the new primary: left alone;
- every other standby: re-pointed with :func:`checks.aftermath.reprotect.reprotect`'s steps (CHECKPOINT on
  the new primary, pg_rewind dry run, pg_rewind, ``start_as_standby``, streaming verified from both
  ends). The lab's rewind stops a standby cleanly first, and pg_rewind only rewrites it when it is
  past the switch point. One standby at a time: the others keep streaming meanwhile.

Journaled (``step = "repoint"``): the plan (evidence ``repoint_plan``), each standby's re-protect
steps as re-protect journals them plus its outcome (evidence ``repointed``, per ``node``), and the
result (evidence ``standbys_repointed``, ``passed`` when every re-pointed standby streams).
"""

from __future__ import annotations

from typing import Iterable

from checks.aftermath.reprotect import reprotect
from checks.incident.evidence import Check, Step
from checks.observe.assess import ClusterView, NodeView
from checks.runbook.operation import GateRefused, Operation

STEP = Step.REPOINT
ACTION = "re-point standbys"


class Repointed(dict):
    """What :func:`repoint_standbys` did, as a dict (``primary``, ``nodes``, ``passed``, ``left_alone``)
    that also says it in one sentence."""

    def sentence(self) -> str:
        done = "; ".join(f"{n} {o}" for n, o in self["nodes"].items()) or "no standby needed it"
        alone = "; ".join(f"{n} left alone: {why}" for n, why in self["left_alone"].items())
        head = "standbys re-pointed" if self["passed"] else "standbys NOT all re-pointed"
        return f"{head} at {self['primary']}: {done}" + (f"; {alone}" if alone else "")


def plan(view: ClusterView, cluster, primary: str) -> dict[str, str]:
    """What to do with each node other than ``primary``: ``"repoint"``, or why it is left alone."""
    out: dict[str, str] = {}
    for node in cluster.nodes:
        if node.name == primary:
            continue
        try:
            v: NodeView = view.node(node.name)
        except StopIteration:
            out[node.name] = "not sampled"
            continue
        out[node.name] = _why(v, node, primary)
    return out


def _why(v: NodeView, node, primary: str) -> str:
    if v.role == "unreachable":
        return f"unreachable ({v.sample.error or 'no answer'}): not re-pointed; if it is the old primary, " \
               "re-protect it (key h) once it is fenced or stopped"
    if v.sample.writable:
        return "WRITABLE: not re-pointed (a second writer is fenced, not rewound)"
    if v.role != "standby":
        return f"{v.role}: not re-pointed"
    if v.streaming and v.upstream == primary:
        return f"already streams from {primary}"
    if node.reprotect is None:
        return "no reprotect commands in the config: not re-pointed"
    return "repoint"


def _state_words(v: NodeView) -> str:
    if v.streaming:
        return f"streams from {v.upstream or v.sender or 'an unknown sender'}"
    return f"not streaming, last followed {v.followed}" if v.followed else "not streaming"


async def repoint_standbys(op: Operation, only: Iterable[str] | None = None) -> Repointed:
    """Re-point every other reachable standby at the new primary; returns :class:`Repointed`
    (``{"primary", "nodes": {name: outcome}, "passed", "left_alone": {name: why}}``, and its sentence).
    ``only``: the standbys the operator confirmed (the cockpit's typed names); another one this round
    finds is left alone and said.
    Refused (GateRefused, journaled) before stage 3 passed."""
    state = op.state()
    if state.stage(3).status != "passed":
        raise op.refuse(ACTION, "re-pointing the standbys refused: stage 3 Promote has not passed, so there is "
                        "no new primary to follow yet; to unlock: promote the candidate first")
    primary = state.candidate
    view = await op.refresh()
    decided = plan(view, op.cluster, primary)
    if only is not None:
        confirmed = set(only)
        decided = {n: ("not among the standbys confirmed: re-point again to include it"
                       if what == "repoint" and n not in confirmed else what) for n, what in decided.items()}
    todo = [name for name, what in decided.items() if what == "repoint"]
    words = {name: (_state_words(view.node(name)) if what == "repoint" else what) for name, what in decided.items()}
    op.log("evidence", f"re-pointing standbys at {primary}: "
           + ("; ".join(f"{n} ({words[n]})" for n in todo) if todo else "none needs it")
           + "".join(f"; {n}: {what}" for n, what in decided.items() if what != "repoint"),
           data={"check": Check.REPOINT_PLAN, "step": STEP, "primary": primary, "repoint": todo,
                 "left_alone": {n: w for n, w in decided.items() if w != "repoint"}})
    outcomes: dict[str, str] = {}
    for name in todo:
        try:
            ok = await reprotect(op, name, confirm=name)   # the re-point step was confirmed for all of them
            outcome = "streaming" if ok else "FAILED"
        except GateRefused as exc:
            ok, outcome = False, f"refused: {exc}"
        outcomes[name] = outcome
        op.log("evidence", f"{name} re-pointed at {primary}: streaming from it" if ok else
               f"{name} NOT re-pointed at {primary}: {outcome}",
               data={"check": Check.REPOINTED, "step": STEP, "node": name, "primary": primary, "passed": ok})
    passed = all(o == "streaming" for o in outcomes.values())
    summary = (", ".join(f"{n} {o}" for n, o in outcomes.items()) if outcomes else "no standby needed it")
    op.log("evidence", f"standbys re-pointed at {primary}: {summary}" if passed else
           f"standbys NOT all re-pointed at {primary}: {summary}",
           data={"check": Check.STANDBYS_REPOINTED, "step": STEP, "primary": primary, "passed": passed,
                 "nodes": outcomes, "left_alone": {n: w for n, w in decided.items() if w != "repoint"}})
    return Repointed(primary=primary, nodes=outcomes, passed=passed,
                     left_alone={n: w for n, w in decided.items() if w != "repoint"})
