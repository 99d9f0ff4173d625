"""The watch-only seat: the live cockpit (nodes, signals, verdict) with no incident behind it.

It opens no incident directory and keeps no journal, so it has no runbook keys: the footer hides
them and a runbook key pressed anyway answers with a sentence saying how to get a seat that acts.
"""

from __future__ import annotations

from textual.app import ComposeResult

from tui.app import CockpitApp
from widgets.cockpit_header import CockpitHeader

WATCH_ONLY = "watch only"


class WatchCockpitApp(CockpitApp):
    """:class:`~tui.app.CockpitApp` without a session, the header naming the seat ``watch only``."""

    def __init__(self, cluster_name: str, cluster, **kwargs) -> None:
        kwargs.pop("session", None)
        super().__init__(cluster_name, cluster, session=None, **kwargs)

    @property
    def seat_title(self) -> str:
        return f"{self.cluster_name} · {WATCH_ONLY}"

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, CockpitHeader):
                widget.cluster_name = self.seat_title
            yield widget

    def on_mount(self) -> None:
        # Textual runs CockpitApp.on_mount after this one (every class's handler runs): set the sub
        # title once it has.
        self.call_later(setattr, self, "sub_title", self.seat_title)

    def action_press(self, action: str) -> None:
        self.notify(f"{action.replace('_', ' ')} refused: a watch-only seat keeps no incident (to act: "
                    "failover-cockpit run CONFIG, or join one with --incident DIR)", severity="warning")
