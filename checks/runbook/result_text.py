"""One sentence for what a runbook action returned: what happened and the figure that matters.

The cockpit's notification, training's score card and its attempts all say it with
:func:`result_sentence`; nothing a person reads is ever a Python ``repr`` of a result.
"""

from __future__ import annotations

from typing import Any

from checks.runbook.gates import STAGES, RunbookState


def result_sentence(label: str, result: Any) -> str:
    """``label`` is the action as the operator named it ("verify", "fence")."""
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
        return f"{label}: {'passed' if result else 'did not pass'}"
    if isinstance(result, dict) and "rto_s" in result:
        return f"closed: RTO {result['rto_s']} s"
    if isinstance(result, RunbookState):
        if result.current >= len(STAGES):
            return f"{label}: every stage passed"
        stage = result.stage(result.current)
        return f"{label}: stage {stage.number} {stage.title} is {stage.status}: {stage.gate}"
    if isinstance(result, (list, tuple)):
        parts = [_item(r) for r in result]
        return f"{label}: " + ("; ".join(p for p in parts if p) or "done")
    return f"{label}: done"


def _item(result: Any) -> str:
    for name in ("summary", "sentence"):
        said = getattr(result, name, None)
        if callable(said):
            return said()
    return ""
