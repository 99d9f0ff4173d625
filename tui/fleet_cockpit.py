"""The cockpit opened from the fleet screen (``run --all``): the same cockpit, and Escape goes back."""

from __future__ import annotations

from textual.binding import Binding

from tui.app import CockpitApp
from tui.fleet_app import BACK


class FleetCockpitApp(CockpitApp):
    """:class:`~tui.app.CockpitApp` opened from the fleet: the same cockpit, and Escape goes back to
    the fleet (its result :data:`BACK`) with the incident kept open. ``q`` still quits the cockpit."""

    BINDINGS = [*CockpitApp.BINDINGS,
                Binding("escape", "back_to_fleet", "Fleet", tooltip="Back to the fleet (the incident stays open)")]

    def action_back_to_fleet(self) -> None:
        busy = self.actions.busy if self.actions is not None else None
        if busy:
            self.notify(f"wait: {busy} is still running; Escape goes back to the fleet once it has ended",
                        severity="warning")
            return
        self.exit(result=BACK)
