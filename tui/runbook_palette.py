"""The command palette's runbook commands (ctrl+p): every runbook action of this seat, each saying
whether it can act now or, when it cannot, the gate's sentence that says why and what unlocks it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from checks.runbook.gates import locked_sentence
from tui.runbook_bindings import AFTER_PROMOTION, KEYS, STAGE_OF, possible_now, seat_may


class RunbookCommands(Provider):
    """One command per runbook key this seat has; choosing it is pressing the key."""

    def _commands(self) -> list[tuple[str, str, str]]:
        app = self.app
        session = getattr(app, "session", None)
        if session is None or not hasattr(app, "panes"):
            return []
        state = app.panes.state
        view = getattr(app, "cluster_view", None)
        found = []
        for key, action, label, _seat, _stage in KEYS:
            if not seat_may(session, action):
                continue
            if possible_now(session, action, state, split_brain=bool(view and view.split_brain)):
                why = "can act now"
            elif state.closed:
                why = "the incident is closed: reopen it (run --reopen) to act again"
            elif STAGE_OF.get(action) is not None and state.stage(STAGE_OF[action]).status == "locked":
                why = locked_sentence(state, STAGE_OF[action], label.lower())
            elif action in AFTER_PROMOTION:
                why = "after the promotion only (stage 3 passed)"
            else:
                why = "not at this stage: pressing it says why"
            found.append((f"Runbook: {label} ({key})", why, action))
        return found

    async def discover(self) -> Hits:
        for name, why, action in self._commands():
            yield DiscoveryHit(name, partial(self.app.action_press, action), help=why)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, why, action in self._commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.action_press, action), text=name, help=why)
