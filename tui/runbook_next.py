"""Enter: the runbook's next step, asking nothing the cockpit already knows.

The step is :func:`checks.runbook.next_step.next_step`'s. It asks the same confirmations as its
own key (typed names stay for fence and promote), and joins what needs no decision of its own:
roles named up front are set with the freeze in one confirmation, the freshest eligible standby is
chosen and the old primary checked at once (both read-only), and verification follows a cutover
that passed. Mixed into the App with :class:`tui.runbook_keys.RunbookKeys`.
"""

from __future__ import annotations

import asyncio

from checks.runbook.candidates import rank_candidates
from checks.runbook.next_step import next_step


def in_order(*steps):
    """One action of several runbook steps (each called with the seat's Runbook), one after the other;
    the result is the last one's (a step answering None keeps the one before). A live step returns a
    coroutine, training's a result: the chain is a coroutine as soon as one step is."""
    def act(rb):
        result = None
        for index, step in enumerate(steps):
            out = step(rb)
            if asyncio.iscoroutine(out):
                return _finish(rb, out, steps[index + 1:], result)
            result = out if out is not None else result
        return result
    return act


async def _finish(rb, pending, later, result):
    out = await pending
    result = out if out is not None else result
    for step in later:
        out = step(rb)
        out = await out if asyncio.iscoroutine(out) else out
        result = out if out is not None else result
    return result


class NextStepKeys:
    def action_next(self) -> None:
        """Enter: the runbook's next step, with the same confirmations its own key asks (typed names
        for fence and promote), asking nothing it already knows: roles named up front are set with
        the freeze in one confirmation, the freshest eligible standby is chosen and the old primary
        checked at once (both read-only), and verification follows a cutover that passed."""
        step = next_step(self._fresh_state(), self.panes.events)
        if step.action is None:
            self.notify(step.sentence, title="next", severity="information")
            return
        guided = {"roles": self._next_roles, "choose": self._next_choose, "cut_over": self._next_cut_over}
        (guided.get(step.action) or getattr(self, f"action_{step.action}"))()

    def _next_roles(self) -> None:
        known = self.known_roles()
        if not (known.get("scribe") and known.get("approver")):
            self.action_roles()
            return
        scribe, approver = known["scribe"], known["approver"]
        steps = [lambda rb: rb.set_roles(scribe, approver)]
        question = f"Roles: operator {self.session.name}, scribe {scribe}, approver {approver}"
        if self.cluster.freeze:
            steps.append(lambda rb: rb.freeze())
            question += "; then run the freeze commands?"
        self._confirm(question if self.cluster.freeze else f"{question}?",
                      self._effect(", ".join(c.name for c in self.cluster.freeze) or "no freeze commands configured"),
                      "set roles", in_order(*steps))

    def _next_choose(self) -> None:
        view = self.cluster_view
        best = next((c.name for c in rank_candidates(view, self.cluster) if c.eligible), None) if view else None
        if best is None:
            self.action_choose()             # nothing eligible: the prompt lists why, per standby
            return
        self._start("choose candidate", in_order(
            lambda rb: rb.choose(best),
            lambda rb: rb.check_others() if rb.state().stage(1).status in ("passed", "overridden") else None))

    def _next_cut_over(self) -> None:
        self._confirm("Cut Odoo over to the new primary, then verify?",
                      self._effect("PgBouncer first, then odoo.conf, commands and restarts; then every "
                                   "verification check"), "cut over",
                      in_order(lambda rb: rb.cut_over(),
                               lambda rb: rb.verify() if rb.state().stage(4).status == "passed" else None))
