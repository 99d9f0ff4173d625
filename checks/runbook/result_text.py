"""One sentence for what a runbook action returned: what happened and the figure that matters.

The cockpit's notification, training's score card and its attempts all say it with
:func:`result_sentence`; nothing a person reads is ever a Python ``repr`` of a result.
:func:`result_outcome` gives the one word for how an action that ran (was not refused)
ended, so a check that failed is never reported as "ok": ``done`` (it did its work, nothing
was judged), ``passed`` (what it checked passed) or ``did not pass`` (it ran, and what it
checked or ran failed).
"""

from __future__ import annotations

from typing import Any, Literal

from checks.observe.lsn import human_seconds
from checks.runbook.gates import STAGES, RunbookState

Outcome = Literal["done", "passed", "did not pass"]
DONE: Outcome = "done"
PASSED: Outcome = "passed"
NOT_PASSED: Outcome = "did not pass"

STATUS_WORDS = {"failed": "did not pass", "open": "is open", "locked": "is locked", "passed": "passed",
                "overridden": "passed by an approver's decision"}


def result_outcome(result: Any) -> Outcome:
    """How an action that ran ended, from what it returned (a refusal never gets here)."""
    passed = _passed(result)
    return DONE if passed is None else PASSED if passed else NOT_PASSED


def _passed(result: Any) -> bool | None:
    """True or False when the result judges something, None when it only says what was done."""
    if isinstance(result, bool):
        return result
    if isinstance(result, RunbookState):
        return result.current >= len(STAGES) or result.stage(result.current).status != "failed"
    if isinstance(result, (list, tuple)):
        found = [_passed(item) for item in result]
        return False if False in found else None
    if isinstance(result, (str, dict)) or result is None:
        return None
    if getattr(result, "error", None) or getattr(result, "stopped", None):
        return False
    for name in ("ok", "fenced", "promoted"):       # a command's exit, a fence, a promotion
        if getattr(result, name, None) is False:
            return False
    return None


def result_sentence(label: str, result: Any, state: RunbookState | None = None) -> str:
    """``label`` is the action as the operator named it ("verify", "fence"). ``state``, when
    given, is the runbook after the action: a check that did not pass then says why (its stage's
    gate), where the result itself is only a yes or no."""
    if result is None:
        return f"{label}: done"
    if isinstance(result, str):
        return result
    sentence = getattr(result, "sentence", None)
    if callable(sentence):
        return sentence()
    statement = getattr(result, "statement", None)
    if isinstance(statement, str) and statement:
        return statement
    if isinstance(result, bool):
        return f"{label}: passed" if result else f"{label}: did not pass" + _why(state)
    if isinstance(result, dict) and "rto_s" in result:
        return _closed(result)
    if isinstance(result, RunbookState):
        if result.current >= len(STAGES):
            return f"{label}: every stage passed"
        stage = result.stage(result.current)
        status = STATUS_WORDS.get(stage.status, stage.status)
        return f"{label}: stage {stage.number} {stage.title} {status}: {stage.gate}"
    if isinstance(result, (list, tuple)):
        parts = [_item(r) for r in result]
        return f"{label}: " + ("; ".join(p for p in parts if p) or "done")
    return f"{label}: done"


def _why(state: RunbookState | None) -> str:
    if state is None or state.current >= len(STAGES):
        return ""
    stage = state.stage(state.current)
    return f": stage {stage.number} {stage.title}: {stage.gate}" if stage.gate else ""


def _closed(figures: dict) -> str:
    verified = figures.get("verified", True)
    head = "closed" if verified else "closed before verification"
    rto = figures.get("rto_s")
    if not isinstance(rto, (int, float)):
        return f"{head}: no verification passed, so there is no RTO"
    return f"{head}: RTO {human_seconds(rto)}"


def _item(result: Any) -> str:
    for name in ("summary", "sentence"):
        said = getattr(result, name, None)
        if callable(said):
            return said()
    return ""
