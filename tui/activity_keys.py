"""The activity view's key (a; A in the approver seat, where a approves) and the worker behind it.

Pressing it opens :class:`~widgets.activity_screen.ActivityScreen` on the writer (else the first node)
and starts one worker that asks the node on screen for its activity
(:func:`checks.observe.activity.sample_activity`: one short connection, one query) once every
``cluster.sampling.activity_interval_s``, and at once when the operator switches node. The worker
lives exactly as long as the screen: closing it cancels the worker, so nothing is asked while the
view is closed. What Odoo's sessions mean is judged against the cockpit's latest round
(``self.cluster_view``: the node's role and the writable nodes).
"""

from __future__ import annotations

import asyncio

from textual.binding import Binding

from checks.observe.activity import NodeActivity, odoo_verdict, sample_activity, unanswered
from checks.observe.assess import ClusterView
from checks.observe.sample import utcnow
from widgets.activity_screen import ActivityScreen

GROUP = "activity"
NO_LIVE_NODES = ("this screen shows fixed or replayed samples, so there is no live node to ask; "
                 "the activity view works in a cockpit run on a cluster (failover-cockpit run CONFIG)")


def role_word(view: ClusterView | None, name: str) -> str:
    """The node's role in the cockpit's latest round, as the activity view's node list names it."""
    node = next((n for n in view.nodes if n.name == name), None) if view is not None else None
    if node is None:
        return "not sampled yet"
    return "fenced" if node.fenced else node.role


class ActivityKeys:
    """Mixed into the cockpit App: needs ``self.cluster``, ``self.samplers``, ``self.session`` and
    ``self.cluster_view``."""

    ACTIVITY_BINDINGS = [
        Binding("a", "activity('a')", "Activity", show=False,
                tooltip="Activity: one node's sessions, longest transactions, lock waits, Odoo's stragglers"),
        Binding("A", "activity('A')", "Activity", show=False, key_display="A",
                tooltip="Activity, in every seat (the approver's a approves)"),
    ]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """``a`` is the approver's key to approve (a trainee plays the approver too): there it is not the
        activity view's, and falls through to approve; ``A`` opens the view in every seat."""
        if action == "activity":
            return not (parameters and parameters[0] == "a" and self._approves_with_a())
        return super().check_action(action, parameters)

    def has_key(self, action: str) -> bool:
        """Every seat has the view (the help lists ``a`` unless it approves there, and ``A``)."""
        if action.partition("(")[0] == "activity":
            return not (action == "activity('a')" and self._approves_with_a())
        return super().has_key(action)

    def _approves_with_a(self) -> bool:
        session = getattr(self, "session", None)
        return session is not None and (session.seat == "approver" or getattr(session, "plays_approver", False))

    def action_activity(self, key: str = "a") -> None:
        if isinstance(self.screen, ActivityScreen):
            return
        if not getattr(self, "samplers", None):
            self.notify(NO_LIVE_NODES, title="activity", severity="warning")
            return
        view = self.cluster_view
        writable = view.writable if view is not None else ()
        first = writable[0] if len(writable) == 1 else None
        screen = ActivityScreen(self._activity_roles(), first,
                                interval_s=self.cluster.sampling.activity_interval_s)
        wake = asyncio.Event()
        self._activity_wake = wake
        self.push_screen(screen, lambda _result: self.workers.cancel_group(self, GROUP))
        self.run_worker(self._poll_activity(screen, wake), name="activity", group=GROUP, exclusive=True,
                        exit_on_error=False)

    def _activity_roles(self) -> list[tuple[str, str]]:
        return [(node.name, role_word(self.cluster_view, node.name)) for node in self.cluster.nodes]

    def on_activity_screen_switched(self, message: ActivityScreen.Switched) -> None:
        wake = getattr(self, "_activity_wake", None)
        if wake is not None:
            wake.set()

    async def _poll_activity(self, screen: ActivityScreen, wake: asyncio.Event) -> None:
        """Ask the node on screen, show its answer, wait the interval (or a switch); until the screen
        closes (its dismissal cancels this worker)."""
        sampling = self.cluster.sampling
        odoo_db = self.cluster.odoo.db if self.cluster.odoo is not None else None
        nodes = {node.name: node for node in self.cluster.nodes}
        while screen in self.screen_stack:        # closed some other way than its own keys: stop too
            name = screen.node
            wake.clear()
            activity = await self._ask(nodes[name], sampling, odoo_db)
            view = self.cluster_view
            screen.set_roles(self._activity_roles())
            verdict = odoo_verdict(activity, role=role_word(view, name),
                                   writable=view.writable if view is not None else ())
            screen.show_activity(activity, verdict)
            if screen.node != name:
                continue                     # switched while the node was being asked: ask the new one now
            try:
                await asyncio.wait_for(wake.wait(), timeout=sampling.activity_interval_s)
            except asyncio.TimeoutError:
                pass

    @staticmethod
    async def _ask(node, sampling, odoo_db: str | None) -> NodeActivity:
        try:
            return await sample_activity(node, sampling, odoo_db=odoo_db)
        except Exception as exc:  # noqa: BLE001 - an answer that could not be read is a sentence too
            return unanswered(node.name, str(exc) or "its answer could not be read", observed_at=utcnow())
