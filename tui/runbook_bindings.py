"""Which runbook keys a seat has, and which the footer shows: the ones that can act now.

Every runbook key is bound twice. The visible binding (``Binding("p", "promote", ...)``) is shown
in the footer only while it can act now (this seat's key, at the stage the runbook is at); when it
cannot, the same key falls through to a hidden ``press('promote')`` binding, which runs the same
handler, so a key pressed too early still answers with the gate's sentence, never with silence.
``enter`` runs the runbook's next step (:mod:`checks.runbook.next_step`).
"""

from __future__ import annotations

from textual.binding import Binding

from checks.runbook.gates import RunbookState

# (key, action, footer label, seat, stage): stage None = not tied to one stage
KEYS = (
    ("g", "evaluate", "Evaluate", "operator", 0),
    ("s", "roles", "Roles", "operator", 0), ("w", "freeze", "Freeze", "operator", 0),
    ("k", "skip_freeze", "Skip freeze", "operator", 0), ("c", "choose", "Candidate", "operator", 1),
    ("o", "check_old", "Old primary", "operator", 2), ("x", "fence", "Fence", "operator", 2),
    ("p", "promote", "Promote", "operator", 3), ("u", "cut_over", "Cut over", "operator", 4),
    ("v", "verify", "Verify", "operator", 5), ("z", "close_incident", "Close", "operator", None),
    ("b", "rollback", "Roll back", "operator", None), ("h", "reprotect", "Re-protect", "operator", None),
    ("j", "repoint", "Re-point", "operator", None), ("d", "adopt", "Adopt", "operator", None),
    ("a", "approve", "Approve", "approver", 1), ("t", "attest", "Attest", "approver", 2),
    ("K", "keep_writer", "Keep one writer", "any", None),
)
OPERATOR_KEYS = {  # stage -> [(key, label)], as the checklist names them
    0: [("g", "evaluate"), ("s", "set roles"), ("w", "freeze writers"), ("k", "skip freeze")],
    1: [("c", "choose candidate")],
    2: [("o", "check old primary"), ("x", "fence")],
    3: [("p", "promote")],
    4: [("u", "cut over")],
    5: [("v", "verify"), ("j", "re-point standbys")],
}
APPROVER_KEYS = {1: [("a", "approve data risk")], 2: [("t", "attest node down")]}
SEAT_OF = {action: seat for _key, action, _label, seat, _stage in KEYS}
STAGE_OF = {action: stage for _key, action, _label, _seat, stage in KEYS}
OPERATOR_ACTIONS = {a for a, seat in SEAT_OF.items() if seat == "operator"}
APPROVER_ACTIONS = {a for a, seat in SEAT_OF.items() if seat == "approver"}
AFTER_PROMOTION = {"rollback", "reprotect", "repoint"}

RUNBOOK_BINDINGS = [
    Binding("enter", "next", "Next", tooltip="Run the runbook's next step (it asks first, as its own key does)"),
    Binding("n", "note", "Note"),
    Binding("e", "evidence", "Evidence", show=False, tooltip="Show or hide the selected stage's evidence"),
    *[binding for key, action, label, _seat, _stage in KEYS for binding in (
        Binding(key, action, label, tooltip=label),
        Binding(key, f"press('{action}')", label, show=False))],
]


def seat_may(session, action: str) -> bool:
    """Whether this seat has the key at all (the trainee plays the operator and the approver)."""
    seat = SEAT_OF.get(action, "any")
    if seat == "operator":
        return session.is_operator
    if seat == "approver":
        return session.seat == "approver" or getattr(session, "plays_approver", False)
    return True


def possible_now(session, action: str, state: RunbookState, *, split_brain: bool = False) -> bool:
    """Whether ``action``'s key can act now in this seat: the footer shows it."""
    if not seat_may(session, action) or (state.closed and action not in AFTER_PROMOTION | {"note", "evidence"}):
        return False
    if action == "keep_writer":
        return split_brain
    if action == "adopt":
        return False                      # a rare repair: in the help and the palette, not the footer
    if action == "close_incident":
        return state.current == 6
    if action in AFTER_PROMOTION:
        return state.stage(3).status == "passed"
    if action == "approve" and state.stage(3).status == "passed":
        return True                       # a failback the operator asked for
    stage = STAGE_OF.get(action)
    return stage is None or stage == state.current


def seat_keys(session, state: RunbookState) -> dict[int, tuple[str, str]]:
    """stage -> (keys, labels) this seat has, for the checklist's "next" line."""
    table = OPERATOR_KEYS if session.is_operator else APPROVER_KEYS if session.seat == "approver" else {}
    shown = {stage: (" ".join(k for k, _ in keys), " / ".join(label for _, label in keys))
             for stage, keys in table.items()}
    if session.is_operator and state.current == 6:
        shown[5] = (("b h j", "roll back / re-protect the old primary / re-point standbys") if state.closed else
                    ("z b h j", "close / roll back / re-protect the old primary / re-point standbys"))
    elif session.seat == "approver" and state.stage(3).status == "passed":
        shown[5] = ("a", "approve a failback the operator asked for")
    return shown
