"""CockpitHeader: cluster, verdict, how long it has been bad, the problems, a UTC clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Static

from checks.observe.assess import VERDICTS, ClusterView
from checks.observe.lsn import human_seconds
from checks.observe.sample import utcnow
from widgets.closing import while_open

Clock = Callable[[], datetime]

CYCLE_S = 4.0
"""How long each problem stays on the header's last problem row when there are more problems than rows."""


def problem_rows(problems: tuple[str, ...], rows: int, clock_s: float) -> list[str]:
    """What the header's ``rows`` problem rows show at ``clock_s`` (seconds on the clock): all of them
    when they fit; else the first ``rows - 1`` and, on the last row, the others in turn (``2/4 ▸ ...``),
    each for :data:`CYCLE_S`; with one row, every problem in turn. The turn follows the clock, not
    the problems (whose words change with every sample: a delay of 42s, then 43s)."""
    lines = [f"▸ {p}" for p in problems]
    rows = max(1, rows)
    if len(lines) <= rows:
        return lines
    fixed, rest = lines[: rows - 1], list(range(rows - 1, len(lines)))
    shown = rest[int(max(0.0, clock_s) // CYCLE_S) % len(rest)]
    return [*fixed, f"{shown + 1}/{len(lines)} {lines[shown]}"]


def clock_text(moment: datetime) -> str:
    """``08:00:05Z``: UTC to the second, the zone spelled out (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%H:%M:%SZ")


def elapsed_text(seconds: float) -> str:
    """Whole seconds under a minute (``42s``), then ``1m02s`` and ``1h02m05s``."""
    return f"{int(seconds)}s" if seconds < 60 else human_seconds(seconds)


class CockpitHeader(Widget):
    """One headline (title, cluster, verdict, problem count, time bad, clock) and the problems under it."""

    HELP = """\
### Header

- **verdict**: `OK` (one writer, every standby within the SLO), `WARNING` (a standby over
  its SLO, unreachable, paused or not streaming), `CRITICAL` (no writable node, or more
  than one), `UNKNOWN` (nothing sampled yet). The word is the signal; the colour repeats it.
- **bad for**: time since the first bad signal this cockpit saw (the start of the RTO clock).
- **clock**: UTC, `HH:MM:SSZ`, like every time the cockpit writes down.
- the line(s) below list the problems behind the verdict, most serious first
  (more of them on a taller terminal). When there are more problems than lines, the last line
  shows the others in turn (`2/4 ▸ ...`, a few seconds each); **click the header** to list every
  problem in full (`▾`), and again to fold the list (`▴`). The verdict stays where it is.
  When the signals say the primary may be alive and serving Odoo through PgBouncer, that sentence
  stays on the first row and never takes turns.
- nodes this incident **fenced** are not problems: with nothing else wrong the line says
  `✓ one writer (node2), every standby within the SLO; node1 fenced at 07:24:03Z`.
"""

    view: reactive[ClusterView | None] = reactive(None, init=False)
    now: reactive[datetime | None] = reactive(None, init=False)
    expanded: reactive[bool] = reactive(False, init=False)
    """Every problem listed in full (a click on the header toggles it)."""

    def __init__(
        self, cluster_name: str, *, clock: Clock | None = None, title: str = "Odoo Failover Cockpit",
        id: str | None = None, classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.cluster_name = cluster_name
        self.clock: Clock = clock or utcnow
        self.title = title
        self.lines: tuple[str, ...] | None = None   # the verdict's lines, when the signals word them
        self.pinned = False                         # the first line stays on the one row (no turns)

    def problems(self) -> tuple[str, ...]:
        """The lines behind the verdict: the signals' wording when given, else the view's problems."""
        if self.view is None:
            return ()
        return self.lines if self.lines is not None else self.view.problems

    def compose(self) -> ComposeResult:
        with Horizontal(id="headline"):
            yield Label(self.title, id="title")
            yield Label(self.cluster_name, id="cluster")
            yield Label(" WAITING ", id="verdict", classes="-unknown")
            yield Label("", id="count")
            yield Label("", id="since")
            yield Label("", id="clock")
        yield Static("waiting for the first samples", id="problems")

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    @while_open
    def tick(self) -> None:
        """Read the clock (once a second, and whenever a view arrives)."""
        self.now = self.clock()

    def update_view(self, view: ClusterView, lines: tuple[str, ...] | None = None, *, pinned: bool = False) -> None:
        """Show a new cluster view; ``lines``: the verdict's lines as the signals word them
        (:func:`checks.observe.headline.verdict_lines`), else the view's problems; ``pinned``: the
        first line is a warning that must not take turns (the primary may be alive)."""
        self.lines, self.pinned = lines, pinned
        if view is self.view:
            self._show_problems()
        self.view = view
        self.tick()

    def toggle_problems(self) -> None:
        """List every problem in full, or fold the list back to the header's rows."""
        self.expanded = not self.expanded

    def shown_problems(self) -> list[str]:
        """The problem rows as they show now (every problem when expanded)."""
        view = self.view
        if view is None:
            return []
        problems = self.problems()
        if not problems:
            fenced = "".join(f"; {f.node} fenced at {f.clock}" for f in view.fences)
            return [f"✓ one writer ({', '.join(view.writable)}), every standby within the SLO{fenced}"]
        if self.expanded:
            return [f"▸ {p}" for p in problems]
        clock_s = self.now.timestamp() if self.now is not None else 0.0
        if self.pinned and self._rows() == 1:
            return [f"▸ {problems[0]}"]     # the loud headline never takes turns
        return problem_rows(problems, self._rows(), clock_s)

    def on_click(self, event: events.Click) -> None:
        if self.problems():
            self.toggle_problems()

    def watch_view(self, view: ClusterView | None) -> None:
        if view is None:
            return
        verdict = self.query_one("#verdict", Label)
        verdict.update(f" {view.verdict.upper()} ")
        for name in VERDICTS:
            verdict.set_class(view.verdict == name, f"-{name}")
        if not self.problems():
            self.expanded = False
        self.query_one("#problems", Static).set_class(view.verdict == "critical", "-critical")
        self._show_problems()
        self._show_time()

    def watch_now(self) -> None:
        self._show_problems()
        self._show_time()

    def watch_expanded(self, expanded: bool) -> None:
        self.set_class(expanded, "-expanded")
        self._show_problems()

    def _rows(self) -> int:
        """How many problem rows the header has at this terminal's height (its stylesheet's max-height)."""
        limit = self.query_one("#problems", Static).styles.max_height
        return int(limit.value) if limit is not None and limit.is_cells else 1

    def _show_problems(self) -> None:
        view = self.view
        if view is None or not self.is_mounted:
            return
        count = len(self.problems())
        fold = (" ▴" if self.expanded else " ▾") if count > self._rows() or self.expanded else ""
        self.query_one("#count", Label).update(f"{count} problem{'s' if count != 1 else ''}{fold}" if count else "")
        self.query_one("#problems", Static).update("\n".join(self.shown_problems()))

    def _show_time(self) -> None:
        if self.now is None:
            return
        self.query_one("#clock", Label).update(clock_text(self.now))
        since = self.query_one("#since", Label)
        view = self.view
        if view is None or view.first_bad_at is None:
            since.update("")
        elif view.verdict == "ok":
            since.update(f"was bad at {clock_text(view.first_bad_at)}")
        else:
            elapsed = max(0.0, (self.now - view.first_bad_at).total_seconds())
            since.update(f"bad for {elapsed_text(elapsed)}")
