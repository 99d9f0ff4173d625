"""Which nodes this incident fenced: the journal's fence actions as the assessment's :class:`Fence` records.

Pure. A fence is an ``action`` event of stage 2 whose data says ``step = "fence"`` (a fence command:
stage 2's fence or the fence sequence of a planned switchover, or keep-one-writer's after a split
brain) and ``exit_code = 0``; the last such one of each node is its fence. A later fence of the same
node that failed does not undo it. The panels and the verdict read the result through
:class:`checks.observe.assess.Watch` (docs/design.md section 2.3).
"""

from __future__ import annotations

from collections.abc import Iterable

from checks.incident.evidence import Step, data
from checks.observe.fences import Fence


def is_fence(event) -> bool:
    """A fence command of stage 2 that exited 0."""
    d = data(event)
    return (event.kind == "action" and event.stage == 2 and d.get("step") == Step.FENCE
            and d.get("exit_code") == 0 and bool(d.get("node")))


def fences_of(events: Iterable) -> dict[str, Fence]:
    """By node: the last fence of this incident that exited 0."""
    found: dict[str, Fence] = {}
    for event in events:
        if not is_fence(event):
            continue
        d = data(event)
        found[d["node"]] = Fence(node=d["node"], at=event.at, name=d.get("name") or f"fence {d['node']}",
                                 argv=tuple(d.get("argv") or ()), exit_code=0, author=event.author,
                                 duration_ms=d.get("duration_ms"))
    return found
