"""The fleet screen (``run --all``): one row per cluster, worst first; Enter opens a cluster's cockpit.

:class:`FleetApp` reads its rows from a source (``FleetSampler.snapshot``, sampled on a thread of
its own, so the screen never waits on a cluster) or shows fixed rows (tests, snapshots). Enter ends
it with the chosen cluster's name; the command line (:mod:`cli.fleet_cmd`) then runs that cluster's
cockpit, :class:`tui.fleet_cockpit.FleetCockpitApp`, whose Escape ends it with :data:`BACK`, and the
fleet comes back. The two are separate apps run one after the other: the cockpit stays the very app
``run`` runs, with one key more (and is imported only when one opens: the fleet's first frame does
not wait for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from checks.observe.fleet import FleetRow, fleet_counts
from checks.observe.sample import utcnow
from widgets import STYLESHEET
from widgets.closing import while_open
from widgets.confirm_modal import ConfirmModal
from widgets.fleet_table import WIDE_FROM, FleetTable
from widgets.help_screen import HelpScreen

BACK = "fleet"
"""What the cockpit's Escape ends it with: back to the fleet, the incident kept open."""
WAITING = "waiting"
"""In the summary line until every cluster's first round is back (the complete first frame has none)."""
SHORT = {"critical": "CRIT", "unknown": "UNKN", "warning": "WARN", "ok": "ok", "waiting": WAITING}
POLL_S = 0.25
FIRST_POLL_S = 0.05
"""Until every cluster's first round is back the source is read this often (the first complete frame)."""
FIRST_SHOW_S = 0.25
"""... but shown at most this often until then: a round coming back every few milliseconds would
otherwise redraw the table twenty times a second, on the GIL the sampler's first connections need."""

FLEET_CSS = """
#fleet-summary { height: 1; padding: 0 1; background: $panel; color: $text; text-style: bold; }
#fleet-summary.-critical { background: $error; }
#fleet-summary.-warning { background: $warning; color: $background; }
FleetTable { height: 1fr; }
"""


def fleet_summary(rows: list[FleetRow], now: datetime, *, wide: bool = True) -> str:
    """The line over the table: how many clusters, how many of each verdict (``waiting``: no round
    back yet), the time; under 120 columns the verdicts in four letters."""
    counts = fleet_counts(rows)
    words = {v: v for v in SHORT} | {"waiting": f"{WAITING} for a first round"} if wide else SHORT
    parts = [f"{n} {words[verdict]}" for verdict, n in counts.items() if n]
    return f"Fleet · {len(rows)} clusters · {' · '.join(parts)} · {now:%H:%M:%S}Z"


class FleetApp(App[str | None]):
    """The fleet. ``source``: a callable returning (version, rows worst first), polled every
    ``poll_s``; or ``rows``: fixed. ``held``: cluster -> incident directory this fleet holds open."""

    TITLE = "Odoo Failover Cockpit"
    CSS_PATH = STYLESHEET
    CSS = FLEET_CSS
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Quit the fleet (asks first when it holds incidents open)"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, source: Callable[[], tuple[int, list[FleetRow]]] | None = None, *,
                 rows: Iterable[FleetRow] | None = None, clock: Callable[[], datetime] | None = None,
                 held: dict[str, str] | None = None, select: str | None = None,
                 notices: Iterable[str] = (), poll_s: float = POLL_S) -> None:
        super().__init__()
        self.source = source
        self.fixed_rows = list(rows or [])
        self.clock = clock or utcnow
        self.held = dict(held or {})
        self.select = select
        self.notices = list(notices)
        self.poll_s = poll_s
        self.rows: list[FleetRow] = []
        self._version: int | None = None
        self._second: int | None = None
        self._shown_at = 0.0                  # when the rows were last shown (time.monotonic)

    def compose(self) -> ComposeResult:
        yield Static("", id="fleet-summary", markup=False)
        yield FleetTable(id="fleet")
        yield Footer()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def on_mount(self) -> None:
        self.sub_title = "fleet"
        self.table.focus()
        self.poll()
        self.table.select_cluster(self.select)
        if self.source is not None:
            self._first_timer = self.set_interval(FIRST_POLL_S, self._first_poll)
        for text in self.notices:
            self.notify(text, severity="warning", timeout=10)

    @while_open
    def _first_poll(self) -> None:
        snapshot = self.source()
        rows = snapshot[1]
        complete = bool(rows) and all(r.sampled for r in rows)
        if not complete and time.monotonic() - self._shown_at < FIRST_SHOW_S:
            return
        self.poll(snapshot)
        if complete:
            self._first_timer.stop()
            self.set_interval(self.poll_s, self.poll)

    @while_open
    def poll(self, snapshot: tuple[int, list[FleetRow]] | None = None) -> None:
        """Show the source's rows when they changed, and every second (how long each has been bad);
        ``snapshot``: the source's, already read by the caller."""
        now = self.clock()
        if self.source is None:
            version, rows = 0, self.fixed_rows
        else:
            version, rows = snapshot or self.source()
        second = int(now.timestamp())
        if version == self._version and second == self._second:
            return
        self._version, self._second, self.rows = version, second, rows
        self.show(rows, now)

    def show(self, rows: list[FleetRow], now: datetime) -> None:
        self._shown_at = time.monotonic()
        summary = self.query_one("#fleet-summary", Static)
        summary.update(fleet_summary(rows, now, wide=self.size.width >= WIDE_FROM), layout=False)   # one line, always
        counts = fleet_counts(rows)
        summary.set_class(bool(counts["critical"]), "-critical")
        summary.set_class(not counts["critical"] and bool(counts["warning"] + counts["unknown"]), "-warning")
        self.table.show(rows, now, held=self.held)

    def on_resize(self) -> None:
        if self._version is not None:                   # the summary's words follow the width
            self.show(self.rows, self.clock())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.exit(result=event.row_key.value)

    async def action_quit(self) -> None:
        if not self.held:
            self.exit(None)
            return
        if isinstance(self.screen, ConfirmModal):
            return
        names = ", ".join(f"{c} ({d})" for c, d in sorted(self.held.items()))

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(None)

        await self.push_screen(ConfirmModal("Quit the fleet?", f"The incidents it holds open give up their "
                                            f"operator seats: {names}. The clusters are left as they are."),
                               answered)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = [("enter", "open the cluster's cockpit: a new incident, or the one this fleet holds for it"),
                ("up / down", "move between clusters"), ("q", "quit the fleet"), ("?", "this help"),
                ("escape (in a cockpit)", "back to the fleet; the incident stays open (◆)")]
        self.push_screen(HelpScreen(keys, [FleetTable.HELP, ConfirmModal.HELP], title=f"{self.TITLE} · fleet"))
