"""The split-brain banner's key (K), at any stage: the operator keeps one writer, the approver approves.

Operator seat: one sampling round measures the proposal (:func:`checks.aftermath.split_brain.propose`), a
prompt names the writer to keep (the proposed one filled in) with what each choice discards, the
name of the node to fence is typed, then :func:`checks.aftermath.split_brain.keep_one_writer` re-checks and
acts. When that discards transactions it is refused until the approver seat approves it (K there);
a name typed in the operator's seat is never an approval. Without an incident there is no journal,
so it is refused with the sentence saying how to open one.
"""

from __future__ import annotations

from widgets.closing import while_open
from widgets.confirm_modal import ConfirmModal
from widgets.prompt_modal import PromptModal
from widgets.typed_confirm import TypedConfirmModal

LABEL = "keep one writer"
NO_INCIDENT = ("keep one writer refused: this cockpit has no incident, so nothing it did would be journaled; "
               "open one with --incident DIR (failover-cockpit run CONFIG --incident DIR), or run failover-cockpit "
               "split-brain CONFIG --incident DIR --keep NODE")


def press(app) -> None:
    session = getattr(app, "session", None)
    if session is None:
        app.notify(NO_INCIDENT, title=LABEL, severity="error", timeout=20)
    elif session.seat == "approver":
        _approve(app)
    elif not session.is_operator:
        app.notify(f"keep one writer: only the operator seat fences a writer, and the approver seat approves it; "
                   f"this is the {session.seat} seat", title=LABEL, severity="warning")
    else:
        _propose(app)


def _propose(app) -> None:
    from checks.aftermath.split_brain import propose

    async def measure(rb):
        proposal = await propose(rb.op)
        app.call_from_thread(_ask_keep, app, proposal)
        return proposal.lines()[1]

    app._start(LABEL, measure)


@while_open
def _ask_keep(app, proposal) -> None:
    detail = "\n".join(proposal.lines())

    def got(keep: str | None) -> None:
        if keep:
            _ask_fence(app, proposal, keep.strip())

    app.push_screen(PromptModal("Split brain: which writer is kept? (the proposed one is filled in)", detail,
                                default=proposal.proposed or ""), got)


def _ask_fence(app, proposal, keep: str) -> None:
    from checks.aftermath.split_brain import keep_one_writer

    def act(typed: str):
        app._start(LABEL, lambda rb: keep_one_writer(rb.op, keep, confirm=typed))

    if keep not in proposal.writers:
        act("")                          # refused by the action, with its sentence, journaled
        return
    choice = proposal.choice(keep)
    fence = ", ".join(choice.fence)
    approval = (" It discards transactions: the approver seat must approve it first (K there)."
                if choice.needs_approval else "")
    app.push_screen(TypedConfirmModal(f"Keep {keep}, fence {fence}", fence, effects=(
                        f"runs the configured fence command of {fence};",
                        f"then samples every node: exactly {keep} must accept writes"),
                        data_risk=choice.statement + "." + approval),
                    lambda ok: ok and act(fence))


def _approve(app) -> None:
    from checks.aftermath.split_brain import approve_keep, pending_keep

    pending = pending_keep(app.panes.events)
    if pending is None:
        app.notify("nothing to approve: no split-brain resolution waits for an approval (the operator asks with K)",
                   title=LABEL, severity="warning")
        return
    fence = ", ".join(pending["fence"])
    app.push_screen(ConfirmModal(f"Approve keeping {pending['keep']} and fencing {fence}?", pending["statement"]),
                    lambda yes: yes and app._start("approve", lambda rb: approve_keep(rb.op, app.session.name)))
