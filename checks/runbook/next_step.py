"""The runbook's next step for the operator: the one action the gates propose now.

The cockpit runs it on Enter (with the same confirmations as its own key: typed names stay for
fence and promote), shows it as "next" in the checklist, and a guided run presses nothing else.
When the next step is someone else's (the approver approves a data risk or attests a node down),
or the incident is closed, there is no action and the sentence says who and what.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.runbook.gates import RunbookState
from checks.runbook.others import fence_targets, latest_check


@dataclass(frozen=True)
class NextStep:
    action: str | None       # the key's action name ("choose", "fence", ...), None when it is not the operator's
    label: str               # what it does, as the checklist names it ("choose candidate")
    sentence: str            # what the operator reads when they ask for it and there is nothing to press


def _approver(state: RunbookState) -> str:
    return state.roles.get("approver") or "the approver"


def next_step(state: RunbookState, events) -> NextStep:
    """What the operator's next key is now (``events``: the incident's journal, in order)."""
    if state.closed:
        return NextStep(None, "", "the incident is closed: nothing is proposed (reopen it to act again)")
    current = state.current
    if current == 0 and (state.evaluation is None or not state.evaluation.fail_over):
        again = " again" if state.evaluation is not None else ""
        return NextStep("evaluate", "evaluate", f"evaluate{again}: read the signals and each standby's freshness, "
                        "then decide to fail over or not yet")
    if current == 0:
        roles = state.stage(0)
        if not state.roles or roles.status == "failed" or {"operator", "scribe", "approver"} - set(state.roles):
            return NextStep("roles", "set roles", "set the roles")
        return NextStep("freeze", "freeze writers", "run the freeze commands")
    if current == 1:
        stage = state.stage(1)
        if state.candidate and stage.status == "open":
            return NextStep(None, "approve data risk", f"waiting for {_approver(state)} to approve the data risk of "
                            f"promoting {state.candidate} (key a in the approver's seat)")
        return NextStep("choose", "choose candidate", "choose the candidate")
    if current == 2:
        check = latest_check(events)
        if check is None or check.get("candidate") != state.candidate:
            return NextStep("check_old", "check old primary", "check the old primary")
        targets = fence_targets(events, state.candidate)
        if targets:
            return NextStep("fence", f"fence {', '.join(targets)}", f"fence {', '.join(targets)}")
        return NextStep("check_old", "check old primary", f"check the old primary again ({state.stage(2).gate})")
    if current == 3:
        return NextStep("promote", f"promote {state.candidate}", f"promote {state.candidate}")
    if current == 4:
        return NextStep("cut_over", "cut over", "cut Odoo over to the new primary")
    if current == 5:
        return NextStep("verify", "verify", "verify the new primary")
    return NextStep("close_incident", "close the incident", "close the incident")
