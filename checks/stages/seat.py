"""The runbook's actions as the keys see them: one written protocol, two implementations.

The cockpit's keys (``tui.runbook_keys``) ask the operator what the action needs, then call a
:class:`Runbook` method. :class:`LiveRunbook` runs the stage functions on the seat's
:class:`~checks.runbook.operation.Operation` (real nodes, real commands); training's
:class:`~checks.training.run.TrainingRun` runs the same stage functions on a replayed
recording, with the effects simulated. So the prompts, the gates and the sentences are the
same in both. A method returns its result, or an awaitable of it; a refusal raises with the
gate's sentence.
"""

from __future__ import annotations

from typing import Any, Awaitable, Protocol, runtime_checkable

from checks.runbook.gates import RunbookState
from checks.runbook.operation import Operation
from checks.stages import close, cutover, evaluate, freshness, old_primary, promote, stabilize, verify

Outcome = Any | Awaitable[Any]


@runtime_checkable
class Runbook(Protocol):
    """Stages 0 to 5 and the close, as one seat acts on them."""

    simulated: bool          # training: the keys say "(simulated)" beside each effect

    def state(self) -> RunbookState: ...
    def evaluate(self, decision: str, signals: list[dict], reason: str = "") -> Outcome: ...
    def set_roles(self, scribe: str, approver: str) -> Outcome: ...
    def freeze(self) -> Outcome: ...
    def skip_freeze(self, reason: str) -> Outcome: ...
    def choose(self, candidate: str | None = None) -> Outcome: ...
    def approve(self, approver: str, note: str = "") -> Outcome: ...
    def check_others(self) -> Outcome: ...
    def attest(self, node: str, approver: str, statement: str) -> Outcome: ...
    def fence(self, typed: str | None = None) -> Outcome: ...
    def promote(self, typed: str) -> Outcome: ...
    def cut_over(self) -> Outcome: ...
    def verify(self) -> Outcome: ...
    def close(self) -> Outcome: ...


class LiveRunbook:
    """The live seat: every method is a stage function on the seat's operation. ``op`` is there for
    what only a live cockpit does (roll back, re-protect, re-point, adopt, keep one writer)."""

    simulated = False

    def __init__(self, op: Operation) -> None:
        self.op = op

    def state(self) -> RunbookState:
        return self.op.state()

    def evaluate(self, decision: str, signals: list[dict], reason: str = ""):
        return evaluate.evaluate_failover(self.op, decision, signals, reason)

    def set_roles(self, scribe: str, approver: str) -> str:
        return stabilize.set_roles(self.op, self.op.author, scribe, approver)

    def freeze(self):
        return stabilize.run_freeze(self.op)

    def skip_freeze(self, reason: str) -> str:
        return stabilize.skip_freeze(self.op, reason)

    def choose(self, candidate: str | None = None):
        return freshness.choose(self.op, candidate)

    def approve(self, approver: str, note: str = "") -> str:
        return freshness.approve(self.op, approver, note)

    def check_others(self):
        return old_primary.check_others(self.op)

    def attest(self, node: str, approver: str, statement: str) -> str:
        return old_primary.attest(self.op, node, approver, statement)

    def fence(self, typed: str | None = None):
        """The names were typed in the confirmation (or nothing needed fencing): fencing is allowed."""
        return old_primary.fence_old_primary(self.op, allowed=True)

    def promote(self, typed: str):
        return promote.promote_candidate(self.op, typed)

    def cut_over(self):
        return cutover.cut_over(self.op)

    def verify(self):
        return verify.verify_all(self.op)

    def close(self):
        return close.close_incident(self.op)
