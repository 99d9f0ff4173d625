"""The verdict in words: what the cockpit's header and ``status`` say first (docs/design.md section 13).

Pure. "The bastion cannot see the primary" is not "the primary is down": the sentence says which
one the evidence supports. When Odoo still writes through PgBouncer to a primary the bastion
cannot reach, it says so loudly: the primary may be alive, and fencing is mandatory before any
promotion (:func:`checks.runbook.others.judge_others` enforces it).
"""

from __future__ import annotations

from checks.observe.assess import ClusterView
from checks.observe.error_cause import error_cause
from checks.observe.pooler import PoolProbe, app_writers
from checks.observe.signals import ANSWERED, SignalBoard, primary_of

NO_PRIMARY = "no writable node: the cluster has no primary"


def hidden_writers(view: ClusterView, probes: list[PoolProbe]) -> dict[str, str]:
    """Nodes Odoo writes to through a pooler while the bastion cannot reach them: node -> sentence."""
    found = {}
    for node, sentence in app_writers(probes).items():
        try:
            sample = view.node(node).sample
        except StopIteration:
            continue
        if not sample.reachable:
            found[node] = sentence
    return found


def headline(view: ClusterView, board: SignalBoard | None = None) -> str | None:
    """The one sentence that tells the situation, when the signals change what the samples alone
    would say (None: the view's own first problem says it)."""
    if view.config_error or view.split_brain or view.verdict == "unknown":
        return None
    probes = board.probes if board is not None else []
    primary = primary_of(view, probes)
    sample = view.node(primary).sample if primary and any(n.name == primary for n in view.nodes) else None
    if sample is not None and not sample.reachable and error_cause(sample.error) in ANSWERED:
        return (f"the primary {primary} is up but refuses the cockpit ({error_cause(sample.error)}: {sample.error}): "
                "it is not unreachable; fix the cockpit's access before judging it")
    hidden = hidden_writers(view, probes)
    if hidden:
        node, sentence = next(iter(hidden.items()))
        cause = error_cause(view.node(node).sample.error)
        return (f"THE PRIMARY MAY BE ALIVE: the bastion cannot reach {node} ({cause}), but {sentence} "
                f"through its own path: Odoo may still be served by {node}; fence {node} before any promotion")
    if view.writable or sample is None or sample.reachable:
        return None
    cause = error_cause(sample.error)
    crash = board.get("primary_restarts", primary) if board is not None else None
    loop = f"; {crash.text}" if crash is not None and crash.firing and "crash loop" in crash.text else ""
    paths = [p for p in probes if p.reaches == primary or p.reaches is None]
    if not probes:
        configured = board is not None and board.cluster.pgbouncers
        why = ("Odoo's path through PgBouncer is not probed yet" if configured else
               "no PgBouncer is configured to tell whether Odoo still reaches it")
        return f"the bastion cannot reach the primary {primary} ({cause}){loop}; {why}"
    failing = [p for p in paths if not (p.connected and p.writable)]
    if paths and len(failing) == len(paths):
        why = failing[0].error or "read-only"
        return (f"the primary {primary} is down: the bastion cannot reach it ({cause}) and Odoo cannot write through "
                f"{failing[0].pgbouncer} either ({why}){loop}")
    return f"the bastion cannot reach the primary {primary} ({cause}){loop}"


def verdict_lines(view: ClusterView, board: SignalBoard | None = None) -> tuple[str, ...]:
    """The header's problem lines: the headline first, then the view's problems (without the bare
    "no primary" the headline says better)."""
    first = headline(view, board)
    if first is None:
        return view.problems
    return (first, *(p for p in view.problems if p != NO_PRIMARY))
