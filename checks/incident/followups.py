"""What a promotion leaves to do: the incident's open follow-ups, from its journal alone. Pure.

After a promotion the new primary needs standbys again: the old primary re-protected (``h``,
:mod:`checks.aftermath.reprotect`) and every other standby re-pointed at it (``j``, :mod:`checks.aftermath.repoint`).
The close's hardening checklist warns with these sentences and the record lists them under
"Open follow-ups".
"""

from __future__ import annotations

from typing import Iterable, Sequence

from checks.incident.evidence import Check, Step
from checks.observe.sample import NodeSample


def _data(event) -> dict:
    return event.data or {}


def new_primary(events: Sequence) -> str | None:
    """The node that must be the one writer after a promotion: a rollback's authoritative node,
    else the node this incident promoted (its last promotion that passed); None before any."""
    promoted = [_data(e).get("node") for e in events if e.kind == "evidence" and e.stage == 3
                and _data(e).get("check") == Check.PROMOTED and _data(e).get("passed")]
    if not promoted:
        return None
    rolled = [_data(e)["authoritative"] for e in events if e.kind == "decision" and _data(e).get("rollback")
              and _data(e).get("authoritative")]
    return rolled[-1] if rolled else promoted[-1]


def old_primary(events: Sequence) -> str | None:
    """The primary the incident's last candidate decision replaced."""
    olds = [_data(e).get("old_primary") for e in events if e.kind == "decision" and e.stage == 1
            and _data(e).get("candidate")]
    return olds[-1] if olds else None


def off_nodes(events: Sequence) -> dict[str, str]:
    """The nodes a promotion took out of the cluster: the old primary the decision named (the cockpit
    saw it write), and every node fenced or attested down in stage 2 (a crashed primary the cockpit
    never saw writable is one), each with how it is known."""
    found: dict[str, str] = {}
    old = old_primary(events)
    if old:
        found[old] = "the old primary"
    for e in events:
        d = _data(e)
        if e.stage != 2 or not d.get("node") or d["node"] in found:
            continue
        if e.kind == "action" and d.get("step") == Step.FENCE and d.get("exit_code") == 0:
            found[d["node"]] = "fenced in stage 2"
        elif e.kind == "approval":
            found[d["node"]] = "attested down in stage 2"
    return found


def reprotected(events: Iterable, primary: str) -> set[str]:
    """Nodes whose last re-protect attempt ended streaming from ``primary``."""
    last: dict[str, bool] = {}
    for e in events:
        d = _data(e)
        if e.kind == "evidence" and d.get("check") == Check.REPROTECTED and d.get("node"):
            last[d["node"]] = bool(d.get("passed")) and d.get("primary") == primary
    return {node for node, ok in last.items() if ok}


def latest_samples(samples: Iterable[NodeSample]) -> dict[str, NodeSample]:
    latest: dict[str, NodeSample] = {}
    for s in samples:
        if s.name not in latest or s.observed_at >= latest[s.name].observed_at:
            latest[s.name] = s
    return latest


def follow_ups(events: Sequence, samples: Iterable[NodeSample] = ()) -> list[str]:
    """One sentence per open follow-up: the old primary (or a node fenced or attested down) not yet
    re-protected, and, from the newest
    journaled sample of the new primary, a new primary with no streaming standby."""
    primary = new_primary(events)
    if primary is None:
        return []
    lines = []
    done = reprotected(events, primary)
    for node, what in off_nodes(events).items():
        if node != primary and node not in done:
            lines.append(f"{node}, {what}, is not re-protected yet: it is no standby of {primary}; once it is "
                         f"fenced or stopped, re-protect it (operator key h, or checks.aftermath.reprotect)")
    latest = latest_samples(samples).get(primary)
    if latest is not None and latest.reachable and latest.in_recovery is False:
        streaming = sorted(p.application_name or p.client_addr or "?" for p in latest.replication
                           if p.state == "streaming")
        if not streaming:
            lines.append(f"{primary}, the new primary, has no streaming standby (its pg_stat_replication at "
                         f"{latest.observed_at:%H:%M:%S}Z): a failure of {primary} now loses what it wrote since; "
                         f"re-point the standbys at it (operator key j, or drill after verify)")
    return lines
