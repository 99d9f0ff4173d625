"""The runbook's keys, by seat: the operator acts, the approver approves and attests, every seat notes.

Each key asks first (a yes/no modal, or typing the node's name for fence and promote), then
hands the action to the action runner, which calls it with the seat's
:class:`~checks.stages.seat.Runbook`: the live cockpit's (:class:`~tui.runbook_actions.RunbookActions`)
or training's (:mod:`tui.train_app`), so both ask the same questions. What a seat may not do
is hidden from its footer and refused with a sentence if pressed anyway.
"""

from __future__ import annotations

from checks.config.text import TextRefused, clean_name, clean_text
from checks.runbook.candidates import rank_candidates
from checks.runbook.gates import RunbookState, final_lsn_evidence, scribe_problem
from checks.runbook.next_step import next_step
from checks.runbook.others import fence_targets
from tui.runbook_bindings import APPROVER_ACTIONS, OPERATOR_ACTIONS, possible_now, seat_keys, seat_may
from tui.runbook_next import NextStepKeys
from widgets.confirm_modal import ConfirmModal
from widgets.prompt_modal import PromptModal
from widgets.typed_confirm import TypedConfirmModal

RUNBOOK_ACTIONS = OPERATOR_ACTIONS | APPROVER_ACTIONS | {"keep_writer", "note", "evidence", "next"}


class RunbookKeys(NextStepKeys):
    """Mixed into the App: needs ``self.session``, ``self.actions`` and ``self.cluster_view``."""

    def actions_for_seat(self, state: RunbookState) -> dict[int, tuple[str, str]]:
        shown = seat_keys(self.session, state)
        step = next_step(state, self.panes.events) if self.session.is_operator else None
        if step is not None and step.action and state.current in shown:
            keys, labels = shown[state.current]
            shown[state.current] = (f"⏎ {keys}", f"next: {step.label} · {labels}")
        return shown

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Shown in the footer (True) only while it can act now; otherwise hidden (False), and the
        key falls through to its ``press`` binding, which answers with the gate's sentence."""
        if getattr(self, "session", None) is None:
            return False if action in RUNBOOK_ACTIONS else True
        if action == "press":
            return True
        if action == "next":
            return self.session.is_operator
        if action in RUNBOOK_ACTIONS:
            view = getattr(self, "cluster_view", None)
            return possible_now(self.session, action, self._state(), split_brain=bool(view and view.split_brain))
        return True

    def has_key(self, action: str) -> bool:
        """Whether this seat has the key at all (the help lists it)."""
        if getattr(self, "session", None) is None:
            return action not in RUNBOOK_ACTIONS
        return action not in RUNBOOK_ACTIONS or action in ("note", "evidence") or (
            action == "next" and self.session.is_operator) or seat_may(self.session, action)

    def action_press(self, action: str) -> None:
        """A runbook key pressed while its footer entry is hidden: the seat check, then its handler
        (which refuses with the gate's sentence when the stage is not open). A cockpit without an
        incident (a fixed view, a test harness) has no runbook: the key says so."""
        if getattr(self, "session", None) is None:
            self.notify(f"{action.replace('_', ' ')} refused: this cockpit has no incident, so nothing it did would be "
                        "journaled; open one with failover-cockpit run CONFIG --incident DIR", severity="warning")
            return
        if not seat_may(self.session, action):
            seat = "approver" if action in APPROVER_ACTIONS else "operator"
            self.notify(f"{action.replace('_', ' ')}: only the {seat} seat has this key; this is the "
                        f"{self.session.seat} seat", severity="warning")
            return
        getattr(self, f"action_{action}")()

    def action_evidence(self) -> None:
        """e, wherever the focus is: the checklist's selected stage shows or hides its evidence."""
        self.panes.toggle_evidence()

    def _state(self) -> RunbookState:
        """The screen's runbook state (up to one journal poll behind): what the footer shows."""
        return self.panes.state

    def _fresh_state(self) -> RunbookState:
        """The runbook state from the journal now, for a key about to act on it (the candidate's name,
        the old primary): a key pressed right after an entry is journaled must not see the one before."""
        actions = getattr(self, "actions", None)
        return actions.runbook.state() if actions is not None else self.panes.state

    def _go(self, label: str, start) -> None:
        self.panes.set_busy(f"running: {label}…")
        if not start():
            self.panes.set_busy(None)

    # -- every seat ------------------------------------------------------------------------------
    def action_note(self) -> None:
        self.panes.open_note()

    def action_keep_writer(self) -> None:
        """The split-brain banner's key, at any stage and in any seat (tui.split_brain_keys)."""
        from tui.split_brain_keys import press

        press(self)

    # -- operator --------------------------------------------------------------------------------
    def action_evaluate(self) -> None:
        """Before stage 0: the firing signals and each standby's freshness, then fail over or not yet.
        The standbys are sampled again as the decision is journaled (checks.stages.evaluate)."""
        from checks.incident.evaluation import NOT_YET, signalled_primary, standby_freshness
        from checks.observe.headline import headline
        from widgets.evaluate_modal import EvaluateModal

        board, view = getattr(self, "signal_board", None), self.cluster_view
        firing = board.firing() if board is not None else []
        said = (headline(view, board) or "") if view is not None else ""
        signals = [s.as_json() for s in firing]

        def decided(answer: str | None) -> None:
            if answer == NOT_YET:
                self.push_screen(PromptModal("Not yet: why? (optional)", "e.g. the primary is restarting; the "
                                             "hosting provider is on it", allow_empty=True,
                                             check=lambda a: clean_text(a, "the reason")),
                                 lambda reason: reason is not None and self._start(
                                     "evaluate", lambda rb: rb.evaluate(NOT_YET, signals, reason)))
            elif answer:
                self._start("evaluate", lambda rb: rb.evaluate(answer, signals))

        self.push_screen(EvaluateModal([f"{s.name}: {s.text}" for s in firing],
                                       [s["text"] for s in standby_freshness(view, signalled_primary(signals))],
                                       headline=said), decided)

    def action_roles(self) -> None:
        """Stage 0: the roles. Known ones (``run --scribe/--approver``, the config's ``on_call``) are
        not asked again; the scribe is never proposed as the operator (the runbook wants two people)."""
        known = self.known_roles()
        joined = [e.author for e in self.panes.events if e.kind == "role" and e.seat == "scribe"
                  and e.author != self.session.name]
        approvers = [a for a in self.cluster.approvers if a != self.session.name]

        def check_scribe(answer: str) -> str:
            name = clean_name(answer, "the scribe's name")
            problem = scribe_problem(name, self.session.name)
            if problem:
                raise TextRefused(problem)
            return name

        def got_approver(scribe: str, approver: str | None) -> None:
            if approver:
                self._start("set roles", lambda rb: rb.set_roles(scribe, approver))

        def got_scribe(scribe: str | None) -> None:
            if not scribe:
                return
            if known.get("approver"):
                got_approver(scribe, known["approver"])
                return
            self.push_screen(PromptModal("Approver on call (from the config, never the operator)",
                                         f"approvers: {', '.join(self.cluster.approvers) or 'none configured'}",
                                         default=approvers[0] if approvers else "",
                                         check=lambda answer: clean_name(answer, "the approver's name")),
                             lambda approver: got_approver(scribe, approver))

        if known.get("scribe"):
            got_scribe(known["scribe"])
            return
        self.push_screen(PromptModal("Scribe's name (not the operator: the runbook wants two people)",
                                     default=joined[-1] if joined else "", check=check_scribe), got_scribe)

    def known_roles(self) -> dict[str, str]:
        """The scribe and approver named before the incident: ``run --scribe/--approver``, else the
        config's ``on_call``."""
        on_call = getattr(self.cluster, "on_call", None)
        given = dict(getattr(self.session, "roles", None) or {})
        for role in ("scribe", "approver"):
            if not given.get(role) and on_call is not None and getattr(on_call, role, None):
                given[role] = getattr(on_call, role)
        if given.get("scribe") and scribe_problem(given["scribe"], self.session.name):
            given.pop("scribe")              # on call, but the operator today: asked for someone else
        return {role: name for role, name in given.items() if name}

    def action_freeze(self) -> None:
        names = ", ".join(c.name for c in self.cluster.freeze) or "none configured"
        self._confirm("Run the freeze commands?", self._effect(names), "freeze", lambda rb: rb.freeze())

    def action_skip_freeze(self) -> None:
        self.push_screen(PromptModal("Skip the freeze: why?",
                                     check=lambda answer: clean_text(answer, "the reason", required=True)),
                         lambda reason: reason and self._start("skip freeze", lambda rb: rb.skip_freeze(reason)))

    def action_choose(self) -> None:
        view = self.cluster_view
        ranked = rank_candidates(view, self.cluster) if view else []
        best = next((c.name for c in ranked if c.eligible), "")
        lines = "\n".join(f"{c.name}: {'eligible' if c.eligible else c.reason}" for c in ranked)
        self.push_screen(PromptModal("Candidate to promote (the freshest is proposed)", lines, default=best),
                         lambda name: name and self._start("choose candidate", lambda rb: rb.choose(name)))

    def action_adopt(self) -> None:
        """A node promoted outside this incident (pg_promote() by hand) becomes its candidate."""
        from checks.aftermath.adopt import adopt

        view = self.cluster_view
        writers = list(view.writable) if view else []
        hint = ("the node promoted outside this incident becomes the new primary; its data risk is measured "
                "against the old primary like any candidate's")
        self.push_screen(PromptModal("Adopt which writable node?", hint, default=writers[0] if len(writers) == 1 else ""),
                         lambda name: name and self._start("adopt", lambda rb: adopt(rb.op, name)))

    def action_check_old(self) -> None:
        self._start("check old primary", lambda rb: rb.check_others())

    def action_fence(self) -> None:
        targets = fence_targets(self.panes.events)
        if not targets:                  # nothing to confirm: the step itself says why it refuses
            self._start("fence", lambda rb: rb.fence())
            return
        old = ", ".join(targets)
        self.push_screen(TypedConfirmModal(f"Fence {old}", old, effects=(
                             self._effect("runs the configured fence command;"), "a writable primary is first paused "
                             "in PgBouncer and drained to the candidate"), data_risk=self._risk_text()),
                         lambda ok: ok and self._start("fence", lambda rb: rb.fence(old)))

    def action_promote(self) -> None:
        name = self._fresh_state().candidate or ""
        if not name:                     # no candidate yet: the gate's refusal says what to do first
            self._start("promote", lambda rb: rb.promote(name))
            return
        self.push_screen(TypedConfirmModal(f"Promote {name} to primary", name, effects=(
                             self._effect("re-checks every gate first, then pg_promote(wait => false)"),),
                             data_risk=self._risk_text()),
                         lambda ok: ok and self._start("promote", lambda rb: rb.promote(name)))

    def action_cut_over(self) -> None:
        self._confirm("Cut Odoo over to the new primary?",
                      self._effect("PgBouncer first, then odoo.conf, commands and restarts"), "cut over",
                      lambda rb: rb.cut_over())

    def action_verify(self) -> None:
        self._start("verify", lambda rb: rb.verify())

    def action_close_incident(self) -> None:
        self._confirm("Close the incident?", "samples every node again (exactly one writer now), then journals "
                      "RTO, RPO, time per stage and the hardening checklist", "close", lambda rb: rb.close())

    def action_rollback(self) -> None:
        from checks.aftermath.rollback import rollback

        current = self._fresh_state().candidate or ""

        # A failback that discards data above the SLO needs an approval from the approver's own seat
        # (key a there, once this refusal asked for it), not a name typed here.
        self.push_screen(PromptModal("Roll back: which node is authoritative?",
                                     f"{current} (the promoted node) re-points Odoo once more; another node is a "
                                     "failback, refused if both nodes accepted writes", default=current),
                         lambda node: node and self._start("rollback", lambda rb: rollback(rb.op, node)))

    def action_reprotect(self) -> None:
        from checks.aftermath.reprotect import reprotect

        old = self._fresh_state().old_primary or ""

        def confirm(node: str | None) -> None:   # pg_rewind rewrites the node: its name typed, like x and p
            if node:
                self.push_screen(TypedConfirmModal(f"Re-protect {node} as a standby of {self._fresh_state().candidate}", node,
                                                   effects=("measures first what it holds past the fork (the RPO), "
                                                            "starting it read-only if it is stopped;",
                                                            "then pg_rewind (dry run, then for real) rewrites its "
                                                            "data directory: what it held past the fork is gone;",
                                                            "starts it as a standby and verifies streaming")),
                                 lambda ok: ok and self._start("re-protect", lambda rb: reprotect(rb.op, node, node)))

        self.push_screen(PromptModal("Re-protect: bring which node back as a standby of the new primary?",
                                     "you type its name again to confirm; its RPO is measured before any rewind",
                                     default=old), confirm)

    def action_repoint(self) -> None:
        """After the promotion: every other reachable standby re-pointed at the new primary (checks.aftermath.repoint)."""
        from checks.aftermath.repoint import repoint_standbys

        primary = self._fresh_state().candidate or ""
        view = self.cluster_view
        names = [v.name for v in view.nodes if v.role == "standby" and v.name != primary
                 and not (v.streaming and v.upstream == primary)] if view else []
        if not names:      # nothing to rewrite (or before a promotion): the step says so, journaled
            self._start("re-point standbys", lambda rb: repoint_standbys(rb.op))
            return
        listed = ", ".join(names)
        self.push_screen(TypedConfirmModal(f"Re-point {listed} at {primary}", listed, effects=(
                             "one at a time, re-protect's steps: CHECKPOINT on the new primary, its WAL past the "
                             "fork measured, pg_rewind (dry run, then for real), start as a standby of "
                             f"{primary}, streaming verified;", "the others keep streaming meanwhile")),
                         lambda ok: ok and self._start("re-point standbys",
                                                       lambda rb: repoint_standbys(rb.op, only=names)))

    # -- approver --------------------------------------------------------------------------------
    def action_approve(self) -> None:
        """Before the promotion: its data risk. After it: the failback the operator asked for (b).
        A trainee plays the approver: they type whose name approves (never the operator's)."""
        from checks.aftermath.rollback import approve_failback, pending_failback

        candidate = self._fresh_state().candidate
        if self._plays_approver():
            self.push_screen(PromptModal(f"Approve promoting {candidate}? You play the approver: their name",
                                         f"{self._risk_text()}\napprovers: {', '.join(self.cluster.approvers)} "
                                         "(never the operator)"),
                             lambda approver: approver and self._start("approve", lambda rb: rb.approve(approver)))
            return
        if self._fresh_state().stage(3).status == "passed":
            pending = pending_failback(self.panes.events)
            if pending is None:
                self.notify("nothing to approve: no failback waits for an approval (the operator asks with b)",
                            severity="warning")
                return
            self._confirm(f"Approve failing back to {pending['failback_to']}?", pending["statement"], "approve",
                          lambda rb: approve_failback(rb.op, self.session.name))
            return
        self._confirm(f"Approve promoting {candidate}?", self._risk_text(), "approve",
                      lambda rb: rb.approve(self.session.name))

    def action_attest(self) -> None:
        """An approver attests an unreachable node is down, in their own words."""
        node = self._fresh_state().old_primary or (fence_targets(self.panes.events) or [""])[0]

        def got_words(approver: str, words: str | None) -> None:
            if words:
                self._start("attest", lambda rb: rb.attest(node, approver, words))

        def ask_words(approver: str | None) -> None:
            if approver:
                self.push_screen(PromptModal(f"{approver} attests that {node} is down: in their words",
                                             "e.g. host powered off, confirmed by the hosting provider's console",
                                             check=lambda answer: clean_text(answer, "the attestation", required=True)),
                                 lambda words: got_words(approver, words))

        if self._plays_approver():
            self.push_screen(PromptModal(f"Attest that {node} is down? You play the approver: their name",
                                         f"approvers: {', '.join(self.cluster.approvers)} (never the operator)"),
                             ask_words)
            return
        self.push_screen(PromptModal(f"Attest that {node} is down", "e.g. host powered off, confirmed by the "
                                     "hosting provider's console",
                                     check=lambda answer: clean_text(answer, "the attestation", required=True)),
                         lambda words: got_words(self.session.name, words))

    # -- helpers ---------------------------------------------------------------------------------
    def _risk_text(self) -> str:
        state = self._fresh_state()
        text = (state.data_risk or {}).get("statement", "data risk not stated yet")
        measured = final_lsn_evidence(self.panes.events, state.candidate)
        return f"{text}\n\nMeasured by the fence sequence: {measured['text']}" if measured else text

    def _confirm(self, question: str, detail: str, label: str, act) -> None:
        self.push_screen(ConfirmModal(question, detail), lambda yes: yes and self._start(label, act))

    def _start(self, label: str, act) -> None:
        """Hand ``act`` (called with the seat's :class:`~checks.stages.seat.Runbook`) to the action runner."""
        self._go(label, lambda: self.actions.start(label, act))

    def _effect(self, text: str) -> str:
        """An effect as the confirmation states it: training says it is simulated."""
        return f"{text} (simulated)" if self.actions.runbook.simulated else text

    def _plays_approver(self) -> bool:
        """Training: the trainee at the operator's keys also plays the approver."""
        return getattr(self.session, "plays_approver", False)
